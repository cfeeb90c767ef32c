"""torch's math helpers composed from the C++ ops (autograd and every device for free): addcmul/addcdiv, lerp,
hypot, logaddexp, trace, diff, nansum/nanmean, aminmax, clamp_min/clamp_max, tensordot, cdist, dist, isin."""

from __future__ import annotations

import collections
import math
import numbers
import typing

from fastnn import _C

if typing.TYPE_CHECKING:
    from fastnn._C import Tensor

aminmax_result = collections.namedtuple("aminmax", ["min", "max"])


def _full_like(t, value):
    from fastnn import _factories

    return _factories.full_like(t, value)


def _tensor(x, op, what="input"):
    if not isinstance(x, _C.Tensor):
        raise TypeError(f"[{op}] expected a Tensor for '{what}', got {type(x).__name__}")
    return x


def _real(v, op, what):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"[{op}] {what} must be a number, got {type(v).__name__}")
    return v


def _dims(dim, op):
    """dim as a list of ints (None: every dim)."""
    if dim is None:
        return None
    dims = list(dim) if isinstance(dim, (tuple, list)) else [dim]
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in dims):
        raise TypeError(f"[{op}] dim must be an int or a tuple of ints, got {dim!r}")
    return dims


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """input + value * tensor1 * tensor2."""
    _tensor(input, "addcmul"), _tensor(tensor1, "addcmul", "tensor1"), _tensor(tensor2, "addcmul", "tensor2")
    return input + _real(value, "addcmul", "value") * (tensor1 * tensor2)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """input + value * tensor1 / tensor2."""
    _tensor(input, "addcdiv"), _tensor(tensor1, "addcdiv", "tensor1"), _tensor(tensor2, "addcdiv", "tensor2")
    return input + _real(value, "addcdiv", "value") * (tensor1 / tensor2)


def _addcmul_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    return self.add_(
        _tensor(tensor1, "addcmul_", "tensor1") * _tensor(tensor2, "addcmul_", "tensor2"),
        alpha=_real(value, "addcmul_", "value"),
    )


def _addcdiv_(self: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    return self.add_(
        _tensor(tensor1, "addcdiv_", "tensor1") / _tensor(tensor2, "addcdiv_", "tensor2"),
        alpha=_real(value, "addcdiv_", "value"),
    )


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """input + weight * (end - input), from the nearer end as torch computes it (exact at weight 0 and 1)."""
    _tensor(input, "lerp"), _tensor(end, "lerp", "end")
    delta = end - input
    if isinstance(weight, _C.Tensor):
        return _C.where(weight.abs() < 0.5, input + weight * delta, end - delta * (1 - weight))
    w = _real(weight, "lerp", "weight")
    return input + w * delta if abs(w) < 0.5 else end - delta * (1 - w)


def _lerp_(self: Tensor, end: Tensor, weight) -> Tensor:
    return self.copy_(lerp(self, end, weight))


def hypot(input: Tensor, other: Tensor) -> Tensor:
    """sqrt(input^2 + other^2)."""
    _tensor(input, "hypot"), _tensor(other, "hypot", "other")
    return (input * input + other * other).sqrt()


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """log(exp(input) + exp(other)) without overflow: the larger plus log1p(exp(-|difference|))."""
    _tensor(input, "logaddexp"), _tensor(other, "logaddexp", "other")
    return _C.maximum(input, other) + (-(input - other).abs()).exp().log1p()


def trace(input: Tensor) -> Tensor:
    """The sum of a matrix's diagonal."""
    if _tensor(input, "trace").dim() != 2:
        raise RuntimeError(f"[trace] expected a matrix, but got tensor with dim {input.dim()}")
    return input.diagonal().sum()


def diff(input: Tensor, n=1, dim=-1, prepend=None, append=None) -> Tensor:
    """The n-th forward difference along dim, after joining prepend and append."""
    _tensor(input, "diff")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"[diff] order must be non-negative but got {n!r}")
    if input.dim() == 0:
        raise RuntimeError("[diff] expects input to be at least one-dimensional")
    parts = [t for t in (prepend, input, append) if t is not None]
    if any(_tensor(t, "diff", "prepend or append").dim() != input.dim() for t in parts):
        raise RuntimeError("[diff] diff expects prepend or append to be the same dimension as input")
    x = _C.cat(parts, dim) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[dim]
        x = x.narrow(dim, 1, max(length - 1, 0)) - x.narrow(dim, 0, max(length - 1, 0))
    return x


