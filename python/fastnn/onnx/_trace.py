"""Tracing: run the model once while fastnn's functions, Tensor methods and Module.__call__ are wrapped, so each
op called on a tensor computed from the inputs is converted (or refused, naming the op) as it runs.

The wrappers are installed for the duration of one export, on the exporting thread only (other threads see the
plain functions), and removed afterwards, also when the export fails."""

import contextlib
import threading
import types

import fastnn
from fastnn import _C
from fastnn._C import Tensor
from fastnn.nn import functional as F
from fastnn.nn.modules.module import Module
from fastnn.nn.modules.rnn import RNNBase
from fastnn.onnx import _ops
from fastnn.onnx._graph import SymInt, unsupported

_LOCK = threading.Lock()
_active = None  # (thread id, Graph) while an export traces

_SKIP = {
    "__init__",
    "__new__",
    "__repr__",
    "__str__",
    "__format__",
    "__hash__",
    "__getattribute__",
    "__setattr__",
    "__delattr__",
    "__dir__",
    "__class__",
    "__dict__",
    "__module__",
    "__doc__",
    "__getstate__",
    "__setstate__",
    "__reduce__",
    "__reduce_ex__",
    "__sizeof__",
    "__copy__",
    "__deepcopy__",
    "__init_subclass__",
    "__subclasshook__",
    "__array_priority__",
    "__weakref__",
    "__len__",
    "dim",
    "ndimension",
    "numel",
    "nelement",
    "is_contiguous",
    "stride",
    "element_size",
    "register_hook",
    "retain_grad",
    "requires_grad_",
    "backward",
}


def _graph():
    return _active[1] if _active is not None and _active[0] == threading.get_ident() else None


def _involves(g, obj):
    if isinstance(obj, Tensor):
        return g.traced(obj)
    if isinstance(obj, (list, tuple)):
        return any(_involves(g, o) for o in obj)
    if isinstance(obj, dict):
        return any(_involves(g, o) for o in obj.values())
    return False


def _dynamic_size(g, obj):
    if isinstance(obj, SymInt):
        return g.dynamic(obj)
    if isinstance(obj, (list, tuple)):
        return any(_dynamic_size(g, o) for o in obj)
    if isinstance(obj, dict):
        return any(_dynamic_size(g, o) for o in obj.values())
    return False


def _has_tensor(obj):
    if isinstance(obj, Tensor) or type(obj).__module__ == "numpy":
        return True
    return isinstance(obj, (list, tuple)) and any(_has_tensor(o) for o in obj)


def _where(g):
    calls = f" (called by {' -> '.join(g.calls)})" if g.calls else ""
    return calls + (f" in module '{g.scope[-1]}'" if g.scope and g.scope[-1] else "")


def _wrap(qualname, orig, converter, through):
    """A wrapper of one op. converter: emits the op's nodes; through: a Python function without a converter,
    traced through (what it calls is converted); neither: refused when it gives a tensor from a traced one."""

    def wrapper(*args, **kwargs):
        g = _graph()
        if g is None or g.depth:
            return orig(*args, **kwargs)
        involved = _involves(g, (args, kwargs))
        if not involved and _dynamic_size(g, (args, kwargs)):  # x.size(0) given to a factory, expand, ...
            if converter is None:
                raise unsupported(
                    f"{qualname} with a size read from a dynamic axis (x.size(d), x.shape[d]) is not "
                    f"supported by the ONNX exporter: the graph would keep the example's size"
                    f"{_where(g)}"
                )
            involved = True
        if not involved:
            g.depth += 1  # constants only: what it computes is a constant of the graph
            try:
                return orig(*args, **kwargs)
            finally:
                g.depth -= 1
        name = qualname.split(".")[-1]
        if name == "__setitem__":
            raise unsupported(f"assigning into a traced tensor (Tensor.__setitem__) is not supported{_where(g)}")
        if name in _ops.DATA_DEPENDENT:
            raise unsupported(f"{qualname} on a traced tensor depends on its values and cannot be exported{_where(g)}")
        if through:
            g.calls.append(qualname)
            try:
                return orig(*args, **kwargs)
            finally:
                g.calls.pop()
        g.depth += 1  # what the op and its converter call inside is not traced
        try:
            out = orig(*args, **kwargs)
            if converter is None:
                if _has_tensor(out):
                    raise unsupported(f"{qualname} is not supported by the ONNX exporter{_where(g)}")
                return out
            try:
                result = converter(g, out, *args, **kwargs)
            except NotImplementedError as e:
                raise unsupported(f"{qualname}: {str(e).replace('[onnx.export] ', '')}{_where(g)}") from None
            except TypeError as e:
                raise unsupported(
                    f"{qualname} with these arguments is not supported by the ONNX exporter ({e}){_where(g)}"
                ) from None
        finally:
            g.depth -= 1
        if name == "size":
            return result
        in_place = (
            qualname.startswith("fastnn.nn.functional.")
            or name.startswith("__i")
            or name.endswith("_")
            and not name.endswith("__")
        )
        if in_place and args and out is args[0] and id(out) in g.aliased and result != g.value(out):
            raise unsupported(
                f"{qualname}: an in-place op on a tensor that shares memory with another traced "
                f"tensor (a view, or what dropout passed through) cannot be exported; use the "
                f"out-of-place op{_where(g)}"
            )
        _bind_all(g, out, result)
        return out

    wrapper.__name__, wrapper.__doc__ = getattr(orig, "__name__", qualname), getattr(orig, "__doc__", None)
    return wrapper


