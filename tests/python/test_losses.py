"""Loss modules against PyTorch: NLLLoss, CrossEntropyLoss, BCELoss, BCEWithLogitsLoss, L1Loss,
SmoothL1Loss and MSELoss with every reduction, contiguous and non-contiguous inputs, gradients w.r.t.
input and target, grad_fn names, edge values, argument errors and float64 gradchecks."""

import math

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as FF
from oracle import check_op, to_numpy, torch


rng = np.random.default_rng(77)
REDUCTIONS = ["none", "mean", "sum"]


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def probs(*shape, dtype=np.float32, low=0.02, high=0.98):
    return rng.uniform(low, high, shape).astype(dtype)


def classes(shape, C, ignore=None, every=3):
    t = rng.integers(0, C, size=shape).astype(np.int64)
    if ignore is not None:
        t.reshape(-1)[::every] = ignore
    return np.asarray(t)


def transposed(lib, x):
    return x.transpose(0, 1)


def strided(lib, x):
    return x[..., ::2]


def check_loss(make, arrays, prep=None, **kw):
    """check_op on `make(lib)(*inputs)`, then the same grad_fn name as torch."""
    f, t = check_op(lambda m, *xs: make(m)(*xs), arrays, prep=prep, uses_module=True, **kw)
    assert (f.grad_fn is None) == (t.grad_fn is None)
    if t.grad_fn is not None:
        assert f.grad_fn.name() == t.grad_fn.name()
    return f, t


def gradcheck(fn, inputs, **kw):
    assert fastnn.autograd.gradcheck(fn, inputs, **kw)


def f64(a):
    return fastnn.tensor(np.asarray(a, np.float64), dtype=fastnn.float64).requires_grad_(True)


# ---------------------------------------------------------------------------------------------
# MSELoss, L1Loss, SmoothL1Loss: input and target gradients
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
@pytest.mark.parametrize(
    "loss,kw",
    [
        ("MSELoss", {}),
        ("L1Loss", {}),
        ("SmoothL1Loss", {}),
        ("SmoothL1Loss", dict(beta=0.5)),
        ("SmoothL1Loss", dict(beta=2.0)),
        ("SmoothL1Loss", dict(beta=0.0)),
    ],
)
def test_regression_losses(loss, kw, reduction, layout):
    shape = {"contiguous": (4, 6), "transposed": (6, 4), "strided": (4, 12)}[layout]
    prep = {"contiguous": None, "transposed": transposed, "strided": strided}[layout]
    x, y = randn(*shape) * 2, randn(*shape) * 2
    x.reshape(-1)[::7] = y.reshape(-1)[::7]  # some exact ties: the kink of |d|
    check_loss(lambda m: getattr(m.nn, loss)(reduction=reduction, **kw), [x, y], prep=prep)


@pytest.mark.parametrize(
    "loss,kw", [("MSELoss", {}), ("L1Loss", {}), ("SmoothL1Loss", dict(beta=0.3)), ("SmoothL1Loss", dict(beta=0.0))]
)
def test_regression_losses_float64_target_only_and_4d(loss, kw):
    for reduction in REDUCTIONS:
        check_loss(
            lambda m: getattr(m.nn, loss)(reduction=reduction, **kw),
            [randn(2, 3, 4, 5, dtype=np.float64), randn(2, 3, 4, 5, dtype=np.float64)],
        )
        # only the input requires grad: the target gets none
        check_loss(
            lambda m: lambda x, y: getattr(m.nn, loss)(reduction=reduction, **kw)(x, y.detach()),
            [randn(5, 3), randn(5, 3)],
        )
        # only the target requires grad
        check_loss(
            lambda m: lambda x, y: getattr(m.nn, loss)(reduction=reduction, **kw)(x.detach(), y),
            [randn(5, 3), randn(5, 3)],
        )


@pytest.mark.parametrize("fn", ["mse_loss", "smooth_l1_loss"])
def test_regression_losses_mixed_dtypes_promote_like_torch(fn):
    # float32 input, float64 target: the loss in float64, each gradient in its operand's dtype
    x, y = randn(4, 3), randn(4, 3, dtype=np.float64)
    ours, theirs = check_loss(lambda m: getattr(m.nn.functional, fn), [x, y])
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]


