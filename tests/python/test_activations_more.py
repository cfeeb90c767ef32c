"""The activations beyond ReLU/GELU against PyTorch: Mish, ELU, SELU, CELU, Hardtanh, ReLU6, Hardswish,
Hardsigmoid, PReLU, GLU, Tanhshrink, Softsign, Hardshrink, Softshrink, Threshold (functional, in-place
and module forms): values and gradients for both float dtypes and several layouts, the subgradients torch
picks at the kinks, grad_fn names, empty inputs, reprs, float64 gradchecks and argument errors."""

import fastnn
import fastnn.nn.functional as FF
import numpy as np
import pytest
from oracle import assert_close, check_op, gradcheck_op, layout_input, torch

rng = np.random.default_rng(11)

# name -> (callable on the functional module, torch grad_fn name)
ACTS = {
    "mish": (lambda F, x: F.mish(x), "MishBackward0"),
    "elu": (lambda F, x: F.elu(x), "EluBackward0"),
    "elu_alpha": (lambda F, x: F.elu(x, alpha=0.7), "EluBackward0"),
    "selu": (lambda F, x: F.selu(x), "EluBackward0"),
    "celu": (lambda F, x: F.celu(x, alpha=1.5), "CeluBackward0"),
    "hardtanh": (lambda F, x: F.hardtanh(x), "HardtanhBackward0"),
    "hardtanh_range": (lambda F, x: F.hardtanh(x, min_val=-0.5, max_val=1.5), "HardtanhBackward0"),
    "relu6": (lambda F, x: F.relu6(x * 4), "HardtanhBackward0"),
    "hardswish": (lambda F, x: F.hardswish(x * 3), "HardswishBackward0"),
    "hardsigmoid": (lambda F, x: F.hardsigmoid(x * 3), "HardsigmoidBackward0"),
    "tanhshrink": (lambda F, x: F.tanhshrink(x), "SubBackward0"),
    "softsign": (lambda F, x: F.softsign(x), "DivBackward0"),
    "hardshrink": (lambda F, x: F.hardshrink(x), "HardshrinkBackward0"),
    "hardshrink_lambd": (lambda F, x: F.hardshrink(x, 1.2), "HardshrinkBackward0"),
    "softshrink": (lambda F, x: F.softshrink(x), "SoftshrinkBackward0"),
    "softshrink_lambd": (lambda F, x: F.softshrink(x, lambd=0.25), "SoftshrinkBackward0"),
    "threshold": (lambda F, x: F.threshold(x, 0.3, -2.0), "ThresholdBackward0"),
    "glu": (lambda F, x: F.glu(x), "GluBackward0"),
    "glu_dim0": (lambda F, x: F.glu(x, 0), "GluBackward0"),
}


def fn_of(name):
    f = ACTS[name][0]
    return lambda lib, x: f(lib.nn.functional, x)


@pytest.mark.parametrize("name", sorted(ACTS))
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_backward(name, layout, dtype):
    arr, prep = layout_input(rng, (4, 6), layout, dtype, low=-4, high=4)
    check_op(fn_of(name), [arr], prep=prep, uses_module=True)


@pytest.mark.parametrize("name", sorted(ACTS))
def test_grad_fn_name(name):
    x = fastnn.randn(4, 6, requires_grad=True)
    t = torch.randn(4, 6, requires_grad=True)
    assert ACTS[name][0](torch.nn.functional, t).grad_fn.name() == ACTS[name][1]
    assert ACTS[name][0](FF, x).grad_fn.name() == ACTS[name][1]


KINKS = np.array(
    [
        -6.0,
        -3.0,
        -1.5,
        -1.2,
        -1.0,
        -0.5,
        -0.3,
        0.0,
        0.25,
        0.3,
        0.5,
        1.0,
        1.2,
        1.5,
        3.0,
        6.0,
        7.0,
        -0.25,
        np.inf,
        -np.inf,
    ],
    dtype=np.float64,
)


