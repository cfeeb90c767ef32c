"""Tensor methods written in Python: printing, conversions and iteration."""

from __future__ import annotations

import copy
import typing

from fastnn import _C, _dtype, _tensor_str
from fastnn._C import Tensor
from fastnn._device import CPU as _CPU, device as _device_type
from fastnn._dlpack import _dlpack_device

if typing.TYPE_CHECKING:  # names in the annotations, which scripts/gen_stubs.py copies into _C.pyi
    import collections.abc

    import numpy

    import fastnn


def _repr(self: Tensor, prefix: str = "tensor(") -> str:
    t = self.detach()
    suffixes = []
    if t.is_cuda:  # printed from a copy on the CPU, with the device named as torch does
        suffixes.append(f"device='{t.device}'")
        t = t.cpu()
    # Values are formatted from float32 for the 16-bit floats (NumPy has no bfloat16).
    values = (t.float() if t.dtype in (_dtype.float16, _dtype.bfloat16) else t).numpy()
    if self.grad_fn is not None:
        suffixes.append(f"grad_fn=<{self.grad_fn.name()}>")
    elif self.requires_grad:
        suffixes.append("requires_grad=True")
    is_default = self.dtype in (_C._get_default_dtype(), _dtype.int64, _dtype.bool)
    return _tensor_str.format_tensor(
        values, dtype_repr=repr(self.dtype), is_default_dtype=is_default, suffixes=suffixes, prefix=prefix
    )


_TO_KEYWORDS = ("device", "dtype", "non_blocking", "copy", "memory_format")


def _parse_to(op, args, kwargs):
    """(device index or None, dtype, copy) from torch's three forms of to(): (device=None, dtype=None,
    non_blocking=False, copy=False), (dtype, non_blocking=False, copy=False) and (tensor, non_blocking=False,
    copy=False). The device index is -1 for the CPU (see _factories._device_index); copies are synchronous, so
    non_blocking changes nothing; memory_format is refused (one layout: strided)."""
    from fastnn._factories import _as_device, _device_index

    for k in kwargs:
        if k not in _TO_KEYWORDS:
            raise TypeError(f"[{op}] got an unexpected keyword argument '{k}'")
    if kwargs.get("memory_format") is not None:
        raise NotImplementedError(f"[{op}] memory_format is not supported: fastnn's tensors are strided only")
    args, dev, dtype = list(args), kwargs.get("device"), kwargs.get("dtype")
    first = args[0] if args else None
    if isinstance(first, (Tensor, _C.dtype)):
        if "device" in kwargs or "dtype" in kwargs:
            raise TypeError(f"[{op}] takes device= and dtype= only in the form to(device=None, dtype=None, ...)")
        args.pop(0)
        dtype = first if isinstance(first, _C.dtype) else first.dtype
        if isinstance(first, Tensor):
            dev = first.device
    elif args and not isinstance(first, bool):  # to(device[, dtype], ...)
        if "device" in kwargs:
            raise TypeError(f"[{op}] got multiple values for argument 'device'")
        dev = args.pop(0)
        if args and isinstance(args[0], _C.dtype):
            if "dtype" in kwargs:
                raise TypeError(f"[{op}] got multiple values for argument 'dtype'")
            dtype = args.pop(0)
    if len(args) > 2:
        raise TypeError(f"[{op}] takes at most 4 positional arguments, got {len(args)} more than it accepts")
    flags = dict(zip(("non_blocking", "copy"), args))
    for k in flags:
        if k in kwargs:
            raise TypeError(f"[{op}] got multiple values for argument '{k}'")
    flags.update({k: kwargs[k] for k in ("non_blocking", "copy") if k in kwargs})
    for k, v in flags.items():
        if not isinstance(v, bool):
            raise TypeError(f"[{op}] argument '{k}' must be bool, not {type(v).__name__}")
    if dtype is not None and not isinstance(dtype, _C.dtype):
        raise TypeError(f"[{op}] dtype must be a fastnn.dtype, got {dtype!r}")
    index = None if dev is None else _device_index(_as_device(dev, op), op)
    return index, dtype, flags.get("copy", False)


def _to(self: Tensor, *args: typing.Any, **kwargs: typing.Any) -> Tensor:
    """to(device), to(dtype), to(device, dtype), to(other), with non_blocking= (nothing to overlap on the CPU)
    and copy= (a new tensor even when nothing changes), as torch."""
    index, dtype, copy = _parse_to("to", args, kwargs)
    dtype = self.dtype if dtype is None else dtype
    if index is not None and index != self._device_index:  # a new tensor already: copy=True asks nothing more
        return self._to_device(index)._to_dtype(dtype)
    return self._to_copy(dtype) if copy else self._to_dtype(dtype)


def _cpu(self: Tensor, memory_format: None = None) -> Tensor:
    if memory_format is not None:
        raise NotImplementedError("[cpu] memory_format is not supported: fastnn's tensors are strided only")
    return self._to_device(-1)


def _cuda(self: Tensor, device: typing.Any = None, non_blocking: bool = False, memory_format: None = None) -> Tensor:
    """A copy on the GPU `device` (an index, 'cuda:1' or a fastnn.device; None: GPU 0), or self when it is there."""
    from fastnn._factories import _cuda_index

    if memory_format is not None:
        raise NotImplementedError("[cuda] memory_format is not supported: fastnn's tensors are strided only")
    return self._to_device(_cuda_index(device, "cuda"))


def _iter(self: Tensor) -> typing.Iterator[Tensor]:
    if self.dim() == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (self[i] for i in range(self.shape[0]))


