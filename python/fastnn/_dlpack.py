"""DLPack exchange with torch, NumPy and other array libraries, without copies (torch.utils.dlpack).

Tensor.__dlpack__ (C++, cpp/bindings/dlpack.cpp) exports a capsule sharing the tensor's storage;
from_dlpack asks a producer for one and wraps its memory in a tensor that releases the producer's
memory when the tensor's storage dies."""

import enum

from fastnn import _C
from fastnn._device import _parse


class DLDeviceType(enum.IntEnum):
    """The DLPack device types (DLDeviceType in the spec); fastnn's tensors are on kDLCPU."""

    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17


def _dlpack_device(self):
    """Tensor.__dlpack_device__: (device type, device id) of the tensor's memory."""
    return (DLDeviceType.kDLCPU, 0)


def to_dlpack(tensor):
    """A legacy DLPack capsule ("dltensor") sharing `tensor`'s memory; consume it once with from_dlpack."""
    return _C._to_dlpack(tensor)


def _device_name(dev):
    try:
        return f"{DLDeviceType(dev[0]).name} ({int(dev[0])}), id {dev[1]}"
    except (ValueError, TypeError, IndexError):
        return repr(dev)


def from_dlpack(ext_tensor, *, device=None, copy=None):
    """A tensor sharing the memory of `ext_tensor` (an object with __dlpack__, such as a torch tensor or a
    NumPy array, or a DLPack capsule). copy=True asks the producer for a copy, copy=False forbids one;
    device may only name the CPU."""
    if copy is not None and not isinstance(copy, bool):
        raise TypeError(f"[from_dlpack] copy must be a bool or None, got {type(copy).__name__}")
    if device is not None:
        dev_type, _ = _parse(device, None, "from_dlpack")
        if dev_type != "cpu":
            raise RuntimeError(f"[from_dlpack] fastnn tensors live on the CPU, got device '{device}'")
    if not hasattr(ext_tensor, "__dlpack__"):
        if device is not None or copy is not None:
            raise ValueError(
                "[from_dlpack] device and copy are not supported when ext_tensor is already a DLPack capsule"
            )
        return _C._from_dlpack(ext_tensor)
    if hasattr(ext_tensor, "__dlpack_device__"):
        dev = ext_tensor.__dlpack_device__()
        if not isinstance(dev, tuple) or len(dev) != 2 or dev[0] != DLDeviceType.kDLCPU:
            raise RuntimeError(
                f"[from_dlpack] fastnn tensors live on the CPU, got a tensor on DLPack device "
                f"{_device_name(dev)}: move it to the CPU first"
            )
    # The newest protocol first; producers written before an argument existed refuse it with TypeError
    # (as torch.utils.dlpack.from_dlpack, drop max_version, then copy, then dl_device).
    kwargs = {"max_version": (1, 0)}
    if copy is not None:
        kwargs["copy"] = copy
    if device is not None:
        kwargs["dl_device"] = (DLDeviceType.kDLCPU, 0)
    for drop in ("max_version", "copy", "dl_device", None):
        try:
            capsule = ext_tensor.__dlpack__(**kwargs)
            break
        except TypeError:
            if drop is None:
                raise
            kwargs.pop(drop, None)
    t = _C._from_dlpack(capsule)
    # A producer that does not take copy= shared its memory: copy here.
    return t.clone() if copy and "copy" not in kwargs else t
