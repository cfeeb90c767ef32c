"""fastnn.autograd: backward, grad, grad mode, custom Functions and gradcheck."""

from fastnn import _C
from fastnn._errors import named_function as _named_function
from fastnn.autograd.function import Function, FunctionCtx  # noqa: F401
from fastnn.autograd import _hooks  # noqa: F401  (Tensor.register_hook, grad_fn hooks)
from fastnn.autograd.anomaly_mode import detect_anomaly, set_detect_anomaly  # noqa: F401
from fastnn.autograd.grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled  # noqa: F401
from fastnn.autograd.gradcheck import GradcheckError, gradcheck  # noqa: F401
from fastnn._legacy import Variable  # noqa: F401  (torch 0.3's wrapper: a tensor since 0.4)


def _as_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (tuple, list)) else [x]


@_named_function
def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulates gradients of `tensors` into the leaves' .grad (torch.autograd.backward); with create_graph the
    backward is recorded too, for higher-order gradients (through the nodes that support it: see docs)."""
    roots = _as_list(tensors)
    grads = _as_list(grad_tensors) or [None] * len(roots)
    _C._backward(roots, grads, bool(create_graph if retain_graph is None else retain_graph), bool(create_graph))


@_named_function
def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of `outputs` w.r.t. `inputs`, returned as a tuple, without touching .grad."""
    outs = _as_list(outputs)
    grads = _as_list(grad_outputs) or [None] * len(outs)
    retain = create_graph if retain_graph is None else retain_graph
    return tuple(_C._grad(outs, _as_list(inputs), grads, bool(retain), allow_unused, bool(create_graph)))
