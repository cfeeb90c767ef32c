"""gradcheck: analytic gradients against central differences, in float64."""

import numpy as np

from fastnn import _C
from fastnn.autograd.grad_mode import no_grad


class GradcheckError(RuntimeError):
    """Raised by gradcheck when an analytic Jacobian differs from the numerical one."""


def _flat_outputs(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, tuple) else (out,)


def _analytic(fn, inputs, diff, k, out):
    """Jacobian of output k w.r.t. each of `diff`, one backward per output element."""
    n_out = out.numel()
    jac = [np.zeros((t.numel(), n_out)) for t in diff]
    for j in range(n_out):
        seed = np.zeros(n_out, dtype=np.float64)
        seed[j] = 1.0
        g = _C._from_numpy(seed.reshape(tuple(out.shape)), True)._to_dtype(out.dtype)
        grads = _C._grad([_flat_outputs(fn, inputs)[k]], diff, [g], False, True, False)
        for i, gi in enumerate(grads):
            if gi is not None:
                jac[i][:, j] = gi.detach().numpy().reshape(-1)
    return jac


def _numeric(fn, inputs, t, k, eps):
    """Central differences of output k w.r.t. t, perturbing t's memory in place (any strides)."""
    view = t.detach().numpy()  # shares t's memory, whatever its strides
    rows = []
    with no_grad():
        for idx in np.ndindex(view.shape):
            orig = view[idx]
            view[idx] = orig + eps
            plus = _flat_outputs(fn, inputs)[k].detach().numpy().astype(np.float64).reshape(-1)
            view[idx] = orig - eps
            minus = _flat_outputs(fn, inputs)[k].detach().numpy().astype(np.float64).reshape(-1)
            view[idx] = orig
            rows.append((plus - minus) / (2 * eps))
    return np.array(rows).reshape(t.numel(), -1)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """True when every input gradient of every output matches finite differences (float64 only).

    On a mismatch raises GradcheckError (a RuntimeError), or returns False with raise_exception=False.
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [t for t in inputs if isinstance(t, _C.Tensor) and t.requires_grad]
    if not diff:
        raise ValueError("[gradcheck] expected at least one input tensor to require gradient, but none does")
    for i, t in enumerate(diff):
        if t.dtype != _C.dtype.float64:
            raise ValueError(f"[gradcheck] inputs that require grad must be float64, got {t.dtype} for input {i}")
        if any(st == 0 and n > 1 for st, n in zip(t.stride(), t.shape)):
            raise ValueError(f"[gradcheck] input {i} has overlapping memory (an expanded tensor); pass a copy")
    for k, out in enumerate(_flat_outputs(fn, inputs)):
        if not isinstance(out, _C.Tensor) or not out.requires_grad:
            continue
        analytic = _analytic(fn, inputs, diff, k, out)
        for i, t in enumerate(diff):
            numeric = _numeric(fn, inputs, t, k, eps)
            if not np.allclose(analytic[i], numeric, atol=atol, rtol=rtol):
                if raise_exception:
                    worst = np.abs(analytic[i] - numeric).max()
                    raise GradcheckError(
                        f"[gradcheck] Jacobian mismatch for output {k} with respect to input {i}: "
                        f"max abs difference {worst:.3g},\nnumerical:{numeric}\n"
                        f"analytical:{analytic[i]}"
                    )
                return False
    return True
