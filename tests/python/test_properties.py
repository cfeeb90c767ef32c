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
from oracle import DTYPES, assert_close, make_leaves, to_numpy, torch

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


def float_elements(dtype, max_magnitude=None, specials=True, infinities=True, subnormals=True):
    """Floats of `dtype`: mostly moderate, plus 0, -0.0, +-inf, nan, denormals, the extremes and random
    magnitudes. `max_magnitude` bounds the finite values (sums and products that must not overflow)."""
    dtype = np.dtype(dtype)
    width = dtype.itemsize * 8
    info = np.finfo(dtype)
    big = float(info.max) if max_magnitude is None else float(dtype.type(max_magnitude))
    denormal = float(np.nextafter(dtype.type(0), dtype.type(1)))
    edge = [0.0, -0.0, 1.0, -1.0, float(info.tiny), -float(info.tiny), 1e-30, -1e-30, big, -big]
    if subnormals:
        edge += [denormal, -denormal]
    if specials:
        edge += [math.inf, -math.inf, math.nan] if infinities else [math.nan]
    return st.one_of(
        st.floats(-4, 4, width=width),
        st.sampled_from(edge),
        st.floats(-big, big, width=width, allow_subnormal=subnormals),
    )


def elements(dtype, max_magnitude=None, specials=True, infinities=True, subnormals=True):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return float_elements(dtype, max_magnitude, specials, infinities, subnormals)
    if dtype.kind == "b":
        return st.booleans()
    return st.integers(-5, 5) if max_magnitude is None or max_magnitude < 2**40 else st.integers(-(2**40), 2**40)


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
    storage = tuple(
        s0 + (st_ * (n - 1) + 1 if n else 0) + draw(st.integers(0, 1)) for n, st_, s0 in zip(shape, steps, starts)
    )
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
def inputs(draw, shape, dtype, max_magnitude=None, specials=True, infinities=True, subnormals=True, layout=True):
    """(array, prep): random values of `dtype` for a leaf whose prep'd view has `shape`. Mostly every element
    drawn on its own; sometimes one background value with a few others (ties, all-equal rows)."""
    storage, prep, descr = draw(layouts(shape)) if layout else (tuple(shape), None, "contiguous")
    dense = draw(st.sampled_from([True, True, False]))
    arr = draw(
        hnp.arrays(
            np.dtype(dtype),
            storage,
            fill=st.nothing() if dense else None,
            elements=elements(dtype, max_magnitude, specials, infinities, subnormals),
        )
    )
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


def _call(fn, args):
    try:
        return fn(*args), None
    except Exception as e:  # noqa: BLE001 (compared across libraries below)
        return None, e


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _eps(a):
    return float(np.finfo(np.asarray(a).dtype).eps)


def check(
    fn,
    arrays,
    preps=None,
    grad=True,
    compare=None,
    bound=None,
    grad_scale="elementwise",
    refused_by_fastnn=None,
    grad_atol=0.0,
    grad_rtol=None,
    constants=(),
):
    """Runs fn(*views) on fastnn and torch and compares the outcomes (see the module docstring).

    `compare(ours, theirs, what)` overrides the elementwise comparison of outputs.
    `bound(*views)`, for ops that sum products (sums, GEMMs, convolutions, pooling), is fn itself or a
    simpler expression that, evaluated in float64 on the absolute values, bounds the terms being added up:
    the output tolerance is then eps * n * bound (n: the size of the largest input or output, at least the
    number of terms in a sum) and the gradients' the same with the absolute output gradient pushed through
    `bound`.
    Without it, `grad_scale="elementwise"` (fn maps broadcast inputs elementwise) bounds what is summed into
    each gradient element (broadcasting, expanded layouts) from the unreduced float64 contributions.
    `grad_atol`: absolute gradient slack in units of max|output gradient|.
    `refused_by_fastnn(exc)`: True for a documented difference where fastnn refuses what torch accepts.
    `constants`: indices of floating inputs that do not require grad (loss weights)."""
    preps = list(preps) if isinstance(preps, (list, tuple)) else [preps] * len(arrays)
    ours, theirs = make_leaves(arrays, grad)
    for i in constants:
        ours[i].requires_grad_(False)
        theirs[i].requires_grad_(False)
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
    # how many terms a sum may add up (a generous count: the largest input or output)
    terms = max([np.asarray(x).size for x in arrays] + [b.numel() for b in t_outs])
    for i, (a, b) in enumerate(zip(f_outs, t_outs)):
        if compare:
            compare(a, b, f"output {i}")
        elif out_tol[i] is not None and b.dtype.is_floating_point:
            assert_close(a, b, what=f"output {i}", ulps=True, atol=4 * (terms + 2) * _eps(to_numpy(b)) * out_tol[i])
        else:
            assert_close(a, b, what=f"output {i}", ulps=True)
    diff = [(i, a, b) for i, (a, b) in enumerate(zip(f_outs, t_outs)) if b.requires_grad]
    if not (grad and diff):
        return f_out, t_out
    assert all(a.requires_grad for _, a, _ in diff), "fastnn output does not require grad but torch's does"
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(tuple(b.shape)).astype(to_numpy(b).dtype) for _, _, b in diff]
    fastnn.autograd.backward(
        [a for _, a, _ in diff], [fastnn.tensor(g, dtype=a.dtype) for g, (_, a, _) in zip(grads, diff)]
    )
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
        atol = grad_atol * g_max
        if scale[i] is not None:
            atol = atol + 4 * (terms + 2) * _eps(arrays[i]) * scale[i]
        assert_close(
            a.grad, b.grad, what=f"grad of input {i}", ulps=True, atol=atol, rtol=grad_rtol, overflow_slack=True
        )
    return f_out, t_out


def _float64_leaves(arrays, preps, absolute):
    """(leaf, view) pairs in float64 (floating inputs require grad), optionally of the absolute values."""
    out = []
    for a, p in zip(arrays, preps):
        a = np.asarray(a)
        if a.dtype.kind == "f":
            t = torch.tensor((np.abs(a) if absolute else a).astype(np.float64), requires_grad=True)
        elif a.dtype.kind == "i" and absolute:  # (int64 values summed into a float: their magnitudes bound it)
            t = torch.tensor(np.abs(a))
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
    if not all(outs[i].requires_grad for i in diff_idx):  # a bound for the outputs only
        return [None] * len(arrays)
    torch.autograd.backward([outs[i] for i in diff_idx], [torch.tensor(np.abs(g).astype(np.float64)) for g in grads])
    return [None if leaf.grad is None else _finite_scale(leaf.grad.abs()) for leaf, _ in leaves]


def _elementwise_grad_scale(fn, arrays, preps, grads):
    """Per leaf element, the sum of |contributions| that its gradient adds up: fn runs in float64 on inputs
    expanded to the output's shape (so nothing is summed), then the absolute unreduced gradients flow back
    through the broadcast and the layout views."""
    leaves = _float64_leaves(arrays, preps, False)
    views = [v for _, v in leaves]
    try:
        shape = torch.broadcast_shapes(*[v.shape for v in views])
    except RuntimeError:  # not an elementwise op after all
        return [None] * len(arrays)
    full = [v.detach().expand(shape).clone().requires_grad_(v.dtype.is_floating_point) for v in views]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, err = _call(fn, full)
    if err is not None or not isinstance(out, torch.Tensor) or not out.requires_grad or out.shape != shape:
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
    return (
        (lambda e: isinstance(e, TypeError) and "not supported for bool tensors" in str(e))
        if dtype == np.bool_
        else None
    )