@pytest.mark.parametrize("name", sorted(n for n in ACTS if not n.startswith("glu")))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kinks(name, dtype):
    """Inputs exactly at every kink (0, +-lambd, the hardtanh bounds, +-3, the threshold): torch's subgradients."""
    f = fn_of(name)
    x = KINKS.astype(dtype)
    if name in ("relu6",):
        x = x / 4
    if name in ("hardswish", "hardsigmoid"):
        x = x / 3
    if name in ("mish", "softsign", "tanhshrink"):
        x = x[np.isfinite(x)]  # nan gradients at +-inf on both sides, compared elsewhere
    check_op(f, [x], uses_module=True)


@pytest.mark.parametrize("name", sorted(ACTS))
def test_empty(name):
    shape = (0, 4)
    check_op(fn_of(name), [np.zeros(shape, np.float32)], uses_module=True)


@pytest.mark.parametrize("name", sorted(ACTS))
def test_gradcheck(name):
    x = rng.uniform(-4, 4, (4, 4))
    # keep away from kinks, where finite differences straddle two pieces
    x = np.where(np.abs(np.abs(x) - np.round(np.abs(x) * 4) / 4) < 0.02, x + 0.05, x)
    gradcheck_op(lambda t: ACTS[name][0](FF, t), [x])


# float32 runs vectorised kernels (fastnn's own exp/expm1/log1p arithmetic, per instruction set); long inputs cover
# the vector lanes and the scalar tail, every piece of each formula and the special values.
VECTORISED = {
    "silu": lambda F, x: F.silu(x),
    "logsigmoid": lambda F, x: F.logsigmoid(x),
    "mish": lambda F, x: F.mish(x),
    "softplus": lambda F, x: F.softplus(x),
    "softplus_beta": lambda F, x: F.softplus(x, beta=2.5, threshold=7),
    "elu": lambda F, x: F.elu(x, alpha=0.7),
    "selu": lambda F, x: F.selu(x),
    "celu": lambda F, x: F.celu(x, alpha=1.5),
    "gelu": lambda F, x: F.gelu(x),
    "gelu_tanh": lambda F, x: F.gelu(x, approximate="tanh"),
}


@pytest.mark.parametrize("name", sorted(VECTORISED))
def test_long_float32_inputs_match_torch(name):
    f = VECTORISED[name]
    x = np.random.default_rng(5).uniform(-25, 25, 1037).astype(np.float32)
    x[:12] = [0.0, -0.0, 0.7, -0.7, 2.8, 2.8000002, 20.0, 20.000002, 1e-30, -1e-30, 1e10, -1e10]
    atol = 1e-6 if name == "gelu_tanh" else 1e-7  # 1 + tanh cancels below -3 in both (torch's float gives 0 there)
    check_op(lambda lib, t: f(lib.nn.functional, t), [x], atol=atol, rtol=2e-6, uses_module=True)
    special = np.array([np.inf, -np.inf, np.nan, 88.0, -88.0, -104.0, 120.0], np.float32)
    if name == "gelu":
        # torch's vectorised GELU gives NaN at +inf on some machines (its scalar path, and fastnn, the limit inf)
        assert FF.gelu(fastnn.tensor([np.inf] * 20)).numpy().tolist() == [np.inf] * 20
        special = special[1:]
    check_op(lambda lib, t: f(lib.nn.functional, t), [np.concatenate([x[:40], special])], grad=False, uses_module=True)


PIECEWISE = {
    "hardtanh": lambda F, x: F.hardtanh(x, -0.7, 1.3),
    "relu6": lambda F, x: F.relu6(x),
    "leaky_relu": lambda F, x: F.leaky_relu(x, 0.03),
    "hardshrink": lambda F, x: F.hardshrink(x, 0.3),
    "softshrink": lambda F, x: F.softshrink(x, 0.3),
    "threshold": lambda F, x: F.threshold(x, 0.1, -3.0),
}


