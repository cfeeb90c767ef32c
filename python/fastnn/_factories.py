"""Tensor factories with torch's signatures: sizes as f(2, 3) or f((2, 3)); dtype and requires_grad keywords."""

from __future__ import annotations

import numbers
import typing

import numpy as np

from fastnn import _C
from fastnn._device import CPU as _CPU, _parse, device as _device
from fastnn._dtype import bool as _bool, float32, float64, int64


def _dt(dtype, default, op):
    """dtype, or `default` when None; anything but a fastnn.dtype is a TypeError naming the op."""
    if dtype is None:
        return default
    if not isinstance(dtype, type(float32)):
        raise TypeError(f"[{op}] dtype must be a fastnn.dtype, got {dtype!r}")
    return dtype


_NO_CUDA = "is not available: fastnn was built for the CPU only"


def _device_index(d, op):
    """-1 for the CPU, the GPU's ordinal for a CUDA device (fastnn._C's device numbering); a RuntimeError naming
    the op when that device is not available."""
    if d.type == "cpu":
        return -1
    if not _C._cuda_built():
        raise RuntimeError(f"[{op}] device '{d}' {_NO_CUDA}")
    if d.type != "cuda":
        raise RuntimeError(f"[{op}] device '{d}' is not available: fastnn has CPU and CUDA devices only")
    count = _C._cuda_device_count()
    if count == 0:  # the same words as kernels/cuda/runtime.cu
        raise RuntimeError(f"[{op}] device '{d}' is not available: no CUDA GPU was found by this CUDA build of fastnn")
    index = 0 if d.index is None else d.index
    if index >= count:
        raise RuntimeError(f"[{op}] CUDA error: invalid device ordinal {d} (this machine has {count} GPU(s))")
    return index


def _as_device(device, op):
    """A `device=` argument (a fastnn.device, a string like 'cuda:1' or a GPU index) as a fastnn.device."""
    return device if isinstance(device, _device) else _device(*_parse(device, None, op))


def _cuda_index(device, op):
    """The GPU ordinal that .cuda(device) names (None: GPU 0; an int; 'cuda:1'; a fastnn.device), checked."""
    if device is None:
        d = _device("cuda")
    elif isinstance(device, int) and not isinstance(device, bool):
        d = _device("cuda", device)
    else:
        d = _as_device(device, op)
    if d.type != "cuda":
        raise RuntimeError(f"[{op}] Invalid device, must be cuda device, got {d}")
    return _device_index(d, op)


def _check_device(device, op, movable=False):
    """The fastnn.device for a `device=` argument (None is the CPU). A factory (`movable`) makes its tensor on the
    CPU and _finish moves it to a GPU; a layer constructor takes the CPU only so far, any other device being a
    RuntimeError naming the op and the device (a model is moved with .to(device), as torch allows)."""
    if device is None:
        return _CPU
    d = _as_device(device, op)
    if d.type != "cpu":
        _device_index(d, op)  # the message for a device that does not exist
        if movable:
            return d
        raise RuntimeError(
            f"[{op}] device='{d}' is not supported yet: fastnn makes tensors on the CPU; create it there and call "
            f".to('{d}')"
        )
    return d


def _finish(t, requires_grad, device=None):
    """t on `device` (a factory's device=), requiring grad if asked (after the move: the leaf is the moved tensor)."""
    if device is not None and device.type != "cpu":
        t = t.to(device)
    if not isinstance(requires_grad, (bool, int)):
        raise TypeError(f"[{_finish_op(t)}] requires_grad must be a bool, got {type(requires_grad).__name__}")
    if requires_grad:
        if not t.is_floating_point():
            raise RuntimeError(
                f"[{_finish_op(t)}] Only Tensors of floating point dtype can require gradients "
                f"(got {str(t.dtype).replace('fastnn.', '')})"
            )
        t.requires_grad_(True)
    return t


def _finish_op(t):
    """The factory that made `t` (for _finish's message): the caller's name."""
    import sys

    return sys._getframe(2).f_code.co_name