# ops whose result torch computes exactly (so the sign of a zero result is meaningful)
EXACT_UNARY = {"neg", "abs", "relu", "F.relu", "module.abs", "clamp"}


@pytest.mark.slow
@examples(60)
@given(name=st.sampled_from(sorted(UNARY)), shape=shapes, dtype=dtypes, data=st.data())
def test_unary(name, shape, dtype, data):
    arr, prep = data.draw(inputs(shape, dtype))
    # gradients like g * (1 - y * y) cancel: their rounding is a few ulps of |g|, not of the result
    check(
        UNARY[name],
        [arr],
        prep,
        compare=lambda a, b, w: assert_close(a, b, what=w, ulps=True, signed_zeros=name in EXACT_UNARY),
        refused_by_fastnn=_bool_unary_refusal(dtype),
        grad_atol=8 * float(np.finfo(dtype).eps) if dtype.kind == "f" else 0.0,
    )


@pytest.mark.slow
@examples(40)
@given(shape=shapes, dtype=dtypes, data=st.data())
def test_clamp(shape, dtype, data):
    arr, prep = data.draw(inputs(shape, dtype))
    bound = st.one_of(st.none(), st.integers(-3, 3), st.floats(-3, 3), st.sampled_from([-0.0, math.inf, -math.inf]))
    lo, hi = data.draw(bound, "min"), data.draw(bound, "max")
    assume(lo is not None or hi is not None)
    method = data.draw(st.sampled_from(["clamp", "clip"]))
    check(lambda x: getattr(x, method)(lo, hi), [arr], prep, refused_by_fastnn=_bool_unary_refusal(dtype))


@pytest.mark.slow
@examples(40)
@given(shape=shapes, dtype=dtypes, data=st.data())
def test_pow_scalar_exponent(shape, dtype, data):
    # finite values small enough that e * x ** (e - 1) cannot overflow in one library and not in the other
    arr, prep = data.draw(inputs(shape, dtype, max_magnitude=1e9))
    e = data.draw(st.one_of(st.integers(-3, 4), st.sampled_from([0.5, -0.5, 1.5, 2.0, -1.0, 0.0, 3.0])), "exponent")
    check(lambda x: x**e, [arr], prep, refused_by_fastnn=_bool_unary_refusal(dtype))


ACTIVATIONS = {
    "leaky_relu": lambda x, slope: fn_of(x).leaky_relu(x, slope),
    "gelu": lambda x, slope: fn_of(x).gelu(x),
    "gelu_tanh": lambda x, slope: fn_of(x).gelu(x, approximate="tanh"),
    "dropout_eval": lambda x, slope: fn_of(x).dropout(x, 0.5, training=False),
    "dropout_p0": lambda x, slope: fn_of(x).dropout(x, 0.0),
}


@pytest.mark.slow
@examples(50)
@given(
    name=st.sampled_from(sorted(ACTIVATIONS)),
    shape=shapes,
    dtype=float_dtypes,
    slope=st.sampled_from([0.01, 0.2, -0.5, 0.0, 1.0]),
    data=st.data(),
)
def test_activations(name, shape, dtype, slope, data):
    big = 1e30 if dtype == np.float32 else 1e300
    if name == "gelu_tanh":  # torch's backward computes x**3 in the input's dtype: nan once that overflows
        big = 1e12 if dtype == np.float32 else 1e100
    # GELU: torch gives nan at +inf and overflows to inf near the largest float (fastnn computes in double)
    arr, prep = data.draw(inputs(shape, dtype, max_magnitude=big, infinities=not name.startswith("gelu")))
    x = np.abs(view_of(arr, prep)).astype(np.float64)
    # torch's float32 GELU loses bits to cancellation in 1 + erf(x) for negative x: tolerance relative to |x|
    atol = 8 * float(np.finfo(dtype).eps) * x if name.startswith("gelu") else None
    check(
        lambda v: ACTIVATIONS[name](v, slope),
        [arr],
        prep,
        grad_atol=(1e-4 if dtype == np.float32 else 1e-12) if name.startswith("gelu") else 0.0,
        compare=lambda a, b, w: assert_close(
            a,
            b,
            what=w,
            ulps=True,
            atol=atol if w.startswith("output") else None,
            signed_zeros=not name.startswith("gelu"),
        ),
    )


# ---------------------------------------------------------------------------------------------
# binary ops with broadcasting and type promotion

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
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
    """Where fastnn refuses what torch computes: pow of two bools, a bool base to a number power (torch: int64),
    negative integer powers of integers. (add and mul of bools are logical or / and, as torch's.)"""
    return (
        isinstance(e, TypeError)
        and ("[pow] not supported for two bool tensors" in str(e) or "[pow] not supported for bool tensors" in str(e))
        # an int64 tensor to a negative int64 tensor power: torch gives 0 (or 1, -1), fastnn an error
        or isinstance(e, ValueError)
        and "[pow] integers to negative integer powers are not allowed" in str(e)
    )


def _binary_grad(name, *dtypes_):
    """torch 2.13's backward of pow fails when either operand is bool (test_ops_elementwise.py says so), and
    with float32 and float64 operands computes parts of it in the narrower dtype (b - 1 of a float32 b, or
    b rounded to 0 and then not masked): no gradients compared for those."""
    kinds = {np.dtype(d) for d in dtypes_}
    return not (name == "pow" and (np.dtype(np.bool_) in kinds or len(kinds & set(FLOAT_DTYPES)) == 2))


@pytest.mark.slow
@examples(80)
@given(
    name=st.sampled_from(sorted(BINARY)),
    data=st.data(),
    bshapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=3),
    da=dtypes,
    db=dtypes,
)
def test_binary_tensor_tensor(name, data, bshapes, da, db):
    (sa, sb), _ = bshapes
    # a + alpha * b may overflow in alpha * b or not (fastnn's compiler fuses it into one fma): not near the limit
    mag = 1e30 if name.endswith("alpha") else None
    a, pa = data.draw(inputs(sa, da, max_magnitude=mag))
    b, pb = data.draw(inputs(sb, db, max_magnitude=mag))
    check(BINARY[name], [a, b], [pa, pb], grad=_binary_grad(name, da, db), refused_by_fastnn=_bool_refusal)


scalars = st.one_of(
    st.integers(-3, 3), st.booleans(), st.floats(width=32), st.sampled_from([0.5, -0.0, 2.0, 1e30, 1e-30])
)


@pytest.mark.slow
@examples(60)
@given(
    name=st.sampled_from(sorted(BINARY)),
    shape=shapes,
    dtype=dtypes,
    scalar=scalars,
    reflected=st.booleans(),
    zero_dim=st.booleans(),
    data=st.data(),
)
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
    # (a Python number counts by kind only: no mixed float32/float64 computation; 0 / x is computed by torch as
    # 0 * x.reciprocal(), whose gradient is 0 * inf = nan once 1 / x**2 overflows: fastnn's is 0)
    grad = _binary_grad(name, dtype, np.dtype(bool) if isinstance(scalar, bool) else dtype)
    check(fn, [a], pa, grad=grad and not (name == "div" and reflected and scalar == 0), refused_by_fastnn=_bool_refusal)


