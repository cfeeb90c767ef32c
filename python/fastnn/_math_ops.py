"""torch's math helpers composed from the C++ ops (autograd and every device for free): addcmul/addcdiv, lerp,
hypot, logaddexp, trace, diff, nansum/nanmean, aminmax, clamp_min/clamp_max, tensordot, cdist, dist, isin; and the
data helpers unique, bincount, histc, searchsorted, kron, cross, index_fill/index_copy, masked_scatter (sorts,
comparisons, scatters and index_add: no Python loops over elements)."""

from __future__ import annotations

import builtins
import collections
import math
import numbers
import typing
import warnings

from fastnn import _C
from fastnn import _dtype as _dtypes
from fastnn._errors import named_function

if typing.TYPE_CHECKING:
    from fastnn._C import Tensor

aminmax_result = collections.namedtuple("aminmax", ["min", "max"])


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
    value = _real(value, "addcmul", "value")
    if not input.dtype.is_floating_point and isinstance(value, float):
        value = int(value)  # torch takes value in the input's dtype
    return input.add(tensor1 * tensor2, alpha=value)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """input + value * tensor1 / tensor2."""
    _tensor(input, "addcdiv"), _tensor(tensor1, "addcdiv", "tensor1"), _tensor(tensor2, "addcdiv", "tensor2")
    if not any(t.dtype.is_floating_point for t in (input, tensor1, tensor2)):
        raise RuntimeError(
            "[addcdiv] Integer division with addcdiv is no longer supported: use (input + value * tensor1 / tensor2) "
            "for a true division, as torch says"
        )
    return input.add(tensor1 / tensor2, alpha=_real(value, "addcdiv", "value"))


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
    return input.add(delta, alpha=w) if abs(w) < 0.5 else end.sub(delta, alpha=1 - w)


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
        x = x.narrow(dim, min(length, 1), max(length - 1, 0)) - x.narrow(dim, 0, max(length - 1, 0))
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


