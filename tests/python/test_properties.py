"""Property-based tests (hypothesis): fastnn against PyTorch over random valid inputs.

Shapes have 0 to 4 dims with sizes 0 to 4; inputs come in random layouts (contiguous, permuted, sliced with
steps, broadcast through stride-0 `expand`, and two of these stacked), every dtype fastnn has (float32,
float64, int64, bool) and values that include inf, nan, -0.0, denormals and huge and tiny magnitudes.
Each property runs the same op on both libraries and asserts:
  - both succeed or both raise (an input torch refuses must be refused, and the other way round);
  - same shape and dtype, nan in the same places, the same infinities, values within a tolerance that is
    a few ulps for elementwise ops and an error bound from the absolute values for sums and GEMMs
    (`_abs_bound`), the sign of zeros where torch computes it exactly;
  - the same gradients for a random output gradient.
Runs are reproducible (the `fastnn` hypothesis profile in conftest.py: derandomized, no database);
FASTNN_HYPOTHESIS_SCALE=10 runs ten times as many examples.
"""

import math
import os
import warnings

import fastnn
import fastnn.nn.functional as F
import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from oracle import DTYPES, make_leaves, to_numpy, torch

TF = torch.nn.functional
FLOAT_DTYPES = [np.dtype(np.float32), np.dtype(np.float64)]
ALL_DTYPES = FLOAT_DTYPES + [np.dtype(np.int64), np.dtype(np.bool_)]
_SCALE = float(os.environ.get("FASTNN_HYPOTHESIS_SCALE", "1"))


def examples(n):
    """`settings` for a property: n examples (scaled by FASTNN_HYPOTHESIS_SCALE), on top of the profile."""
    return settings(max_examples=max(1, int(n * _SCALE)))


def lib_of(x):
    return fastnn if isinstance(x, fastnn.Tensor) else torch


def fn_of(x):
    return F if isinstance(x, fastnn.Tensor) else TF


def dt(x, np_dtype):
    """The dtype object of x's library for a NumPy dtype."""
    return DTYPES[np.dtype(np_dtype)][0 if isinstance(x, fastnn.Tensor) else 1]


# ---------------------------------------------------------------------------------------------
# strategies: values


def float_elements(dtype, max_magnitude=None, specials=True, infinities=True):
    """Floats of `dtype`: mostly moderate, plus 0, -0.0, +-inf, nan, denormals, the extremes and random
    magnitudes. `max_magnitude` bounds the finite values (sums and products that must not overflow)."""
    dtype = np.dtype(dtype)
    width = dtype.itemsize * 8
    info = np.finfo(dtype)
    big = float(info.max) if max_magnitude is None else float(dtype.type(max_magnitude))
    denormal = float(np.nextafter(dtype.type(0), dtype.type(1)))
    edge = [0.0, -0.0, 1.0, -1.0, denormal, -denormal, float(info.tiny), -float(info.tiny), 1e-30, -1e-30, big, -big]
    if specials:
        edge += [math.inf, -math.inf, math.nan] if infinities else [math.nan]
    return st.one_of(
        st.floats(-4, 4, width=width),
        st.sampled_from(edge),
        st.floats(-big, big, width=width, allow_subnormal=True),
    )


def elements(dtype, max_magnitude=None, specials=True, infinities=True):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return float_elements(dtype, max_magnitude, specials, infinities)
    if dtype.kind == "b":
        return st.booleans()
    return st.integers(-5, 5) if max_magnitude is None or max_magnitude < 2 ** 40 else st.integers(-2 ** 40, 2 ** 40)


# ---------------------------------------------------------------------------------------------
# strategies: layouts. A layout takes a logical shape to (storage shape, view of a storage-shaped tensor that
# has the logical shape). The leaf that requires grad is the storage tensor, so gradients go through the view.


def _permuted(draw, shape):
    n = len(shape)
    p = draw(st.permutations(range(n)))
    inv = [p.index(j) for j in range(n)]
    return tuple(shape[i] for i in p), lambda lib, x: x.permute(tuple(inv)), f"permute{tuple(inv)}"


def _sliced(draw, shape):
    steps = [draw(st.integers(1, 3)) for _ in shape]
    starts = [draw(st.integers(0, 1)) for _ in shape]
    storage = tuple(s0 + (st_ * (n - 1) + 1 if n else 0) + draw(st.integers(0, 1))
                    for n, st_, s0 in zip(shape, steps, starts))
    index = tuple(slice(s0, s0 + st_ * n, st_) for n, st_, s0 in zip(shape, steps, starts))
    return storage, lambda lib, x: x[index], f"[{index}]"