@pytest.mark.parametrize("fn", ["l1_loss", "smooth_l1_loss", "mse_loss"])
def test_regression_losses_broadcast_warn_like_torch(fn):
    x, y = randn(4, 3), randn(3)
    with pytest.warns(UserWarning, match="Using a target size .* that is different to the input size"):
        getattr(FF, fn)(fastnn.tensor(x), fastnn.tensor(y))
    with pytest.warns(UserWarning):
        check_loss(lambda m: getattr(m.nn.functional, fn), [x, y])
        check_loss(lambda m: getattr(m.nn.functional, fn), [randn(1, 3), randn(4, 1)])


def test_smooth_l1_values_at_beta_boundary():
    # |d| == beta is on the linear side in torch
    x = np.array([0.0, 0.5, -0.5, 1.0, 1.5, -2.0], np.float64)
    check_loss(lambda m: m.nn.SmoothL1Loss(reduction="none", beta=0.5), [x, np.zeros(6)])
    f = FF.smooth_l1_loss(fastnn.tensor(x), fastnn.zeros(6, dtype=fastnn.float64), reduction="none", beta=0.5)
    np.testing.assert_allclose(to_numpy(f), [0.0, 0.25, 0.25, 0.75, 1.25, 1.75])


def test_regression_losses_empty():
    for loss in ("MSELoss", "L1Loss", "SmoothL1Loss"):
        for reduction in REDUCTIONS:
            check_loss(lambda m: getattr(m.nn, loss)(reduction=reduction), [randn(0, 3), randn(0, 3)])


def test_regression_loss_errors():
    x = fastnn.ones(3)
    with pytest.raises(ValueError, match="bogus is not a valid value for reduction"):
        fastnn.nn.L1Loss(reduction="bogus")(x, x)
    with pytest.raises(ValueError, match=r"\[smooth_l1_loss\] beta must be non-negative, got -1"):
        FF.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(ValueError, match=r"\[l1_loss\]"), pytest.warns(UserWarning, match="target size"):
        FF.l1_loss(fastnn.ones(3), fastnn.ones(4))


# ---------------------------------------------------------------------------------------------
# BCELoss
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_bce(reduction, layout):
    prep = transposed if layout == "transposed" else None
    x, t = probs(5, 4), probs(5, 4)
    check_loss(lambda m: m.nn.BCELoss(reduction=reduction), [x, t], prep=prep)
    # hard 0/1 targets, target without grad
    hard = rng.integers(0, 2, (5, 4)).astype(np.float32)
    check_loss(lambda m: lambda x, y: m.nn.BCELoss(reduction=reduction)(x, y.detach()), [x, hard], prep=prep)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_weight(reduction):
    x, t = probs(4, 3), probs(4, 3)
    for w in (np.abs(randn(4, 3)) + 0.1, np.abs(randn(3)) + 0.1):  # full and broadcast weights
        check_loss(
            lambda m: lambda x, t, w: m.nn.BCELoss(weight=w.detach(), reduction=reduction)(x, t),
            [x, t, w.astype(np.float32)],
        )
    check_loss(
        lambda m: lambda x, t, w: m.nn.functional.binary_cross_entropy(x, t, w.detach(), reduction=reduction),
        [probs(2, 3, 4, dtype=np.float64), probs(2, 3, 4, dtype=np.float64), np.abs(randn(4, dtype=np.float64))],
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_inputs_at_zero_and_one(dtype):
    # log terms are clamped at -100, so exact 0 and 1 give finite losses (torch's values)
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.3], dtype)
    t = np.array([0.0, 1.0, 1.0, 0.0, 0.4, 0.7, 0.3], dtype)
    for reduction in REDUCTIONS:
        f, _ = check_loss(lambda m: lambda x, t: m.nn.BCELoss(reduction=reduction)(x, t.detach()), [x, t])
    np.testing.assert_allclose(
        to_numpy(FF.binary_cross_entropy(fastnn.tensor(x), fastnn.tensor(t), reduction="none")),
        [0, 0, 100, 100, 40, 30, -(0.3 * math.log(0.3) + 0.7 * math.log(0.7))],
        rtol=1e-6,
    )
    # the target gradient, -logit(x), is infinite at exact 0 and 1 in torch
    for reduction in REDUCTIONS:
        check_loss(lambda m: m.nn.BCELoss(reduction=reduction), [x, t])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_tiny_inputs_keep_relative_accuracy(dtype):
    # -log(1 - x) for tiny x is x (torch uses log1p): a loss of 1e-9 must not round to 0
    x = np.array([1e-9, 3e-8, 1e-6, 1e-4], dtype)
    out = FF.binary_cross_entropy(fastnn.tensor(x), fastnn.zeros(4, dtype=fastnn.tensor(x).dtype), reduction="none")
    np.testing.assert_allclose(to_numpy(out), -np.log1p(-x.astype(np.float64)), rtol=1e-6)
    check_loss(lambda m: m.nn.BCELoss(reduction="none"), [x, np.zeros(4, dtype)])