@pytest.mark.parametrize("name", sorted(PIECEWISE))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_piecewise_activations_match_torch_bitwise(name, dtype):
    """Selects and one product or difference in the input's dtype, as torch: the same bits, gradients too."""
    f = PIECEWISE[name]
    x = np.random.default_rng(6).uniform(-8, 8, 1029).astype(dtype)
    x[:10] = [0.0, -0.0, 0.3, -0.3, -0.7, 1.3, 6.0, 0.1, np.inf, -np.inf]
    x[10] = np.nan
    g = np.random.default_rng(7).standard_normal(x.shape).astype(dtype)
    out = []
    for lib in (fastnn, torch):
        t = lib.tensor(x, requires_grad=True)
        y = f(lib.nn.functional, t)
        y.backward(lib.tensor(g))
        out.append((y.detach().numpy(), t.grad.numpy()))
    for ours, theirs in zip(*out):
        np.testing.assert_array_equal(ours, theirs)


# ---- in place ----

INPLACE = {
    "elu": (lambda F, x: F.elu(x, 0.5, inplace=True), lambda F, x: F.elu_(x, 0.5)),
    "selu": (lambda F, x: F.selu(x, inplace=True), lambda F, x: F.selu_(x)),
    "celu": (lambda F, x: F.celu(x, 2.0, inplace=True), lambda F, x: F.celu_(x, 2.0)),
    "hardtanh": (lambda F, x: F.hardtanh(x, -0.5, 0.5, inplace=True), lambda F, x: F.hardtanh_(x, -0.5, 0.5)),
    "threshold": (lambda F, x: F.threshold(x, 0.1, 5.0, inplace=True), lambda F, x: F.threshold_(x, 0.1, 5.0)),
    "relu6": (lambda F, x: F.relu6(x, inplace=True), None),
    "hardswish": (lambda F, x: F.hardswish(x, inplace=True), None),
    "hardsigmoid": (lambda F, x: F.hardsigmoid(x, inplace=True), None),
    "mish": (lambda F, x: F.mish(x, inplace=True), None),
}


@pytest.mark.parametrize("name,variant", [(n, v) for n in sorted(INPLACE) for v in (0, 1) if INPLACE[n][v]])
def test_inplace(name, variant):
    f = INPLACE[name][variant]
    arr = rng.uniform(-3, 3, (3, 5)).astype(np.float32)

    def run(lib):
        leaf = lib.tensor(arr.copy(), requires_grad=True)
        y = leaf * 2  # a non-leaf, so the in-place write is allowed under autograd
        out = f(lib.nn.functional, y)
        assert out is y
        names.append(out.grad_fn.name())
        out.sum().backward()
        return out.detach(), leaf.grad

    names = []
    (fo, fg), (to, tg) = run(fastnn), run(torch)
    assert names[0] == names[1]  # torch's in-place node names (EluBackward1, ThresholdBackward1, ...)
    assert_close(fo, to)
    assert_close(fg, tg)
    # without autograd the input itself is overwritten
    x, t = fastnn.tensor(arr.copy()), torch.tensor(arr.copy())
    f(FF, x)
    f(torch.nn.functional, t)
    assert_close(x, t)


def test_inplace_leaf_refused():
    x = fastnn.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        FF.elu(x, inplace=True)


# ---- PReLU ----