# ---------------------------------------------------------------------------------------------
# reductions


def _mag(dtype, f32, f64):
    return f32 if np.dtype(dtype) == np.float32 else f64


@st.composite
def dims_for(draw, ndim, allow_tuple=True, allow_none=True):
    """None, one dim (possibly negative) or a tuple of distinct dims of an ndim-d tensor (0-d: dim 0 or -1)."""
    n = max(ndim, 1)
    one = st.integers(-n, n - 1)
    choices = [one]
    if allow_none:
        choices.append(st.none())
    if allow_tuple:
        choices.append(st.lists(one, max_size=n).filter(lambda d: len({x % n for x in d}) == len(d)).map(tuple))
    return draw(st.one_of(*choices))


@pytest.mark.slow
@examples(60)
@given(shape=shapes, dtype=dtypes, data=st.data())
def test_sum_mean(shape, dtype, data):
    # finite values bounded so that sums of <= 256 of them cannot overflow in one order and not the other
    arr, prep = data.draw(inputs(shape, dtype, max_magnitude=_mag(dtype, 1e30, 1e300)))
    name = data.draw(st.sampled_from(["sum", "mean"]))
    dim = data.draw(dims_for(len(shape)), "dim")
    keepdim = data.draw(st.booleans(), "keepdim")
    # an int64 result of a float input that requires grad: torch refuses (no integer gradients), fastnn gives a
    # result that does not require grad
    out_dtype = data.draw(
        st.sampled_from([None, np.float64, np.float32] + ([np.int64] if dtype.kind != "f" else [])), "dtype"
    )
    kwargs = {} if dim is None else {"dim": dim, "keepdim": keepdim}

    def fn(x):
        kw = dict(kwargs)
        if out_dtype is not None:
            kw["dtype"] = dt(x, out_dtype)
        return getattr(x, name)(**kw)

    check(fn, [arr], prep, bound=fn)


@pytest.mark.slow
@examples(60)
@given(shape=shapes, dtype=dtypes, data=st.data())
def test_max_min_arg(shape, dtype, data):
    arr, prep = data.draw(inputs(shape, dtype))
    # argmax/argmin of bools: torch refuses, fastnn answers as for int64 (test_ops_reduce.py)
    name = data.draw(
        st.sampled_from(
            ["max", "min", "module.max", "module.amin"] + (["argmax", "argmin"] if dtype != np.bool_ else [])
        )
    )
    dim = data.draw(dims_for(len(shape), allow_tuple=False), "dim")
    keepdim = data.draw(st.booleans(), "keepdim")
    if name == "module.amin":  # min(input, dim) through the module function
        name = "module.min"

    def fn(x):
        f = getattr(lib_of(x), name[7:]) if name.startswith("module.") else getattr(x, name)
        if dim is None:
            return f(x) if name.startswith("module.") else f()
        out = f(x, dim, keepdim) if name.startswith("module.") else f(dim, keepdim=keepdim)
        return tuple(out) if isinstance(out, tuple) else out  # (values, indices) namedtuples

    # (the sign of a zero maximum is not checked: max(0.0, -0.0) may be either; gradients add up through an
    # expanded layout, in any order)
    check(fn, [arr], prep, grad_scale=None, grad_atol=64 * float(np.finfo(dtype).eps) if dtype.kind == "f" else 0.0)


# ---------------------------------------------------------------------------------------------
# matrix products


def _gemm_inputs(data, shapes_, dtype, subnormals=False):
    # products of two finite values stay finite and their sums too (so inf/nan come only from inf/nan inputs).
    # No denormals: torch's BLAS treats them as zero (5e-324 * inf is nan there); test_gemm_keeps_denormals.
    mag = _mag(dtype, 1e15, 1e150)
    drawn = [data.draw(inputs(s, dtype, max_magnitude=mag, subnormals=subnormals)) for s in shapes_]
    return [a for a, _ in drawn], [p for _, p in drawn]


sizes = st.integers(0, 4)


@pytest.mark.slow
@examples(80)
@given(dtype=float_dtypes, n=sizes, k=sizes, m=sizes, b=sizes, data=st.data())
def test_mm_bmm(dtype, n, k, m, b, data):
    name = data.draw(st.sampled_from(["mm", "bmm", "matmul_op", "module.mm"]))
    if name == "bmm":
        arrays, preps = _gemm_inputs(data, [(b, n, k), (b, k, m)], dtype)
        fn = lambda x, y: x.bmm(y)
    else:
        arrays, preps = _gemm_inputs(data, [(n, k), (k, m)], dtype)
        fn = {
            "mm": lambda x, y: x.mm(y),
            "matmul_op": lambda x, y: x @ y,
            "module.mm": lambda x, y: lib_of(x).mm(x, y),
        }[name]
    check(fn, arrays, preps, bound=fn)


@examples(30)
@given(dtype=float_dtypes, n=sizes, k=sizes, m=sizes, data=st.data())
def test_gemm_keeps_denormals(dtype, n, k, m, data):
    """mm with denormal inputs against the definition (products summed by torch without BLAS)."""
    arrays, preps = _gemm_inputs(data, [(n, k), (k, m)], dtype, subnormals=True)
    ours, theirs = make_leaves(arrays, grad=False)
    a, b = [p(fastnn, x) if p else x for p, x in zip(preps, ours)]
    ta, tb = [p(torch, x) if p else x for p, x in zip(preps, theirs)]
    want = (ta.unsqueeze(2) * tb.unsqueeze(0)).sum(1)
    bound = (ta.double().abs().unsqueeze(2) * tb.double().abs().unsqueeze(0)).sum(1)
    assert_close(a.mm(b), want, ulps=True, atol=4 * (k + 2) * float(np.finfo(dtype).eps) * _finite_scale(bound))


@st.composite
def matmul_shapes(draw):
    """Shapes of a matmul: each operand 1-D or n-D with broadcast batch dims."""
    n, k, m = draw(sizes), draw(sizes), draw(sizes)
    (ba, bb), _ = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, min_side=0, max_side=3))
    a = (k,) if draw(st.booleans()) and not ba else ba + (n, k)
    b = (k,) if draw(st.booleans()) and not bb else bb + (k, m)
    return a, b


@pytest.mark.slow
@examples(50)
@given(dtype=float_dtypes, ab=matmul_shapes(), data=st.data())
def test_matmul_broadcast(dtype, ab, data):
    arrays, preps = _gemm_inputs(data, ab, dtype)
    fn = lambda x, y: lib_of(x).matmul(x, y)
    check(fn, arrays, preps, bound=fn)


