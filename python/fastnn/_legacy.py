"""The older API that tutorials still use: fastnn.Tensor(data or sizes), the typed tensor classes
(FloatTensor, LongTensor, ByteTensor, ...) as constructors and in isinstance, Tensor.type() and autograd.Variable.

torch's names are kept exactly (x.type() is 'torch.FloatTensor'), so scripts that compare them still work."""

import numbers
import typing
import warnings

import numpy as np

from fastnn import _C, _factories
from fastnn._C import Tensor
from fastnn import _dtype
from fastnn._size import Size

# torch's legacy classes and their dtypes.
_CLASSES = {
    "FloatTensor": _dtype.float32,
    "DoubleTensor": _dtype.float64,
    "LongTensor": _dtype.int64,
    "BoolTensor": _dtype.bool,
    "ByteTensor": _dtype.uint8,
    "CharTensor": _dtype.int8,
    "ShortTensor": _dtype.int16,
    "IntTensor": _dtype.int32,
    "HalfTensor": _dtype.float16,
    "BFloat16Tensor": _dtype.bfloat16,
}
_TYPE_NAMES = {v: k for k, v in _CLASSES.items()}


def _new(cls_name, dtype, args, kwargs):
    try:
        return _build(cls_name, dtype, args, kwargs)
    except (TypeError, ValueError, RuntimeError, IndexError, MemoryError) as e:
        if cls_name in str(e):
            raise
        raise type(e)(f"[{cls_name}] {e}") from e  # the factory's error, named after the constructor called


def _build(cls_name, dtype, args, kwargs):
    """torch's legacy constructor: () empty, (tensor) an alias, (sizes...) uninitialised, (data) a copy; device=
    is its only keyword. dtype None: fastnn.Tensor's (the default dtype, and an alias of a tensor of any dtype)."""
    for k in kwargs:
        if k != "device":
            raise TypeError(
                f"[{cls_name}] got an unexpected keyword argument '{k}' (the legacy constructor takes device= only)"
            )
    _factories._check_device(kwargs.get("device"), cls_name)
    if not args:
        return _factories.empty(0, dtype=dtype or _C._get_default_dtype())
    first = args[0]
    if len(args) == 1 and isinstance(first, Tensor):
        if dtype is not None and first.dtype != dtype:
            raise TypeError(f"[{cls_name}] expected a tensor of dtype {dtype}, got {first.dtype}")
        return first
    if (
        len(args) == 1
        and isinstance(first, Size)
        or all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args)
    ):
        return _factories.empty(*args, dtype=dtype or _C._get_default_dtype())
    if len(args) == 1 and isinstance(first, (list, tuple, np.ndarray)):
        return _factories.tensor(first, dtype=dtype or _C._get_default_dtype())
    got = ", ".join(type(a).__name__ for a in args)
    raise TypeError(f"[{cls_name}] expected sizes (ints), a sequence of data or a tensor, got ({got})")


class _TensorType(type):
    """The metaclass of FloatTensor & co: calling one constructs a tensor of its dtype; isinstance(x, FloatTensor)
    is true when x is a fastnn.Tensor of that dtype (as torch's tensortype)."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __subclasscheck__(cls, sub):
        return sub is cls

    def __call__(cls, *args, **kwargs):
        return _new(cls.__name__, cls.dtype, args, kwargs)

    def __repr__(cls):
        return f"<class 'fastnn.{cls.__name__}'>"


for _name, _class_dtype in _CLASSES.items():
    globals()[_name] = _TensorType(_name, (), {"dtype": _class_dtype, "is_cuda": False, "__module__": "fastnn"})

_pybind_init = Tensor.__init__


def _init(self: Tensor, *args: typing.Any, **kwargs: typing.Any) -> None:
    """fastnn.Tensor(...): torch's legacy constructor, the default dtype unless given a tensor (which it aliases). Subclasses
    (nn.Parameter) construct from a tensor only, as before."""
    if type(self) is not Tensor:
        _pybind_init(self, *args, **kwargs)
    else:
        _pybind_init(self, _new("Tensor", None, args, kwargs))


Tensor.__init__ = _init


def _dtype_of(t, op):
    """The dtype that Tensor.type(t) names: a dtype, a class (FloatTensor, Tensor) or a name ('torch.LongTensor')."""
    if isinstance(t, _C.dtype):
        return t
    if isinstance(t, _TensorType):
        return t.dtype
    if t is Tensor:
        return _C._get_default_dtype()
    if isinstance(t, str):
        module, _, name = t.rpartition(".")
        if module in ("torch.cuda", "fastnn.cuda"):
            raise RuntimeError(f"[{op}] device 'cuda' is not available: fastnn was built for the CPU only")
        if module in ("torch", "fastnn") and name in _CLASSES:
            return _dtype_of(globals()[name], op)
        raise ValueError(f"[{op}] invalid type: '{t}'")
    raise TypeError(f"[{op}] dtype must be a type, str, or dtype object, got {type(t).__name__}")


def _type(self: Tensor, dtype: typing.Any = None, non_blocking: bool = False, **kwargs: typing.Any) -> typing.Any:
    """x.type(): torch's name for x's type ('torch.FloatTensor'); x.type(t): x converted to t (x when it is)."""
    for k in kwargs:
        if k != "async":  # torch's old spelling of non_blocking
            raise TypeError(f"[type] got an unexpected keyword argument '{k}'")
    if not isinstance(non_blocking, bool):
        raise TypeError(f"[type] non_blocking must be a bool, got {type(non_blocking).__name__}")
    if dtype is None:
        return "torch." + _TYPE_NAMES[self.dtype]
    return self._to_dtype(_dtype_of(dtype, "type"))


Tensor.type = _type


class _VariableMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """autograd.Variable(data, requires_grad=False): a tensor since torch 0.4; returns a new leaf sharing data's
    memory. volatile is gone (a warning, as torch)."""

    def __new__(cls, data=None, requires_grad=False, volatile=False):
        if volatile:
            warnings.warn(
                "volatile was removed and now has no effect. Use `with torch.no_grad():` instead.", stacklevel=2
            )
        if data is None:
            data = _factories.empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"[Variable] Variable data has to be a tensor, but got {type(data).__name__}")
        if not isinstance(requires_grad, bool):
            raise TypeError(f"[Variable] requires_grad must be a bool, got {type(requires_grad).__name__}")
        out = data.detach()
        if requires_grad and not out.is_floating_point():
            raise RuntimeError("[Variable] Only Tensors of floating point and complex dtype can require gradients")
        return out.requires_grad_(requires_grad)


class _ExecutionEngine:
    """autograd.Variable._execution_engine: queue_callback(fn) runs fn when the backward now running ends."""

    @staticmethod
    def queue_callback(callback):
        if not callable(callback):
            raise TypeError(f"[queue_callback] callback must be callable, got {type(callback).__name__}")
        _C._queue_callback(callback)


Variable._execution_engine = _ExecutionEngine()
Variable.__module__ = "fastnn.autograd"
