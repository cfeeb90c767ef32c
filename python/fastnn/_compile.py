"""fastnn.compile: capture a function's ops once, then replay them from C++ with no Python per op.

The first call with a given signature (the tensors' shapes, strides, dtypes and requires_grad, the other
arguments' values, grad mode) runs eagerly: a warm-up, so that lazily created state (optimizer buffers, .grad
tensors) exists. The second runs eagerly too, recording every op into a graph (cpp/fastnn/capture/graph.h). Later
calls replay the graph: the same C++ ops on the new inputs, so the same bits as eager execution.

A replay is valid while what Python decided on during the capture still holds. fastnn checks, before each replay:
the signature; the `training` flag, the parameter, buffer and submodule objects and the tensor attributes of every
module called; the hyperparameters, parameter lists and state tensors of every optimizer stepped; and, for every
tensor the step uses from outside (parameters, optimizer state), its requires_grad and whether it has a .grad.
When one changed, the call captures again. What the capture cannot
follow is refused with a RuntimeError naming it: reading tensor values into Python (item(), bool(), print), and
ops without a recorder that make or change tensors. Other Python side effects of the function (appending to a
list, printing a string) happen at capture only.
"""

from __future__ import annotations

import functools
import threading
import typing

from fastnn import _C, _capture_hooks
from fastnn._C import Tensor

_LOCK = threading.RLock()  # one capture at a time in the process (the watch hook is global)
_TENSOR = object()  # a tensor's place in a flattened structure
_SCALARS = (bool, int, float, str, type(None))
MAX_GRAPHS = 64  # signatures kept per compiled function (the oldest is dropped past this: varying shapes)


def _flatten(obj, tensors, what):
    """A hashable description of `obj`'s structure and non-tensor values; its tensors are appended to `tensors`."""
    if isinstance(obj, Tensor):
        tensors.append(obj)
        return _TENSOR
    if isinstance(obj, _SCALARS):
        return (type(obj), obj)
    if isinstance(obj, (tuple, list)):
        return (type(obj), tuple(_flatten(o, tensors, what) for o in obj))
    if isinstance(obj, dict):
        return (dict, tuple((k, _flatten(v, tensors, what)) for k, v in obj.items()))
    raise TypeError(
        f"fastnn.compile: {what} of type {type(obj).__name__} is not supported (tensors, numbers, strings, None, "
        f"and tuples, lists and dicts of them)"
    )


def _unflatten(spec, tensors):
    if spec is _TENSOR:
        return next(tensors)
    kind, value = spec
    if issubclass(kind, (tuple, list)):
        items = [_unflatten(s, tensors) for s in value]
        return kind(*items) if hasattr(kind, "_fields") else kind(items)  # a namedtuple takes fields
    if kind is dict:
        return {k: _unflatten(s, tensors) for k, s in value}
    return value


def _optimizer_state(opt):
    """What the recorded update baked in: each group's hyperparameters and parameters, and which state tensors
    (momentum buffers, moments) it updates (state.clear() or load_state_dict replace them)."""
    groups = tuple(
        (tuple((k, v) for k, v in g.items() if k != "params"), tuple(map(id, g["params"]))) for g in opt.param_groups
    )
    state = tuple((id(p), tuple((k, id(v)) for k, v in s.items())) for p, s in opt.state.items())
    return groups, state


def _module_state(m):
    """What a module's forward used: its training flag, which parameters, buffers, submodules and hooks it holds,
    a `forward` set on the instance, and tensors kept as plain attributes (`self.hidden = h.detach()` in forward:
    each call then captures again)."""
    d = m.__dict__
    return (
        m.training,
        tuple(map(id, d["_parameters"].values())),
        tuple(map(id, d["_buffers"].values())),
        tuple(map(id, d["_modules"].values())),
        tuple((k, id(v)) for k, v in d.items() if isinstance(v, Tensor)),
        tuple(d["_forward_pre_hooks"].values()),
        tuple(d["_forward_hooks"].values()),
        tuple(d["_backward_pre_hooks"].values()),
        tuple(d["_backward_hooks"].values()),
        id(d.get("forward")),
    )


class _Entry:
    __slots__ = ("calls", "graph", "out_spec", "modules", "optimizers", "version")

    def __init__(self):
        self.calls, self.graph, self.out_spec, self.modules, self.optimizers = 0, None, None, (), ()
        self.version = -1  # _capture_hooks.version when the modules were last found unchanged

    def stale(self):
        """Why the graph no longer matches the Python state it was captured under, or None."""
        version = _capture_hooks.version
        if version != self.version:  # some module changed somewhere since the last check: look at ours
            for m, state in self.modules:
                if _module_state(m) != state:
                    return (
                        f"{type(m).__name__}'s training flag, parameters, buffers, submodules, hooks or tensor "
                        "attributes changed"
                    )
            self.version = version
        for opt, state in self.optimizers:
            if _optimizer_state(opt) != state:
                return f"the hyperparameters or parameters of {type(opt).__name__} changed"
        return self.graph.stale_reason() or None


