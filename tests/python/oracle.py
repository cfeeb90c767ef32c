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
    tensor or a tuple of tensors. `prep(lib, x)` transforms each leaf before the op (views); a list
    gives one prep (or None) per input.
    Returns (fastnn outputs, torch outputs).
    """
    ours, theirs = make_leaves(arrays, grad)
    preps = list(prep) if isinstance(prep, (list, tuple)) else [prep] * len(ours)
    assert len(preps) == len(ours), "one prep per input"
    f_in = [p(fastnn, x) if p else x for p, x in zip(preps, ours)]
    t_in = [p(torch, x) if p else x for p, x in zip(preps, theirs)]
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


# Layouts of an op's input: (storage shape from the logical shape, view taking the leaf to the logical shape).
# "expanded" broadcasts a size-1 first dim, so the leaf's gradient is a sum over it.
LAYOUTS = {
    "contiguous": (lambda s: s, None),
    "transposed": (lambda s: s[:-2] + (s[-1], s[-2]), lambda lib, x: x.transpose(-1, -2)),
    "strided": (lambda s: s[:-1] + (2 * s[-1],), lambda lib, x: x[..., ::2]),
    "offset": (lambda s: (s[0] + 2,) + s[1:], lambda lib, x: x[1:-1]),
}


def _expanded(shape):
    return (1,) + tuple(shape[1:]), lambda lib, x: x.expand(*shape)


def layout_input(rng, shape, layout, dtype=np.float32, low=-2.0, high=2.0):
    """(array, prep): random values for a leaf whose `prep` view has `shape` in the given layout.

    Layouts: those in LAYOUTS (transposed needs 2 dims) and "expanded" (a size-1 first dim broadcast)."""
    shape = tuple(shape)
    if layout == "expanded":
        storage, prep = _expanded(shape)
    else:
        fn, prep = LAYOUTS[layout]
        storage = fn(shape)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        arr = rng.uniform(low, high, size=storage).astype(dtype)
    elif dtype.kind == "b":
        arr = rng.integers(0, 2, size=storage).astype(bool)
    else:
        arr = rng.integers(int(low), int(high) + 1, size=storage).astype(dtype)
    return arr, prep


def gradcheck_op(fn, arrays, **kwargs):
    """fastnn.autograd.gradcheck of `fn` on float64 leaves made from `arrays` (non-float arrays are passed
    as tensors that do not require grad). Non-contiguous views belong inside `fn`."""
    inputs = []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind == "f":
            inputs.append(fastnn.tensor(a.astype(np.float64), requires_grad=True))
        else:
            inputs.append(fastnn.tensor(a))
    assert fastnn.autograd.gradcheck(fn, inputs, **kwargs)


def make_model(m, dtype=None):
    """Linear(4, 5) -> Tanh -> Linear(5, 2); fastnn's parameters copied from one seeded torch model."""
    dtype = dtype or torch.float32
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).to(dtype)
    if m is torch:
        return ref
    net = fastnn.nn.Sequential(fastnn.nn.Linear(4, 5), fastnn.nn.Tanh(), fastnn.nn.Linear(5, 2))
    if dtype == torch.float64:
        net = net.double()
    net.load_state_dict({k: fastnn.tensor(v.detach().numpy().copy()) for k, v in ref.state_dict().items()})
    return net
