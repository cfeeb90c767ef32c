"""More elementwise ops against PyTorch: rounding, trigonometric and log/exp unary ops, predicates, softplus,
maximum/minimum, fmod/remainder/floor_divide, atan2, logical ops, closeness tests, where, masked_fill, nonzero,
with layouts, shapes, dtypes, number operands, kinks, in-place forms, gradchecks and errors."""

import math
import zlib

import fastnn
import numpy as np
import pytest
from oracle import assert_close, check_op, gradcheck_op, layout_input, torch

LAYOUTS = ["contiguous", "transposed", "strided", "offset", "expanded"]


def _rng(*key):
    return np.random.default_rng(zlib.crc32("/".join(map(str, key)).encode()))


# ---------------------------------------------------------------------------------------------
# unary: (id, fn on a tensor of either library, (low, high) of the input values, takes int64)

UNARY = [
    ("sign", lambda x: x.sign(), (-2, 2), True),
    ("floor", lambda x: x.floor(), (-3, 3), True),
    ("ceil", lambda x: x.ceil(), (-3, 3), True),
    ("round", lambda x: x.round(), (-3, 3), True),
    ("trunc", lambda x: x.trunc(), (-3, 3), True),
    ("fix", lambda x: x.fix(), (-3, 3), True),
    ("sin", lambda x: x.sin(), (-4, 4), True),
    ("cos", lambda x: x.cos(), (-4, 4), True),
    ("tan", lambda x: x.tan(), (-1.2, 1.2), True),
    ("log1p", lambda x: x.log1p(), (-0.9, 3), True),
    ("expm1", lambda x: x.expm1(), (-3, 3), True),
    ("erf", lambda x: x.erf(), (-3, 3), True),
    ("log2", lambda x: x.log2(), (0.1, 5), True),
    ("log10", lambda x: x.log10(), (0.1, 5), True),
    ("rsqrt", lambda x: x.rsqrt(), (0.2, 5), True),
    ("square", lambda x: x.square(), (-3, 3), True),
    ("exp2", lambda x: x.exp2(), (-3, 3), True),
    ("round_decimals", lambda x: x.round(decimals=1), (-3, 3), False),
    ("round_decimals_neg", lambda x: x.round(decimals=-1), (-300, 300), False),
    (
        "softplus",
        lambda x: (fastnn if isinstance(x, fastnn.Tensor) else torch).nn.functional.softplus(x),
        (-5, 5),
        False,
    ),
    (
        "softplus_beta",
        lambda x: (fastnn if isinstance(x, fastnn.Tensor) else torch).nn.functional.softplus(x, beta=2, threshold=3),
        (-3, 3),
        False,
    ),
    ("silu", lambda x: (fastnn if isinstance(x, fastnn.Tensor) else torch).nn.functional.silu(x), (-6, 6), False),
    (
        "logsigmoid",
        lambda x: (fastnn if isinstance(x, fastnn.Tensor) else torch).nn.functional.logsigmoid(x),
        (-8, 8),
        False,
    ),
]
UNARY_IDS = [u[0] for u in UNARY]
ZERO_GRAD = {"sign", "floor", "ceil", "round", "trunc", "fix", "round_decimals", "round_decimals_neg"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name,fn,dom,ints", UNARY, ids=UNARY_IDS)
def test_unary_layouts(name, fn, dom, ints, layout, dtype):
    arr, prep = layout_input(_rng(name, layout), (3, 4), layout, dtype, *dom)
    f, t = check_op(fn, [arr], prep=prep)
    assert f.grad_fn.name() == t.grad_fn.name()


@pytest.mark.parametrize("shape", [(0, 3), (), (1,), (2, 0, 4)], ids=str)
@pytest.mark.parametrize("name,fn,dom,ints", UNARY, ids=UNARY_IDS)
def test_unary_shapes(name, fn, dom, ints, shape):
    arr = _rng(name, shape).uniform(*dom, size=shape).astype(np.float32)
    check_op(fn, [arr])


@pytest.mark.parametrize("name,fn,dom,ints", [u for u in UNARY if u[3]], ids=[u[0] for u in UNARY if u[3]])
def test_unary_int64(name, fn, dom, ints):
    # sign/floor/ceil/round/trunc/square keep int64 (exact, also beyond 2**53); the others give float32
    arr = np.array([[-3, -1, 0], [1, 2, 5]], dtype=np.int64)
    if name in ("log2", "log10", "rsqrt", "log1p"):
        arr = np.abs(arr) + 1
    check_op(fn, [arr])
    if name in ("floor", "ceil", "round", "trunc", "fix", "sign", "square"):
        check_op(fn, [np.array([2**62 + 1, -(2**62) - 1, 2**53 + 1])])


@pytest.mark.parametrize("name,fn,dom,ints", UNARY, ids=UNARY_IDS)
def test_unary_gradcheck(name, fn, dom, ints):
    arr = _rng("gc", name).uniform(*dom, size=(3, 2))
    # keep clear of the jumps, where central differences are meaningless
    if name in ZERO_GRAD:
        arr = np.floor(arr) + 0.3
    gradcheck_op(lambda x: fn(x.t()), [arr])


@pytest.mark.parametrize(
    "name",
    [
        "sign",
        "floor",
        "ceil",
        "round",
        "trunc",
        "fix",
        "sin",
        "cos",
        "tan",
        "log1p",
        "expm1",
        "erf",
        "log2",
        "log10",
        "rsqrt",
        "square",
        "exp2",
    ],
)
def test_unary_module_functions(name):
    arr = _rng("mod", name).uniform(0.2, 2, size=(2, 5)).astype(np.float32)
    f, t = check_op(lambda m, x: getattr(m, name)(x), [arr], uses_module=True)
    assert f.grad_fn.name() == t.grad_fn.name()


def test_unary_node_names():
    for name, node in [
        ("sign", "SignBackward0"),
        ("floor", "FloorBackward0"),
        ("ceil", "CeilBackward0"),
        ("round", "RoundBackward0"),
        ("trunc", "TruncBackward0"),
        ("fix", "TruncBackward0"),
        ("sin", "SinBackward0"),
        ("log1p", "Log1PBackward0"),
        ("expm1", "Expm1Backward0"),
        ("square", "PowBackward0"),
        ("exp2", "Exp2Backward0"),
        ("rsqrt", "RsqrtBackward0"),
    ]:
        assert getattr(fastnn.tensor([1.5], requires_grad=True), name)().grad_fn.name() == node
    assert fastnn.tensor([1.5], requires_grad=True).round(decimals=0).grad_fn.name() == "RoundBackward1"
    x = fastnn.tensor([1.5], requires_grad=True)
    assert fastnn.nn.functional.silu(x).grad_fn.name() == "SiluBackward0"
    assert fastnn.nn.functional.logsigmoid(x).grad_fn.name() == "LogSigmoidBackward0"


@pytest.mark.parametrize("kwargs", [{}, {"dim": 0}, {"p": 1.0, "dim": -1}, {"p": 3.0, "eps": 0.5}], ids=str)
def test_normalize_matches_torch(kwargs):
    a = np.random.default_rng(4).uniform(-2, 2, size=(3, 4)).astype(np.float64)
    a[1] = 0  # a zero row: eps keeps the division finite
    check_op(lambda lib, x: lib.nn.functional.normalize(x, **kwargs), [a], uses_module=True)


def test_silu_and_logsigmoid_modules_match_torch():
    a = np.random.default_rng(3).uniform(-4, 4, size=(3, 5)).astype(np.float32)
    for cls in ("SiLU", "LogSigmoid"):
        assert repr(getattr(fastnn.nn, cls)()) == repr(getattr(torch.nn, cls)())
        check_op(lambda lib, x: getattr(lib.nn, cls)()(x), [a], uses_module=True)
    assert repr(fastnn.nn.SiLU(inplace=True)) == repr(torch.nn.SiLU(inplace=True))
    ours, theirs = fastnn.tensor(a), torch.tensor(a)
    fastnn.nn.SiLU(inplace=True)(ours)
    torch.nn.SiLU(inplace=True)(theirs)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["exp", "log", "log1p", "erf", "sin", "cos", "sigmoid", "tanh", "floor", "round"])