def test_bce_errors():
    with pytest.raises(ValueError, match=r"\[binary_cross_entropy\] all elements of input should be between 0 and 1"):
        FF.binary_cross_entropy(fastnn.tensor(np.array([0.5, 1.5], np.float32)), fastnn.ones(2))
    with pytest.raises(ValueError, match=r"all elements of input should be between 0 and 1"):
        fastnn.nn.BCELoss()(fastnn.tensor(np.array([-0.1, 0.5], np.float32)), fastnn.ones(2))
    with pytest.raises(ValueError, match=r"Using a target size .* that is different to the input size"):
        FF.binary_cross_entropy(fastnn.full((3, 2), 0.5), fastnn.ones(2))


# ---------------------------------------------------------------------------------------------
# BCEWithLogitsLoss
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
def test_bce_with_logits(reduction, layout):
    shape = {"contiguous": (5, 4), "transposed": (4, 5), "strided": (5, 8)}[layout]
    prep = {"contiguous": None, "transposed": transposed, "strided": strided}[layout]
    check_loss(lambda m: m.nn.BCEWithLogitsLoss(reduction=reduction), [randn(*shape) * 3, probs(*shape)], prep=prep)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_weight_and_pos_weight(reduction):
    x, t = randn(6, 4) * 3, probs(6, 4)
    w, pw = np.abs(randn(6, 4)) + 0.1, np.abs(randn(4)) + 0.2
    check_loss(
        lambda m: lambda x, t, w: m.nn.BCEWithLogitsLoss(weight=w.detach(), reduction=reduction)(x, t), [x, t, w]
    )
    check_loss(
        lambda m: lambda x, t, pw: m.nn.BCEWithLogitsLoss(pos_weight=pw.detach(), reduction=reduction)(x, t), [x, t, pw]
    )
    check_loss(
        lambda m: (
            lambda x, t, w, pw: m.nn.BCEWithLogitsLoss(
                weight=w.detach()[0], pos_weight=pw.detach(), reduction=reduction
            )(x, t)
        ),
        [x, t, w, pw],
    )
    check_loss(
        lambda m: (
            lambda x, t, pw: m.nn.functional.binary_cross_entropy_with_logits(
                x.transpose(0, 1), t.transpose(0, 1), pos_weight=pw.detach(), reduction=reduction
            )
        ),
        [randn(4, 6, dtype=np.float64), probs(4, 6, dtype=np.float64), np.abs(randn(6, 1, dtype=np.float64))],
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_extreme_logits_stay_finite(dtype):
    x = np.array([-100.0, 100.0, -100.0, 100.0, -1e4, 1e4, 0.0, 40.0, -40.0], dtype)
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.5, 1.0, 0.0], dtype)
    pw = np.array([2.0, 0.5, 3.0, 1.0, 1.5, 2.5, 1.0, 4.0, 0.1], dtype)
    for reduction in REDUCTIONS:
        f, _ = check_loss(lambda m: m.nn.BCEWithLogitsLoss(reduction=reduction), [x, t])
        assert np.all(np.isfinite(to_numpy(f)))
        f, _ = check_loss(
            lambda m: lambda x, t, pw: m.nn.BCEWithLogitsLoss(pos_weight=pw.detach(), reduction=reduction)(x, t),
            [x, t, pw],
        )
        assert np.all(np.isfinite(to_numpy(f)))
    out = to_numpy(FF.binary_cross_entropy_with_logits(fastnn.tensor(x), fastnn.tensor(t), reduction="none"))
    np.testing.assert_allclose(out[:6], [100, 100, 0, 0, 1e4, 1e4], rtol=1e-6, atol=1e-30)