@pytest.mark.slow
@examples(50)
@given(dtype=float_dtypes, n=sizes, k=sizes, m=sizes, data=st.data())
def test_addmm_linear(dtype, n, k, m, data):
    name = data.draw(st.sampled_from(["addmm", "linear", "linear_nobias"]))
    if name == "addmm":
        bias_shape = data.draw(st.sampled_from([(), (m,), (n, m), (1, m), (n, 1)]), "bias shape")
        beta = data.draw(st.sampled_from([1.0, 0.0, 0.5, -2.0]), "beta")
        # not alpha = 0: torch's BLAS then skips the product, so inf/nan in mat1 @ mat2 vanish (undocumented);
        # beta = 0 ignoring the bias (inf and nan too) is documented, and tested here
        alpha = data.draw(st.sampled_from([1.0, 2.0, -0.5]), "alpha")
        arrays, preps = _gemm_inputs(data, [bias_shape, (n, k), (k, m)], dtype)

        def fn(c, x, y):
            return lib_of(x).addmm(c, x, y, beta=beta, alpha=alpha)

        def bound(c, x, y):
            return torch.addmm(c, x, y, beta=abs(beta), alpha=abs(alpha))
    else:
        batch = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3), "batch")
        shapes_ = [batch + (k,), (m, k)] + ([(m,)] if name == "linear" else [])
        arrays, preps = _gemm_inputs(data, shapes_, dtype)
        fn = bound = lambda x, w, *b: fn_of(x).linear(x, w, *b)
    check(fn, arrays, preps, bound=bound)


# ---------------------------------------------------------------------------------------------
# views: a chain of random view ops; values, shapes, strides and gradients