def test_vectorised_unary_long_float32_inputs_match_torch(name):
    # float32 runs fastnn's vectorised kernels (lanes and a scalar tail); 1037 values over each piece of the formula
    x = np.random.default_rng(9).uniform(-12, 12, 1037).astype(np.float32)
    if name in ("log", "log1p"):
        x = np.abs(x) * np.float32(10.0) ** np.random.default_rng(10).integers(-30, 30, x.shape).astype(np.float32)
    x[:8] = [0.0, -0.0, 0.5, -0.5, 2.5, 1e-30, np.inf, -np.inf]
    x[8] = np.nan
    if name in ("sin", "cos"):
        x[9:12] = [8191.5, -9000.25, 3e7]  # past the vector range: libm's
    check_op(lambda t: getattr(t, name)(), [x], grad=False, atol=1e-7, rtol=4e-7)
    finite = x[np.isfinite(x)][:200]
    check_op(lambda t: getattr(t, name)(), [finite], atol=1e-6, rtol=1e-5)


UNARY_KINKS = [
    ("sign_at_0", lambda x: x.sign(), [-1.0, 0.0, -0.0, 2.0, math.nan, math.inf, -math.inf]),
    ("round_halves", lambda x: x.round(), [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 1e20, math.inf, math.nan]),
    ("round_decimals_halves", lambda x: x.round(decimals=1), [0.25, 0.35, 1.25, -0.25, 12.5, 123.456]),
    ("round_decimals_2", lambda x: x.round(decimals=2), [1.005, 2.675, -3.14159, 123.456]),
    ("round_decimals_neg", lambda x: x.round(decimals=-2), [50.0, 150.0, 250.0, -149.0, 12345.0]),
    ("floor_ceil_trunc", lambda x: (x.floor(), x.ceil(), x.trunc()), [-1.5, -0.5, -0.0, 0.5, 1.5, math.inf, math.nan]),
    ("log1p_edges", lambda x: x.log1p(), [-1.0, -0.5, 0.0, 1e-10, math.inf]),
    ("expm1_edges", lambda x: x.expm1(), [-math.inf, -1e-10, 0.0, 1e-10, 100.0]),
    ("rsqrt_edges", lambda x: x.rsqrt(), [0.0, -1.0, math.inf, 4.0]),
    ("log2_log10_edges", lambda x: (x.log2(), x.log10()), [0.0, -1.0, 1.0, 1024.0, math.inf]),
    ("erf_edges", lambda x: x.erf(), [-math.inf, -6.0, 0.0, 6.0, math.inf]),
    (
        "silu_logsigmoid_edges",
        lambda x: (
            (fastnn if isinstance(x, fastnn.Tensor) else torch).nn.functional.silu(x),
            (fastnn if isinstance(x, fastnn.Tensor) else torch).nn.functional.logsigmoid(x),
        ),
        [-1000.0, -100.0, -30.0, 0.0, 30.0, 100.0, 1000.0],
    ),
    (
        "softplus_threshold",
        lambda x: (fastnn if isinstance(x, fastnn.Tensor) else torch).nn.functional.softplus(x),
        [-100.0, -20.0, 0.0, 19.9, 20.0, 20.1, 100.0],
    ),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,fn,vals", UNARY_KINKS, ids=[k[0] for k in UNARY_KINKS])
def test_unary_kinks(name, fn, vals, dtype):
    check_op(fn, [np.array(vals, dtype=dtype)])


def test_sign_round_signed_zero():
    # compared bitwise: round keeps -0.0 (and gives -0.0 for -0.4), sign gives +0.0 for -0.0, floor/ceil keep signs
    arr = np.array([-0.0, 0.0, -0.4, 0.4, -0.5], np.float32)
    for fn in (
        lambda x: x.round(),
        lambda x: x.sign(),
        lambda x: x.ceil(),
        lambda x: x.trunc(),
        lambda x: x.round(decimals=1),
    ):
        f, t = fn(fastnn.tensor(arr)), fn(torch.tensor(arr))
        assert np.signbit(f.numpy()).tolist() == np.signbit(t.numpy()).tolist()


def test_unary_bool_inputs():
    b = np.array([True, False])
    for fn in (
        lambda x: x.sign(),
        lambda x: x.sin(),
        lambda x: x.log1p(),
        lambda x: x.square(),
        lambda x: x.exp2(),
        lambda x: x.rsqrt(),
        lambda x: x.logical_not(),
        lambda x: x.isnan(),
        lambda x: x.isfinite(),
    ):
        check_op(fn, [b])
    for name in ("floor", "ceil", "round", "trunc"):
        with pytest.raises(TypeError, match=rf"\[{name}\] not supported for bool tensors"):
            getattr(fastnn.tensor(b), name)()


# ---------------------------------------------------------------------------------------------
# predicates and logical_not: bool results, not differentiable

PREDICATES = ["isnan", "isinf", "isfinite", "logical_not"]
SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.5, -2.0, 3e38]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", PREDICATES)
def test_predicates(name, layout, dtype):
    arr, prep = layout_input(_rng(name, layout), (3, 4), layout, dtype, -3, 3)
    if arr.dtype.kind == "f":
        arr.flat[: len(SPECIAL)] = SPECIAL
    f, _ = check_op(lambda m, x: getattr(m, name)(x), [arr], prep=prep, uses_module=True)
    assert f.dtype == fastnn.bool and not f.requires_grad and f.grad_fn is None