def _expanded(draw, shape):
    lead = draw(st.integers(0, len(shape)))
    ones = [draw(st.booleans()) for _ in shape[lead:]]
    storage = tuple(1 if o else n for o, n in zip(ones, shape[lead:]))
    return storage, lambda lib, x: x.expand(shape), f"expand{shape} of {storage}"


@st.composite
def layouts(draw, shape, max_steps=2):
    """(storage shape, prep(lib, x), description): up to `max_steps` of contiguous/permuted/sliced/expanded."""
    shape = tuple(shape)
    preps, descr = [], []
    for _ in range(draw(st.integers(0, max_steps))):
        kind = draw(st.sampled_from(["permuted", "sliced", "expanded"]))
        if kind == "permuted" and len(shape) < 2:
            continue
        shape, prep, d = {"permuted": _permuted, "sliced": _sliced, "expanded": _expanded}[kind](draw, shape)
        preps.append(prep)
        descr.append(d)

    def prep(lib, x):
        for p in reversed(preps):
            x = p(lib, x)
        return x

    return shape, (prep if preps else None), " <- ".join(descr) or "contiguous"


@st.composite
def inputs(draw, shape, dtype, max_magnitude=None, specials=True, infinities=True, layout=True):
    """(array, prep): random values of `dtype` for a leaf whose prep'd view has `shape`."""
    storage, prep, descr = draw(layouts(shape)) if layout else (tuple(shape), None, "contiguous")
    arr = draw(hnp.arrays(np.dtype(dtype), storage, elements=elements(dtype, max_magnitude, specials, infinities)))
    note(f"input {arr.dtype} {shape} via {descr}: {arr!r}")
    return arr, prep


def view_of(arr, prep):
    """The NumPy values an op sees: `prep` applied to the array (through torch)."""
    t = torch.tensor(np.asarray(arr))
    return (prep(torch, t) if prep else t).numpy()


shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)
dtypes = st.sampled_from(ALL_DTYPES)
float_dtypes = st.sampled_from(FLOAT_DTYPES)

# ---------------------------------------------------------------------------------------------
# comparison


def _ulp_tolerance(dtype):
    """(rtol, atol) for one correctly rounded-ish operation: a few ulps, and denormal-sized absolute slack."""
    info = np.finfo(dtype)
    return 8 * float(info.eps), 4 * float(info.tiny)


def assert_matches(ours, theirs, what="value", rtol=None, atol=None, signed_zeros=False, overflow_slack=False):
    """Same shape and dtype; nan where torch has nan; the same infinities; |ours - theirs| <= atol + rtol*|theirs|
    elementwise (atol may be an array); where torch gives an exact zero and `signed_zeros`, the same sign.
    `overflow_slack`: an infinity may meet a finite value within a factor 64 of the largest float (a gradient
    formula whose intermediate overflows in one library's order of operations and not in the other's)."""
    a, b = to_numpy(ours), to_numpy(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != torch's {b.dtype}"
    if a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=what)
        return
    r0, a0 = _ulp_tolerance(a.dtype)
    rtol = r0 if rtol is None else rtol
    atol = a0 if atol is None else np.maximum(atol, a0)
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
        bad = ~(nan_b | inf_b) & ~(err <= atol + rtol * np.abs(b.astype(np.float64)))
    assert not bad.any(), (f"{what}: {bad.sum()} values differ, e.g. at {np.argwhere(bad)[0].tolist()}"
                           f"\nours  {a}\ntorch {b}")
    if signed_zeros:
        z = b == 0
        sa, sb = np.signbit(a[z]), np.signbit(b[z])
        assert np.array_equal(sa, sb), f"{what}: signs of zeros differ\nours  {a}\ntorch {b}"


def _call(fn, args):
    try:
        return fn(*args), None
    except Exception as e:  # noqa: BLE001 (compared across libraries below)
        return None, e


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _eps(a):
    return float(np.finfo(np.asarray(a).dtype).eps)