class CompiledFunction:
    """`fn` captured per call signature and replayed (see the module's docstring). `fn` is a function or a Module;
    the Module's attributes are reachable through this object as with torch's OptimizedModule."""

    def __init__(self, fn: typing.Callable[..., typing.Any]) -> None:
        self._orig_mod = fn
        self._entries: dict[typing.Any, _Entry] = {}
        self.recaptures = 0  # captures after a replay found its graph stale (for tests and users' curiosity)
        self.recapture_reason: str | None = None  # why the last one happened
        functools.update_wrapper(self, fn, updated=())

    def __getattr__(self, name):  # the Module's attributes (parameters, train(), ...) through the wrapper
        return getattr(self.__dict__["_orig_mod"], name)

    def __call__(self, *args, **kwargs):
        if not kwargs and all(type(a) is Tensor for a in args):  # the common call: tensors only
            tensors, spec = list(args), len(args)
        else:
            tensors = []
            spec = _flatten((args, kwargs), tensors, "an argument")
        key = (spec, _C._signature(tensors), _C.is_grad_enabled())
        entry = self._entries.get(key)
        if entry is None:
            if len(self._entries) >= MAX_GRAPHS:
                del self._entries[next(iter(self._entries))]
            entry = self._entries[key] = _Entry()
        entry.calls += 1
        if entry.graph is not None:
            reason = entry.stale()
            if reason is None:
                return _unflatten(entry.out_spec, iter(entry.graph.replay(tensors)))
            entry.graph = None
            self.recaptures, self.recapture_reason = self.recaptures + 1, reason
        elif entry.calls == 1:
            return self._orig_mod(*args, **kwargs)  # the warm-up
        return self._capture(entry, tensors, args, kwargs)

    def _capture(self, entry, tensors, args, kwargs):
        modules, optimizers = {}, {}
        thread = threading.get_ident()

        def watch(obj):
            if threading.get_ident() != thread:
                return
            if hasattr(obj, "param_groups"):
                optimizers.setdefault(id(obj), (obj, _optimizer_state(obj)))
            else:
                modules.setdefault(id(obj), (obj, _module_state(obj)))

        with _LOCK:
            version = _capture_hooks.version  # a module changed during the capture is checked at the next call
            capture = _C._Capture(tensors)
            _capture_hooks.watch = watch
            try:
                out = self._orig_mod(*args, **kwargs)
                out_tensors: list = []
                out_spec = _flatten(out, out_tensors, "a result")
                graph = capture.finish(out_tensors)
            finally:
                _capture_hooks.watch = None
                capture.close()
        entry.graph, entry.out_spec = graph, out_spec
        entry.modules, entry.optimizers = tuple(modules.values()), tuple(optimizers.values())
        entry.version = version
        return out

    def graph_ops(self) -> list[list[str]]:
        """The recorded ops of each captured graph, in order."""
        return [e.graph.op_names() for e in self._entries.values() if e.graph is not None]


def compile(
    model: typing.Callable[..., typing.Any] | None = None,
    *,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: str = "inductor",
    mode: str | None = None,
    options: dict | None = None,
    disable: bool = False,
) -> typing.Any:
    """torch.compile's signature. fastnn always captures the whole function (it refuses what it cannot capture
    rather than breaking the graph, so `fullgraph` makes no difference) and specialises on shapes; `mode` may be
    None, "default" or "reduce-overhead" (what replay is); `backend` "inductor", "eager" or "aot_eager" (all the
    same replay, which runs the eager kernels). Other backends, modes, options and dynamic=True are refused."""
    if dynamic:
        raise ValueError("fastnn.compile: dynamic=True is not supported (graphs are specialised on shapes)")
    if backend not in ("inductor", "eager", "aot_eager", "fastnn"):
        raise ValueError(
            f"fastnn.compile: backend {backend!r} is not supported (fastnn replays its own graphs; 'inductor', "
            f"'eager' and 'aot_eager' all mean that here)"
        )
    if mode not in (None, "default", "reduce-overhead"):
        raise ValueError(f"fastnn.compile: mode {mode!r} is not supported (None, 'default' or 'reduce-overhead')")
    if options:
        raise ValueError(f"fastnn.compile: options are not supported, got {sorted(options)}")
    if not isinstance(fullgraph, bool):
        raise TypeError(f"fastnn.compile: fullgraph must be a bool, got {type(fullgraph).__name__}")

    def wrap(fn):
        if not callable(fn):
            raise TypeError(f"fastnn.compile: expected a function or a Module, got {type(fn).__name__}")
        return fn if disable else CompiledFunction(fn)

    return wrap if model is None else wrap(model)
