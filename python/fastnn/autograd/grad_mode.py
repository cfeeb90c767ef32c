"""Grad mode: no_grad, enable_grad and set_grad_enabled, as context managers and decorators."""

import functools
import inspect
import threading
import typing

from fastnn import _C


def _decorate(make_ctx, fn):
    """Runs `fn` (a function or a generator function) under a fresh context from `make_ctx`."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args, **kwargs):
            gen = fn(*args, **kwargs)
            # The mode holds while the generator body runs, not while its caller runs between items.
            try:
                with make_ctx():
                    item = next(gen)
                while True:
                    try:
                        sent = yield item
                    except GeneratorExit:
                        with make_ctx():
                            gen.close()
                        raise
                    except BaseException as e:  # noqa: BLE001  (forward throw() into the generator)
                        with make_ctx():
                            item = gen.throw(e)
                    else:
                        with make_ctx():
                            item = gen.send(sent)
            except StopIteration as stop:
                return stop.value

        return generator

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with make_ctx():
            return fn(*args, **kwargs)

    return wrapper


_F = typing.TypeVar("_F", bound=typing.Callable[..., typing.Any])


class _GradModeContext:
    _enabled = True

    def __new__(cls, orig_func=None):
        # Like torch, `@no_grad` works without parentheses as well as `@no_grad()`.
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments (got {type(orig_func).__name__})")
        return cls()(orig_func)

    def __init__(self, orig_func=None):
        self._prev = _C.is_grad_enabled()

    def __enter__(self) -> None:
        self._prev = _C.is_grad_enabled()
        _C._set_grad_enabled(self._enabled)

    def __exit__(self, *exc: object) -> None:
        _C._set_grad_enabled(self._prev)

    def __call__(self, fn: _F) -> _F:
        return _decorate(type(self), fn)


class no_grad(_GradModeContext):
    """Ops inside do not record the graph (results have requires_grad=False)."""

    _enabled = False


class enable_grad(_GradModeContext):
    """Turns recording back on inside a no_grad region."""

    _enabled = True


class set_grad_enabled:
    """Sets grad mode to `mode`; takes effect immediately, like torch, and restores on exit."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, (bool, int)):
            raise TypeError(f"[set_grad_enabled] mode must be a bool, got {type(mode).__name__}")
        self._prev = _C.is_grad_enabled()
        self._enabled = bool(mode)
        _C._set_grad_enabled(self._enabled)

    def __enter__(self) -> None:
        _C._set_grad_enabled(self._enabled)

    def __exit__(self, *exc: object) -> None:
        _C._set_grad_enabled(self._prev)

    def __call__(self, fn: _F) -> _F:
        _C._set_grad_enabled(self._prev)
        mode = self._enabled
        return _decorate(lambda: set_grad_enabled(mode), fn)

    def __repr__(self):
        return f"fastnn.autograd.grad_mode.set_grad_enabled(mode={self._enabled})"

    __str__ = __repr__


class _InferenceState(threading.local):
    enabled = False  # per thread, as grad mode


_inference = _InferenceState()


class inference_mode:
    """Like no_grad, for inference (context manager and decorator; ``inference_mode(False)`` changes nothing).

    torch also marks the tensors made inside as inference tensors that autograd later refuses; fastnn's
    are ordinary tensors without history, as under no_grad."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):  # @inference_mode without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        if not isinstance(mode, (bool, int)):
            raise TypeError(f"[inference_mode] mode must be a bool, got {type(mode).__name__}")
        self.mode = bool(mode)
        self._prev = None

    def __enter__(self):
        self._prev = (_C.is_grad_enabled(), _inference.enabled)
        if self.mode:
            _C._set_grad_enabled(False)
            _inference.enabled = True

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._prev[0])
        _inference.enabled = self._prev[1]

    def __call__(self, fn):
        mode = self.mode
        return _decorate(lambda: inference_mode(mode), fn)


def is_inference_mode_enabled():
    return _inference.enabled
