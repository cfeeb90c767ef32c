"""Grad mode: no_grad, enable_grad and set_grad_enabled, as context managers and decorators."""

import functools

from fastnn import _C


class _GradModeContext:
    _enabled = True

    def __enter__(self):
        self._prev = _C.is_grad_enabled()
        _C._set_grad_enabled(self._enabled)

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._prev)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Ops inside do not record the graph (results have requires_grad=False)."""

    _enabled = False


class enable_grad(_GradModeContext):
    """Turns recording back on inside a no_grad region."""

    _enabled = True


class set_grad_enabled(_GradModeContext):
    """Sets grad mode to `mode`; takes effect immediately, like torch, and restores on exit."""

    def __init__(self, mode):
        self._prev = _C.is_grad_enabled()
        self._enabled = bool(mode)
        _C._set_grad_enabled(self._enabled)

    def __enter__(self):
        pass

    def __call__(self, fn):
        _C._set_grad_enabled(self._prev)
        mode = self._enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper
