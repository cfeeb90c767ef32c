"""PyTorch as the oracle: run the same op on fastnn and torch with the same inputs and compare.

Typical use (one row per case)::

    check_op(lambda x, y: x * y, [arr_a, arr_b])                       # same callable for both libraries
    check_op(lambda m, x: m.conv2d(x, ...), [...], uses_module=True)   # callable gets the module (fastnn or torch)

Inputs are NumPy arrays; floating ones become leaves with requires_grad=True (unless grad=False),
optionally passed through `prep` (e.g. a transpose or a strided slice) to make non-contiguous
inputs on both sides. Outputs are compared for shape, dtype and values, then a random output
gradient is pushed back through both and the leaves' gradients are compared.
"""

import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch", reason="PyTorch (CPU, 2.13.0) is the test oracle")

DTYPES = {np.dtype("float32"): (fastnn.float32, torch.float32), np.dtype("float64"): (fastnn.float64, torch.float64),
          np.dtype("int64"): (fastnn.int64, torch.int64), np.dtype("bool"): (fastnn.bool, torch.bool)}


def to_numpy(t):
    """Values of a fastnn or torch tensor as a NumPy array (a copy)."""
    if isinstance(t, torch.Tensor):
        return t.detach().numpy().copy()
    return t.detach().numpy().copy()


def tolerances(dtype, atol=None, rtol=None):
    if dtype == np.float64:
        return atol or 1e-10, rtol or 1e-8
    return atol or 1e-5, rtol or 1e-4


def assert_close(ours, theirs, atol=None, rtol=None, what="value"):
    """Same shape, same dtype, values close (NaNs in the same places)."""
    a, b = to_numpy(ours), to_numpy(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != torch's {b.dtype}"
    if a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=what)
        return
    at, rt = tolerances(a.dtype, atol, rtol)
    scale = max(1.0, float(np.nanmax(np.abs(b[np.isfinite(b)]))) if np.isfinite(b).any() else 1.0)
    np.testing.assert_allclose(a, b, atol=at * scale, rtol=rt, equal_nan=True, err_msg=what)


def make_leaves(arrays, grad=True):
    """(fastnn leaves, torch leaves) from NumPy arrays; floating ones require grad when `grad`."""
    ours, theirs = [], []
    for a in arrays:
        a = np.asarray(a)
        f = fastnn.tensor(a.copy(), dtype=DTYPES[a.dtype][0])
        t = torch.tensor(a.copy())
        if grad and a.dtype.kind == "f":
            f.requires_grad_(True)
            t.requires_grad_(True)
        ours.append(f)
        theirs.append(t)
    return ours, theirs


def check_op(fn, arrays, prep=None, grad=True, atol=None, rtol=None, uses_module=False, seed=0):
    """Runs `fn` on fastnn and on torch with the same inputs; compares outputs and input gradients.

    `fn(*inputs)` (or `fn(lib, *inputs)` with uses_module, where lib is fastnn or torch) may return a
    tensor or a tuple of tensors. `prep(lib, x)` transforms each leaf before the op (views).
    Returns (fastnn outputs, torch outputs).
    """
    ours, theirs = make_leaves(arrays, grad)
    f_in = [prep(fastnn, x) if prep else x for x in ours]
    t_in = [prep(torch, x) if prep else x for x in theirs]
    f_out = fn(fastnn, *f_in) if uses_module else fn(*f_in)
    t_out = fn(torch, *t_in) if uses_module else fn(*t_in)
    f_outs = f_out if isinstance(f_out, tuple) else (f_out,)
    t_outs = t_out if isinstance(t_out, tuple) else (t_out,)
    assert len(f_outs) == len(t_outs)
    for i, (a, b) in enumerate(zip(f_outs, t_outs)):
        assert_close(a, b, atol, rtol, what=f"output {i}")
    diff = [(a, b) for a, b in zip(f_outs, t_outs) if b.requires_grad]
    if grad and diff:
        assert all(a.requires_grad for a, _ in diff), "fastnn output does not require grad but torch's does"
        rng = np.random.default_rng(seed)
        f_grads, t_grads = [], []
        for a, b in diff:
            g = rng.standard_normal(tuple(b.shape)).astype(to_numpy(b).dtype)
            f_grads.append(fastnn.tensor(g, dtype=a.dtype))
            t_grads.append(torch.tensor(g))
        fastnn.autograd.backward([a for a, _ in diff], f_grads)
        torch.autograd.backward([b for _, b in diff], t_grads)
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if b.grad is None:
                assert a.grad is None or not np.any(to_numpy(a.grad)), f"input {i}: fastnn has a gradient, torch none"
                continue
            assert a.grad is not None, f"input {i}: torch has a gradient, fastnn none"
            assert_close(a.grad, b.grad, atol, rtol, what=f"grad of input {i}")
    return f_out, t_out