def test_bce_with_logits_errors():
    with pytest.raises(ValueError, match=r"Target size \(\[?\(?2\]?,?\)?\) must be the same as input size"):
        FF.binary_cross_entropy_with_logits(fastnn.ones(3, 2), fastnn.ones(2))


# ---------------------------------------------------------------------------------------------
# NLLLoss / CrossEntropyLoss modules
# ---------------------------------------------------------------------------------------------
def log_probs(*shape, dim=1):
    x = randn(*shape)
    return (x - np.log(np.exp(x).sum(axis=dim, keepdims=True))).astype(np.float32)


NLL_SHAPES = [
    ((6, 5), (6,)),
    ((5,), ()),
    ((2, 5, 3), (2, 3)),
    ((2, 5, 3, 2), (2, 3, 2)),
    ((2, 5, 2, 2, 2), (2, 2, 2, 2)),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("xs,ts", NLL_SHAPES)
def test_nll_loss_module(xs, ts, reduction):
    C = 5
    x = log_probs(*xs, dim=0 if len(xs) == 1 else 1)
    w = np.abs(randn(C)) + 0.1
    check_loss(lambda m: m.nn.NLLLoss(reduction=reduction), [x, classes(ts, C)])
    check_loss(
        lambda m: lambda x, t, w: m.nn.NLLLoss(weight=w.detach(), reduction=reduction)(x, t), [x, classes(ts, C), w]
    )
    if ts:
        check_loss(
            lambda m: lambda x, t, w: m.nn.NLLLoss(weight=w.detach(), ignore_index=3, reduction=reduction)(x, t),
            [x, classes(ts, C, ignore=3), w],
        )


def test_class_losses_empty_batch_with_spatial_dims():
    for reduction in REDUCTIONS:
        for xs, ts in [((0, 4, 3), (0, 3)), ((0, 4, 2, 2, 2), (0, 2, 2, 2)), ((2, 4, 0), (2, 0))]:
            check_loss(lambda m: m.nn.NLLLoss(reduction=reduction), [randn(*xs), classes(ts, 4)])
            check_loss(lambda m: m.nn.CrossEntropyLoss(reduction=reduction), [randn(*xs), classes(ts, 4)])


def test_nll_loss_non_contiguous():
    x = log_probs(5, 6, dim=0)  # transposed below: (6, 5) with class dim 1
    for reduction in REDUCTIONS:
        check_loss(
            lambda m: m.nn.NLLLoss(reduction=reduction), [x, classes((6,), 5, ignore=-100)], prep=[transposed, None]
        )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("xs,ts", NLL_SHAPES)
def test_cross_entropy_module(xs, ts, reduction):
    C = 5
    x = randn(*xs) * 2
    w = np.abs(randn(C)) + 0.1
    check_loss(lambda m: m.nn.CrossEntropyLoss(reduction=reduction), [x, classes(ts, C)])
    check_loss(
        lambda m: (
            lambda x, t, w: m.nn.CrossEntropyLoss(weight=w.detach(), reduction=reduction, label_smoothing=0.15)(x, t)
        ),
        [x, classes(ts, C), w],
    )
    if ts:
        check_loss(
            lambda m: (
                lambda x, t, w: m.nn.CrossEntropyLoss(weight=w.detach(), ignore_index=1, reduction=reduction)(x, t)
            ),
            [x, classes(ts, C, ignore=1), w],
        )
        check_loss(
            lambda m: (
                lambda x, t, w: m.nn.CrossEntropyLoss(
                    weight=w.detach(), ignore_index=-100, label_smoothing=0.3, reduction=reduction
                )(x, t)
            ),
            [x, classes(ts, C, ignore=-100), w],
        )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("xs", [(4, 5), (5,), (2, 5, 3), (2, 5, 2, 3)])
def test_cross_entropy_probability_targets_module(xs, reduction):
    C = 5
    dim = 0 if len(xs) == 1 else 1
    p = np.exp(randn(*xs))
    p = (p / p.sum(axis=dim, keepdims=True)).astype(np.float32)
    w = np.abs(randn(C)) + 0.1
    # the target is differentiable too (torch gives it a gradient)
    check_loss(lambda m: m.nn.CrossEntropyLoss(reduction=reduction), [randn(*xs), p])
    check_loss(
        lambda m: (
            lambda x, p, w: m.nn.CrossEntropyLoss(weight=w.detach(), label_smoothing=0.2, reduction=reduction)(x, p)
        ),
        [randn(*xs), p, w],
    )


def test_cross_entropy_non_contiguous_and_float64():
    C = 4
    for reduction in REDUCTIONS:
        check_loss(
            lambda m: m.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1),
            [randn(C, 6, dtype=np.float64), classes((6,), C, ignore=-100)],
            prep=[transposed, None],
        )
        check_loss(
            lambda m: m.nn.CrossEntropyLoss(reduction=reduction),
            [randn(2, C, 3, 8), classes((2, C - 1, 4), C)],
            prep=[strided, None],
        )
        check_loss(
            lambda m: m.nn.CrossEntropyLoss(reduction=reduction), [randn(6, C), randn(C, 6)], prep=[None, transposed]
        )


