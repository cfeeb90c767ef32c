"""fastnn.autograd.Function: ops written in Python, recorded on the same C++ tape."""

from fastnn import _C
from fastnn.autograd.grad_mode import no_grad


class FunctionCtx:
    """The `ctx` passed to forward and backward: save_for_backward and saved_tensors."""

    def __init__(self):
        self._saved = None
        self.needs_input_grad = ()

    def save_for_backward(self, *tensors):
        # Data and version only (no history): saving an output then makes no reference cycle.
        self._saved = [(None, None) if t is None else (t.detach(), t._version) for t in tensors]

    @property
    def saved_tensors(self):
        if self._saved is None:
            raise RuntimeError("Trying to backward through the graph a second time (or directly access saved tensors "
                               "after they have already been freed); specify retain_graph=True")
        out = []
        for t, version in self._saved:
            if t is not None and t._version != version:
                raise RuntimeError("one of the variables needed for gradient computation has been modified by an "
                                   f"inplace operation: saved at version {version}, now at version {t._version}")
            out.append(t)
        return tuple(out)

    def _release(self):
        self._saved = None


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``apply``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement the backward function for custom autograd.Function.")

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx()
        tensor_args = [a if isinstance(a, _C.Tensor) else None for a in args]
        ctx.needs_input_grad = tuple(a is not None and a.requires_grad for a in tensor_args)
        with no_grad():
            outputs = cls.forward(ctx, *args)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        # An input returned as is becomes a new tensor, so it can carry this node's history.
        outs = tuple(o.detach() if isinstance(o, _C.Tensor) and any(o is a for a in args) else o for o in outs)
        if _C.is_grad_enabled() and any(ctx.needs_input_grad):
            tensor_outs = [o for o in outs if isinstance(o, _C.Tensor)]
            _C._record_function(cls.__name__ + "Backward", cls.backward, ctx, tensor_args, tensor_outs)
        return outs[0] if single else outs