_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _int64(v, op, what):
    """A Python int that the C++ side can take: out of int64 range is a ValueError (not pybind's TypeError)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"[{op}] {what} must be an int, got {type(v).__name__}")
    v = int(v)
    if not _INT64_MIN <= v <= _INT64_MAX:
        raise ValueError(f"[{op}] {what} {v} does not fit in 64 bits")
    return v


def _size(size, op):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if isinstance(s, numbers.Integral) and not isinstance(s, bool):
            continue
        raise TypeError(f"[{op}] size must be a sequence of ints, got {type(s).__name__} ({s!r})")
    return [_int64(s, op, "size") for s in size]


def empty(
    *size: typing.Any, dtype: _C.dtype | None = None, requires_grad: bool = False, device: typing.Any = None
) -> _C.Tensor:
    device = _check_device(device, "empty", movable=True)
    return _finish(_C._empty(_size(size, "empty"), _dt(dtype, _C._get_default_dtype(), "empty")), requires_grad, device)


def zeros(
    *size: typing.Any, dtype: _C.dtype | None = None, requires_grad: bool = False, device: typing.Any = None
) -> _C.Tensor:
    device = _check_device(device, "zeros", movable=True)
    return _finish(_C._zeros(_size(size, "zeros"), _dt(dtype, _C._get_default_dtype(), "zeros")), requires_grad, device)


def ones(
    *size: typing.Any, dtype: _C.dtype | None = None, requires_grad: bool = False, device: typing.Any = None
) -> _C.Tensor:
    device = _check_device(device, "ones", movable=True)
    return _finish(
        _C._full(_size(size, "ones"), 1.0, _dt(dtype, _C._get_default_dtype(), "ones"), "ones"), requires_grad, device
    )


def full(
    size: typing.Any,
    fill_value: float,
    dtype: _C.dtype | None = None,
    requires_grad: bool = False,
    device: typing.Any = None,
) -> _C.Tensor:
    device = _check_device(device, "full", movable=True)
    if dtype is None:
        dtype = (
            _bool
            if isinstance(fill_value, bool)
            else int64
            if isinstance(fill_value, numbers.Integral)
            else _C._get_default_dtype()
        )
    if not isinstance(fill_value, numbers.Real):
        raise TypeError(f"[full] fill_value must be a number, got {type(fill_value).__name__}")
    return _finish(
        _C._full(_size((size,), "full"), fill_value, _dt(dtype, _C._get_default_dtype(), "full"), "full"),
        requires_grad,
        device,
    )


def arange(
    start: float = 0,
    end: float | None = None,
    step: float = 1,
    dtype: _C.dtype | None = None,
    requires_grad: bool = False,
    device: typing.Any = None,
) -> _C.Tensor:
    device = _check_device(device, "arange", movable=True)
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = int64 if is_int else _C._get_default_dtype()
    for v, what in ((start, "start"), (end, "end"), (step, "step")):
        if not isinstance(v, numbers.Real):
            raise TypeError(f"[arange] {what} must be a number, got {type(v).__name__}")
    return _finish(
        _C._arange(float(start), float(end), float(step), _dt(dtype, _C._get_default_dtype(), "arange")),
        requires_grad,
        device,
    )


def eye(
    n: int, m: int | None = None, dtype: _C.dtype | None = None, requires_grad: bool = False, device: typing.Any = None
) -> _C.Tensor:
    device = _check_device(device, "eye", movable=True)
    m = n if m is None else m
    return _finish(
        _C._eye(_int64(n, "eye", "n"), _int64(m, "eye", "m"), _dt(dtype, _C._get_default_dtype(), "eye")),
        requires_grad,
        device,
    )


def _real(v, op, what):
    """A real number (or a 1-element tensor's value) as a float."""
    if isinstance(v, _C.Tensor):
        if v.numel() != 1:
            raise ValueError(
                f"[{op}] {what} must be a number or a 1-element tensor, got a tensor of shape {tuple(v.shape)}"
            )
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"[{op}] {what} must be a number, got {type(v).__name__}")
    return float(v)


def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: _C.dtype | None = None,
    requires_grad: bool = False,
    device: typing.Any = None,
) -> _C.Tensor:
    device = _check_device(device, "linspace", movable=True)
    start, end = _real(start, "linspace", "start"), _real(end, "linspace", "end")
    steps = _int64(steps, "linspace", "steps")
    return _finish(
        _C._linspace(start, end, steps, _dt(dtype, _C._get_default_dtype(), "linspace")), requires_grad, device
    )


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    *,
    dtype: _C.dtype | None = None,
    requires_grad: bool = False,
    device: typing.Any = None,
) -> _C.Tensor:
    device = _check_device(device, "logspace", movable=True)
    start, end = _real(start, "logspace", "start"), _real(end, "logspace", "end")
    base, steps = _real(base, "logspace", "base"), _int64(steps, "logspace", "steps")
    return _finish(
        _C._logspace(start, end, steps, base, _dt(dtype, _C._get_default_dtype(), "logspace")), requires_grad, device
    )


