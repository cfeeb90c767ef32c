"""fastnn.utils.dlpack: DLPack exchange, as torch.utils.dlpack (see fastnn._dlpack)."""

from fastnn._dlpack import DLDeviceType, from_dlpack, to_dlpack

__all__ = ["DLDeviceType", "from_dlpack", "to_dlpack"]