@pytest.mark.parametrize("shape", [(0, 3), ()], ids=str)
@pytest.mark.parametrize("name", PREDICATES)
def test_predicates_shapes(name, shape):
    check_op(lambda x: getattr(x, name)(), [np.full(shape, math.nan, np.float32)])


# ---------------------------------------------------------------------------------------------
# in-place unary forms

INPLACE_UNARY = [
    "sign_",
    "floor_",
    "ceil_",
    "round_",
    "trunc_",
    "fix_",
    "sin_",
    "cos_",
    "tan_",
    "log1p_",
    "expm1_",
    "erf_",
    "log2_",
    "log10_",
    "rsqrt_",
    "square_",
    "exp2_",
    "logical_not_",
]


@pytest.mark.parametrize("view", [None, "transposed", "strided"])
@pytest.mark.parametrize("name", INPLACE_UNARY)
def test_inplace_unary_values(name, view):
    arr = _rng(name).uniform(0.2, 3, size=(3, 4)).astype(np.float32)
    preps = {None: lambda b: b, "transposed": lambda b: b.t(), "strided": lambda b: b[:, ::2]}
    results = []
    for lib in (fastnn, torch):
        base = lib.tensor(arr.copy())
        x = preps[view](base)
        before = x._version
        assert getattr(x, name)() is x
        assert x._version > before
        results.append(base)
    assert_close(*results)


@pytest.mark.parametrize("name", INPLACE_UNARY)
def test_inplace_unary_autograd_non_leaf(name):
    if name == "logical_not_":
        pytest.skip("logical_not_ is not differentiable")
    arr = _rng("nl", name).uniform(0.2, 3, size=(2, 3))
    f, t = check_op(lambda x: getattr(x * 2, name)(), [arr])
    assert f.grad_fn.name() == t.grad_fn.name()


def test_inplace_unary_int_rules():
    for lib in (fastnn, torch):
        x = lib.tensor([-2, 3])
        x.floor_().sign_()
        assert x.tolist() == [-1, 1] and x.dtype == lib.int64
        with pytest.raises((TypeError, RuntimeError), match="can't be cast to the desired output type"):
            lib.tensor([1, 2]).sin_()
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        fastnn.tensor([1.0], requires_grad=True).sin_()


def test_round_decimals_errors():
    for lib in (fastnn, torch):
        with pytest.raises((TypeError, NotImplementedError)):
            lib.tensor([1, 2]).round(decimals=1)
    with pytest.raises(TypeError, match=r"\[round\] decimals is not supported for int64"):
        fastnn.round(fastnn.tensor([1]), decimals=0)
    with pytest.raises(TypeError):
        fastnn.tensor([1.0]).round(1)  # decimals is keyword-only, as in torch


# ---------------------------------------------------------------------------------------------
# softplus


def test_softplus_module_and_functional():
    arr = _rng("sp").uniform(-5, 5, size=(4, 3)).astype(np.float32)
    for kwargs in ({}, {"beta": 2}, {"beta": 0.5, "threshold": 1}, {"threshold": 0}):
        f, t = check_op(lambda m, x: m.nn.Softplus(**kwargs)(x), [arr], uses_module=True)
        assert f.grad_fn.name() == "SoftplusBackward0" == t.grad_fn.name()
    assert repr(fastnn.nn.Softplus(beta=2, threshold=3)) == repr(torch.nn.Softplus(beta=2, threshold=3))
    assert repr(fastnn.nn.Softplus()) == repr(torch.nn.Softplus())
    gradcheck_op(lambda x: fastnn.nn.functional.softplus(x, beta=1.5, threshold=2), [arr.astype(np.float64)])


def test_softplus_errors():
    with pytest.raises(TypeError, match=r"\[softplus\] expected a floating-point input, got int64"):
        fastnn.nn.functional.softplus(fastnn.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"\[softplus\] beta must be a number"):
        fastnn.nn.functional.softplus(fastnn.ones(2), beta="a")
    with pytest.raises(TypeError, match=r"\[softplus\] input must be a Tensor"):
        fastnn.nn.functional.softplus([1.0])


# ---------------------------------------------------------------------------------------------
# binary: (id, fn, (low, high), differentiable)


def _lib(x):
    return fastnn if isinstance(x, fastnn.Tensor) else torch


BINARY = [
    ("maximum", lambda a, b: _lib(a).maximum(a, b), (-2, 2)),
    ("minimum", lambda a, b: a.minimum(b), (-2, 2)),
    ("max_tensor", lambda a, b: _lib(a).max(a, b), (-2, 2)),
    ("min_tensor", lambda a, b: a.min(b), (-2, 2)),
    ("fmod", lambda a, b: a.fmod(b), (-5, 5)),
    ("remainder", lambda a, b: _lib(a).remainder(a, b), (-5, 5)),
    ("mod_op", lambda a, b: a % b, (-5, 5)),
    ("atan2", lambda a, b: a.atan2(b), (-2, 2)),
    ("arctan2", lambda a, b: _lib(a).arctan2(a, b), (-2, 2)),
]
BINARY_IDS = [b[0] for b in BINARY]
SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((4,), (3, 4)),
    ((3, 1), (1, 4)),
    ((2, 1, 4), (3, 1)),
    ((3, 4), ()),
    ((), (3, 4)),
    ((), ()),
    ((0, 3), (3,)),
    ((2, 0), (2, 1)),
]


