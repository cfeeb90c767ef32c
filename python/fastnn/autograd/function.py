"""fastnn.autograd.Function: ops written in Python, recorded on the same C++ tape."""

from fastnn import _C
from fastnn.autograd.grad_mode import no_grad

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they have "
    "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
    "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or "
    "if you need to access saved tensors after calling backward."
)

_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "int64": "LongTensor", "bool": "BoolTensor"}


class FunctionCtx:
    """The `ctx` passed to forward and backward: save_for_backward, saved_tensors, needs_input_grad."""

    def __init__(self):
        self._saved = None
        self._name = "Function"
        self._non_differentiable = ()
        self._materialize_grads = True
        self.needs_input_grad = ()

    def save_for_backward(self, *tensors):
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, _C.Tensor):
                raise TypeError(
                    f"save_for_backward can only save tensors, but argument {i} is of type {type(t).__name__}"
                )
        # Data and version only (no history): saving an output then makes no reference cycle.
        self._saved = [(None, None) if t is None else (t.detach(), t._version) for t in tensors]

    @property
    def saved_tensors(self):
        if self._saved is None:
            raise RuntimeError(f"{_FREED} (node: {self._name})")
        out = []
        for t, version in self._saved:
            if t is not None and t._version != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: [fastnn.{_TYPE_NAMES[t.dtype.name]} {list(t.shape)}], which was saved by "
                    f"{self._name}, is at version {t._version}; expected version {version} instead."
                )
            out.append(t)
        return tuple(out)

    def mark_non_differentiable(self, *tensors):
        """Outputs passed here get no gradient history (their gradient in backward is zeros)."""
        self._non_differentiable = tuple(tensors)

    def set_materialize_grads(self, value):
        """With False, backward receives None (not zeros) for outputs that got no gradient."""
        self._materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        raise RuntimeError("[autograd.Function] mark_dirty (in-place forward) is not supported; return a new tensor")

    def _release(self):
        self._saved = None


class _BackwardCall:
    """Calls the user's backward with one gradient per forward output and maps its results to the
    tensor inputs the node has edges to. Holds no reference to the graph itself."""

    def __init__(self, cls, ctx, outs, recorded, tensor_positions, num_args):
        self.cls, self.ctx = cls, ctx
        # Per forward output: index among recorded outputs, or a zeros-maker, or None (not a tensor).
        self.slots = []
        k = 0
        for o, rec in zip(outs, recorded):
            if rec:
                self.slots.append(k)
                k += 1
            elif isinstance(o, _C.Tensor):
                self.slots.append((list(o.shape), o.dtype))
            else:
                self.slots.append(None)
        self.tensor_positions = tensor_positions
        self.tensor_set = set(tensor_positions)
        self.num_args = num_args

    def __call__(self, ctx, *grads):
        name = self.ctx._name
        full = []
        for slot in self.slots:
            if isinstance(slot, int):
                full.append(grads[slot])
            elif slot is not None and self.ctx._materialize_grads:
                full.append(_C._zeros(*slot))
            else:
                full.append(None)
        result = self.cls.backward(self.ctx, *full)
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) < self.num_args or any(r is not None for r in result[self.num_args :]):
            raise RuntimeError(
                f"function {name} returned an incorrect number of gradients (expected "
                f"{self.num_args}, got {len(result)})"
            )
        for i, r in enumerate(result[: self.num_args]):
            if r is not None and not isinstance(r, _C.Tensor):
                raise TypeError(
                    f"function {name} returned a gradient of type {type(r).__name__} at position {i + 1}; "
                    "expected a Tensor or None"
                )
            if r is not None and i not in self.tensor_set:
                raise RuntimeError(
                    f"function {name} returned a gradient different than None at position {i + 1}, "
                    "but the corresponding forward input was not a Tensor"
                )
        return tuple(result[i] for i in self.tensor_positions)


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``apply``."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError(
            f"{type(self).__name__}: autograd Functions are not instantiated; call "
            f"{type(self).__name__}.apply(...) with the static forward/backward methods"
        )

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement the backward function for custom autograd.Function.")

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx()
        ctx._name = cls.__name__ + "Backward"
        tensor_positions = [i for i, a in enumerate(args) if isinstance(a, _C.Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, _C.Tensor) and a.requires_grad for a in args)
        record = _C.is_grad_enabled() and any(ctx.needs_input_grad)
        with no_grad():
            outputs = cls.forward(ctx, *args)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        # An input returned as is becomes a new tensor, so it can carry this node's history.
        outs = tuple(o.detach() if isinstance(o, _C.Tensor) and any(o is a for a in args) else o for o in outs)
        if record:
            non_diff = ctx._non_differentiable
            recorded = [
                isinstance(o, _C.Tensor) and o.is_floating_point() and not any(o is n for n in non_diff) for o in outs
            ]
            backward = _BackwardCall(cls, ctx, outs, recorded, tensor_positions, len(args))
            _C._record_function(
                ctx._name,
                backward,
                ctx,
                [args[i] for i in tensor_positions],
                [o for o, rec in zip(outs, recorded) if rec],
            )
        return outs[0] if single else outs