@st.composite
def view_op(draw, shape):
    """(description, fn(x), new shape or None when unknown) of one op valid for `shape` (mostly)."""
    shape = tuple(shape)
    nd = len(shape)
    numel = int(np.prod(shape))
    kind = draw(
        st.sampled_from(
            [
                "reshape",
                "view",
                "transpose",
                "permute",
                "slice",
                "select",
                "expand",
                "unsqueeze",
                "squeeze",
                "flatten",
                "t",
                "contiguous",
                "index_select",
            ]
        )
    )
    if kind in ("reshape", "view"):
        how = draw(st.sampled_from(["flat", "merge", "split", "one", "infer"]))
        new = list(shape)
        if how == "flat" or nd == 0:
            new = [numel]
        elif how == "merge" and nd >= 2:
            i = draw(st.integers(0, nd - 2))
            new[i : i + 2] = [new[i] * new[i + 1]]
        elif how == "split":
            i = draw(st.integers(0, nd - 1))
            d = new[i]
            a = draw(st.sampled_from([x for x in range(1, d + 1) if d % x == 0] or [1]))
            new[i : i + 1] = [a, d // a] if d else [0, draw(st.integers(0, 3))]
        elif how == "one":
            new.insert(draw(st.integers(0, nd)), 1)
        elif how == "infer" and numel:
            new[draw(st.integers(0, nd - 1))] = -1
        args = tuple(new)
        if -1 in args:
            known = int(np.prod([x for x in args if x != -1]))
            new = [numel // known if x == -1 else x for x in args]
        return f".{kind}{args}", lambda x: getattr(x, kind)(*args), tuple(new)
    if kind == "transpose" and nd:
        d0, d1 = draw(st.integers(-nd, nd - 1)), draw(st.integers(-nd, nd - 1))
        new = list(shape)
        new[d0], new[d1] = new[d1], new[d0]
        return f".transpose({d0}, {d1})", lambda x: x.transpose(d0, d1), tuple(new)
    if kind == "permute" and nd:
        p = draw(st.permutations(range(nd)))
        return f".permute{tuple(p)}", lambda x: x.permute(*p), tuple(shape[i] for i in p)
    if kind == "t" and nd <= 2:
        return ".t()", lambda x: x.t(), tuple(reversed(shape))
    if kind == "slice" and nd:
        index, new = [], []
        for n in shape[: draw(st.integers(1, nd))]:
            start = draw(st.one_of(st.none(), st.integers(-5, 5)))
            stop = draw(st.one_of(st.none(), st.integers(-5, 5)))
            step = draw(st.one_of(st.none(), st.integers(1, 3)))
            sl = slice(start, stop, step)
            index.append(sl)
            new.append(len(range(*sl.indices(n))))
        new += shape[len(index) :]
        if draw(st.booleans()):  # an Ellipsis in front of trailing full slices, or a None (new axis)
            index.append(None)
            new.append(1)
        index = tuple(index)
        return f"[{index}]", lambda x: x[index], tuple(new)
    if kind == "select" and nd and shape[0]:
        i = draw(st.integers(-shape[0], shape[0] - 1))
        return f"[{i}]", lambda x: x[i], shape[1:]
    if kind == "expand":
        lead = draw(st.lists(st.integers(0, 3), max_size=2))
        new = tuple(lead) + tuple(
            draw(st.integers(0, 3)) if n == 1 else (-1 if draw(st.booleans()) else n) for n in shape
        )
        real = tuple(lead) + tuple(n if e == -1 else e for n, e in zip(shape, new[len(lead) :]))
        return f".expand{new}", lambda x: x.expand(new), real
    if kind == "unsqueeze":
        d = draw(st.integers(-nd - 1, nd))
        new = list(shape)
        new.insert(d % (nd + 1), 1)
        return f".unsqueeze({d})", lambda x: x.unsqueeze(d), tuple(new)
    if kind == "squeeze":
        if nd and draw(st.booleans()):
            d = draw(st.integers(-nd, nd - 1))
            new = list(shape)
            if new[d] == 1:
                del new[d]
            return f".squeeze({d})", lambda x: x.squeeze(d), tuple(new)
        return ".squeeze()", lambda x: x.squeeze(), tuple(n for n in shape if n != 1)
    if kind == "flatten" and nd:
        a = draw(st.integers(-nd, nd - 1))
        b = draw(st.integers(a % nd, nd - 1))
        new = shape[: a % nd] + (int(np.prod(shape[a % nd : b + 1])),) + shape[b + 1 :]
        return f".flatten({a}, {b})", lambda x: x.flatten(a, b), new
    if kind == "index_select" and nd:
        d = draw(st.integers(-nd, nd - 1))
        n = shape[d]
        idx = draw(st.lists(st.integers(0, n - 1), max_size=4)) if n else []  # fastnn also takes negative ones
        return (
            f".index_select({d}, {idx})",
            lambda x: x.index_select(d, lib_of(x).tensor(idx, dtype=lib_of(x).int64)),
            shape[: d % nd] + (len(idx),) + shape[d % nd + 1 :],
        )
    return ".contiguous()", lambda x: x.contiguous(), shape


def _same_layout(a, b, what):
    """Views must lay out memory as torch's do: same strides and offset (for dims of size > 1)."""
    assert a.is_contiguous() == b.is_contiguous(), f"{what}: is_contiguous {a.is_contiguous()} vs {b.is_contiguous()}"
    big = [i for i, n in enumerate(b.shape) if n > 1]
    if b.numel():
        assert [a.stride()[i] for i in big] == [b.stride()[i] for i in big], (
            f"{what}: strides {a.stride()} vs {b.stride()}"
        )


@pytest.mark.slow
@examples(80)
@given(shape=shapes, dtype=dtypes, data=st.data())
def test_view_chains(shape, dtype, data):
    arr, prep = data.draw(inputs(shape, dtype))
    ops, cur = [], tuple(shape)
    for _ in range(data.draw(st.integers(1, 4))):
        descr, f, cur = data.draw(view_op(cur))
        ops.append((descr, f))
    note("ops: x" + "".join(d for d, _ in ops))

    def fn(x):
        for _, f in ops:
            x = f(x)
        return x

    out = check(
        fn,
        [arr],
        prep,
        bound=fn if dtype.kind == "f" else None,
        compare=lambda a, b, w: (assert_close(a, b, what=w, ulps=True, signed_zeros=True), _same_layout(a, b, w)),
    )
    if out is not None:
        assert tuple(out[0].shape) == tuple(out[1].shape)


# ---------------------------------------------------------------------------------------------
# softmax, log_softmax


@pytest.mark.slow
@examples(50)
@given(shape=shapes, dtype=float_dtypes, log=st.booleans(), data=st.data())
def test_softmax(shape, dtype, log, data):
    arr, prep = data.draw(inputs(shape, dtype))
    dim = data.draw(dims_for(len(shape), allow_tuple=False, allow_none=False), "dim")
    how = data.draw(st.sampled_from(["method", "module", "F"]))
    name = "log_softmax" if log else "softmax"

    def fn(x):
        return {
            "method": lambda: getattr(x, name)(dim),
            "module": lambda: getattr(lib_of(x), name)(x, dim),
            "F": lambda: getattr(fn_of(x), name)(x, dim=dim),
        }[how]()

    x = view_of(arr, prep).astype(np.float64)
    eps = float(np.finfo(dtype).eps)
    if x.size and x.ndim:  # log_softmax = x - max - log(sum(exp(x - max))): its rounding scales with |x| and |max|
        with np.errstate(invalid="ignore"):
            row = np.max(np.abs(np.nan_to_num(x, nan=0, posinf=0, neginf=0)), axis=dim, keepdims=True)
        atol = 16 * eps * (np.abs(np.nan_to_num(x, nan=0, posinf=0, neginf=0)) + row + 4) if log else None
    else:
        atol = 16 * eps * (np.abs(np.nan_to_num(x)) + 4) if log else None
    check(
        fn,
        [arr],
        prep,
        grad_scale=None,
        grad_atol=64 * eps,
        compare=lambda a, b, w: assert_close(a, b, what=w, ulps=True, atol=atol, rtol=16 * eps),
    )


# ---------------------------------------------------------------------------------------------
# losses

reductions = st.sampled_from(["none", "mean", "sum"])


def weight_values(dtype, low=0.0):
    """Loss weights: no denormals (g * w underflowing to 0 times an infinite term is the order-of-operations
    nan/inf difference again, for weights nobody uses)."""
    return st.floats(low, 3, width=np.dtype(dtype).itemsize * 8, allow_subnormal=False)


def _loss_bound(per_element, reduction):
    """The tolerance scale of a loss: its reduction applied to the absolute per-element terms (float64)."""

    def bound(*views):
        terms = per_element(*views).abs()
        return {"none": terms, "mean": terms.mean(), "sum": terms.sum()}[reduction]

    return bound


@pytest.mark.slow
@examples(60)
@given(shape=shapes, dtype=float_dtypes, reduction=reductions, data=st.data())
def test_regression_losses(shape, dtype, reduction, data):
    name = data.draw(st.sampled_from(["mse_loss", "l1_loss", "smooth_l1_loss"]))
    beta = data.draw(st.sampled_from([1.0, 0.5, 0.0, 2.0]), "beta")
    mag = _mag(dtype, 1e15, 1e150)  # squares and sums of them stay finite
    (x, px), (t, pt) = data.draw(inputs(shape, dtype, max_magnitude=mag)), data.draw(inputs(shape, dtype, mag))
    kw = {"beta": beta} if name == "smooth_l1_loss" else {}

    def fn(a, b):
        return getattr(fn_of(a), name)(a, b, reduction=reduction, **kw)

    per = {
        "mse_loss": lambda a, b: (a.abs() + b.abs()) ** 2,
        "l1_loss": lambda a, b: a.abs() + b.abs(),
        "smooth_l1_loss": lambda a, b: (a.abs() + b.abs()) ** 2 / max(beta, 1e-300) + a.abs() + b.abs(),
    }[name]
    check(fn, [x, t], [px, pt], bound=_loss_bound(per, reduction))


@pytest.mark.slow
@examples(50)
@given(shape=shapes, dtype=float_dtypes, reduction=reductions, data=st.data())
def test_binary_cross_entropy(shape, dtype, reduction, data):
    logits = data.draw(st.booleans(), "with_logits")
    unit = st.one_of(st.floats(0, 1, width=np.dtype(dtype).itemsize * 8), st.sampled_from([0.0, 1.0, 0.5]))
    if logits:
        x, px = data.draw(inputs(shape, dtype, max_magnitude=_mag(dtype, 1e15, 1e150)))
    else:  # probabilities
        storage, px, _ = data.draw(layouts(shape))
        x = data.draw(hnp.arrays(dtype, storage, elements=unit))
    t = data.draw(hnp.arrays(dtype, shape, elements=unit), "target")
    arrays, preps = [x, t], [px, None]
    kw = {}
    if data.draw(st.booleans(), "weight"):
        wshape = data.draw(hnp.broadcastable_shapes(shape, min_side=0, max_side=4), "weight shape")
        arrays.append(data.draw(hnp.arrays(dtype, wshape, elements=weight_values(dtype))))
        preps.append(None)
        kw["weight"] = 2
    if logits and len(shape) and data.draw(st.booleans(), "pos_weight"):
        arrays.append(data.draw(hnp.arrays(dtype, shape[-1:], elements=weight_values(dtype))))
        preps.append(None)
        kw["pos_weight"] = len(arrays) - 1

    def fn(a, b, *extra):
        kwargs = {k: extra[i - 2] for k, i in kw.items()}
        if logits:
            return fn_of(a).binary_cross_entropy_with_logits(a, b, reduction=reduction, **kwargs)
        return fn_of(a).binary_cross_entropy(a, b, reduction=reduction, **kwargs)

    def per_element(a, b, *extra):
        with torch.enable_grad():
            return (
                fn(a, b, *extra)
                if reduction == "none"
                else getattr(TF, "binary_cross_entropy_with_logits" if logits else "binary_cross_entropy")(
                    a, b, reduction="none", **{k: extra[i - 2] for k, i in kw.items()}
                )
            )

    # terms are bounded by |loss| per element (float64, on the actual values: log needs them in [0, 1])
    def bound(*views):
        signed = [v.detach().double() * 1 for v in views]
        terms = per_element(*signed).abs() + 1
        return {"none": terms, "mean": terms.mean(), "sum": terms.sum()}[reduction]

    # torch clamps x (1 - x) at a float32 1e-12 also for float64: gradients at 0 and 1 differ in the 9th digit;
    # the target's gradient is a difference of terms as large as |x|
    big = float(np.max(np.abs(x[np.isfinite(x)]), initial=0.0))
    check(
        fn,
        arrays,
        preps,
        bound=bound,
        grad_scale=None,
        grad_atol=64 * float(np.finfo(dtype).eps) * (1 + big),
        grad_rtol=max(8 * float(np.finfo(dtype).eps), 1e-8),
        constants=range(2, len(arrays)),
    )


@st.composite
def classification(draw, dtype):
    """(input array, prep, target array, n_classes): (C,), (N, C) or (N, C, d1[, d2]) log-probs/logits."""
    c = draw(st.integers(1, 4))
    batch = draw(st.sampled_from([None, 0, 1, 2, 3]))
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2))) if batch is not None else ()
    shape = (c,) if batch is None else (batch, c) + extra
    # a non-contiguous input with spatial dims: torch's nll_loss2d backward fails ("grad_input must be contiguous")
    x, px = draw(inputs(shape, dtype, max_magnitude=_mag(dtype, 1e15, 1e150), layout=not extra))
    tshape = () if batch is None else (batch,) + extra
    t = draw(hnp.arrays(np.int64, tshape, elements=st.one_of(st.integers(0, c - 1), st.just(-100))))
    return x, px, t, c


