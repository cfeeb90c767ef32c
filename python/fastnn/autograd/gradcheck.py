"""gradcheck: analytic gradients against central differences, in float64."""

import numpy as np

from fastnn import _C
from fastnn.autograd.grad_mode import no_grad


def _flat_outputs(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, tuple) else (out,)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """True when every input gradient of every output matches finite differences (float64 only)."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [t for t in inputs if isinstance(t, _C.Tensor) and t.requires_grad]
    for t in diff:
        if t.dtype != _C.dtype.float64:
            raise ValueError(f"[gradcheck] inputs that require grad must be float64, got {t.dtype}")
    outputs = _flat_outputs(fn, inputs)
    for k, out in enumerate(outputs):
        if not isinstance(out, _C.Tensor) or not out.requires_grad:
            continue
        n_out = out.numel()
        analytic = [np.zeros((t.numel(), n_out)) for t in diff]
        for j in range(n_out):
            seed = np.zeros(n_out)
            seed[j] = 1.0
            g = _C._from_numpy(seed.reshape(out.shape), True)
            grads = _C._grad([_flat_outputs(fn, inputs)[k]], diff, [g], False, True)
            for i, gi in enumerate(grads):
                if gi is not None:
                    analytic[i][:, j] = gi.numpy().reshape(-1)
        for i, t in enumerate(diff):
            numeric = np.zeros((t.numel(), n_out))
            flat = t.detach().numpy().reshape(-1) if t.is_contiguous() else None
            if flat is None:
                raise ValueError("[gradcheck] inputs must be contiguous")
            with no_grad():
                for e in range(t.numel()):
                    orig = flat[e]
                    flat[e] = orig + eps
                    plus = _flat_outputs(fn, inputs)[k].numpy().reshape(-1).copy()
                    flat[e] = orig - eps
                    minus = _flat_outputs(fn, inputs)[k].numpy().reshape(-1).copy()
                    flat[e] = orig
                    numeric[e] = (plus - minus) / (2 * eps)
            if not np.allclose(analytic[i], numeric, atol=atol, rtol=rtol):
                if raise_exception:
                    worst = np.abs(analytic[i] - numeric).max()
                    raise RuntimeError(f"[gradcheck] Jacobian mismatch for output {k} with respect to input {i}: "
                                       f"max abs difference {worst:.3g}\nnumerical:{numeric}\nanalytical:{analytic[i]}")
                return False
    return True