def _format(self: Tensor, spec: str) -> str:
    if self.dim() == 0:
        return self.item().__format__(spec)
    return object.__format__(self, spec)


def _like(self, data):
    """`data` as a tensor of self's class with self's requires_grad (a Parameter stays a Parameter)."""
    return type(self)(data, self.requires_grad) if type(self) is not Tensor else data.requires_grad_(self.requires_grad)


def _copy(self: Tensor) -> Tensor:
    """copy.copy: a new leaf sharing self's memory, with self's attributes (as torch)."""
    new = _like(self, self.detach())
    new.__dict__.update(self.__dict__)
    return new


def _deepcopy(self: Tensor, memo: dict[int, typing.Any]) -> Tensor:
    if id(self) in memo:
        return memo[id(self)]
    if not self.is_leaf:
        raise RuntimeError(
            "[deepcopy] Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
            "protocol at the moment.  If you were attempting to deepcopy a module, this may be because "
            "of a torch.nn.utils.weight_norm usage, see https://github.com/pytorch/pytorch/pull/103001"
        )
    base = self._base
    if base is not None and base.is_contiguous() and base.storage_offset() == 0:
        # a view of its base's copy: tensors that shared memory still do after one deepcopy (torch memoizes storages)
        data = _C._as_strided(
            copy.deepcopy(base, memo).detach(), list(self.shape), list(self.stride()), self.storage_offset()
        )
    else:
        data = self.detach().clone()
    new = _like(self, data)
    if self.grad is not None:
        new.grad = self.grad.detach().clone()
    memo[id(self)] = new
    new.__dict__.update(copy.deepcopy(self.__dict__, memo))  # attributes set on the tensor, as torch copies them
    return new


def _new(fill):
    def method(
        self: Tensor,
        *size: typing.Any,
        dtype: fastnn.dtype | None = None,
        requires_grad: bool = False,
        device: typing.Any = None,
    ) -> Tensor:
        from fastnn import _factories

        return getattr(_factories, fill)(
            *size,
            dtype=self.dtype if dtype is None else dtype,
            requires_grad=requires_grad,
            device=self.device if device is None else device,  # as torch: self's device by default
        )

    method.__name__ = method.__qualname__ = "new_" + fill
    return method


def _new_full(
    self: Tensor,
    size: collections.abc.Sequence[int],
    fill_value: float,
    dtype: fastnn.dtype | None = None,
    requires_grad: bool = False,
    device: typing.Any = None,
) -> Tensor:
    from fastnn import _factories

    return _factories.full(
        size,
        fill_value,
        dtype=self.dtype if dtype is None else dtype,
        requires_grad=requires_grad,
        device=self.device if device is None else device,  # as torch: self's device by default
    )


def _new_tensor(
    self: Tensor,
    data: typing.Any,
    dtype: fastnn.dtype | None = None,
    requires_grad: bool = False,
    device: typing.Any = None,
) -> Tensor:
    from fastnn import _factories

    return _factories.tensor(
        data,
        dtype=self.dtype if dtype is None else dtype,
        requires_grad=requires_grad,
        device=self.device if device is None else device,  # as torch: self's device by default
    )


def _other(op):
    """A method taking another tensor (x.reshape_as(y)): other must be a Tensor."""

    def method(self: Tensor, other: Tensor) -> Tensor:
        if not isinstance(other, Tensor):
            raise TypeError(f"[{op}] other must be a Tensor, got {type(other).__name__}")
        return self._to_dtype(other.dtype) if op == "type_as" else getattr(self, op[:-3])(other.shape)

    method.__name__ = method.__qualname__ = op
    return method


def _array(self: Tensor, dtype: typing.Any = None, copy: bool | None = None) -> numpy.ndarray:
    arr = self.detach().numpy()
    try:
        return arr if dtype is None else arr.astype(dtype)
    except TypeError as e:
        raise TypeError(f"[__array__] {e}") from None


def _tolist(self: Tensor) -> typing.Any:
    t = self.detach()
    if t.is_cuda:
        t = t.cpu()
    return (t.float() if t.dtype == _dtype.bfloat16 else t).numpy().tolist()  # NumPy has no bfloat16


def _device(self: Tensor) -> fastnn.device:
    index = self._device_index
    return _CPU if index < 0 else _device_type("cuda", index)


def _is_cuda(self: Tensor) -> bool:
    return self._device_index >= 0


def _is_cpu(self: Tensor) -> bool:
    return self._device_index < 0


_methods = {
    "__repr__": _repr,
    "__str__": lambda self: self.__repr__(),  # subclasses (Parameter) print their own repr
    "__iter__": _iter,
    "__format__": _format,
    "__deepcopy__": _deepcopy,
    "__copy__": _copy,
    "__array__": _array,
    "__array_priority__": 1000,
    "__dlpack_device__": _dlpack_device,
    "to": _to,
    "type_as": _other("type_as"),
    "tolist": _tolist,
    "view_as": _other("view_as"),
    "reshape_as": _other("reshape_as"),
    "expand_as": _other("expand_as"),
    "new_zeros": _new("zeros"),
    "new_ones": _new("ones"),
    "new_empty": _new("empty"),
    "new_full": _new_full,
    "new_tensor": _new_tensor,
    "cpu": _cpu,
    "cuda": _cuda,
    "device": property(_device),
    "is_cuda": property(_is_cuda),
    "is_cpu": property(_is_cpu),
}
for _name, _fn in _methods.items():
    setattr(Tensor, _name, _fn)
