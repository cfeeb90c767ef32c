"""The out= keyword of torch's functions: the op runs as usual, then its result is written into `out`, which is
resized when its shape differs (with torch's warning unless it was empty), and `out` is returned.

Dtype rules follow torch, op by op:
  cast   out may have any dtype the result can be cast to (no float -> int, no number -> bool)
  same   out must have the result's dtype exactly (matmul, softmax, argmax's int64, ...)
  found  as `same`, with torch's other wording (abs, neg, clamp)
  cat    as `cast`, with torch.cat's wording and TypeError
  reduce sum/mean: out's dtype is the dtype the reduction runs in (as dtype=)
As torch, out= is refused when autograd would have to record (grad mode on and an argument requires grad)."""

import warnings

from fastnn import _C
from fastnn import _dtype as _dt
from fastnn._dtype import bool as _bool, float32, float64, int64

_SCALAR_NAME = {
    float32: "Float",
    float64: "Double",
    int64: "Long",
    _bool: "Bool",
    _dt.float16: "Half",
    _dt.bfloat16: "BFloat16",
    _dt.uint8: "Byte",
    _dt.int8: "Char",
    _dt.int16: "Short",
    _dt.int32: "Int",
}
_CPP_NAME = {
    float32: "float",
    float64: "double",
    int64: "long int",
    _bool: "bool",
    _dt.float16: "c10::Half",
    _dt.bfloat16: "c10::BFloat16",
    _dt.uint8: "unsigned char",
    _dt.int8: "signed char",
    _dt.int16: "short int",
    _dt.int32: "int",
}

_KINDS = {
    "add": "cast",
    "sub": "cast",
    "mul": "cast",
    "div": "cast",
    "pow": "cast",
    "exp": "cast",
    "log": "cast",
    "sqrt": "cast",
    "sigmoid": "cast",
    "tanh": "cast",
    "reciprocal": "cast",
    "eq": "cast",
    "ne": "cast",
    "lt": "cast",
    "le": "cast",
    "gt": "cast",
    "ge": "cast",
    "max": "cast",
    "min": "cast",
    "abs": "found",
    "neg": "found",
    "clamp": "found",
    "clip": "found",
    "matmul": "same",
    "mm": "same",
    "bmm": "same",
    "addmm": "same",
    "softmax": "same",
    "log_softmax": "same",
    "argmax": "same",
    "argmin": "same",
    "index_select": "same",
    "cat": "cat",
    "concat": "cat",
    "stack": "cat",
    "sum": "reduce",
    "mean": "reduce",
}


def _can_cast(src, dst):
    if src.is_floating_point and not dst.is_floating_point:
        return False
    return src == _bool or dst != _bool


def _check_dtype(op, kind, result, out):
    r, o = result.dtype, out.dtype
    if op == "index_select" and r != o:
        raise RuntimeError("[index_select] index_select(): self and result must have the same scalar type")
    if kind in ("same", "reduce") and r != o:
        raise RuntimeError(f"[{op}] Expected out tensor to have dtype {_CPP_NAME[r]}, but got {_CPP_NAME[o]} instead")
    if kind == "found" and r != o:
        raise RuntimeError(f"[{op}] Found dtype {_SCALAR_NAME[o]} but expected {_SCALAR_NAME[r]}")
    if kind == "cat" and not _can_cast(r, o):
        raise TypeError(f"[{op}] torch.cat(): input types can't be cast to the desired output type {_SCALAR_NAME[o]}")
    if kind == "cast" and not _can_cast(r, o):
        raise RuntimeError(
            f"[{op}] result type {_SCALAR_NAME[r]} can't be cast to the desired output type {_SCALAR_NAME[o]}"
        )


def _write(op, result, out):
    from fastnn.autograd.grad_mode import no_grad

    with no_grad():
        if tuple(out.shape) != tuple(result.shape):
            if out.numel() != 0:
                warnings.warn(
                    f"An output with one or more elements was resized since it had shape {list(out.shape)}, "
                    f"which does not match the required output shape {list(result.shape)}. This behavior "
                    "is deprecated, and in a future PyTorch release outputs will not be resized unless they "
                    "have zero elements. You can explicitly reuse an out tensor t by resizing it, inplace, "
                    "to zero elements with t.resize_(0).",
                    stacklevel=4,
                )
            out.data = _C._empty(list(result.shape), out.dtype)
        out.copy_(result)
    return out


def _tensors(args, kwargs):
    for a in (*args, *kwargs.values()):
        if isinstance(a, _C.Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from (t for t in a if isinstance(t, _C.Tensor))


def _call(fn, op, kind, args, kwargs, out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    if not outs or not all(isinstance(o, _C.Tensor) for o in outs):
        raise TypeError(f"[{op}] out must be a Tensor, got {type(out).__name__}")
    if _C.is_grad_enabled() and any(t.requires_grad for t in (*outs, *_tensors(args, kwargs))):
        raise RuntimeError(
            f"[{op}] functions with out=... arguments don't support automatic differentiation, but "
            "one of the arguments requires grad."
        )
    if kind == "reduce":
        if op == "sum" and len(args) < 2 and "dim" not in kwargs:
            raise TypeError("[sum] out= needs dim: torch's sum(input, *, dtype) has no out argument")
        if not isinstance(out, _C.Tensor):
            raise TypeError(f"[{op}] out must be a Tensor, got {type(out).__name__}")
        if op == "mean" and not out.is_floating_point() and len(args) < 2 and "dim" not in kwargs:
            raise RuntimeError(
                f"[mean] mean.dtype_out(): input types can't be cast to the desired output type "
                f"{_SCALAR_NAME[out.dtype]}"
            )
        if kwargs.get("dtype") is None and (op == "sum" or out.is_floating_point()):
            kwargs = {**kwargs, "dtype": out.dtype}
        kind = "same" if op == "sum" or out.is_floating_point() else "cast"
    result = fn(*args, **kwargs)
    results = result if isinstance(result, tuple) else (result,)
    if isinstance(result, tuple) != isinstance(out, (tuple, list)) or len(results) != len(outs):
        want = f"a tuple of {len(results)} tensors" if isinstance(result, tuple) else "a Tensor"
        raise TypeError(f"[{op}] out must be {want} here, got {type(out).__name__}")
    for r, o in zip(results, outs):
        _check_dtype(op, "same" if len(results) > 1 else kind, r, o)
    for r, o in zip(results, outs):
        _write(op, r, o)
    return out


def _with_out(op, kind):
    fn = getattr(_C, op)

    def wrapper(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        return _call(fn, op, kind, args, kwargs, out)

    wrapper.__name__ = wrapper.__qualname__ = op
    wrapper.__doc__ = fn.__doc__
    return wrapper


for _op, _kind in _KINDS.items():
    globals()[_op] = _with_out(_op, _kind)
