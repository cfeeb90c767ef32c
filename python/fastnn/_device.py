"""fastnn.device: torch's device objects. Every device type torch names can be constructed (scripts build
cuda devices before asking whether a GPU exists), but fastnn's tensors live on the CPU only: making or moving
a tensor anywhere else is a RuntimeError naming the op and the device (fastnn._factories._check_device)."""

import re

_TYPES = (
    "cpu",
    "cuda",
    "ipu",
    "xpu",
    "mkldnn",
    "opengl",
    "opencl",
    "ideep",
    "hip",
    "ve",
    "fpga",
    "maia",
    "xla",
    "lazy",
    "vulkan",
    "mps",
    "meta",
    "hpu",
    "mtia",
    "privateuseone",
)
_STRING = re.compile(r"([a-zA-Z_]+)(?::(0|[1-9][0-9]*))?")


def _parse(type, index, op):
    """(type, index) from device's arguments, or torch's error for them with "[op] " in front."""
    if isinstance(type, device):
        if index is not None:
            raise TypeError(f"[{op}] device() takes an index only with a device type string, got {type!r}")
        return type.type, type.index
    if isinstance(type, int) and not isinstance(type, bool):  # an accelerator's index: there is none
        if type < 0:
            raise RuntimeError(f"[{op}] Device index must not be negative")
        raise RuntimeError(f"[{op}] Cannot access accelerator device when none is available.")
    if not isinstance(type, str):
        raise TypeError(f"[{op}] device must be a fastnn.device, a string or an int, got {_type_name(type)}")
    if not type:
        raise RuntimeError(f"[{op}] Device string must not be empty")
    m = _STRING.fullmatch(type)
    if m is None:
        raise RuntimeError(f"[{op}] Invalid device string: '{type}'")
    if m.group(1) not in _TYPES:
        raise RuntimeError(f"[{op}] Expected one of {', '.join(_TYPES)} device type at start of device string: {type}")
    if index is not None:
        if m.group(2) is not None:
            raise RuntimeError(
                f"[{op}] type (string) must not include an index because index was passed explicitly: {type}"
            )
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"[{op}] device(): argument 'index' (position 2) must be int, not {_type_name(index)}")
        if index < 0:
            raise RuntimeError(f"[{op}] Device index must not be negative")
        return m.group(1), index
    return m.group(1), None if m.group(2) is None else int(m.group(2))


def _type_name(v):
    return v.__class__.__name__


class device:
    """A device: a type ('cpu', 'cuda', ...) and an optional index, as torch.device."""

    __slots__ = ("_type", "_index")

    def __init__(self, type, index=None):
        self._type, self._index = _parse(type, index, "device")

    @property
    def type(self):
        return self._type

    @property
    def index(self):
        return self._index

    def __repr__(self):
        return (
            f"device(type='{self._type}')"
            if self._index is None
            else f"device(type='{self._type}', index={self._index})"
        )

    def __str__(self):
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __eq__(self, other):  # as torch: a device never equals a string
        if not isinstance(other, device):
            return NotImplemented
        return self._type == other._type and self._index == other._index

    def __hash__(self):
        return hash((self._type, self._index))

    def __reduce__(self):
        return device, (self._type, self._index)


device.__module__ = "fastnn"
CPU = device("cpu")