def randn(
    *size: typing.Any,
    generator: _C.Generator | None = None,
    dtype: _C.dtype | None = None,
    requires_grad: bool = False,
    device: typing.Any = None,
) -> _C.Tensor:
    device = _check_device(device, "randn", movable=True)
    return _finish(
        _C._randn(_size(size, "randn"), _dt(dtype, _C._get_default_dtype(), "randn"), generator), requires_grad, device
    )


def rand(
    *size: typing.Any,
    generator: _C.Generator | None = None,
    dtype: _C.dtype | None = None,
    requires_grad: bool = False,
    device: typing.Any = None,
) -> _C.Tensor:
    device = _check_device(device, "rand", movable=True)
    return _finish(
        _C._rand(_size(size, "rand"), _dt(dtype, _C._get_default_dtype(), "rand"), generator), requires_grad, device
    )


def randint(
    low: int = 0,
    high: int | None = None,
    size: typing.Any = None,
    *,
    generator: _C.Generator | None = None,
    dtype: _C.dtype | None = None,
    requires_grad: bool = False,
    device: typing.Any = None,
) -> _C.Tensor:
    device = _check_device(device, "randint", movable=True)
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    if high is None or size is None:
        raise TypeError("[randint] missing the 'high' or 'size' argument")
    low, high, size = _int64(low, "randint", "low"), _int64(high, "randint", "high"), _size((size,), "randint")
    return _finish(_C._randint(low, high, size, _dt(dtype, int64, "randint"), generator), requires_grad, device)


def randperm(
    n: int,
    *,
    generator: _C.Generator | None = None,
    dtype: _C.dtype | None = None,
    requires_grad: bool = False,
    device: typing.Any = None,
) -> _C.Tensor:
    """A random permutation of 0, ..., n - 1."""
    device = _check_device(device, "randperm", movable=True)
    n = _int64(n, "randperm", "n")
    return _finish(_C._randperm(n, _dt(dtype, int64, "randperm"), generator), requires_grad, device)


def normal(
    mean: typing.Any,
    std: typing.Any = 1.0,
    size: typing.Any = None,
    *,
    generator: _C.Generator | None = None,
    dtype: _C.dtype | None = None,
    requires_grad: bool = False,
    device: typing.Any = None,
) -> _C.Tensor:
    """Normal draws: ``normal(mean_tensor, std)``, ``normal(mean, std_tensor)``, ``normal(mean_tensor,
    std_tensor)`` (broadcast; differentiable with zero gradients, as in torch) or ``normal(mean, std, size)``."""
    device = _check_device(device, "normal", movable=True)
    if isinstance(mean, _C.Tensor) or isinstance(std, _C.Tensor):
        if size is not None or dtype is not None or requires_grad or device.type != "cpu":
            raise TypeError(
                "[normal] size, dtype, requires_grad and device are only for a float mean and std; with a "
                "tensor mean or std the result takes their shape, dtype and device"
            )
        return _C._normal(mean, std, generator)
    for v, what in ((mean, "mean"), (std, "std")):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"[normal] {what} must be a number or a Tensor, got {type(v).__name__}")
    if size is None:
        raise TypeError("[normal] with a float mean and std, the size argument is required")
    return _finish(
        _C._normal_size(
            float(mean), float(std), _size((size,), "normal"), _dt(dtype, _C._get_default_dtype(), "normal"), generator
        ),
        requires_grad,
        device,
    )


def _input_tensor(input, op):
    if not isinstance(input, _C.Tensor):
        raise TypeError(f"[{op}] input must be a Tensor, got {type(input).__name__}")
    return input


def _like(fn):
    name = fn.__name__ + "_like"

    def like(
        input: _C.Tensor, dtype: _C.dtype | None = None, requires_grad: bool = False, *, device: typing.Any = None
    ) -> _C.Tensor:
        x = _input_tensor(input, name)
        device = x.device if device is None else _check_device(device, name, movable=True)  # the input's, as torch
        return fn(*x.shape, dtype=x.dtype if dtype is None else dtype, requires_grad=requires_grad, device=device)

    like.__name__ = like.__qualname__ = name  # argument errors then read "zeros_like() takes ..."
    return like


empty_like, zeros_like, ones_like = map(_like, (empty, zeros, ones))


def rand_like(
    input: _C.Tensor,
    *,
    generator: _C.Generator | None = None,
    dtype: _C.dtype | None = None,
    requires_grad: bool = False,
    device: typing.Any = None,
) -> _C.Tensor:
    x = _input_tensor(input, "rand_like")
    device = x.device if device is None else _check_device(device, "rand_like", movable=True)
    return rand(
        *x.shape,
        generator=generator,
        dtype=x.dtype if dtype is None else dtype,
        requires_grad=requires_grad,
        device=device,
    )