def _wrap_property(name, prop):
    def fget(self):
        g = _graph()
        if g is None or g.depth or not g.traced(self):
            return prop.fget(self)
        g.depth += 1
        try:
            if name == "shape":
                return tuple.__new__(fastnn.Size, g.sym_sizes(self))
            out = prop.fget(self)
            if name in _ops.PROPERTIES:
                g.bind(out, _ops.PROPERTIES[name](g, out, self))
            elif _has_tensor(out):
                raise unsupported(f"Tensor.{name} is not supported by the ONNX exporter{_where(g)}")
            return out
        finally:
            g.depth -= 1

    return property(fget, prop.fset, prop.fdel, prop.__doc__)


def _patches(module_names, user_modules):
    """(owner, attribute, replacement) for every wrapped function, method and property."""
    out, wrapped = [], {}
    for mod, prefix, table in (
        (F, "fastnn.nn.functional", _ops.FUNCTIONAL),
        (fastnn, "fastnn", _ops.TENSOR),
        (_C, "fastnn._C", _ops.TENSOR),
    ):
        for name, v in list(vars(mod).items()):
            if name.startswith("__") or not isinstance(v, (types.FunctionType, types.BuiltinFunctionType)):
                continue
            python = isinstance(v, types.FunctionType)
            conv = table.get(name)
            out.append((mod, name, _wrap(f"{prefix}.{name}", v, conv, python and conv is None)))
            wrapped.setdefault(id(v), out[-1][2])
    for mod in _modules(user_modules):  # names bound by `from fastnn.nn.functional import relu`, and class
        for owner in [mod] + [
            c
            for c in vars(mod).values()  # attributes such as Conv2d._conv = F.conv2d
            if isinstance(c, type) and c.__module__ == mod.__name__
        ]:
            for name, v in list(vars(owner).items()):
                fn = v.__func__ if isinstance(v, staticmethod) else v
                if not name.startswith("__") and id(fn) in wrapped:
                    new = wrapped[id(fn)]
                    out.append((owner, name, staticmethod(new) if isinstance(v, staticmethod) else new))
    for name, v in list(vars(Tensor).items()):
        if name in _SKIP:
            continue
        if isinstance(v, property):
            if v.fget is not None:
                out.append((Tensor, name, _wrap_property(name, v)))
        elif callable(v) and not isinstance(v, (type, staticmethod, classmethod)):
            conv = _ops.TENSOR.get(name)
            python = isinstance(v, types.FunctionType)
            out.append((Tensor, name, _wrap(f"Tensor.{name}", v, conv, python and conv is None)))
    size_new = fastnn.Size.__dict__["__new__"].__func__

    def new_size(cls, sizes=()):  # x.shape[1:], x.shape[:-1] + (1,) keep their SymInts
        sizes = tuple(sizes) if isinstance(sizes, (tuple, list)) else sizes
        if (
            _graph() is not None
            and isinstance(sizes, tuple)
            and any(isinstance(s, SymInt) for s in sizes)
            and all(isinstance(s, int) and not isinstance(s, bool) for s in sizes)
        ):
            return tuple.__new__(cls, sizes)
        return size_new(cls, sizes)

    out.append((fastnn.Size, "__new__", staticmethod(new_size)))
    orig_call = Module.__call__

    def call(self, *args, **kwargs):
        g = _graph()
        if g is None or g.depth:
            return orig_call(self, *args, **kwargs)
        g.scope.append(module_names.get(id(self), type(self).__name__))
        try:
            if not (isinstance(self, RNNBase) and type(self).forward is RNNBase.forward and _involves(g, args)):
                return orig_call(self, *args, **kwargs)
            g.depth += 1  # a recurrent layer is one conversion
            try:
                out = orig_call(self, *args, **kwargs)
                try:
                    names = _ops.rnn(g, out, self, *args, **kwargs)
                except TypeError as e:
                    raise unsupported(
                        f"{type(self).__name__} with these arguments is not supported by the ONNX "
                        f"exporter ({e}){_where(g)}"
                    ) from None
                except NotImplementedError as e:
                    raise unsupported(f"{str(e).replace('[onnx.export] ', '')}{_where(g)}") from None
            finally:
                g.depth -= 1
            _bind_all(g, out, names)
            return out
        finally:
            g.scope.pop()

    out.append((Module, "__call__", call))
    return out


def _bind_all(g, out, names):
    if isinstance(out, Tensor):
        g.bind(out, names)
    else:
        for o, n in zip(out, names):
            _bind_all(g, o, n)


def _modules(user_modules):
    """fastnn's Python modules (but the wrapped ones and the exporter's), and the modules defining the model's
    classes."""
    import sys

    skip = {"fastnn", "fastnn._C", "fastnn.nn.functional"}
    mods = [
        m
        for n, m in list(sys.modules.items())
        if n.startswith("fastnn.") and m is not None and n not in skip and not n.startswith("fastnn.onnx")
    ]
    return mods + [sys.modules[n] for n in sorted(user_modules) if n in sys.modules and not n.startswith("fastnn")]


@contextlib.contextmanager
def tracing(g, module_names, user_modules):
    global _active
    with _LOCK:
        patches = _patches(module_names, user_modules)
        saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in patches]
        try:
            for owner, name, new in patches:
                setattr(owner, name, new)
            _active = (threading.get_ident(), g)
            yield
        finally:
            _active = None
            for owner, name, orig in saved:
                setattr(owner, name, orig)