def test_cross_entropy_large_logits_stable():
    x = np.array([[1000.0, -1000.0, 0.0], [-500.0, 500.0, 499.0]], np.float32)
    t = np.array([0, 2])
    f, _ = check_loss(lambda m: m.nn.CrossEntropyLoss(), [x, t])
    assert np.isfinite(float(f))


def test_class_loss_errors():
    x = fastnn.ones(3, 4)
    with pytest.raises(IndexError, match=r"\[nll_loss\] Target 7 is out of bounds"):
        fastnn.nn.CrossEntropyLoss()(x, fastnn.tensor(np.array([0, 7, 1])))
    with pytest.raises(ValueError, match=r"\[cross_entropy\] probability target must have the input's shape"):
        fastnn.nn.CrossEntropyLoss()(x, fastnn.ones(3, 5))
    with pytest.raises(ValueError, match=r"label_smoothing must be between 0.0 and 1.0. Got: -0.1"):
        fastnn.nn.CrossEntropyLoss(label_smoothing=-0.1)(x, fastnn.tensor(np.array([0, 1, 1])))


def test_loss_module_state_and_repr():
    w = fastnn.ones(3)
    ce = fastnn.nn.CrossEntropyLoss(weight=w, ignore_index=2, label_smoothing=0.1)
    assert ce.weight is w and ce.ignore_index == 2 and ce.label_smoothing == 0.1 and ce.reduction == "mean"
    assert list(ce.state_dict()) == list(torch.nn.CrossEntropyLoss(weight=torch.ones(3)).state_dict()) == ["weight"]
    bl = fastnn.nn.BCEWithLogitsLoss(pos_weight=fastnn.ones(3))
    tb = torch.nn.BCEWithLogitsLoss(pos_weight=torch.ones(3))
    assert [k for k, _ in bl.named_buffers()] == [k for k, _ in tb.named_buffers()]
    for name in ("NLLLoss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss", "L1Loss", "SmoothL1Loss", "MSELoss"):
        assert repr(getattr(fastnn.nn, name)()) == repr(getattr(torch.nn, name)())
        # torch's deprecated size_average/reduce pair still maps to a reduction, with torch's warning
        for kw in (dict(reduce=False), dict(size_average=False), dict(size_average=True, reduce=True)):
            with pytest.warns(
                UserWarning,
                match="size_average and reduce args will be deprecated, please use "
                r"reduction='(none|sum|mean)' instead",
            ):
                ours, theirs = getattr(fastnn.nn, name)(**kw).reduction, getattr(torch.nn, name)(**kw).reduction
            assert ours == theirs
    # the weight buffer moves with .double()
    assert fastnn.nn.NLLLoss(weight=fastnn.ones(3)).double().weight.dtype == fastnn.float64