def cdist(x1: Tensor, x2: Tensor, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distance between each row of x1 and each row of x2 (batch dims broadcast). Euclidean distances
    go through one matrix product, as torch's (|a|^2 + |b|^2 - 2 a.b, clamped at 1e-30 before the square root) with
    compute_mode 'use_mm_for_euclid_dist', or by default ('use_mm_for_euclid_dist_if_necessary') when either side has
    more than 25 rows; otherwise, and for other p, from the differences directly."""
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
        "use_mm_for_euclid_dist_if_necessary",
        "use_mm_for_euclid_dist",
        "donot_use_mm_for_euclid_dist",
    ):
        raise ValueError(f"[cdist] {compute_mode} is not a valid value for compute_mode")
    from fastnn import linalg

    if (
        float(p) == 2.0
        and x1.shape[-1] > 0  # no columns: exact zeros, from the differences
        and (
            compute_mode == "use_mm_for_euclid_dist"
            or (compute_mode != "donot_use_mm_for_euclid_dist" and (x1.shape[-2] > 25 or x2.shape[-2] > 25))
        )
    ):
        return _euclidean_dist(x1, x2)
    return linalg.vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), float(p), dim=-1)


def _euclidean_dist(x1: Tensor, x2: Tensor) -> Tensor:
    """sqrt(|a|^2 + |b|^2 - 2 a.b) for each row a of x1 and b of x2 by one (batched) matrix product: the rows extended
    by their squared norm and a one, so the product gives the three terms at once."""
    from fastnn import _factories

    n1, n2 = x1.pow(2).sum(-1, keepdim=True), x2.pow(2).sum(-1, keepdim=True)
    a = _C.cat([x1.mul(-2), n1, _factories.ones_like(n1)], -1)
    b = _C.cat([x2, _factories.ones_like(n2), n2], -1)
    return a.matmul(b.transpose(-2, -1)).clamp_min(1e-30).sqrt()


def dist(input: Tensor, other: Tensor, p=2) -> Tensor:
    """The p-norm of input - other."""
    return _tensor(input, "dist").sub(_tensor(other, "dist", "other")).norm(_real(p, "dist", "p"))


def isin(elements, test_elements, *, assume_unique=False, invert=False) -> Tensor:
    """Whether each element of `elements` is among `test_elements` (a tensor or a number each). assume_unique is a
    speed hint in torch; the comparison here does not depend on it."""
    if not isinstance(elements, _C.Tensor) and not isinstance(test_elements, _C.Tensor):
        raise TypeError("[isin] expected at least one Tensor among elements and test_elements")
    if not isinstance(elements, _C.Tensor):
        from fastnn import _factories

        elements = _factories.tensor(elements, dtype=test_elements.dtype, device=test_elements.device)
    test = test_elements.reshape(-1) if isinstance(test_elements, _C.Tensor) else test_elements
    found = (elements.unsqueeze(-1) == test).any(-1) if isinstance(test, _C.Tensor) else elements == test
    return ~found if invert else found


def _int_tensor(x, op, what="input"):
    if _tensor(x, op, what).dtype.is_floating_point or x.dtype == _dtypes.bool:
        raise RuntimeError(f"[{op}] expected an integer tensor for '{what}', got {x.dtype}")
    return x


def unique(input: Tensor, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values in ascending order, with where each element went (inverse) and how often each occurs."""
    from fastnn import _factories

    _tensor(input, "unique")
    if dim is not None:
        raise NotImplementedError("[unique] dim= is not supported yet (unique over all elements is)")
    flat = input.detach().reshape(-1)
    values, order = flat.sort()
    new = _factories.ones(flat.shape[0], dtype=_dtypes.bool, device=input.device)
    if flat.shape[0] > 1:
        new[1:] = values[1:] != values[:-1]
    out = [values[new]]
    if return_inverse:
        group = new.long().cumsum(0) - 1  # each sorted element's distinct value
        out.append(_factories.empty_like(group).scatter(0, order, group).reshape(input.shape))
    if return_counts:
        starts = new.nonzero().reshape(-1)
        ends = _C.cat([starts[1:], _factories.tensor([flat.shape[0]], device=input.device)])
        out.append(ends - starts)
    return out[0] if len(out) == 1 else tuple(out)


def bincount(input: Tensor, weights=None, minlength=0) -> Tensor:
    """How often each value 0..max occurs in a 1-D non-negative integer tensor (or the sum of its weights)."""
    from fastnn import _factories

    x = _int_tensor(input, "bincount")
    if x.dim() != 1 or (x.numel() and int(x.min()) < 0):
        raise RuntimeError("[bincount] bincount only supports 1-d non-negative integral inputs.")
    if isinstance(minlength, bool) or not isinstance(minlength, numbers.Integral) or minlength < 0:
        raise RuntimeError(f"[bincount] minlength should be >= 0, got {minlength!r}")
    n = max(int(x.max()) + 1 if x.numel() else 0, minlength)
    if weights is None:
        return _factories.zeros(n, dtype=_dtypes.int64, device=x.device).index_add_(
            0, x, _factories.ones_like(x).long()
        )
    if _tensor(weights, "bincount", "weights").shape != x.shape:
        raise RuntimeError("[bincount] weights should be 1-d and have the same length as input")
    dtype = weights.dtype if weights.dtype.is_floating_point else _dtypes.float64
    return _factories.zeros(n, dtype=dtype, device=x.device).index_add_(0, x, weights.detach().to(dtype))


def histc(input: Tensor, bins=100, min=0, max=0) -> Tensor:
    """A histogram of `bins` equal bins over [min, max] (the data's range when min == max); values outside are
    ignored, max itself falls in the last bin."""
    _tensor(input, "histc")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"[histc] \"histogram_cpu\" not implemented for '{input.dtype}'")
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins <= 0:
        raise RuntimeError(f"[histc] bins must be > 0, got {bins!r}")
    x = input.detach().reshape(-1)
    lo, hi = float(_real(min, "histc", "min")), float(_real(max, "histc", "max"))
    if lo == hi and x.numel():
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"[histc] max must be larger than min, got min={lo}, max={hi}")
    x = x[(x >= lo) & (x <= hi)]
    idx = ((x - lo) * (bins / (hi - lo))).floor().long().clamp(0, bins - 1)
    return bincount(idx, minlength=bins).to(input.dtype)