def _away_from_zero(arr, name):
    # divisors (and atan2's denominators) away from 0; remainder's gradient jumps where a / b is an integer
    if name in ("fmod", "remainder", "mod_op"):
        return np.where(np.abs(arr) < 0.5, 1.3, arr)
    return arr


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("name,fn,dom", BINARY, ids=BINARY_IDS)
def test_binary_broadcast(name, fn, dom, shapes):
    rng = _rng(name, shapes)
    a = rng.uniform(*dom, size=shapes[0]).astype(np.float32)
    b = _away_from_zero(rng.uniform(*dom, size=shapes[1]), name).astype(np.float32)
    check_op(fn, [a, b])


@pytest.mark.parametrize("layout_b", ["contiguous", "transposed", "expanded"])
@pytest.mark.parametrize("layout_a", LAYOUTS)
@pytest.mark.parametrize("name,fn,dom", BINARY, ids=BINARY_IDS)
def test_binary_layouts(name, fn, dom, layout_a, layout_b):
    rng = _rng(name, layout_a, layout_b)
    a, pa = layout_input(rng, (3, 4), layout_a, np.float32, *dom)
    b, pb = layout_input(rng, (3, 4), layout_b, np.float32, *dom)
    f, t = check_op(fn, [a, _away_from_zero(b, name).astype(np.float32)], prep=[pa, pb])
    assert f.grad_fn.name() == t.grad_fn.name()


@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((3, 1), (1, 2)), ((2, 3), ())], ids=str)
@pytest.mark.parametrize("name,fn,dom", BINARY, ids=BINARY_IDS)
def test_binary_gradcheck(name, fn, dom, shapes):
    rng = _rng("gc", name, shapes)
    a = rng.uniform(*dom, size=shapes[0])
    b = _away_from_zero(rng.uniform(*dom, size=shapes[1]), name)
    if name in ("fmod", "remainder", "mod_op"):
        a = np.round(a / b) * b + 0.3 * b if a.shape == np.broadcast_shapes(a.shape, b.shape) else a
    if name.startswith(("max", "min")):
        b = (
            np.where(np.abs(np.broadcast_to(b, np.broadcast_shapes(a.shape, b.shape)).mean() - a) < 0.05, 0.7, b)
            if b.shape == ()
            else b
        )
    gradcheck_op(fn, [a, b])