# ---------------------------------------------------------------------------------------------
# float64 gradchecks (input and target)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_pointwise_losses(reduction):
    x, y = f64(randn(3, 4) * 2), f64(randn(3, 4) * 2)
    gradcheck(lambda x, y: FF.l1_loss(x, y, reduction=reduction), [x, y])
    gradcheck(lambda x, y: FF.smooth_l1_loss(x, y, reduction=reduction, beta=0.7), [x, y])
    gradcheck(lambda x, y: FF.smooth_l1_loss(x.transpose(0, 1), y.transpose(0, 1), reduction=reduction), [x, y])
    gradcheck(lambda x, y: FF.mse_loss(x, y, reduction=reduction), [x, y])
    assert FF.smooth_l1_loss(x, y, beta=0.7).grad_fn.name() == "SmoothL1LossBackward0"


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_bce(reduction):
    x, t = f64(probs(3, 4, low=0.1, high=0.9)), f64(probs(3, 4))
    w = fastnn.tensor(np.abs(randn(4, dtype=np.float64)) + 0.1, dtype=fastnn.float64)
    gradcheck(lambda x, t: FF.binary_cross_entropy(x, t, reduction=reduction), [x, t])
    gradcheck(lambda x, t: FF.binary_cross_entropy(x, t, weight=w, reduction=reduction), [x, t])
    assert FF.binary_cross_entropy(x, t).grad_fn.name() == "BinaryCrossEntropyBackward0"


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_bce_with_logits(reduction):
    x, t = f64(randn(3, 4) * 3), f64(probs(3, 4))
    w = fastnn.tensor(np.abs(randn(3, 4, dtype=np.float64)) + 0.1, dtype=fastnn.float64)
    pw = fastnn.tensor(np.abs(randn(4, dtype=np.float64)) + 0.1, dtype=fastnn.float64)
    gradcheck(lambda x, t: FF.binary_cross_entropy_with_logits(x, t, reduction=reduction), [x, t])
    gradcheck(lambda x, t: FF.binary_cross_entropy_with_logits(x, t, w, pos_weight=pw, reduction=reduction), [x, t])
    assert FF.binary_cross_entropy_with_logits(x, t).grad_fn.name() == "BinaryCrossEntropyWithLogitsBackward0"


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_class_losses(reduction):
    x4 = f64(randn(2, 3, 2, 2))
    t4 = fastnn.tensor(classes((2, 2, 2), 3, ignore=-100, every=4))
    w = fastnn.tensor(np.array([0.3, 1.2, 2.0]), dtype=fastnn.float64)
    gradcheck(lambda x: FF.nll_loss(x, t4, weight=w, reduction=reduction), [x4])
    gradcheck(lambda x: FF.cross_entropy(x, t4, weight=w, reduction=reduction, label_smoothing=0.25), [x4])
    x, p = f64(randn(4, 3)), f64(probs(4, 3))
    gradcheck(lambda x, p: FF.cross_entropy(x, p, weight=w, reduction=reduction, label_smoothing=0.1), [x, p])


def test_nll_loss_zero_weight_still_multiplies():
    """A zero class weight multiplies (-0 * inf is nan, -0 * 1 is -0), an ignored row is 0: as torch."""
    x = np.array([[0, 0, 0, np.inf], [0, 0, 0, 1], [0, 0, 0, 1]], dtype=np.float32)
    target, weight = np.array([3, 3, -100]), np.zeros(4, dtype=np.float32)
    for reduction in ("none", "sum"):
        ours = fastnn.nn.functional.nll_loss(
            fastnn.tensor(x), fastnn.tensor(target), weight=fastnn.tensor(weight), reduction=reduction
        )
        theirs = torch.nn.functional.nll_loss(
            torch.tensor(x), torch.tensor(target), weight=torch.tensor(weight), reduction=reduction
        )
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert np.array_equal(np.signbit(ours.numpy()), np.signbit(theirs.numpy()))


@pytest.mark.parametrize(
    "name,kw",
    [
        ("binary_cross_entropy", "weight"),
        ("binary_cross_entropy_with_logits", "weight"),
        ("binary_cross_entropy_with_logits", "pos_weight"),
    ],
)
def test_bce_weights_that_require_grad_are_refused(name, kw):
    """torch refuses a weight or pos_weight that requires grad (it is not differentiated); under no_grad it is fine."""
    for lib in (torch, fastnn):
        x, y = lib.full((3,), 0.5, requires_grad=True), lib.ones(3)
        w = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match=f"not differentiable with respect to argument '{kw}'"):
            getattr(lib.nn.functional, name)(x, y, **{kw: w})
        with lib.no_grad():
            getattr(lib.nn.functional, name)(x, y, **{kw: w})