def searchsorted(sorted_sequence: Tensor, input, *, out_int32=False, right=False, side=None, sorter=None) -> Tensor:
    """For each value, how many entries of the (innermost, ascending) sorted sequence lie before it: < value, or
    <= value with right=True (side='right')."""
    from fastnn import _factories

    seq = _tensor(sorted_sequence, "searchsorted", "sorted_sequence")
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"[searchsorted] side can only be 'left' or 'right' but got {side!r}")
        if right and side == "left":
            raise RuntimeError(
                "[searchsorted] side and right can't be set to opposites, got side of left while right was True"
            )
        right = side == "right"
    if sorter is not None:
        seq = seq.gather(-1, sorter)
    scalar = not isinstance(input, _C.Tensor)
    values = _factories.tensor(input, dtype=seq.dtype, device=seq.device) if scalar else input
    if seq.dim() > 1 and tuple(seq.shape[:-1]) != tuple(values.shape[:-1]):
        raise RuntimeError(
            f"[searchsorted] boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries tensor "
            f"and input value tensor must match, but we got boundaries tensor {list(seq.shape)} and input value "
            f"tensor {list(values.shape)}"
        )
    v = values.detach().unsqueeze(-1)
    s = seq.detach() if seq.dim() == 1 else seq.detach().unsqueeze(-2)
    out = ((s <= v) if right else (s < v)).sum(-1)
    return out.int() if out_int32 else out


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: every element of input times the whole of other, laid out block by block."""
    a, b = _tensor(input, "kron"), _tensor(other, "kron", "other")
    nd = builtins.max(a.dim(), b.dim())
    sa, sb = (1,) * (nd - a.dim()) + tuple(a.shape), (1,) * (nd - b.dim()) + tuple(b.shape)
    pa = [d for n in sa for d in (n, 1)]
    pb = [d for n in sb for d in (1, n)]
    return (a.reshape(pa) * b.reshape(pb)).reshape([x * y for x, y in zip(sa, sb)])


def cross(input: Tensor, other: Tensor, dim=None) -> Tensor:
    """The cross product of 3-vectors along dim (None: the first dim of size 3, as torch.cross)."""
    a, b = _tensor(input, "cross"), _tensor(other, "cross", "other")
    if dim is None:
        warnings.warn(
            "Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim explicitly "
            "or simply use torch.linalg.cross.\nThe default value of dim will change to agree with that of "
            "linalg.cross in a future release.",
            stacklevel=2,
        )
        sizes = [i for i, n in enumerate(a.shape) if n == 3]
        if not sizes:
            raise RuntimeError(f"[cross] no dimension of size 3 in input of shape {list(a.shape)}")
        dim = sizes[0]
    if a.shape[dim] != 3 or b.shape[dim] != 3:
        raise RuntimeError(
            f"[cross] linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[dim]} and {b.shape[dim]}"
        )
    return a.roll(-1, dim) * b.roll(-2, dim) - a.roll(-2, dim) * b.roll(-1, dim)


def _dim_mask(self, dim, index, op):
    """A bool tensor true at `index` along dim, shaped to broadcast against self."""
    from fastnn import _factories

    if index.dim() > 1:
        raise IndexError(f"[{op}] Index is supposed to be a vector, got {index.dim()}-D")
    dim = dim % builtins.max(self.dim(), 1)
    mask = _factories.zeros(self.shape[dim] if self.dim() else 1, dtype=_dtypes.bool, device=self.device)
    mask[index.reshape(-1)] = True
    shape = [1] * self.dim()
    if shape:
        shape[dim] = -1
    return mask.reshape(shape)


def _index_fill(self: Tensor, dim, index, value) -> Tensor:
    """self with value written at `index` along dim."""
    mask = _dim_mask(self, dim, _int_tensor(index, "index_fill", "index"), "index_fill")
    value = value.to(self.dtype) if isinstance(value, _C.Tensor) else value
    return self.masked_fill(mask, value)


def _index_fill_(self: Tensor, dim, index, value) -> Tensor:
    mask = _dim_mask(self, dim, _int_tensor(index, "index_fill_", "index"), "index_fill_")
    return self.masked_fill_(mask, value)


def _index_copy_(self: Tensor, dim, index, source) -> Tensor:
    """self with source's slices written at `index` along dim (the last write wins for a repeated index)."""
    _int_tensor(index, "index_copy_", "index")
    self[(slice(None),) * (dim % builtins.max(self.dim(), 1)) + (index,)] = source
    return self


def _index_copy(self: Tensor, dim, index, source) -> Tensor:
    return _index_copy_(self.clone(), dim, index, source)


def _masked_scatter_(self: Tensor, mask, source) -> Tensor:
    """self's elements where mask (broadcast) is true, taken from source's first elements in row-major order."""
    if _tensor(mask, "masked_scatter_", "mask").dtype != _dtypes.bool:
        raise RuntimeError(
            f"[masked_scatter_] masked_scatter_ only supports boolean masks, but got mask with dtype {mask.dtype}"
        )
    m = mask.expand_as(self)
    count = int(m.sum())
    if count > source.numel():
        raise RuntimeError(
            f"[masked_scatter_] Number of elements of source < number of ones in mask ({source.numel()} < {count})"
        )
    self[m] = source.reshape(-1)[:count]
    return self


def _masked_scatter(self: Tensor, mask, source) -> Tensor:
    return _masked_scatter_(self.clone(), mask, source)


# The public functions' errors name them (an inner op's message gets "[name] " in front).
for _public in (
    "addcmul addcdiv lerp hypot logaddexp trace diff nansum nanmean aminmax clamp_min clamp_max tensordot "
    "cdist dist isin unique bincount histc searchsorted kron cross"
).split():
    globals()[_public] = named_function(globals()[_public])


def _method(fn, name=None):
    """fn(input, ...) as the Tensor method input.name(...), its errors naming it."""
    name = name or fn.__name__.strip("_") + ("_" if fn.__name__.endswith("_") else "")

    def method(self, *args: typing.Any, **kwargs: typing.Any):
        return fn(self, *args, **kwargs)

    method.__name__, method.__qualname__, method.__doc__ = name, name, fn.__doc__
    return named_function(method)


def _linalg(name):
    def method(self: Tensor) -> typing.Any:
        from fastnn import linalg

        return getattr(linalg, name)(self)

    method.__name__ = method.__qualname__ = name
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
    "unique": unique,
    "bincount": bincount,
    "histc": histc,
    "kron": kron,
    "cross": cross,
    "index_fill": _index_fill,
    "index_fill_": _index_fill_,
    "index_copy": _index_copy,
    "index_copy_": _index_copy_,
    "masked_scatter": _masked_scatter,
    "masked_scatter_": _masked_scatter_,
    "inverse": _linalg("inv"),
    "det": _linalg("det"),
    "slogdet": _linalg("slogdet"),
    "logdet": _linalg("logdet"),
}.items():
    setattr(_C.Tensor, _name, _method(_fn, _name))