def nansum(input: Tensor, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """The sum with NaNs counted as zero."""
    _tensor(input, "nansum")
    x = _C.where(input.isnan(), 0.0, input) if input.dtype.is_floating_point else input
    dims = _dims(dim, "nansum")
    return x.sum(dtype=dtype) if dims is None else x.sum(dims, keepdim=keepdim, dtype=dtype)


def nanmean(input: Tensor, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """The mean of the values that are not NaN (NaN where there are none)."""
    if not _tensor(input, "nanmean").dtype.is_floating_point:
        raise TypeError(f"[nanmean] expected a floating-point input, got {input.dtype}")
    count = (~input.isnan()).sum(_dims(dim, "nanmean") or [], keepdim=keepdim).to(input.dtype)
    return nansum(input, dim, keepdim, dtype=dtype) / count


def aminmax(input: Tensor, *, dim=None, keepdim=False):
    """(amin, amax) along dim (every element when None)."""
    _tensor(input, "aminmax")
    if dim is None:
        if keepdim:
            return aminmax_result(
                input.amin(list(range(input.dim())), keepdim=True), input.amax(list(range(input.dim())), keepdim=True)
            )
        return aminmax_result(input.amin(), input.amax())
    return aminmax_result(input.amin(dim, keepdim=keepdim), input.amax(dim, keepdim=keepdim))


def clamp_min(input: Tensor, min) -> Tensor:
    return _tensor(input, "clamp_min").clamp(min=min)


def clamp_max(input: Tensor, max) -> Tensor:
    return _tensor(input, "clamp_max").clamp(max=max)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contracts a's dims_a with b's dims_b (dims an int: a's last and b's first dims) as one matrix product."""
    _tensor(a, "tensordot", "a"), _tensor(b, "tensordot", "b")
    if isinstance(dims, numbers.Integral) and not isinstance(dims, bool):
        if dims < 0 or dims > min(a.dim(), b.dim()):
            raise RuntimeError(f"[tensordot] tensordot expects dims >= 0 and <= the operands' ranks, got {dims}")
        da, db = list(range(a.dim() - dims, a.dim())), list(range(dims))
    else:
        da, db = (list(d) if isinstance(d, (tuple, list)) else [d] for d in dims)
    da, db = [d % a.dim() for d in da], [d % b.dim() for d in db]
    if len(da) != len(db):
        raise RuntimeError(f"[tensordot] both dimension lists should have same length, got {len(da)} and {len(db)}")
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(
                f"[tensordot] contracted dimensions need to match, but first has size {a.shape[x]} in dim {x} "
                f"and second has size {b.shape[y]} in dim {y}"
            )
    free_a, free_b = [d for d in range(a.dim()) if d not in da], [d for d in range(b.dim()) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    am = a.permute(*free_a, *da).reshape(math.prod(a.shape[d] for d in free_a), k)
    bm = b.permute(*db, *free_b).reshape(k, math.prod(b.shape[d] for d in free_b))
    return (am @ bm).reshape(*[a.shape[d] for d in free_a], *[b.shape[d] for d in free_b])


def cdist(x1: Tensor, x2: Tensor, p=2.0, compute_mode=None) -> Tensor:
    """The p-norm distance between each row of x1 and each row of x2 (batch dims broadcast)."""
    _tensor(x1, "cdist", "x1"), _tensor(x2, "cdist", "x2")
    if x1.dim() < 2 or x2.dim() < 2:
        raise RuntimeError(f"[cdist] cdist only supports at least 2D tensors, X1 got: {x1.dim()}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(
            f"[cdist] X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}"
        )
    if _real(p, "cdist", "p") < 0:
        raise RuntimeError("[cdist] cdist only supports non-negative p values")
    if compute_mode not in (
        None,
        "use_mm_for_euclid_dist_if_necessary",
        "use_mm_for_euclid_dist",
        "donot_use_mm_for_euclid_dist",
    ):
        raise ValueError(f"[cdist] {compute_mode} is not a valid value for compute_mode")
    from fastnn import linalg

    return linalg.vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), float(p), dim=-1)


def dist(input: Tensor, other: Tensor, p=2) -> Tensor:
    """The p-norm of input - other."""
    return _tensor(input, "dist").sub(_tensor(other, "dist", "other")).norm(_real(p, "dist", "p"))


def isin(elements, test_elements, *, assume_unique=False, invert=False) -> Tensor:
    """Whether each element of `elements` is among `test_elements` (a tensor or a number each)."""
    if not isinstance(elements, _C.Tensor) and not isinstance(test_elements, _C.Tensor):
        raise TypeError("[isin] expected at least one Tensor among elements and test_elements")
    if not isinstance(elements, _C.Tensor):
        elements = _full_like(test_elements.reshape(-1)[:1].reshape(()), elements)
    test = test_elements.reshape(-1) if isinstance(test_elements, _C.Tensor) else test_elements
    found = (elements.unsqueeze(-1) == test).any(-1) if isinstance(test, _C.Tensor) else elements == test
    return ~found if invert else found


def _method(fn):
    """fn(input, ...) as the Tensor method input.fn(...)."""

    def method(self, *args: typing.Any, **kwargs: typing.Any):
        return fn(self, *args, **kwargs)

    method.__name__, method.__qualname__, method.__doc__ = fn.__name__, f"Tensor.{fn.__name__}", fn.__doc__
    return method


def _clamp_min_(self: Tensor, min) -> Tensor:
    return self.clamp_(min=min)


def _clamp_max_(self: Tensor, max) -> Tensor:
    return self.clamp_(max=max)


# Tensor methods (lerp_ writes the composed result back with one copy_)
for _name, _fn in {
    "addcmul": addcmul,
    "addcdiv": addcdiv,
    "addcmul_": _addcmul_,
    "addcdiv_": _addcdiv_,
    "lerp": lerp,
    "lerp_": _lerp_,
    "hypot": hypot,
    "logaddexp": logaddexp,
    "trace": trace,
    "diff": diff,
    "nansum": nansum,
    "nanmean": nanmean,
    "aminmax": aminmax,
    "clamp_min": clamp_min,
    "clamp_max": clamp_max,
    "clamp_min_": _clamp_min_,
    "clamp_max_": _clamp_max_,
    "dist": dist,
    "isin": isin,
}.items():
    setattr(_C.Tensor, _name, _fn if _fn.__code__.co_varnames[0] == "self" else _method(_fn))