def check(fn, arrays, preps=None, grad=True, compare=None, bound=None, grad_scale="elementwise", refused_by_fastnn=None,
          grad_atol=0.0):
    """Runs fn(*views) on fastnn and torch and compares the outcomes (see the module docstring).

    `compare(ours, theirs, what)` overrides the elementwise comparison of outputs.
    `bound(*views)`, for ops that sum products (sums, GEMMs, convolutions, pooling), is fn itself or a
    simpler expression that, evaluated in float64 on the absolute values, bounds the terms being added up:
    the output tolerance is then eps * n * bound (n = terms per output element, about) and the gradients'
    the same with the absolute output gradient pushed through `bound`.
    Without it, `grad_scale="elementwise"` (fn maps broadcast inputs elementwise) bounds what is summed into
    each gradient element (broadcasting, expanded layouts) from the unreduced float64 contributions.
    `grad_atol`: absolute gradient slack in units of max|output gradient|.
    `refused_by_fastnn(exc)`: True for a documented difference where fastnn refuses what torch accepts."""
    preps = list(preps) if isinstance(preps, (list, tuple)) else [preps] * len(arrays)
    ours, theirs = make_leaves(arrays, grad)
    f_in = [p(fastnn, x) if p else x for p, x in zip(preps, ours)]
    t_in = [p(torch, x) if p else x for p, x in zip(preps, theirs)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out, t_err = _call(fn, t_in)
        f_out, f_err = _call(fn, f_in)
    if t_err is not None:
        assert f_err is not None, f"torch raises {t_err!r} but fastnn returns {f_out!r}"
        return None
    if f_err is not None:
        if refused_by_fastnn and refused_by_fastnn(f_err):
            return None
        raise AssertionError(f"fastnn raises {f_err!r}; torch returns {t_out!r}") from f_err
    f_outs, t_outs = _as_tuple(f_out), _as_tuple(t_out)
    assert len(f_outs) == len(t_outs)
    out_tol = _bound_values(bound, arrays, preps) if bound else [None] * len(t_outs)
    for i, (a, b) in enumerate(zip(f_outs, t_outs)):
        if compare:
            compare(a, b, f"output {i}")
        elif out_tol[i] is not None and b.dtype.is_floating_point:
            n = max(1, max(np.asarray(x).size for x in arrays) // max(1, b.numel()))
            assert_matches(a, b, f"output {i}", atol=4 * (n + 2) * _eps(to_numpy(b)) * out_tol[i])
        else:
            assert_matches(a, b, f"output {i}")
    diff = [(i, a, b) for i, (a, b) in enumerate(zip(f_outs, t_outs)) if b.requires_grad]
    if not (grad and diff):
        return f_out, t_out
    assert all(a.requires_grad for _, a, _ in diff), "fastnn output does not require grad but torch's does"
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(tuple(b.shape)).astype(to_numpy(b).dtype) for _, _, b in diff]
    fastnn.autograd.backward([a for _, a, _ in diff], [fastnn.tensor(g, dtype=a.dtype) for g, (_, a, _) in zip(grads, diff)])
    torch.autograd.backward([b for _, _, b in diff], [torch.tensor(g) for g in grads])
    if bound:
        scale = _bound_grads(bound, arrays, preps, [i for i, _, _ in diff], grads)
    elif grad_scale == "elementwise":
        scale = _elementwise_grad_scale(fn, arrays, preps, grads)
    else:
        scale = [None] * len(arrays)
    g_max = max([float(np.max(np.abs(g))) for g in grads if g.size] + [0.0])
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if b.grad is None:
            assert a.grad is None or not np.any(to_numpy(a.grad)), f"input {i}: fastnn has a gradient, torch none"
            continue
        assert a.grad is not None, f"input {i}: torch has a gradient, fastnn none"
        n = max(1, max(int(np.prod(g.shape)) for g in grads) // max(1, np.asarray(arrays[i]).size))
        atol = grad_atol * g_max
        if scale[i] is not None:
            atol = atol + 4 * (n + 2) * _eps(arrays[i]) * scale[i]
        assert_matches(a.grad, b.grad, f"grad of input {i}", atol=atol, overflow_slack=True)
    return f_out, t_out


def _float64_leaves(arrays, preps, absolute):
    """(leaf, view) pairs in float64 (floating inputs require grad), optionally of the absolute values."""
    out = []
    for a, p in zip(arrays, preps):
        a = np.asarray(a)
        if a.dtype.kind == "f":
            t = torch.tensor((np.abs(a) if absolute else a).astype(np.float64), requires_grad=True)
        else:
            t = torch.tensor(a)
        out.append((t, p(torch, t) if p else t))
    return out


def _finite_scale(t):
    """A tolerance scale from a float64 tensor: nan (inf - inf in the bound) counts as unbounded."""
    return np.nan_to_num(t.detach().numpy(), nan=np.inf, posinf=np.inf)


def _bound_values(bound, arrays, preps):
    with torch.no_grad():
        outs = _as_tuple(bound(*[v for _, v in _float64_leaves(arrays, preps, True)]))
    return [_finite_scale(o) if o.dtype.is_floating_point else None for o in outs]


def _bound_grads(bound, arrays, preps, diff_idx, grads):
    leaves = _float64_leaves(arrays, preps, True)
    outs = _as_tuple(bound(*[v for _, v in leaves]))
    torch.autograd.backward([outs[i] for i in diff_idx], [torch.tensor(np.abs(g).astype(np.float64)) for g in grads])
    return [None if leaf.grad is None else _finite_scale(leaf.grad.abs()) for leaf, _ in leaves]


def _elementwise_grad_scale(fn, arrays, preps, grads):
    """Per leaf element, the sum of |contributions| that its gradient adds up: fn runs in float64 on inputs
    expanded to the output's shape (so nothing is summed), then the absolute unreduced gradients flow back
    through the broadcast and the layout views."""
    leaves = _float64_leaves(arrays, preps, False)
    views = [v for _, v in leaves]
    shape = torch.broadcast_shapes(*[v.shape for v in views])
    full = [v.detach().expand(shape).clone().requires_grad_(v.dtype.is_floating_point) for v in views]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, err = _call(fn, full)
    if err is not None or not out.requires_grad or tuple(out.shape) != tuple(shape):
        return [None] * len(arrays)
    out.backward(torch.tensor(grads[0].astype(np.float64)))
    scale = []
    for (leaf, view), f in zip(leaves, full):
        if f.grad is None or not leaf.requires_grad:
            scale.append(None)
            continue
        (g,) = torch.autograd.grad(view.expand(shape), leaf, f.grad.abs())
        scale.append(_finite_scale(g))
    return scale


# ---------------------------------------------------------------------------------------------
# elementwise unary ops

UNARY = {
    "neg": lambda x: -x,
    "exp": lambda x: x.exp(),
    "log": lambda x: x.log(),
    "sqrt": lambda x: x.sqrt(),
    "abs": lambda x: x.abs(),
    "relu": lambda x: x.relu(),
    "sigmoid": lambda x: x.sigmoid(),
    "tanh": lambda x: x.tanh(),
    "F.relu": lambda x: fn_of(x).relu(x),
    "F.sigmoid": lambda x: fn_of(x).sigmoid(x),
    "F.tanh": lambda x: fn_of(x).tanh(x),
    "module.exp": lambda x: lib_of(x).exp(x),
    "module.abs": lambda x: lib_of(x).abs(x),
}
def _bool_unary_refusal(dtype):
    """fastnn refuses bool input to clamp and pow (torch computes in int64), documented in test_errors."""
    return (lambda e: isinstance(e, TypeError) and "not supported for bool tensors" in str(e)) \
        if dtype == np.bool_ else None


# ops whose result torch computes exactly (so the sign of a zero result is meaningful)
EXACT_UNARY = {"neg", "abs", "relu", "F.relu", "module.abs", "clamp"}


@examples(60)
@given(name=st.sampled_from(sorted(UNARY)), shape=shapes, dtype=dtypes, data=st.data())
def test_unary(name, shape, dtype, data):
    arr, prep = data.draw(inputs(shape, dtype))
    # gradients like g * (1 - y * y) cancel: their rounding is a few ulps of |g|, not of the result
    check(UNARY[name], [arr], prep, compare=lambda a, b, w: assert_matches(
        a, b, w, signed_zeros=name in EXACT_UNARY), refused_by_fastnn=_bool_unary_refusal(dtype),
        grad_atol=8 * float(np.finfo(dtype).eps) if dtype.kind == "f" else 0.0)


@examples(40)
@given(shape=shapes, dtype=dtypes, data=st.data())
def test_clamp(shape, dtype, data):
    arr, prep = data.draw(inputs(shape, dtype))
    bound = st.one_of(st.none(), st.integers(-3, 3), st.floats(-3, 3), st.sampled_from([-0.0, math.inf, -math.inf]))
    lo, hi = data.draw(bound, "min"), data.draw(bound, "max")
    assume(lo is not None or hi is not None)
    method = data.draw(st.sampled_from(["clamp", "clip"]))
    check(lambda x: getattr(x, method)(lo, hi), [arr], prep, refused_by_fastnn=_bool_unary_refusal(dtype))


@examples(40)
@given(shape=shapes, dtype=dtypes, data=st.data())
def test_pow_scalar_exponent(shape, dtype, data):
    # finite values small enough that e * x ** (e - 1) cannot overflow in one library and not in the other
    arr, prep = data.draw(inputs(shape, dtype, max_magnitude=1e9))
    e = data.draw(st.one_of(st.integers(-3, 4), st.sampled_from([0.5, -0.5, 1.5, 2.0, -1.0, 0.0, 3.0])), "exponent")
    check(lambda x: x ** e, [arr], prep, refused_by_fastnn=_bool_unary_refusal(dtype))


ACTIVATIONS = {
    "leaky_relu": lambda x, slope: fn_of(x).leaky_relu(x, slope),
    "gelu": lambda x, slope: fn_of(x).gelu(x),
    "gelu_tanh": lambda x, slope: fn_of(x).gelu(x, approximate="tanh"),
    "dropout_eval": lambda x, slope: fn_of(x).dropout(x, 0.5, training=False),
    "dropout_p0": lambda x, slope: fn_of(x).dropout(x, 0.0),
}


@examples(50)
@given(name=st.sampled_from(sorted(ACTIVATIONS)), shape=shapes, dtype=float_dtypes,
       slope=st.sampled_from([0.01, 0.2, -0.5, 0.0, 1.0]), data=st.data())
def test_activations(name, shape, dtype, slope, data):
    big = 1e30 if dtype == np.float32 else 1e300
    if name == "gelu_tanh":  # torch's backward computes x**3 in the input's dtype: nan once that overflows
        big = 1e12 if dtype == np.float32 else 1e100
    # GELU: torch gives nan at +inf and overflows to inf near the largest float (fastnn computes in double)
    arr, prep = data.draw(inputs(shape, dtype, max_magnitude=big, infinities=not name.startswith("gelu")))
    x = np.abs(view_of(arr, prep)).astype(np.float64)
    # torch's float32 GELU loses bits to cancellation in 1 + erf(x) for negative x: tolerance relative to |x|
    atol = 8 * float(np.finfo(dtype).eps) * x if name.startswith("gelu") else None
    check(lambda v: ACTIVATIONS[name](v, slope), [arr], prep,
          grad_atol=(1e-4 if dtype == np.float32 else 1e-12) if name.startswith("gelu") else 0.0,
          compare=lambda a, b, w: assert_matches(a, b, w, atol=atol if w.startswith("output") else None,
                                                 signed_zeros=not name.startswith("gelu")))


# ---------------------------------------------------------------------------------------------
# binary ops with broadcasting and type promotion

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "add_alpha": lambda a, b: lib_of(a).add(a, b, alpha=2),
    "sub_alpha": lambda a, b: a.sub(b, alpha=-0.5) if isinstance(b, (fastnn.Tensor, torch.Tensor)) else a - b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


def _bool_refusal(e):
    """Where fastnn refuses what torch computes: add, mul and pow of two bools (torch: logical or / and), a bool
    base to a number power (torch: int64), negative integer powers of integers."""
    return (isinstance(e, TypeError) and ("not supported for two bool tensors" in str(e)
                                          or "[pow] not supported for bool tensors" in str(e))
            # an int64 tensor to a negative int64 tensor power: torch gives 0 (or 1, -1), fastnn an error
            or isinstance(e, ValueError) and "[pow] integers to negative integer powers are not allowed" in str(e))


def _binary_grad(name, *dtypes_):
    """torch 2.13's backward of pow fails when either operand is bool (test_ops_elementwise.py says so)."""
    return not (name == "pow" and any(d == np.bool_ for d in dtypes_))


@examples(80)
@given(name=st.sampled_from(sorted(BINARY)), data=st.data(),
       bshapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=3),
       da=dtypes, db=dtypes)
def test_binary_tensor_tensor(name, data, bshapes, da, db):
    (sa, sb), _ = bshapes
    a, pa = data.draw(inputs(sa, da))
    b, pb = data.draw(inputs(sb, db))
    check(BINARY[name], [a, b], [pa, pb], grad=_binary_grad(name, da, db), refused_by_fastnn=_bool_refusal)


scalars = st.one_of(st.integers(-3, 3), st.booleans(), st.floats(width=32),
                    st.sampled_from([0.5, -0.0, 2.0, 1e30, 1e-30]))


@examples(60)
@given(name=st.sampled_from(sorted(BINARY)), shape=shapes, dtype=dtypes, scalar=scalars, reflected=st.booleans(),
       zero_dim=st.booleans(), data=st.data())
def test_binary_tensor_scalar(name, shape, dtype, scalar, reflected, zero_dim, data):
    """A Python number (or a 0-d tensor) on either side: promotion by kind only for numbers."""
    a, pa = data.draw(inputs(shape, dtype))
    op = BINARY[name]
    if zero_dim:  # a 0-d tensor holding the number: a second leaf
        s = np.asarray(scalar, dtype=np.float32 if isinstance(scalar, float) else None)
        fn = (lambda x, y: op(y, x)) if reflected else op
        check(fn, [a, s], [pa, None], grad=_binary_grad(name, dtype, s.dtype), refused_by_fastnn=_bool_refusal)
        return
    if reflected and name in ("add_alpha", "sub_alpha"):
        return
    fn = (lambda x: op(scalar, x)) if reflected else (lambda x: op(x, scalar))
    check(fn, [a], pa, grad=_binary_grad(name, dtype, np.dtype(type(scalar))), refused_by_fastnn=_bool_refusal)


# ---------------------------------------------------------------------------------------------
# regressions: the smallest failing examples the properties above found, fixed since


def _both(fn, *arrays):
    """check() on fixed inputs (contiguous)."""
    return check(fn, [np.asarray(a) for a in arrays])


def test_float_ops_take_bools_as_torch():
    for op in ("exp", "log", "sqrt", "sigmoid", "tanh"):
        _both(lambda x, op=op: getattr(x, op)(), np.array([True, False]))


def test_relu_keeps_negative_zero():
    out, _ = _both(lambda x: x.relu(), np.array([-0.0, 0.0, -1.0], np.float32))
    assert np.signbit(to_numpy(out)).tolist() == [True, False, False]


def test_pow_half_is_sqrt():
    # (-inf) ** 0.5 is nan and (-0.0) ** 0.5 is -0.0, as sqrt (std::pow gives inf and 0.0); gradients too
    for e in (0.5, -0.5):
        _both(lambda x, e=e: x ** e, np.array([-math.inf, -0.0, 0.0, 4.0, -1.0], np.float32))


def test_clamp_gradient_compares_with_the_bound_in_the_input_dtype():
    # float32(0.1) > 0.1: the forward keeps x (== the float32 bound), so the gradient must pass
    _both(lambda x: x.clamp(max=0.1), np.array([0.1, 0.2], np.float32))
    _both(lambda x: x.clamp(min=-7e-78), np.array([0.0, -0.0], np.float32))


def test_fractional_alpha_with_integer_result_is_refused():
    a, b = fastnn.tensor([1, 2]), fastnn.tensor([1, 1])
    for fn in (lambda: a.add(b, alpha=0.5), lambda: a.sub(b, alpha=-0.5), lambda: fastnn.tensor([1]).add_(b[:1], alpha=0.5),
               lambda: a.add(b, alpha=math.inf), lambda: a.sub_(b, alpha=1.5)):
        with pytest.raises(TypeError, match=r"\[(add|sub)_?\] for integral input tensors, argument alpha must not"):
            fn()
    with pytest.raises(ValueError, match=r"\[add\] alpha 1e\+20 does not fit in int64"):
        a.add(b, alpha=10 ** 20)
    assert a.add(b, alpha=3).tolist() == [4, 5]
    assert a.add(fastnn.tensor([1.0, 1.0]), alpha=0.5).tolist() == [1.5, 2.5]


def test_integer_power_of_an_empty_base():
    assert (fastnn.tensor([], dtype=fastnn.int64) ** fastnn.tensor(-1)).shape == (0,)
    assert (fastnn.tensor([3]) ** fastnn.tensor([], dtype=fastnn.int64)).shape == (0,)


def test_div_gradient_for_tiny_and_huge_divisors():
    # -g * a / (b * b) is 0/0 (nan) or inf/inf when b * b under- or overflows; torch: -g * ((a / b) / b)
    _both(lambda a, b: a / b, np.array([0.0, 1e-20, 1e20, 1.0], np.float32),
          np.array([1e-45, 1e-25, 1e25, 1e-30], np.float32))


def test_pow_gradient_for_a_tiny_exponent():
    # g * (b * a^(b-1)): (g * b) underflows to 0, and 0 * inf is nan where a == 0
    _both(lambda a, b: a ** b, np.array([0.0, 1.1754944e-38], np.float32), np.array(1e-45, np.float32))