@pytest.mark.slow
@examples(60)
@given(dtype=float_dtypes, reduction=reductions, data=st.data())
def test_nll_cross_entropy(dtype, reduction, data):
    x, px, t, c = data.draw(classification(dtype))
    name = data.draw(st.sampled_from(["nll_loss", "cross_entropy"]))
    smoothing = data.draw(st.sampled_from([0.0, 0.0, 0.1, 1.0]), "label_smoothing") if name == "cross_entropy" else 0.0
    ignore = data.draw(st.sampled_from([-100, 0, 1]), "ignore_index")
    arrays, preps = [x, t], [px, None]
    weighted = data.draw(st.booleans(), "weight")
    if weighted:  # zeros included: a zero total weight makes the mean and its gradient -0/0 = nan, as in torch
        arrays.append(data.draw(hnp.arrays(dtype, (c,), elements=st.one_of(st.just(0.0), weight_values(dtype)))))
        preps.append(None)

    def fn(a, b, *w):
        kw = {"label_smoothing": smoothing} if smoothing else {}
        return getattr(fn_of(a), name)(a, b, *w, ignore_index=ignore, reduction=reduction, **kw)

    def bound(a, b, *w):  # each term is weight * |x| (nll) or weight * (|x| + logsumexp) (cross_entropy)
        n = a.shape[0] if a.dim() > 1 else 1
        big = float(np.nan_to_num(a.abs().max().item(), nan=0.0)) if a.numel() else 0.0
        terms = (big + 2 + math.log(c)) * (float(w[0].detach().abs().max()) if w and c else 1)
        return (
            terms * torch.ones(b.shape, dtype=torch.float64)
            if reduction == "none"
            else torch.tensor(terms * max(n, 1) * 8, dtype=torch.float64)
        )

    check(
        fn,
        arrays,
        preps,
        bound=bound,
        grad_scale=None,
        grad_atol=64 * float(np.finfo(dtype).eps),
        constants=range(2, len(arrays)),
    )


# ---------------------------------------------------------------------------------------------
# convolution and pooling


@st.composite
def conv_case(draw, dtype):
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    n = draw(st.sampled_from([None, 0, 1, 2]))  # None: an unbatched (C, H, W) input
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    xshape = (cin, h, w) if n is None else (n, cin, h, w)
    mag = _mag(dtype, 1e15, 1e150)
    x, px = draw(inputs(xshape, dtype, max_magnitude=mag, subnormals=False))  # torch's GEMM flushes denormals
    wt, pw = draw(inputs((cout, cin // groups, kh, kw), dtype, max_magnitude=mag, subnormals=False))
    arrays, preps = [x, wt], [px, pw]
    if draw(st.booleans()):
        b, pb = draw(inputs((cout,), dtype, max_magnitude=mag, subnormals=False))
        arrays.append(b)
        preps.append(pb)
    pair = st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)))
    stride = draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    dilation = draw(st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 2), st.integers(1, 2))))
    padding = draw(st.one_of(pair, st.sampled_from(["valid", "same"])))
    if padding == "same":
        stride = 1
    # finite weights: whether an inf weight meets the zero padding or an input no window covers (inf * 0 = nan,
    # as fastnn's im2col always does) depends on the algorithm torch picks (it skips the padding for groups > 1
    # or a batch > 1); inf and nan inputs are kept
    for a in arrays[1:]:
        a[~np.isfinite(a)] = 1.0
    return arrays, preps, {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


@pytest.mark.slow
@examples(50)
@given(dtype=float_dtypes, data=st.data())
def test_conv2d(dtype, data):
    arrays, preps, kw = data.draw(conv_case(dtype))

    def fn(x, w, *b):
        return fn_of(x).conv2d(x, w, *b, **kw)

    check(fn, arrays, preps, bound=fn)


@st.composite
def pool_input(draw, dtype, **kw):
    n = draw(st.sampled_from([None, 0, 1, 2]))
    # not zero channels: torch refuses them (only the batch may be empty), fastnn returns an empty result
    c, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    return draw(inputs((c, h, w) if n is None else (n, c, h, w), dtype, **kw))


pairs = lambda lo, hi: st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


@pytest.mark.slow
@examples(50)
@given(dtype=float_dtypes, data=st.data())
def test_max_pool2d(dtype, data):
    x, px = data.draw(pool_input(dtype))
    k = data.draw(pairs(1, 3), "kernel")
    kw = {
        "stride": data.draw(st.one_of(st.none(), pairs(1, 3)), "stride"),
        "padding": data.draw(pairs(0, 1), "padding"),
        "dilation": data.draw(pairs(1, 2), "dilation"),
        "ceil_mode": data.draw(st.booleans(), "ceil_mode"),
    }
    indices = data.draw(st.booleans(), "return_indices")

    def fn(v):
        return fn_of(v).max_pool2d(v, k, return_indices=indices, **kw)

    # A window that dilation puts entirely on padding: both give -inf and an index outside the plane, and
    # torch's backward writes that window's gradient into the next plane (fastnn drops it): no gradients then.
    hw = view_of(x, px).shape[-2:]
    grad = not any(
        _all_padding_window(n, *a)
        for n, a in zip(
            hw,
            zip(*[(v, v) if isinstance(v, int) else v for v in (k, kw["stride"] or k, kw["padding"], kw["dilation"])]),
        )
    )
    # values are copies (exact, nan and ties included); gradients land on the max (first in a tie), summed
    # where windows overlap or the layout is expanded (in any order: a few ulps of the output gradient)
    check(
        fn,
        [x],
        px,
        grad=grad,
        grad_scale=None,
        grad_atol=64 * float(np.finfo(dtype).eps),
        compare=lambda a, b, w: assert_close(a, b, what=w, ulps=True, signed_zeros=True),
    )


def _all_padding_window(n, k, s, p, d):
    """Whether some pooling window (any ceil_mode) over n inputs has no input element."""
    return any(
        all(not 0 <= o * s - p + j * d < n for j in range(k)) for o in range((n + 2 * p) // s + 2) if o * s - p < n + p
    )


@pytest.mark.slow
@examples(50)
@given(dtype=float_dtypes, data=st.data())
def test_avg_pool2d(dtype, data):
    x, px = data.draw(pool_input(dtype, max_magnitude=_mag(dtype, 1e30, 1e300)))
    k = data.draw(pairs(1, 3), "kernel")
    kw = {
        "stride": data.draw(st.one_of(st.none(), pairs(1, 3)), "stride"),
        "padding": data.draw(pairs(0, 1), "padding"),
        "ceil_mode": data.draw(st.booleans(), "ceil_mode"),
        "count_include_pad": data.draw(st.booleans(), "count_include_pad"),
        "divisor_override": data.draw(st.one_of(st.none(), st.integers(1, 5)), "divisor_override"),
    }

    def fn(v):
        return fn_of(v).avg_pool2d(v, k, **kw)

    check(fn, [x], px, bound=fn)


@pytest.mark.slow
@examples(40)
@given(dtype=float_dtypes, data=st.data())
def test_adaptive_avg_pool2d(dtype, data):
    x, px = data.draw(pool_input(dtype, max_magnitude=_mag(dtype, 1e30, 1e300)))
    size = data.draw(
        st.one_of(
            st.integers(1, 4),
            st.tuples(st.one_of(st.none(), st.integers(1, 4)), st.one_of(st.none(), st.integers(1, 4))),
        ),
        "output_size",
    )

    def fn(v):
        return fn_of(v).adaptive_avg_pool2d(v, size)

    check(fn, [x], px, bound=fn)


# ---------------------------------------------------------------------------------------------
# cat and stack (type promotion across the list, empty tensors)


@examples(60)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), data=st.data())
def test_cat_stack(shape, data):
    name = data.draw(st.sampled_from(["cat", "stack", "concat"]))
    count = data.draw(st.integers(1, 4), "count")
    nd = len(shape)
    dim = data.draw(
        st.integers(-nd - (name == "stack"), nd - 1 + (name == "stack")) if nd or name == "stack" else st.just(0), "dim"
    )
    arrays, preps = [], []
    for _ in range(count):
        s = list(shape)
        if name != "stack" and nd:
            s[dim % nd] = data.draw(st.integers(0, 3))
        if name == "cat" and data.draw(st.integers(0, 9)) == 0:
            s = [0]  # torch's legacy rule: a 1-D empty tensor is skipped whatever the other shapes
        a, p = data.draw(inputs(s, data.draw(dtypes)))
        arrays.append(a)
        preps.append(p)

    def fn(*xs):
        return getattr(lib_of(xs[0]), name)(list(xs), dim)

    check(fn, arrays, preps, bound=fn, compare=lambda a, b, w: assert_close(a, b, what=w, ulps=True, signed_zeros=True))


