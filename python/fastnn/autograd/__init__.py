"""fastnn.autograd: backward, grad, grad mode, custom Functions and gradcheck."""

from fastnn import _C
from fastnn._errors import named_function as _named_function
from fastnn.autograd.function import Function, FunctionCtx  # noqa: F401
from fastnn.autograd.grad_mode import enable_grad, no_grad, set_grad_enabled  # noqa: F401
from fastnn.autograd.gradcheck import GradcheckError, gradcheck  # noqa: F401
from fastnn._legacy import Variable  # noqa: F401  (torch 0.3's wrapper: a tensor since 0.4)


def _as_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (tuple, list)) else [x]


@_named_function
def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulates gradients of `tensors` into the leaves' .grad (torch.autograd.backward)."""
    if create_graph:
        raise RuntimeError("[backward] create_graph=True (higher-order gradients) is not supported")
    roots = _as_list(tensors)
    grads = _as_list(grad_tensors) or [None] * len(roots)
    _C._backward(roots, grads, bool(retain_graph))


@_named_function
def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of `outputs` w.r.t. `inputs`, returned as a tuple, without touching .grad."""
    if create_graph:
        raise RuntimeError("[grad] create_graph=True (higher-order gradients) is not supported")
    outs = _as_list(outputs)
    grads = _as_list(grad_outputs) or [None] * len(outs)
    return tuple(_C._grad(outs, _as_list(inputs), grads, bool(retain_graph), allow_unused))
