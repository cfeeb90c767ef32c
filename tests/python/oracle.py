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

DTYPES = {
    np.dtype("float32"): (fastnn.float32, torch.float32),
    np.dtype("float64"): (fastnn.float64, torch.float64),
    np.dtype("int64"): (fastnn.int64, torch.int64),
    np.dtype("bool"): (fastnn.bool, torch.bool),
}


def to_numpy(t):
    """Values of a fastnn or torch tensor as a NumPy array (a copy)."""
    if isinstance(t, torch.Tensor):
        return t.detach().numpy().copy()
    return t.detach().numpy().copy()


def tolerances(dtype, atol=None, rtol=None):
    if dtype == np.float64:
        return atol or 1e-10, rtol or 1e-8
    return atol or 1e-5, rtol or 1e-4


def ulp_tolerances(dtype):
    """(rtol, atol) for one correctly rounded-ish operation: a few ulps, and denormal-sized absolute slack."""
    info = np.finfo(dtype)
    return 8 * float(info.eps), 4 * float(info.tiny)


def assert_close(
    ours, theirs, atol=None, rtol=None, what="value", *, ulps=False, signed_zeros=False, overflow_slack=False
):
    """The one comparison of a fastnn result with torch's: same shape and dtype; integers and bools equal;
    floats with nan where torch has nan, the same infinities, and |ours - theirs| <= atol + rtol*|theirs|.

    Default: `atol` is relative to the largest finite |theirs| (at least 1), both default per dtype
    (`tolerances`). `ulps=True` (the property tests): `atol` is absolute (a scalar or an array, inf where a
    sum of terms overflows: both sides need only be non-finite there) and at least a few denormals; rtol
    defaults to a few ulps. `signed_zeros`: where torch gives an exact zero, the same sign.
    `overflow_slack`: an infinity may meet a finite value within a factor 64 of the largest float (a gradient
    formula whose intermediate overflows in one library's order of operations and not in the other's)."""
    a, b = to_numpy(ours), to_numpy(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != torch's {b.dtype}"
    if a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=what)
        return
    if ulps:
        r0, a0 = ulp_tolerances(a.dtype)
        rtol = r0 if rtol is None else rtol
        atol = a0 if atol is None else np.maximum(atol, a0)
    else:
        atol, rtol = tolerances(a.dtype, atol, rtol)
        finite = np.isfinite(b)
        atol = atol * max(1.0, float(np.abs(b[finite]).max()) if finite.any() else 1.0)
    if np.isinf(atol).any():
        over = np.broadcast_to(np.isinf(atol), a.shape) & ~np.isfinite(a) & ~np.isfinite(b)
        a, b = np.where(over, 0, a), np.where(over, 0, b)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    assert np.array_equal(nan_a, nan_b), f"{what}: nan at {np.argwhere(nan_a != nan_b).tolist()}\nours  {a}\ntorch {b}"
    inf_b = np.isinf(b)
    if overflow_slack:
        near = float(np.finfo(a.dtype).max) / 64
        inf_b = inf_b & ~(np.isfinite(a) & (np.abs(a) > near))
        inf_b = inf_b | (np.isinf(a) & np.isfinite(b) & (np.abs(b) > near))
        inf_b &= ~(np.isinf(a) != np.isinf(b))
    assert np.array_equal(a[inf_b], b[inf_b]), f"{what}: infinities differ\nours  {a}\ntorch {b}"
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(a.astype(np.float64) - b.astype(np.float64))
        tol = np.broadcast_to(atol + rtol * np.abs(b.astype(np.float64)), a.shape)
        bad = ~(nan_b | inf_b) & ~(err <= tol)
    if bad.any():
        i = tuple(np.argwhere(bad)[0])
        raise AssertionError(
            f"{what}: {bad.sum()} of {bad.size} values differ, e.g. at {list(i)}: ours {a[i]!r}, "
            f"torch {b[i]!r} (difference {err[i]:.3g} > tolerance {tol[i]:.3g})\nours  {a}\ntorch {b}"
        )
    if signed_zeros:
        z = b == 0
        sa, sb = np.signbit(a[z]), np.signbit(b[z])
        assert np.array_equal(sa, sb), f"{what}: signs of zeros differ\nours  {a}\ntorch {b}"


def assert_same_params_and_grads(ours, theirs, atol=None, rtol=None):
    """Two modules: the same parameter names in the same order, close values, close gradients (or both None)."""
    on, tn = list(ours.named_parameters()), list(theirs.named_parameters())
    assert [n for n, _ in on] == [n for n, _ in tn]
    for (name, a), (_, b) in zip(on, tn):
        assert_close(a, b, atol, rtol, what=name)
        assert (a.grad is None) == (b.grad is None), name
        if b.grad is not None:
            assert_close(a.grad, b.grad, atol, rtol, what=f"grad of {name}")


def assert_same_history(ours, theirs, rtol, atol):
    """Parameter values after each optimizer step (lists of NumPy arrays per step); atol is relative to the
    largest |value| of torch's parameter (at least 1): maximize runs grow the parameters."""
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        assert len(a) == len(b), f"step {step}"
        for i, (p, q) in enumerate(zip(a, b)):
            assert p.dtype == q.dtype, f"step {step}, parameter {i}"
            scale = max(1.0, float(np.abs(q).max())) if q.size else 1.0
            np.testing.assert_allclose(p, q, rtol=rtol, atol=atol * scale, err_msg=f"step {step}, parameter {i}")


def assert_same_state(opt_f, opt_t, rtol=1e-5, atol=1e-6):
    """Two optimizers: the same state_dict layout (indices, keys in torch's order, dtypes, step values, tensor
    values within rtol and atol relative to the largest |value|) and the same param_groups."""
    f, t = opt_f.state_dict(), opt_t.state_dict()
    assert list(f) == list(t) == ["state", "param_groups"]
    assert f["param_groups"] == t["param_groups"]
    assert sorted(f["state"]) == sorted(t["state"])
    for i, ts in t["state"].items():
        fs = f["state"][i]
        assert list(fs) == list(ts), f"state {i}: keys {list(fs)} != torch's {list(ts)}"
        for key, value in ts.items():
            ours = fs[key]
            assert isinstance(ours, fastnn.Tensor) == isinstance(value, torch.Tensor), key
            a, b = ours.numpy(), value.numpy()
            assert (a.shape, a.dtype) == (b.shape, b.dtype), f"state {i} {key}"
            if key == "step":
                assert a == b
            else:
                scale = max(1.0, float(np.abs(b).max())) if b.size else 1.0
                np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale, err_msg=f"state {i} {key}")


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