def randn_like(
    input: _C.Tensor,
    *,
    generator: _C.Generator | None = None,
    dtype: _C.dtype | None = None,
    requires_grad: bool = False,
    device: typing.Any = None,
) -> _C.Tensor:
    x = _input_tensor(input, "randn_like")
    device = x.device if device is None else _check_device(device, "randn_like", movable=True)
    return randn(
        *x.shape,
        generator=generator,
        dtype=x.dtype if dtype is None else dtype,
        requires_grad=requires_grad,
        device=device,
    )


def randint_like(
    input: _C.Tensor,
    low: int = 0,
    high: int | None = None,
    *,
    generator: _C.Generator | None = None,
    dtype: _C.dtype | None = None,
    requires_grad: bool = False,
    device: typing.Any = None,
) -> _C.Tensor:
    """Integers in [low, high) (``randint_like(input, high)`` for [0, high)) in input's shape and dtype."""
    x = _input_tensor(input, "randint_like")
    device = x.device if device is None else _check_device(device, "randint_like", movable=True)
    if high is None:
        low, high = 0, low
    return randint(
        low,
        high,
        x.shape,
        generator=generator,
        dtype=x.dtype if dtype is None else dtype,
        requires_grad=requires_grad,
        device=device,
    )


def full_like(
    input: _C.Tensor,
    fill_value: float,
    dtype: _C.dtype | None = None,
    requires_grad: bool = False,
    *,
    device: typing.Any = None,
) -> _C.Tensor:
    x = _input_tensor(input, "full_like")
    device = x.device if device is None else _check_device(device, "full_like", movable=True)
    return full(
        x.shape, fill_value, dtype=x.dtype if dtype is None else dtype, requires_grad=requires_grad, device=device
    )


def from_numpy(array: np.ndarray) -> _C.Tensor:
    """A tensor sharing the NumPy array's memory (float64, float32, float16, int64, int32, int16, int8, uint8 or bool)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"[from_numpy] expected np.ndarray (got {type(array).__name__})")
    return _C._from_numpy(array, False)


def _holds_float64(data):
    """True when nested lists hold a float64 NumPy value or tensor (which keep float64, as in torch)."""
    if isinstance(data, (list, tuple)):
        return any(_holds_float64(d) for d in data)
    if isinstance(data, (np.ndarray, np.generic)):
        return data.dtype == np.float64
    return isinstance(data, _C.Tensor) and data.dtype == float64


def _has_huge_int(data):
    if isinstance(data, (list, tuple)):
        return any(_has_huge_int(d) for d in data)
    return isinstance(data, int) and not _INT64_MIN <= data <= _INT64_MAX


def tensor(
    data: typing.Any, dtype: _C.dtype | None = None, requires_grad: bool = False, device: typing.Any = None
) -> _C.Tensor:
    """A new tensor holding a copy of `data` (nested lists, numbers, NumPy arrays or tensors)."""
    device = _check_device(device, "tensor", movable=True)
    python_floats = False  # floats from Python numbers take the default dtype
    if isinstance(data, _C.Tensor):
        t = data.detach().clone()
    else:
        if isinstance(data, (np.ndarray, np.generic)):  # NumPy values keep their dtype
            arr = np.asarray(data)
        else:
            try:
                arr = np.asarray(data)
            except ValueError as e:
                raise ValueError(f"[tensor] could not build a tensor from the data: {e}") from None
            if arr.dtype == object:
                if _has_huge_int(data):
                    raise ValueError("[tensor] an integer in the data does not fit in 64 bits")
                raise TypeError(f"[tensor] could not infer a dtype for data of type {type(data).__name__}")
            # Python floats take the default dtype (unless float64 was asked for: no rounding through float32)
            if arr.dtype.kind == "f" and dtype != float64 and not (arr.dtype == np.float64 and _holds_float64(data)):
                arr = arr.astype(np.float32)
                python_floats = True
        if arr.dtype == np.uint64 and arr.size and int(arr.max()) > _INT64_MAX:
            # NumPy picks uint64 for ints in [2**63, 2**64): int64 would wrap them to negatives.
            raise ValueError(f"[tensor] value {int(arr.max())} does not fit in int64")
        t = _C._from_numpy(arr, True)
    if dtype is None and python_floats:
        dtype = _C._get_default_dtype()
    if dtype is not None and t.dtype != dtype:
        if not isinstance(dtype, type(float32)):
            raise TypeError(f"[tensor] dtype must be a fastnn.dtype, got {dtype!r}")
        t = t._to_dtype(dtype)
    return _finish(t, requires_grad, device)