@pytest.mark.parametrize(
    "shape,nw", [((4, 3), 3), ((2, 3, 5), 3), ((2, 3, 2, 2), 3), ((2, 3, 2, 2), 1), ((5,), 1), ((), 1), ((0, 3), 3)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prelu(shape, nw, dtype):
    x = rng.uniform(-2, 2, shape).astype(dtype)
    if x.size:
        x.reshape(-1)[0] = 0.0  # the kink: torch gives the negative side's slope to x, nothing to the weight
    w = rng.uniform(-0.5, 0.5, (nw,)).astype(dtype)
    _, t = check_op(lambda lib, a, b: lib.nn.functional.prelu(a, b), [x, w], uses_module=True)
    assert type(t.grad_fn).__name__ == "PreluKernelBackward0"


def test_prelu_noncontiguous_and_gradcheck():
    x, prep = layout_input(rng, (3, 4), "transposed", np.float32)
    w = rng.uniform(0.1, 0.3, (4,)).astype(np.float32)
    check_op(lambda lib, a, b: lib.nn.functional.prelu(a, b), [x, w], prep=[prep, None], uses_module=True)
    gradcheck_op(lambda a, b: FF.prelu(a, b), [rng.uniform(-2, 2, (2, 3, 4)), rng.uniform(0, 1, (3,))])
    gradcheck_op(lambda a, b: FF.prelu(a, b), [rng.uniform(-2, 2, (2, 3)), rng.uniform(0, 1, (1,))])
    y = FF.prelu(fastnn.randn(2, 3, requires_grad=True), fastnn.ones(3, requires_grad=True))
    assert y.grad_fn.name() == "PreluKernelBackward0"


@pytest.mark.slow
def test_prelu_module_training():
    torch.manual_seed(3)
    ref = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.PReLU(6), torch.nn.Linear(6, 3), torch.nn.PReLU())
    net = fastnn.nn.Sequential(fastnn.nn.Linear(4, 6), fastnn.nn.PReLU(6), fastnn.nn.Linear(6, 3), fastnn.nn.PReLU())
    assert [k for k in net.state_dict()] == [k for k in ref.state_dict()]
    net.load_state_dict({k: fastnn.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = rng.standard_normal((8, 3)).astype(np.float32)
    opt_f = fastnn.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for _ in range(5):
        for model, opt, lib in ((net, opt_f, fastnn), (ref, opt_t, torch)):
            opt.zero_grad()
            loss = lib.nn.functional.mse_loss(model(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
    for (k, a), (_, b) in zip(net.state_dict().items(), ref.state_dict().items()):
        assert_close(a, b, what=k)


def test_prelu_errors():
    with pytest.raises(
        ValueError,
        match=r"\[prelu\] Mismatch of parameter numbers and input channel size. Found "
        r"parameter numbers = 4 and channel size = 3",
    ):
        FF.prelu(fastnn.randn(2, 3), fastnn.ones(4))
    with pytest.raises(ValueError, match=r"\[prelu\] Expected `weight` to be a scalar or 1D tensor, but got: ndim = 2"):
        FF.prelu(fastnn.randn(2, 3), fastnn.ones(1, 3))
    with pytest.raises(TypeError, match=r"\[prelu\] Type promoting not supported. Got float32 and float64"):
        FF.prelu(fastnn.randn(2, 3), fastnn.ones(3, dtype=fastnn.float64))
    with pytest.raises(
        ValueError,
        match=r"\[prelu\] Mismatch of parameter numbers and input channel size. Found "
        r"parameter numbers = 5 and channel size = 1",
    ):
        FF.prelu(fastnn.randn(5), fastnn.ones(5))
    with pytest.raises(ValueError, match=r"\[prelu\] Not allow zero-dim input tensor"):
        FF.prelu(fastnn.tensor(1.0), fastnn.ones(2))
    with pytest.raises(TypeError, match=r"\[prelu\] weight must be a Tensor"):
        FF.prelu(fastnn.randn(2, 3), 0.25)


# ---- GLU ----


def test_glu_errors():
    with pytest.raises(ValueError, match=r"\[glu\] Halving dimension must be even, but dimension 1 is size 3"):
        FF.glu(fastnn.randn(2, 3), 1)
    with pytest.raises(ValueError, match=r"\[glu\] glu does not support scalars"):
        FF.glu(fastnn.tensor(1.0))
    with pytest.raises(IndexError, match=r"\[glu\]"):
        FF.glu(fastnn.randn(2, 4), 2)
    with pytest.raises(TypeError, match=r"\[glu\] dim must be an int"):
        FF.glu(fastnn.randn(2, 4), 1.0)


# ---- argument errors ----


def test_argument_errors():
    x = fastnn.randn(3)
    with pytest.raises(ValueError, match=r"\[hardtanh\] min_val cannot be greater than max_val"):
        FF.hardtanh(x, 2.0, 1.0)
    with pytest.raises(ValueError, match=r"\[Hardtanh\] min_val cannot be greater than max_val"):
        fastnn.nn.Hardtanh(2.0, 1.0)
    with pytest.raises(ValueError, match=r"\[softshrink\] lambda must be greater or equal to 0, but found to be -1"):
        FF.softshrink(x, -1.0)
    with pytest.raises(ValueError, match=r"\[celu\] ZeroDivisionError: alpha cannot be 0 for CELU"):
        FF.celu(x, 0.0)
    with pytest.raises(TypeError, match=r"\[elu\] alpha must be a number"):
        FF.elu(x, "1")
    with pytest.raises(TypeError, match=r"\[threshold\] input must be a Tensor"):
        FF.threshold([1.0], 0.1, 2.0)
    with pytest.raises(TypeError, match=r"\[elu\] expected a floating-point input, got int64"):
        FF.elu(fastnn.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"\[selu\] inplace must be a bool"):
        FF.selu(x, inplace="yes")


def test_hardshrink_negative_lambd_as_torch():
    arr = np.linspace(-2, 2, 9).astype(np.float32)
    check_op(lambda lib, a: lib.nn.functional.hardshrink(a, -0.5), [arr], uses_module=True)


def test_nan_propagates():
    arr = np.array([np.nan, 1.0, -1.0], np.float32)
    for name in (
        "elu",
        "celu",
        "selu",
        "hardtanh",
        "hardshrink",
        "softshrink",
        "threshold",
        "mish",
        "hardswish",
        "hardsigmoid",
    ):
        check_op(fn_of(name), [arr], uses_module=True, grad=False)


# ---- modules ----

MODULES = [
    ("Mish", (), {}),
    ("Mish", (), {"inplace": True}),
    ("ELU", (), {}),
    ("ELU", (0.5, True), {}),
    ("SELU", (), {}),
    ("SELU", (True,), {}),
    ("CELU", (2.0,), {}),
    ("CELU", (), {"inplace": True}),
    ("Hardtanh", (), {}),
    ("Hardtanh", (-2, 3, True), {}),
    ("ReLU6", (), {}),
    ("ReLU6", (True,), {}),
    ("Hardswish", (), {}),
    ("Hardswish", (True,), {}),
    ("Hardsigmoid", (), {}),
    ("Hardsigmoid", (True,), {}),
    ("PReLU", (), {}),
    ("PReLU", (3,), {"init": 0.1}),
    ("GLU", (), {}),
    ("GLU", (0,), {}),
    ("Tanhshrink", (), {}),
    ("Softsign", (), {}),
    ("Hardshrink", (), {}),
    ("Hardshrink", (0.3,), {}),
    ("Softshrink", (), {}),
    ("Softshrink", (), {"lambd": 1.0}),
    ("Threshold", (0.1, 20), {}),
    ("Threshold", (0.1, 2.0, True), {}),
]


@pytest.mark.parametrize("name,args,kwargs", MODULES)
def test_modules(name, args, kwargs):
    ours, theirs = getattr(fastnn.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert [k for k in ours.state_dict()] == [k for k in theirs.state_dict()]
    arr = rng.uniform(-3, 3, (2, 3, 4)).astype(np.float32)
    fo, to = ours(fastnn.tensor(arr) * 1), theirs(torch.tensor(arr) * 1)
    assert_close(fo, to)
    for k, v in theirs.state_dict().items():
        assert_close(ours.state_dict()[k], v, what=k)


def test_hardtanh_deprecated_names():
    with pytest.warns(FutureWarning, match="min_value"):
        m = fastnn.nn.Hardtanh(min_value=-2.0)
    assert m.min_val == -2.0


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_gradcheck(name):
    """The in-place nodes (EluBackward1, CeluBackward1, ThresholdBackward1, ...) in float64."""
    x = rng.uniform(-3, 3, (3, 4))
    x = np.where(np.abs(x) < 0.05, 0.3, x)  # away from the kinks (0 for elu/celu/threshold 0.1)
    gradcheck_op(lambda t: INPLACE[name][0](FF, t * 1.0), [x])