# ---------------------------------------------------------------------------------------------
# in-place ops on views of a base (strided writes; `other` may alias the base)


@pytest.mark.slow
@examples(60)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3), dtype=dtypes, data=st.data())
def test_inplace_on_views(shape, dtype, data):
    base, prep = data.draw(inputs(shape, dtype))
    name = data.draw(
        st.sampled_from(["add_", "sub_", "mul_", "div_", "clamp_", "relu_", "fill_", "zero_", "copy_", "setitem"])
    )
    # (fastnn's copy_ takes a tensor only; torch's also a number)
    other_kind = data.draw(st.sampled_from(["tensor", "alias"] + ([] if name == "copy_" else ["number"])), "other")
    oshape = data.draw(hnp.broadcastable_shapes(shape, max_dims=len(shape), min_side=0, max_side=3), "other shape")
    other, _ = data.draw(inputs(oshape, data.draw(dtypes), layout=False))
    number = data.draw(scalars, "number")

    def run(lib):
        b = lib.tensor(base.copy()) if isinstance(lib, type(fastnn)) and lib is fastnn else torch.tensor(base.copy())
        x = prep(lib, b) if prep else b
        if other_kind == "alias":  # another view of the same storage, read while x is written
            o = (prep(lib, b) if prep else b).flip(0) if lib is torch and x.dim() else None
            o = x.clone() if o is None else o
        elif other_kind == "number":
            o = number
        else:
            o = lib.tensor(other.copy())
        if name == "clamp_":
            x.clamp_(min=-1, max=2)
        elif name in ("relu_", "zero_"):
            getattr(x, name)()
        elif name == "fill_":
            x.fill_(number)
        elif name == "setitem":
            x[...] = o
        else:
            getattr(x, name)(o)
        return b

    # (an aliasing `other` is a reversed view in torch and a copy in fastnn, which has no flip: both read the
    # values from before the write, which torch guarantees only for the copy -- so compare against it)
    if other_kind == "alias":
        return
    t_out, t_err = _call(run, [torch])
    f_out, f_err = _call(run, [fastnn])
    if t_err is not None:
        # x[...] = number where x's elements share memory (expand): torch refuses, fastnn fills (like fill_)
        if not (name == "setitem" and other_kind == "number" and "single memory location" in str(t_err)):
            assert f_err is not None, f"torch raises {t_err!r}, fastnn writes {f_out}"
        return
    # documented refusals: bools where torch computes logical ops, a float number into an int tensor
    assert (
        f_err is None
        or _bool_refusal(f_err)
        or "not supported for bool" in str(f_err)
        or "not supported for this dtype, got bool" in str(f_err)
        or "[setitem] cannot assign a float64 number to a int64 tensor" in str(f_err)
    ), repr(f_err)
    if f_err is None:
        assert_close(f_out, t_out, what="base after the write", ulps=True, signed_zeros=True)


# ---------------------------------------------------------------------------------------------
# regressions: the smallest failing examples the properties above found, fixed since


def _both(fn, *arrays, **kwargs):
    """check() on fixed inputs (contiguous; exact gradients unless told)."""
    kwargs.setdefault("grad_scale", None)
    return check(fn, [np.asarray(a) for a in arrays], **kwargs)


def test_float_ops_take_bools_as_torch():
    for op in ("exp", "log", "sqrt", "sigmoid", "tanh"):
        _both(lambda x, op=op: getattr(x, op)(), np.array([True, False]))


def test_relu_keeps_negative_zero():
    out, _ = _both(lambda x: x.relu(), np.array([-0.0, 0.0, -1.0], np.float32))
    assert np.signbit(to_numpy(out)).tolist() == [True, False, False]


def test_pow_half_is_sqrt():
    # (-inf) ** 0.5 is nan and (-0.0) ** 0.5 is -0.0, as sqrt (std::pow gives inf and 0.0); gradients too
    for e in (0.5, -0.5):
        _both(lambda x, e=e: x**e, np.array([-math.inf, -0.0, 0.0, 4.0, -1.0], np.float32))


def test_clamp_gradient_compares_with_the_bound_in_the_input_dtype():
    # float32(0.1) > 0.1: the forward keeps x (== the float32 bound), so the gradient must pass
    _both(lambda x: x.clamp(max=0.1), np.array([0.1, 0.2], np.float32))
    _both(lambda x: x.clamp(min=-7e-78), np.array([0.0, -0.0], np.float32))


def test_fractional_alpha_with_integer_result_is_refused():
    a, b = fastnn.tensor([1, 2]), fastnn.tensor([1, 1])
    for fn in (
        lambda: a.add(b, alpha=0.5),
        lambda: a.sub(b, alpha=-0.5),
        lambda: fastnn.tensor([1]).add_(b[:1], alpha=0.5),
        lambda: a.add(b, alpha=math.inf),
        lambda: a.sub_(b, alpha=1.5),
    ):
        with pytest.raises(TypeError, match=r"\[(add|sub)_?\] for integral input tensors, argument alpha must not"):
            fn()
    with pytest.raises(ValueError, match=r"\[add\] alpha 1e\+20 does not fit in int64"):
        a.add(b, alpha=10**20)
    assert a.add(b, alpha=3).tolist() == [4, 5]
    assert a.add(fastnn.tensor([1.0, 1.0]), alpha=0.5).tolist() == [1.5, 2.5]