@pytest.mark.parametrize(
    "dtypes",
    [
        (np.int64, np.int64),
        (np.float32, np.int64),
        (np.int64, np.float64),
        (np.float32, np.float64),
        (np.bool_, np.int64),
    ],
    ids=str,
)
@pytest.mark.parametrize(
    "name,fn,dom", BINARY + [("floor_divide", lambda a, b: a // b, (-5, 5))], ids=BINARY_IDS + ["floor_divide"]
)
def test_binary_dtypes(name, fn, dom, dtypes):
    rng = _rng("dt", name, dtypes)
    a = rng.integers(-7, 8, size=(3, 4)).astype(dtypes[0])
    b = rng.integers(-7, 8, size=(4,)).astype(dtypes[1])
    b[b == 0] = 3
    check_op(
        fn, [a, b], grad=name != "floor_divide"
    )  # (floor_divide has no derivative, test_not_implemented_derivatives)


def test_maximum_minimum_ties_and_nan():
    a = np.array([1.0, 2.0, math.nan, 3.0, math.nan, -0.0, math.inf], np.float32)
    b = np.array([1.0, 3.0, 1.0, math.nan, math.nan, 0.0, math.inf], np.float32)
    for fn in (
        lambda x, y: x.maximum(y),
        lambda x, y: x.minimum(y),
        lambda x, y: _lib(x).max(x, y),
        lambda x, y: _lib(x).min(x, y),
    ):
        check_op(fn, [a, b])
        check_op(fn, [a.astype(np.float64), b.astype(np.float64)])
    # a tie broadcast over b: the half-gradients of each element of b add up
    check_op(lambda x, y: x.maximum(y), [np.array([[1.0, 2.0], [1.0, 0.0]]), np.array([1.0, 2.0])])
    check_op(lambda x, y: x.maximum(y), [np.array([True, False, True]), np.array([False, False, True])])


def test_fmod_remainder_signs():
    a = np.array([-5.0, 5.0, -5.0, 5.0, 0.0, -0.0, 5.5, -5.5, math.inf, 3.0, -3.0, 1.0], np.float32)
    b = np.array([3.0, -3.0, -3.0, 3.0, 2.0, 2.0, math.inf, math.inf, 2.0, 0.0, 3.0, -math.inf], np.float32)
    for fn in (lambda x, y: x.fmod(y), lambda x, y: x.remainder(y), lambda x, y: x % y, lambda x, y: x // y):
        check_op(fn, [a, b], grad=False)
        f, t = fn(fastnn.tensor(a), fastnn.tensor(b)), fn(torch.tensor(a), torch.tensor(b))
        assert np.signbit(f.numpy()).tolist() == np.signbit(t.numpy()).tolist()
    ai = np.array([-5, 5, -5, 5, 0, 7, -(2**63)], np.int64)
    bi = np.array([3, -3, -3, 3, 2, 1, -1], np.int64)
    for fn in (
        lambda x, y: x.fmod(y),
        lambda x, y: x.remainder(y),
        lambda x, y: x % y,
        lambda x, y: x // y,
        lambda x, y: _lib(x).floor_divide(x, y),
    ):
        check_op(fn, [ai, bi])


def test_floor_divide_floats():
    a = np.array([5.0, -5.0, 5.0, -5.0, 1.0, -1.0, 0.0, math.inf, 7.5, -7.5, 0.3, -0.0], np.float64)
    b = np.array([0.0, 0.0, -0.0, 2.0, math.inf, math.inf, 0.0, 2.0, 2.5, 2.5, 0.1, 3.0], np.float64)
    f, _ = check_op(lambda x, y: _lib(x).floor_divide(x, y), [a, b], grad=False)
    check_op(lambda x, y: x // y, [a.astype(np.float32), b.astype(np.float32)], grad=False)
    ft, tt = fastnn.tensor(a) // fastnn.tensor(b), torch.tensor(a) // torch.tensor(b)
    assert np.signbit(ft.numpy()).tolist() == np.signbit(tt.numpy()).tolist()


SCALAR_OPS = [
    ("fmod", lambda x, s: x.fmod(s)),
    ("remainder", lambda x, s: x.remainder(s)),
    ("mod", lambda x, s: x % s),
    ("rmod", lambda x, s: s % x),
    ("remainder_number_first", lambda x, s: _lib(x).remainder(s, x)),
    ("floordiv", lambda x, s: x // s),
    ("rfloordiv", lambda x, s: s // x),
    ("floor_divide", lambda x, s: _lib(x).floor_divide(x, s)),
    ("floor_divide_number_first", lambda x, s: _lib(x).floor_divide(s, x)),
    ("greater", lambda x, s: x.greater(s)),
    ("greater_equal", lambda x, s: _lib(x).greater_equal(x, s)),
    ("less", lambda x, s: x.less(s)),
    ("less_equal", lambda x, s: x.less_equal(s)),
    ("not_equal", lambda x, s: x.not_equal(s)),
    ("where_number_b", lambda x, s: _lib(x).where(x > 0, x, s)),
    ("where_number_a", lambda x, s: _lib(x).where(x > 0, s, x)),
    ("where_method", lambda x, s: x.where(x > 1, s)),
    ("masked_fill", lambda x, s: x.masked_fill(x > 1, s)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("scalar", [2, 1.5, -3, True, np.float64(-0.5)], ids=repr)
@pytest.mark.parametrize("name,fn", SCALAR_OPS, ids=[s[0] for s in SCALAR_OPS])
def test_scalar_operands(name, fn, scalar, dtype):
    arr = np.array([[1.5, 2.0, -3.0], [4.0, -5.0, 7.25]]).astype(dtype)
    try:
        torch_ok = fn(torch.tensor(arr), scalar) is not None
    except (RuntimeError, TypeError) as e:  # bool % bool and friends: both refuse
        torch_ok = False
        with pytest.raises((RuntimeError, TypeError, ValueError)):
            fn(fastnn.tensor(arr), scalar)
        assert e is not None
    if torch_ok:  # (floor division and a number % a tensor have no derivative: test_not_implemented_derivatives)
        no_derivative = name.startswith(("rmod", "remainder_number_first", "floor", "rfloor"))
        f, t = check_op(lambda x: fn(x, scalar), [arr], grad=not no_derivative)
        if t.grad_fn is not None:
            assert f.grad_fn.name() == t.grad_fn.name()


def test_not_implemented_derivatives():
    x = fastnn.tensor([1.5, 2.5], requires_grad=True)
    for fn, op in (
        (lambda t: t // 2, "floor_divide"),
        (lambda t: 7 % t, "remainder"),
        (lambda t: fastnn.floor_divide(t, t), "floor_divide"),
    ):
        y = fn(x)
        assert y.requires_grad and y.grad_fn.name() == "NotImplemented"
        with pytest.raises(RuntimeError, match=rf"the derivative for '{op}' is not implemented"):
            y.sum().backward()
    # values as torch's all the same
    check_op(lambda t: t // 2, [np.array([1.5, -2.5])], grad=False)


def test_integer_division_by_zero():
    for fn in (lambda x, y: x % y, lambda x, y: x.fmod(y), lambda x, y: x // y, lambda x, y: x.remainder(0)):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            fn(torch.tensor([1, 2]), torch.tensor([1, 0]))
        with pytest.raises(ValueError, match=r"\[(remainder|fmod|floor_divide)\] ZeroDivisionError"):
            fn(fastnn.tensor([1, 2]), fastnn.tensor([1, 0]))
    # floats give inf/nan, and an empty tensor divides by nothing
    check_op(lambda x: x % 0, [np.array([1.0, -1.0, 0.0])], grad=False)
    check_op(lambda x, y: x // y, [np.zeros((0,), np.int64), np.zeros((0,), np.int64)])


def test_bool_division_rejected():
    for fn, op in ((lambda x: x % x, "remainder"), (lambda x: x.fmod(x), "fmod"), (lambda x: x // x, "floor_divide")):
        with pytest.raises(TypeError, match=rf"\[{op}\] not supported for bool tensors"):
            fn(fastnn.tensor([True, False]))
        with pytest.raises((NotImplementedError, RuntimeError)):
            fn(torch.tensor([True, False]))


# ---------------------------------------------------------------------------------------------
# in-place binary forms

INPLACE_BINARY = [
    ("fmod_", lambda x, y: x.fmod_(y)),
    ("remainder_", lambda x, y: x.remainder_(y)),
    ("floor_divide_", lambda x, y: x.floor_divide_(y)),
    ("atan2_", lambda x, y: x.atan2_(y)),
    ("logical_and_", lambda x, y: x.logical_and_(y)),
    ("logical_or_", lambda x, y: x.logical_or_(y)),
    ("logical_xor_", lambda x, y: x.logical_xor_(y)),
]


def _imod(x, y):
    x %= y
    return x


def _ifloordiv(x, y):
    x //= y
    return x


INPLACE_BINARY += [("%=", _imod), ("//=", _ifloordiv)]


@pytest.mark.parametrize("other_shape", [(3, 4), (4,), (3, 1), ()], ids=str)
@pytest.mark.parametrize("name,fn", INPLACE_BINARY, ids=[i[0] for i in INPLACE_BINARY])
def test_inplace_binary_values(name, fn, other_shape):
    rng = _rng("ib", name, other_shape)
    x = rng.uniform(-4, 4, size=(3, 4)).astype(np.float32)
    y = _away_from_zero(rng.uniform(-4, 4, size=other_shape), "fmod").astype(np.float32)
    x.flat[0] = 0.0
    results = []
    for lib in (fastnn, torch):
        a = lib.tensor(x.copy())
        before = a._version
        assert fn(a, lib.tensor(y.copy())) is a
        assert a._version > before
        results.append(a)
    assert_close(*results)


@pytest.mark.parametrize(
    "name,fn", [INPLACE_BINARY[0], INPLACE_BINARY[1], INPLACE_BINARY[3]], ids=["fmod_", "remainder_", "atan2_"]
)
def test_inplace_binary_autograd_non_leaf(name, fn):
    rng = _rng("ibnl", name)
    a, b = rng.uniform(1, 4, size=(2, 3)), rng.uniform(0.7, 1.9, size=(3,))
    f, t = check_op(lambda x, y: fn(x * 1.5, y), [a, b])
    assert f.grad_fn.name() == t.grad_fn.name()


def test_inplace_binary_type_rules():
    for lib in (fastnn, torch):
        with pytest.raises((TypeError, RuntimeError), match="can't be cast to the desired output type"):
            lib.tensor([1, 2]).fmod_(1.5)
        x = lib.tensor([5, -5])
        x //= 2
        x %= 3
        assert x.tolist() == [2, 0]
        with pytest.raises((ValueError, RuntimeError)):
            lib.ones(3).remainder_(lib.ones(2, 3))


# ---------------------------------------------------------------------------------------------
# logical ops and comparison aliases

LOGICAL = ["logical_and", "logical_or", "logical_xor"]


@pytest.mark.parametrize(
    "dtypes", [(np.bool_, np.bool_), (np.float32, np.int64), (np.int64, np.bool_), (np.float64, np.float32)], ids=str
)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1), (4,)), ((), (2, 3)), ((0, 3), (3,))], ids=str)
@pytest.mark.parametrize("name", LOGICAL)
def test_logical(name, shapes, dtypes):
    rng = _rng(name, shapes, dtypes)
    a = rng.integers(-1, 2, size=shapes[0]).astype(dtypes[0])
    b = rng.integers(-1, 2, size=shapes[1]).astype(dtypes[1])
    if a.dtype.kind == "f" and a.size:
        a.flat[0] = math.nan  # nan is true
    f, _ = check_op(lambda m, x, y: getattr(m, name)(x, y), [a, b], uses_module=True)
    assert f.dtype == fastnn.bool and f.grad_fn is None
    check_op(lambda x, y: getattr(x, name)(y), [a, b], prep=[None, None], grad=False)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", LOGICAL + ["maximum", "minimum"])
def test_logical_layouts(name, layout):
    rng = _rng("ll", name, layout)
    a, pa = layout_input(rng, (3, 4), layout, np.float32, -1, 1)
    a = np.round(a)
    b, pb = layout_input(rng, (3, 4), "transposed", np.float32, -1, 1)
    check_op(lambda x, y: getattr(x, name)(y), [a, np.round(b)], prep=[pa, pb])


@pytest.mark.parametrize("name", ["greater", "greater_equal", "less", "less_equal", "not_equal"])
def test_comparison_aliases(name):
    rng = _rng("alias", name)
    a, b = rng.integers(-2, 3, size=(3, 4)).astype(np.float32), rng.integers(-2, 3, size=(4,)).astype(np.int64)
    check_op(lambda m, x, y: getattr(m, name)(x, y), [a, b], uses_module=True, grad=False)
    check_op(lambda x, y: getattr(x, name)(y), [a, b], grad=False)


# ---------------------------------------------------------------------------------------------
# isclose / allclose / equal

CLOSE_A = [1.0, 1.0, 1e10, math.nan, math.inf, -math.inf, math.inf, 0.0, 1e-9, 100.0]
CLOSE_B = [1.0 + 1e-6, 1.001, 1.00001e10, math.nan, math.inf, math.inf, 1.0, 1e-9, 0.0, 100.1]


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"rtol": 1e-3}, {"atol": 0.2}, {"equal_nan": True}, {"rtol": 0, "atol": 0}, {"atol": math.inf}],
    ids=str,
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_isclose_allclose(dtype, kwargs):
    a, b = np.array(CLOSE_A, dtype), np.array(CLOSE_B, dtype)
    check_op(lambda m, x, y: m.isclose(x, y, **kwargs), [a, b], uses_module=True, grad=False)
    check_op(lambda x, y: x.isclose(y, **kwargs), [a[:, None], b], grad=False)  # broadcast
    for sl in (slice(None), slice(0, 2), slice(3, 5), slice(0, 0)):
        fa, fb, ta, tb = fastnn.tensor(a[sl]), fastnn.tensor(b[sl]), torch.tensor(a[sl]), torch.tensor(b[sl])
        assert fastnn.allclose(fa, fb, **kwargs) is torch.allclose(ta, tb, **kwargs)
        assert fa.allclose(fb, **kwargs) is ta.allclose(tb, **kwargs)


def test_isclose_ints_and_bools():
    check_op(
        lambda m, x, y: m.isclose(x, y, rtol=0.05, atol=0.1),
        [np.array([10, 12, -3]), np.array([11, 12, -3])],
        uses_module=True,
    )
    check_op(lambda m, x, y: m.isclose(x, y), [np.array([True, False]), np.array([True, True])], uses_module=True)


def test_isclose_errors():
    with pytest.raises(TypeError, match=r"\[isclose\] int64 did not match float32"):
        fastnn.isclose(fastnn.tensor([1]), fastnn.tensor([1.0]))
    with pytest.raises(TypeError, match=r"\[allclose\] float32 did not match float64"):
        fastnn.allclose(fastnn.tensor([1.0]), fastnn.tensor([1.0], dtype=fastnn.float64))
    with pytest.raises(ValueError, match=r"\[isclose\] rtol must be greater than or equal to zero, but got -1"):
        fastnn.isclose(fastnn.ones(1), fastnn.ones(1), rtol=-1)
    with pytest.raises(ValueError, match=r"\[allclose\] atol must be greater than or equal to zero, but got nan"):
        fastnn.allclose(fastnn.ones(1), fastnn.ones(1), atol=math.nan)
    with pytest.raises(ValueError, match=r"\[isclose\] .*shape"):
        fastnn.isclose(fastnn.ones(2), fastnn.ones(3))
    with pytest.raises(TypeError, match="allclose"):
        fastnn.allclose(fastnn.ones(1), 1.0)


def test_equal():
    cases = [
        ([1, 2], [1.0, 2.0]),
        ([1.0], [1.0, 1.0]),
        ([math.nan], [math.nan]),
        ([[1, 2]], [1, 2]),
        ([], []),
        ([True, False], [1, 0]),
        ([0.1], [0.1]),
    ]
    for a, b in cases:
        assert fastnn.equal(fastnn.tensor(a), fastnn.tensor(b)) is torch.equal(torch.tensor(a), torch.tensor(b))
        assert fastnn.tensor(a).equal(fastnn.tensor(b)) is torch.tensor(a).equal(torch.tensor(b))
    x = fastnn.arange(6.0).reshape(2, 3)
    assert fastnn.equal(x.t(), x.t().contiguous()) and not fastnn.equal(x.t(), x.reshape(3, 2))
    with pytest.raises(TypeError, match="equal"):
        fastnn.equal(fastnn.ones(1), 1.0)


# ---------------------------------------------------------------------------------------------
# where

WHERE_SHAPES = [
    ((3, 4), (3, 4), (3, 4)),
    ((3, 4), (4,), (3, 1)),
    ((3, 1), (1, 4), ()),
    ((), (2, 3), (2, 3)),
    ((2, 1, 4), (3, 1), (4,)),
    ((0, 3), (3,), ()),
    ((2, 3), (), ()),
]


@pytest.mark.parametrize("shapes", WHERE_SHAPES, ids=str)
def test_where_broadcast(shapes):
    rng = _rng("where", shapes)
    c = rng.integers(0, 2, size=shapes[0]).astype(bool)
    a = rng.standard_normal(shapes[1]).astype(np.float32)
    b = rng.standard_normal(shapes[2]).astype(np.float32)
    f, t = check_op(lambda m, c, x, y: m.where(c, x, y), [c, a, b], uses_module=True)
    assert f.grad_fn.name() == "WhereBackward0" == t.grad_fn.name()
    gradcheck_op(lambda c, x, y: fastnn.where(c, x, y), [c, a.astype(np.float64), b.astype(np.float64)])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_where_layouts(layout):
    rng = _rng("wl", layout)
    c, pc = layout_input(rng, (3, 4), layout, np.bool_)
    a, pa = layout_input(rng, (3, 4), layout, np.float32)
    b, pb = layout_input(rng, (3, 4), "transposed", np.float64)
    check_op(lambda c, x, y: x.where(c, y), [c, a, b], prep=[pc, pa, pb])


@pytest.mark.parametrize(
    "pair",
    [
        (np.int64, np.float32),
        (np.int64, 1.5),
        (1, 2.0),
        (1, 2),
        (True, 2),
        (np.float64, ("0d", np.float32)),
        (("0d", np.int64), 2.5),
        (np.bool_, np.bool_),
        (np.bool_, np.int64),
        (np.float32, np.float64),
        (np.float32, True),
    ],
    ids=str,
)
def test_where_type_promotion(pair):
    rng = _rng("wp", pair)
    c = np.array([True, False, True])

    def make(spec, lib):
        if isinstance(spec, tuple):
            return lib.tensor(np.array(2, dtype=spec[1]))
        if isinstance(spec, type):
            return lib.tensor(rng.integers(-3, 4, size=3).astype(spec)) if lib is torch else None
        return spec

    arrays = [make(s, torch) for s in pair]
    f_args = [fastnn.tensor(a.numpy()) if isinstance(a, torch.Tensor) else a for a in arrays]
    assert_close(fastnn.where(fastnn.tensor(c), *f_args), torch.where(torch.tensor(c), *arrays))


def test_where_gradients_to_both_sides_and_numbers():
    c = np.array([[True, False, True], [False, False, True]])
    a, b = np.arange(6.0).reshape(2, 3), -np.arange(3.0)
    f, t = check_op(
        lambda c, x, y: fastnn.where(c, x, y) if isinstance(x, fastnn.Tensor) else torch.where(c, x, y), [c, a, b]
    )
    for fn in (lambda m, c, x: m.where(c, x, 0.5), lambda m, c, x: m.where(c, 2, x)):
        f, t = check_op(fn, [c, a.astype(np.float32)], uses_module=True)
        assert [e is None or e[0] is None for e in f.grad_fn.next_functions] == [
            e[0] is None for e in t.grad_fn.next_functions
        ]
    # mixed precision: each gradient comes back in its input's dtype
    check_op(lambda m, c, x, y: m.where(c, x, y), [c, a.astype(np.float32), b], uses_module=True)


def test_where_one_argument_and_nonzero():
    arrays = [
        np.array([[1.0, 0.0], [0.0, math.nan]]),
        np.array([0, 3, -1, 0]),
        np.array(3.0),
        np.array(0),
        np.zeros((0, 3)),
        np.array([[True, False, True]]),
        np.zeros((2, 0, 3)),
        np.ones((2, 1, 3)),
    ]
    for arr in arrays:
        fx, tx = fastnn.tensor(arr), torch.tensor(arr)
        for fn in (
            lambda m, x: m.nonzero(x),
            lambda m, x: x.nonzero(),
            lambda m, x: m.argwhere(x),
            lambda m, x: x.argwhere(),
        ):
            assert_close(fn(fastnn, fx), fn(torch, tx))
        for fn in (
            lambda m, x: m.where(x),
            lambda m, x: m.nonzero(x, as_tuple=True),
            lambda m, x: x.nonzero(as_tuple=True),
        ):
            f, t = fn(fastnn, fx), fn(torch, tx)
            assert isinstance(f, tuple) and len(f) == len(t)
            for a, b in zip(f, t):
                assert_close(a, b)
    x, _ = layout_input(_rng("nz"), (3, 4), "transposed", np.float32)
    x = np.round(x)
    assert_close(fastnn.tensor(x).t().nonzero(), torch.tensor(x).t().nonzero())
    assert not fastnn.tensor([1.0], requires_grad=True).nonzero().requires_grad


def test_where_errors():
    x = fastnn.ones(2)
    with pytest.raises(
        TypeError,
        match=r"\[where\] expected condition to be a boolean tensor, but got a tensor with "
        r"dtype float32",
    ):
        fastnn.where(fastnn.tensor([1.0, 0.0]), x, x)
    with pytest.raises(TypeError, match=r"\[where\] expected both input and other"):
        fastnn.where(x > 0, x)
    with pytest.raises(ValueError, match=r"\[where\]"):
        fastnn.where(x > 0, x, fastnn.ones(3))
    with pytest.raises(TypeError, match=r"\[where\]"):
        fastnn.where(x > 0, x, "a")
    with pytest.raises(TypeError, match=r"\[where\] expected both input and other"):
        fastnn.where(x > 0, None, x)


# ---------------------------------------------------------------------------------------------
# masked_fill


@pytest.mark.parametrize("value", [2.5, -1, True, math.nan, "0d"], ids=repr)
@pytest.mark.parametrize(
    "shapes",
    [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 4), (3, 1)), ((3, 4), ()), ((4,), (3, 4)), ((0, 2), (2,))],
    ids=str,
)
def test_masked_fill(shapes, value):
    rng = _rng("mf", shapes, value)
    x = rng.standard_normal(shapes[0]).astype(np.float32)
    m = rng.integers(0, 2, size=shapes[1]).astype(bool)
    if value == "0d":
        f, t = check_op(lambda x, m, v: x.masked_fill(m, v), [x, m, np.array(1.5)])
        assert f.grad_fn.name() == "MaskedFillBackward1" == t.grad_fn.name()
        if x.size:  # (gradcheck needs elements)
            gradcheck_op(lambda x, m, v: x.masked_fill(m, v), [x, m, np.array(1.5)])
        return
    f, t = check_op(lambda m_, x, m: m_.masked_fill(x, m, value), [x, m], uses_module=True)
    assert f.grad_fn.name() == "MaskedFillBackward0" == t.grad_fn.name()
    if x.size and not (isinstance(value, float) and math.isnan(value)):  # (numerical derivatives of nan are nan)
        gradcheck_op(lambda x, m: x.masked_fill(m, value), [x, m])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_masked_fill_layouts_dtypes(layout, dtype):
    rng = _rng("mfl", layout, dtype)
    x, px = layout_input(rng, (3, 4), layout, dtype)
    m, pm = layout_input(rng, (3, 4), "transposed", np.bool_)
    for value in (2, 1.7, True):
        check_op(lambda x, m: x.masked_fill(m, value), [x, m], prep=[px, pm])


def test_masked_fill_inplace():
    rng = _rng("mfi")
    x = rng.standard_normal((3, 4)).astype(np.float32)
    m = rng.integers(0, 2, size=(4,)).astype(bool)
    results = []
    for lib in (fastnn, torch):
        a = lib.tensor(x.copy())
        v = a._version
        assert a.masked_fill_(lib.tensor(m), -2.0) is a and a._version > v
        a.t().masked_fill_(lib.tensor(m[:3]), lib.tensor(7.0))  # through a view
        results.append(a)
    assert_close(*results)
    # autograd on a non-leaf, with a number and with a 0-d tensor value that requires grad
    for value in (3.0, "0d"):
        arrays = [x, m] + ([np.array(0.5)] if value == "0d" else [])
        fn = (
            (lambda a, mm, v: (a * 2).masked_fill_(mm, v))
            if value == "0d"
            else (lambda a, mm: (a * 2).masked_fill_(mm, value))
        )
        f, t = check_op(fn, arrays, atol=1e-5, rtol=1e-4)  # (the float64 value's gradient is a float32 sum)
        assert f.grad_fn.name() == t.grad_fn.name()
    for lib in (fastnn, torch):
        with pytest.raises((ValueError, RuntimeError), match="doesn't match the broadcast shape"):
            lib.zeros(3).masked_fill_(lib.ones(2, 3, dtype=lib.bool), 1)


def test_masked_fill_errors():
    x = fastnn.ones(2)
    with pytest.raises(
        TypeError, match=r"\[masked_fill\] only supports boolean masks, but got mask with dtype float32"
    ):
        x.masked_fill(fastnn.tensor([1.0, 0.0]), 1.0)
    with pytest.raises(
        ValueError,
        match=r"\[masked_fill\] only supports a 0-dimensional value tensor, but got tensor "
        r"with 1 dimension\(s\).",
    ):
        x.masked_fill(x > 0, fastnn.tensor([1.0]))
    with pytest.raises(ValueError, match=r"\[masked_fill\] value inf cannot be converted to type int64"):
        fastnn.tensor([1, 2]).masked_fill(fastnn.tensor([True, False]), math.inf)
    with pytest.raises(TypeError, match=r"\[masked_fill\] value must be a number or a 0-d Tensor, got str"):
        x.masked_fill(x > 0, "a")
    with pytest.raises(ValueError, match=r"\[masked_fill\]"):
        x.masked_fill(fastnn.ones(3) > 0, 1.0)


# ---------------------------------------------------------------------------------------------
# errors of the binary ops


def test_binary_errors():
    x = fastnn.ones(2)
    for name in ("maximum", "minimum", "atan2", "logical_and", "logical_or", "logical_xor"):
        with pytest.raises(TypeError, match=name):
            getattr(fastnn, name)(x, 1.0)  # a Tensor `other`, as torch
        with pytest.raises(ValueError, match=rf"\[{name}\]"):
            getattr(fastnn, name)(x, fastnn.ones(3))
    with pytest.raises(
        TypeError, match=r"\[remainder\] expected a Tensor as the input or the other operand, got two numbers"
    ):
        fastnn.remainder(5, 3)
    with pytest.raises(TypeError, match=r"\[fmod\] expected a Tensor or a number, got str"):
        x.fmod("a")
    with pytest.raises(TypeError):
        x % "a"
    with pytest.raises(TypeError, match=r"\[max\]"):
        fastnn.max(x, x, keepdim=True)
