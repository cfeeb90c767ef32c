"""Gradient hooks: Tensor.register_hook, grad_fn.register_hook / register_prehook (the hooks run inside the
C++ engine's backward, which takes the GIL to call them)."""

import typing

from fastnn import _C
from fastnn.utils.hooks import RemovableHandle


def _check_callable(op, hook):
    if not callable(hook):
        raise TypeError(f"[{op}] hook must be callable, got {type(hook).__name__}")


def register_hook(self: _C.Tensor, hook: typing.Callable[[_C.Tensor], typing.Optional[_C.Tensor]]) -> RemovableHandle:
    """Calls ``hook(grad)`` with this tensor's gradient during backward; a returned tensor replaces it."""
    _check_callable("register_hook", hook)
    owner, key = _C._add_grad_hook(self, hook)
    if isinstance(owner, _C.Node):
        return RemovableHandle(lambda: owner._remove_hook(key))
    return RemovableHandle(lambda: _C._remove_grad_hook(owner, key))


def register_post_accumulate_grad_hook(
    self: _C.Tensor, hook: typing.Callable[[_C.Tensor], typing.Any]
) -> RemovableHandle:
    """Calls ``hook(tensor)`` on this leaf after its gradient was accumulated into .grad during backward."""
    _check_callable("register_post_accumulate_grad_hook", hook)
    key = _C._add_post_accumulate_grad_hook(self, hook)
    return RemovableHandle(lambda: _C._remove_grad_hook(self, key))


def _node_register_hook(self: _C.Node, fn: typing.Callable[..., typing.Any]) -> RemovableHandle:
    """Calls ``fn(grad_inputs, grad_outputs)`` after this node ran; a returned tuple replaces grad_inputs."""
    _check_callable("register_hook", fn)
    key = self._add_post_hook(fn)
    return RemovableHandle(lambda: self._remove_hook(key))


def _node_register_prehook(self: _C.Node, fn: typing.Callable[..., typing.Any]) -> RemovableHandle:
    """Calls ``fn(grad_outputs)`` before this node runs; a returned tuple replaces grad_outputs."""
    _check_callable("register_prehook", fn)
    key = self._add_pre_hook(fn)
    return RemovableHandle(lambda: self._remove_hook(key))


_C.Tensor.register_hook = register_hook
_C.Tensor.register_post_accumulate_grad_hook = register_post_accumulate_grad_hook
_C.Node.register_hook = _node_register_hook
_C.Node.register_prehook = _node_register_prehook
