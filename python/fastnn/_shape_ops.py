"""torch's shape helpers composed from the C++ ops: broadcasting, grids and stacking along fixed dims."""

from __future__ import annotations

import numbers
import typing

from fastnn import _C
from fastnn._dtype import float32
from fastnn._size import Size

if typing.TYPE_CHECKING:
    from fastnn._C import Tensor


def _tensors(tensors, op):
    """f(a, b) or f([a, b]): the tensors as a list, each checked."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    for i, t in enumerate(tensors):
        if not isinstance(t, _C.Tensor):
            raise TypeError(f"[{op}] expected Tensor as element {i}, but got {type(t).__name__}")
    return list(tensors)


def is_tensor(obj) -> bool:
    return isinstance(obj, _C.Tensor)


def broadcast_shapes(*shapes) -> Size:
    """The shape the given shapes broadcast to (ints count as 1-d shapes)."""
    return _broadcast(shapes, "broadcast_shapes")


def _broadcast(shapes, op):
    out = []
    for i, s in enumerate(shapes):
        s = (s,) if isinstance(s, numbers.Integral) and not isinstance(s, bool) else s
        if not isinstance(s, (tuple, list)) or any(
            isinstance(d, bool) or not isinstance(d, numbers.Integral) for d in s
        ):
            raise TypeError(f"[{op}] expected a shape (a tuple of ints) as argument {i}, got {s!r}")
        if any(d < 0 for d in s):
            raise ValueError(f"[{op}] Attempting to broadcast a dimension with negative length!")
        s = [int(d) for d in s]
        out = [1] * (len(s) - len(out)) + out
        for k in range(1, len(s) + 1):
            a, b = out[-k], s[-k]
            if a != b and a != 1 and b != 1:
                raise ValueError(
                    f"[{op}] Attempting to broadcast a dimension of length {b} at {-k}! "
                    f"Mismatching argument at index {i} had {tuple(s)}; but expected shape should be "
                    f"broadcastable to {out}"
                )
            out[-k] = b if a == 1 else a
    return Size(out)


def broadcast_tensors(*tensors: typing.Any) -> tuple[Tensor, ...]:
    """Expanded views of the tensors to their common shape."""
    ts = _tensors(tensors, "broadcast_tensors")
    shape = _broadcast([tuple(t.shape) for t in ts], "broadcast_tensors")
    return tuple(t if tuple(t.shape) == tuple(shape) else t.expand(*shape) for t in ts)


def meshgrid(*tensors: typing.Any, indexing=None) -> tuple[Tensor, ...]:
    """Grids of coordinates from 0-d/1-d tensors: 'ij' (matrix) or 'xy' (Cartesian) indexing."""
    return _meshgrid(_tensors(tensors, "meshgrid"), indexing, "meshgrid")


def _meshgrid(ts, indexing, op):
    if indexing is None:
        indexing = "ij"  # torch's default (it warns that it will change)
    if indexing not in ("ij", "xy"):
        raise ValueError(f'[{op}] torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    if not ts:
        raise ValueError(f"[{op}] expects a non-empty TensorList")
    for t in ts:
        if t.dim() > 1:
            raise ValueError(
                f"[{op}] torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got a {t.dim()}-D tensor"
            )
        if t.dtype != ts[0].dtype:
            raise TypeError(f"[{op}] meshgrid expects all tensors to have the same dtype")
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = [t.numel() for t in ts]
    grids = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[i] = -1
        grids.append(t.reshape(view).expand(*shape))
    if swap:  # the grids of the swapped inputs, handed back in the inputs' order
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors: typing.Any) -> Tensor:
    ts = _tensors(tensors, "cartesian_prod")
    for t in ts:
        if t.dim() != 1:
            raise ValueError(f"[cartesian_prod] Expect a 1D vector, but got shape {list(t.shape)}")
    if len(ts) == 1:
        return ts[0]
    return _C.stack([g.flatten() for g in _meshgrid(ts, "ij", "cartesian_prod")], dim=1)


def _joined(op, ts, dim, atleast):
    """cat of the tensors made at least `atleast`-d along dim, with errors naming op."""
    ts = _tensors((ts,), op) if isinstance(ts, (list, tuple)) else None
    if ts is None:
        raise TypeError(f"[{op}] tensors must be a sequence of Tensors")
    if not ts:
        raise ValueError(f"[{op}] {op} expects a non-empty TensorList")
    try:
        return _C.cat([atleast(t) for t in ts], dim(ts))
    except (ValueError, IndexError, TypeError) as e:
        raise type(e)(str(e).replace("[cat]", f"[{op}]", 1)) from None


def _atleast_1d(t):
    return t.reshape(1) if t.dim() == 0 else t


def _atleast_2d(t):
    return t.reshape(1, -1) if t.dim() < 2 else t


def _atleast_3d(t):
    if t.dim() == 0:
        return t.reshape(1, 1, 1)
    if t.dim() == 1:
        return t.reshape(1, -1, 1)
    return t.unsqueeze(-1) if t.dim() == 2 else t


def hstack(tensors: typing.Any) -> Tensor:
    return _joined("hstack", tensors, lambda ts: 0 if all(t.dim() <= 1 for t in ts) else 1, _atleast_1d)


def vstack(tensors: typing.Any) -> Tensor:
    return _joined("vstack", tensors, lambda ts: 0, _atleast_2d)


def dstack(tensors: typing.Any) -> Tensor:
    return _joined("dstack", tensors, lambda ts: 2, _atleast_3d)


def column_stack(tensors: typing.Any) -> Tensor:
    return _joined("column_stack", tensors, lambda ts: 1, lambda t: t.reshape(-1, 1) if t.dim() <= 1 else t)


def block_diag(*tensors: typing.Any) -> Tensor:
    """A block-diagonal matrix of the (0-d, 1-d or 2-d) tensors."""
    ts = _tensors(tensors, "block_diag")
    mats = []
    for i, t in enumerate(ts):
        if t.dim() > 2:
            raise ValueError(
                f"[block_diag] Input tensors must have 2 or fewer dimensions. Input {i} has {t.dim()} dimensions"
            )
        mats.append(t.reshape(1, -1) if t.dim() < 2 else t)
    if not mats:
        return _C._zeros([1, 0], float32)
    dtype = mats[0].dtype
    for m in mats:
        dtype = _C._result_type(_C._zeros([1], dtype), _C._zeros([1], m.dtype))
    cols = sum(m.shape[1] for m in mats)
    rows, at = [], 0
    for m in mats:
        left, right = _C._zeros([m.shape[0], at], dtype), _C._zeros([m.shape[0], cols - at - m.shape[1]], dtype)
        rows.append(_C.cat([left, m._to_dtype(dtype), right], 1))
        at += m.shape[1]
    return _C.cat(rows, 0)