def test_integer_power_of_an_empty_base():
    assert (fastnn.tensor([], dtype=fastnn.int64) ** fastnn.tensor(-1)).shape == (0,)
    assert (fastnn.tensor([3]) ** fastnn.tensor([], dtype=fastnn.int64)).shape == (0,)


def test_div_gradient_for_tiny_and_huge_divisors():
    # -g * a / (b * b) is 0/0 (nan) or inf/inf when b * b under- or overflows; torch: -g * ((a / b) / b)
    _both(
        lambda a, b: a / b,
        np.array([0.0, 1e-20, 1e20, 1.0], np.float32),
        np.array([1e-45, 1e-25, 1e25, 1e-30], np.float32),
    )


def test_pow_gradient_for_a_tiny_exponent():
    # g * (b * a^(b-1)): (g * b) underflows to 0, and 0 * inf is nan where a == 0
    _both(lambda a, b: a**b, np.array([0.0, 1.1754944e-38], np.float32), np.array(1e-45, np.float32))


def test_empty_tensors_are_contiguous_whatever_their_strides():
    x = fastnn.zeros(0, 1).expand(0, 2)
    assert x.is_contiguous() and fastnn.zeros(2, 0).t().is_contiguous()


def test_matmul_of_empty_batched_by_matrix():
    for a, b in (((0, 0, 0), (0, 2)), ((2, 0, 3), (3,)), ((0, 3), (3,))):
        _both(lambda x, y: x @ y, np.zeros(a, np.float32), np.zeros(b, np.float32))


def test_pooling_window_larger_than_input_in_ceil_mode():
    # one window (starting inside the input) when stride > 1: torch's output size rounds toward -inf
    x = np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2)
    for k, s in ((3, 2), (3, 3), (2, 2)):
        _both(lambda v, k=k, s=s: fn_of(v).max_pool2d(v, k, s, ceil_mode=True), x[..., :1, :1])
        _both(lambda v, k=k, s=s: fn_of(v).avg_pool2d(v, k, s, ceil_mode=True), x)
    with pytest.raises(ValueError, match=r"\[max_pool2d\] .*output size \(0x0\) is too small"):
        F.max_pool2d(fastnn.ones(1, 1, 1, 1), 2, 1, ceil_mode=True)


def test_binary_cross_entropy_weight_must_broadcast_to_the_input():
    x, w = fastnn.full((2,), 0.5), fastnn.ones(3, 2)
    with pytest.raises(
        ValueError,
        match=r"\[binary_cross_entropy\] weight of shape \(3, 2\) cannot be broadcast to"
        r" the input's shape \(2,\)",
    ):
        F.binary_cross_entropy(x, x, weight=w, reduction="none")
    for kw in ({"weight": w}, {"pos_weight": w}):
        with pytest.raises(ValueError, match=r"\[binary_cross_entropy_with_logits\] .* cannot be broadcast"):
            F.binary_cross_entropy_with_logits(x, x, reduction="none", **kw)


def test_binary_cross_entropy_with_logits_target_gradient_with_pos_weight():
    # pw * softplus(-x) - softplus(x): no cancellation for large |x|, no nan at x = -inf
    _both(
        lambda a, b, pw: fn_of(a).binary_cross_entropy_with_logits(a, b, pos_weight=pw, reduction="none"),
        np.array([-541201.0, -math.inf, 3.0], np.float32),
        np.array([0.0, 0.0, 0.5], np.float32),
        np.array([0.03125, 1.0, 2.0], np.float32),
        constants=[2],
    )


def test_cross_entropy_label_smoothing_ignores_ignored_targets():
    # ignored targets add exact zeros (values and gradients), even where the logits are inf or all are ignored
    for reduction in ("none", "mean", "sum"):
        _both(
            lambda x, t, r=reduction: fn_of(x).cross_entropy(x, t, label_smoothing=0.1, reduction=r),
            np.array([[0.0, 0.0], [math.inf, 1.0]], np.float32),
            np.array([1, -100]),
        )
        _both(
            lambda x, t, r=reduction: fn_of(x).cross_entropy(x, t, ignore_index=1, label_smoothing=0.1, reduction=r),
            np.array([0.0, 0.0], np.float32),
            np.array(1),
        )


def test_smooth_l1_gradient_propagates_nan():
    _both(
        lambda x, t: fn_of(x).smooth_l1_loss(x, t, reduction="none"),
        np.array([0.0, 1.0], np.float32),
        np.array([math.nan, 3.0], np.float32),
    )


def test_cat_promotes_over_skipped_empty_tensors():
    # 1-d empty tensors are skipped but still take part in type promotion and get (empty) gradients
    _both(lambda a, b: lib_of(a).cat([a, b]), np.zeros(0), np.ones((2, 3), np.float32))
    _both(lambda a, b: lib_of(a).cat([a, b], 1), np.zeros(0, np.float32), np.zeros(0))


def test_inplace_ops_on_empty_or_expanded_tensors():
    x = fastnn.zeros(0).expand(0, 2, 0)
    x.add_(1)  # nothing is written twice: nothing is written
    base = fastnn.zeros(1)
    base.expand(3).fill_(2.0)  # one value into aliased memory, as torch
    base.expand(3).zero_()
    assert base.tolist() == [0.0]
    with pytest.raises(RuntimeError, match=r"\[add_\] unsupported operation: more than one element"):
        base.expand(3).add_(1)


def test_sub_inplace_with_a_bool_is_refused_as_out_of_place():
    for other in (True, fastnn.ones(2, dtype=fastnn.bool)):
        with pytest.raises(TypeError, match=r"\[sub_?\] subtraction with a bool tensor is not supported"):
            fastnn.ones(2).sub_(other)
        with pytest.raises(TypeError, match=r"\[sub\] subtraction with a bool tensor is not supported"):
            fastnn.ones(2) - other


def test_inplace_op_computes_in_the_promoted_dtype():
    # float32 x op= float64 y (same priority class): computed in float64, rounded once into x, as torch
    for op in ("add_", "sub_", "mul_", "div_"):
        for x, y in (([0.0, 1e-30], [4.4e-141, 1e40]), ([1.0, 3.0], [1e-8, 1.0 / 3])):
            ours, theirs = fastnn.tensor(x), torch.tensor(x)
            getattr(ours, op)(fastnn.tensor(y, dtype=fastnn.float64))
            getattr(theirs, op)(torch.tensor(y, dtype=torch.float64))
            assert_close(ours, theirs, what=op, ulps=True, signed_zeros=True)


def test_conv2d_same_padding_with_an_even_kernel():
    # torch's extra bottom/right padding as zeros: no 0 * inf from a padded-then-dropped output column
    for x, w in (
        (np.zeros((1, 1, 1)), [[[[math.inf, math.inf]]]]),
        (np.full((1, 1, 3), math.inf), [[[[1.0, 2.0]]]]),
        (np.arange(12.0).reshape(1, 1, 3, 4), np.ones((2, 1, 2, 2))),
    ):
        _both(lambda a, b: fn_of(a).conv2d(a, b, padding="same"), np.asarray(x, np.float32), np.asarray(w, np.float32))
