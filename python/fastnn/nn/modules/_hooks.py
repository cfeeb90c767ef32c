"""Module hooks around forward: forward pre-hooks and hooks, and backward hooks.

Full backward hooks work as in torch: the module's tensor inputs and outputs pass through an identity
autograd Function (``BackwardHookFunctionBackward`` in the graph). The outputs' node sees the gradients
w.r.t. the outputs (backward pre-hooks may replace them); the inputs' node sees those w.r.t. the inputs
and calls the hooks with both. The legacy ``register_backward_hook`` hooks the last node of the output
(``grad_fn.register_hook``), with torch's quirks.
"""

from fastnn import _C
from fastnn.autograd.function import Function


class BackwardHookFunction(Function):
    """Identity on its tensors; its backward hands their gradients to `on_backward`, which may replace them."""

    @staticmethod
    def forward(ctx, on_backward, *tensors):
        ctx.on_backward = on_backward
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        r = ctx.on_backward(grads)
        return (None,) + tuple(grads if r is None else r)


def _hook_result(r, n, what):
    """A hook's replacement gradients: None keeps them; a tuple (or one tensor) of the same length."""
    if r is None:
        return None
    r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
    if len(r) != n:
        raise RuntimeError(
            f"[{what}] backward hook returned an invalid number of grad_input, got {len(r)}, but expected {n}"
        )
    return r


def _identity(tensors, on_backward):
    """`tensors` through a BackwardHookFunction whose backward calls on_backward(grads)."""
    out = BackwardHookFunction.apply(on_backward, *tensors)
    return out if isinstance(out, tuple) else (out,)


def _with_full_backward_hooks(module, args, kwargs):
    """Runs forward with the inputs and outputs wrapped so the full backward (pre-)hooks are called."""
    positions = [i for i, a in enumerate(args) if isinstance(a, _C.Tensor)]
    needs = [i for i in positions if args[i].requires_grad]
    state = {"grad_output": None}

    def call_hooks(grad_input):
        for hook in list(module._backward_hooks.values()):
            r = _hook_result(
                hook(module, grad_input, state["grad_output"]), len(grad_input), "register_full_backward_hook"
            )
            if r is not None:
                grad_input = r
        return grad_input

    if needs:

        def on_input_grads(grads):
            full = [None] * len(positions)
            for g, i in zip(grads, needs):
                full[positions.index(i)] = g
            result = call_hooks(tuple(full))
            return tuple(result[positions.index(i)] for i in needs)

        args = list(args)
        for i, w in zip(needs, _identity([args[i] for i in needs], on_input_grads)):
            args[i] = w
        args = tuple(args)
    out = module.forward(*args, **kwargs)
    outs = out if isinstance(out, tuple) else (out,)
    hooked = [k for k, o in enumerate(outs) if isinstance(o, _C.Tensor) and o.requires_grad]
    if not hooked:
        return out

    def on_output_grads(grads):
        for hook in list(module._backward_pre_hooks.values()):
            r = _hook_result(hook(module, grads), len(grads), "register_full_backward_pre_hook")
            if r is not None:
                grads = r
        state["grad_output"] = grads
        if not needs:  # no input needs a gradient: the hooks run now, with None for every input
            call_hooks((None,) * len(positions))
        return grads

    wrapped = list(outs)
    for k, w in zip(hooked, _identity([outs[k] for k in hooked], on_output_grads)):
        wrapped[k] = w
    return tuple(wrapped) if isinstance(out, tuple) else wrapped[0]


def call_with_hooks(module, args, kwargs):
    """Module.__call__ when the module has hooks: pre-hooks, forward (with backward hooks), hooks."""
    for hook, with_kwargs in list(module._forward_pre_hooks.values()):
        if with_kwargs:
            r = hook(module, args, kwargs)
            if r is not None:
                if not (isinstance(r, tuple) and len(r) == 2):
                    raise RuntimeError(
                        f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got {r}."
                    )
                args, kwargs = r
        else:
            r = hook(module, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
    called = set()
    try:
        full = (module._backward_hooks and module._is_full_backward_hook) or module._backward_pre_hooks
        if full and _C.is_grad_enabled():
            out = _with_full_backward_hooks(module, args, kwargs)
        else:
            out = module.forward(*args, **kwargs)
        for key, (hook, with_kwargs, _) in list(module._forward_hooks.items()):
            r = hook(module, args, kwargs, out) if with_kwargs else hook(module, args, out)
            called.add(key)
            if r is not None:
                out = r
    except BaseException:
        for key, (hook, with_kwargs, always) in list(module._forward_hooks.items()):
            if always and key not in called:
                hook(module, args, kwargs, None) if with_kwargs else hook(module, args, None)
        raise
    if module._backward_hooks and not module._is_full_backward_hook and isinstance(out, _C.Tensor):
        fn = out.grad_fn
        if fn is not None:
            for hook in list(module._backward_hooks.values()):
                fn.register_hook(lambda grad_input, grad_output, hook=hook: hook(module, grad_input, grad_output))
    return out
