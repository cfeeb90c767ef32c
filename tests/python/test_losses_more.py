"""The losses beyond MSE/NLL/BCE against PyTorch: KLDivLoss (batchmean, log_target), HuberLoss (delta,
weight), SoftMarginLoss, CosineEmbeddingLoss, MarginRankingLoss, HingeEmbeddingLoss, TripletMarginLoss (p,
eps, swap), PoissonNLLLoss (log_input, full), GaussianNLLLoss (full, var shapes), MultiLabelSoftMarginLoss
(weight): every reduction and the legacy size_average/reduce pair, both float dtypes, non-contiguous and
broadcast inputs, empty inputs, kinks, grad_fn names, float64 gradchecks, modules and errors."""

import warnings

import fastnn
import fastnn.nn.functional as FF
import numpy as np
import pytest
from oracle import assert_close, check_op, gradcheck_op, torch

rng = np.random.default_rng(5)
REDUCTIONS = ["none", "mean", "sum"]
DTYPES = [np.float32, np.float64]


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def signs(*shape, dtype=np.float32):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(dtype)


def same(make, arrays, prep=None, grad=True, **kw):
    """check_op on make(F) for both libraries, then the same grad_fn name as torch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, t = check_op(
            lambda lib, *xs: make(lib.nn.functional)(*xs), arrays, prep=prep, grad=grad, uses_module=True, **kw
        )
    assert (f.grad_fn is None) == (t.grad_fn is None)
    if t.grad_fn is not None:
        assert f.grad_fn.name() == t.grad_fn.name()
    return f, t


def transposed(lib, x):
    return x.transpose(0, 1)


# ---- KLDivLoss ----


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_kl_div(reduction, log_target, dtype):
    x = np.log(rng.uniform(0.05, 1, (4, 5))).astype(dtype)
    t = rng.uniform(0.01, 1, (4, 5)).astype(dtype)
    if log_target:
        t = np.log(t + 0.1).astype(dtype)
    same(lambda F: lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target), [x, t])
    same(
        lambda F: lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
        [x.T.copy(), t.T.copy()],
        prep=transposed,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_kl_div_zero_target(reduction):
    """A target of 0 contributes 0 (torch's xlogy(0, 0)); the target is a constant here (torch's gradient for
    it is nan at 0)."""
    t = rng.uniform(0, 1, (3, 4)).astype(np.float32)
    t[0, :2] = 0
    same(
        lambda F: (
            lambda a: F.kl_div(a, (torch.tensor if F is torch.nn.functional else fastnn.tensor)(t), reduction=reduction)
        ),
        [randn(3, 4)],
    )


def test_kl_div_warns_and_legacy():
    x, t = fastnn.randn(2, 3), fastnn.rand(2, 3)
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        FF.kl_div(x, t)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        out = FF.kl_div(x, t, size_average=False)
    tx, tt = torch.tensor(x.numpy()), torch.tensor(t.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_close(out, torch.nn.functional.kl_div(tx, tt, size_average=False))
        assert_close(
            fastnn.nn.KLDivLoss(reduction="batchmean", log_target=True)(x, t),
            torch.nn.KLDivLoss(reduction="batchmean", log_target=True)(tx, tt),
        )
    with pytest.raises(ValueError, match=r"\[kl_div\] foo is not a valid value for reduction"):
        FF.kl_div(x, t, reduction="foo")


def test_kl_div_empty_and_broadcast():
    same(lambda F: lambda a, b: F.kl_div(a, b, reduction="batchmean"), [np.zeros((0, 3), np.float32)] * 2)
    same(lambda F: lambda a, b: F.kl_div(a, b, reduction="mean"), [np.zeros((0, 3), np.float32)] * 2)
    same(
        lambda F: lambda a, b: F.kl_div(a, b, reduction="sum"),
        [randn(3, 4), rng.uniform(0, 1, (1, 4)).astype(np.float32)],
    )


# ---- HuberLoss / SoftMarginLoss (their own nodes) ----


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [1.0, 0.5, 2.0])
@pytest.mark.parametrize("dtype", DTYPES)
def test_huber(reduction, delta, dtype):
    same(
        lambda F: lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta),
        [randn(4, 5, dtype=dtype) * 2, randn(4, 5, dtype=dtype)],
    )
    same(
        lambda F: lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta),
        [randn(5, 4, dtype=dtype) * 2, randn(5, 4, dtype=dtype)],
        prep=transposed,
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_huber_kinks(dtype):
    """Differences exactly 0, +-delta/2, +-delta and beyond: torch's slopes (delta at |d| = delta)."""
    d = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 1.5], dtype)
    for delta in (1.0, 0.5):
        same(lambda F: lambda a, b: F.huber_loss(a, b, reduction="sum", delta=delta), [d, np.zeros_like(d)])


def test_huber_weight_broadcast_empty():
    w = rng.uniform(0, 2, (3, 4)).astype(np.float32)
    for reduction in REDUCTIONS:
        same(lambda F: lambda a, b, c: F.huber_loss(a, b, reduction=reduction, weight=c), [randn(3, 4), randn(3, 4), w])
        same(lambda F: lambda a, b: F.huber_loss(a, b, reduction=reduction), [randn(3, 4), randn(1, 4)])
        same(lambda F: lambda a, b: F.huber_loss(a, b, reduction=reduction), [randn(0, 4), randn(0, 4)])
    with pytest.raises(ValueError, match=r"\[huber_loss\] Weights and input must have the same size"):
        FF.huber_loss(fastnn.randn(3, 4), fastnn.randn(3, 4), weight=fastnn.ones(4))
    with pytest.raises(ValueError, match=r"\[huber_loss\] huber_loss does not support non-positive values for delta"):
        FF.huber_loss(fastnn.randn(3), fastnn.randn(3), delta=0.0)
    with pytest.warns(UserWarning, match="Using a target size"):
        FF.huber_loss(fastnn.randn(3), fastnn.randn(2, 1))
    assert repr(fastnn.nn.HuberLoss(delta=0.5)) == repr(torch.nn.HuberLoss(delta=0.5))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_soft_margin(reduction, dtype):
    """The target is not differentiable: built as a constant on each side."""
    y = signs(4, 5, dtype=dtype)

    def target(F, arr):
        return (torch.tensor if F is torch.nn.functional else fastnn.tensor)(arr)

    same(lambda F: lambda a: F.soft_margin_loss(a, target(F, y), reduction=reduction), [randn(4, 5, dtype=dtype) * 3])
    same(
        lambda F: lambda a: F.soft_margin_loss(a, target(F, y.T.copy()).t(), reduction=reduction),
        [randn(5, 4, dtype=dtype)],
        prep=transposed,
    )
    y1 = signs(1, 5, dtype=dtype)  # broadcast along the rows
    same(lambda F: lambda a: F.soft_margin_loss(a, target(F, y1), reduction=reduction), [randn(4, 5, dtype=dtype)])
    same(
        lambda F: lambda a: F.soft_margin_loss(a, target(F, np.zeros((0, 2), dtype)), reduction=reduction),
        [randn(0, 2, dtype=dtype)],
    )


def test_soft_margin_target_grad_refused():
    with pytest.raises(
        RuntimeError,
        match=r"\[soft_margin_loss\] The function 'soft_margin_loss' is not "
        r"differentiable with respect to argument 'target'",
    ):
        FF.soft_margin_loss(fastnn.randn(3, requires_grad=True), fastnn.randn(3, requires_grad=True))


# ---- margin losses composed of ops ----


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.2])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cosine_embedding(reduction, margin, dtype):
    y = signs(5, dtype=dtype)
    y[0] = 0.0  # neither 1 nor -1: contributes 0
    same(
        lambda F: lambda a, b, c: F.cosine_embedding_loss(a, b, c, margin=margin, reduction=reduction),
        [randn(5, 4, dtype=dtype), randn(5, 4, dtype=dtype), y],
    )
    same(
        lambda F: lambda a, b, c: F.cosine_embedding_loss(a, b, c, margin=margin, reduction=reduction),
        [randn(4, dtype=dtype), randn(4, dtype=dtype), np.array(-1.0, dtype)],
    )
    same(
        lambda F: lambda a, b, c: F.cosine_embedding_loss(a, b, c, margin=margin, reduction=reduction),
        [randn(4, 5, dtype=dtype), randn(4, 5, dtype=dtype), y],
        prep=[transposed, transposed, None],
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_margin_ranking(reduction, dtype):
    a, b = randn(6, dtype=dtype), randn(6, dtype=dtype)
    b[0] = a[0]  # the kink of clamp_min: gradient passes (x >= 0)
    same(lambda F: lambda x, z, t: F.margin_ranking_loss(x, z, t, reduction=reduction), [a, b, signs(6, dtype=dtype)])
    same(
        lambda F: lambda x, z, t: F.margin_ranking_loss(x, z, t, margin=0.5, reduction=reduction),
        [randn(3, 4, dtype=dtype), randn(3, 4, dtype=dtype), signs(3, 4, dtype=dtype)],
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_hinge_embedding(reduction, dtype):
    x = rng.uniform(-1, 2, (4, 5)).astype(dtype)
    x[0, 0] = 1.0  # margin - x exactly 0
    same(lambda F: lambda a, t: F.hinge_embedding_loss(a, t, reduction=reduction), [x, signs(4, 5, dtype=dtype)])
    same(
        lambda F: lambda a, t: F.hinge_embedding_loss(a, t, margin=0.5, reduction=reduction),
        [x, signs(5, 4, dtype=dtype)],
        prep=[None, transposed],
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,swap", [(2.0, False), (1.0, True), (3.0, False), (2.0, True)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_triplet(reduction, p, swap, dtype):
    a, pos, neg = randn(5, 4, dtype=dtype), randn(5, 4, dtype=dtype), randn(5, 4, dtype=dtype)
    same(
        lambda F: lambda x, y, z: F.triplet_margin_loss(x, y, z, margin=1.5, p=p, swap=swap, reduction=reduction),
        [a, pos, neg],
    )
    same(
        lambda F: lambda x, y, z: F.triplet_margin_loss(x, y, z, p=p, eps=1e-3, swap=swap, reduction=reduction),
        [randn(4, dtype=dtype), randn(4, dtype=dtype), randn(4, dtype=dtype)],
    )
    same(
        lambda F: lambda x, y, z: F.triplet_margin_loss(x, y, z, p=p, swap=swap, reduction=reduction),
        [randn(4, 5, dtype=dtype), randn(4, 5, dtype=dtype), randn(4, 5, dtype=dtype)],
        prep=transposed,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input,full", [(True, False), (False, False), (True, True), (False, True)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_poisson_nll(reduction, log_input, full, dtype):
    x = randn(4, 5, dtype=dtype) if log_input else rng.uniform(0.1, 3, (4, 5)).astype(dtype)
    t = rng.integers(0, 5, (4, 5)).astype(dtype)
    same(lambda F: lambda a, b: F.poisson_nll_loss(a, b, log_input=log_input, full=full, reduction=reduction), [x, t])
    same(
        lambda F: lambda a, b: F.poisson_nll_loss(a, b, log_input=log_input, full=full, eps=0.1, reduction=reduction),
        [x.T.copy(), t],
        prep=[transposed, None],
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", [(4, 5), (4,), (4, 1), (1, 5)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gaussian_nll(reduction, full, var_shape, dtype):
    var = rng.uniform(0.1, 2, var_shape).astype(dtype)
    var.reshape(-1)[0] = 0.0  # clamped to eps: gradient as torch (through the clone)
    same(
        lambda F: lambda a, b, v: F.gaussian_nll_loss(a, b, v, full=full, reduction=reduction),
        [randn(4, 5, dtype=dtype), randn(4, 5, dtype=dtype), var],
    )


def test_gaussian_nll_float_var_and_errors():
    same(lambda F: lambda a, b: F.gaussian_nll_loss(a, b, 0.5), [randn(3, 2), randn(3, 2)])
    with pytest.raises(ValueError, match=r"\[gaussian_nll_loss\] var is of incorrect size"):
        FF.gaussian_nll_loss(fastnn.randn(3, 4), fastnn.randn(3, 4), fastnn.ones(3, 5))
    with pytest.raises(ValueError, match=r"\[gaussian_nll_loss\] var has negative entry/entries"):
        FF.gaussian_nll_loss(fastnn.randn(3, 4), fastnn.randn(3, 4), -fastnn.ones(3, 4))
    with pytest.raises(ValueError, match=r"\[gaussian_nll_loss\] var has negative entry/entries"):
        FF.gaussian_nll_loss(fastnn.randn(3, 4), fastnn.randn(3, 4), -1.0)
    with pytest.raises(ValueError, match=r"\[gaussian_nll_loss\] x is not a valid value for reduction"):
        FF.gaussian_nll_loss(fastnn.randn(3, 4), fastnn.randn(3, 4), fastnn.ones(3, 4), reduction="x")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_multilabel_soft_margin(reduction, weighted, dtype):
    x = randn(4, 5, dtype=dtype) * 3
    t = rng.integers(0, 2, (4, 5)).astype(dtype)
    if weighted:
        w = rng.uniform(0.5, 2, (5,)).astype(dtype)
        same(lambda F: lambda a, b, c: F.multilabel_soft_margin_loss(a, b, weight=c, reduction=reduction), [x, t, w])
    else:
        same(lambda F: lambda a, b: F.multilabel_soft_margin_loss(a, b, reduction=reduction), [x, t])
        same(
            lambda F: lambda a, b: F.multilabel_soft_margin_loss(a, b, reduction=reduction),
            [x.T.copy(), t.T.copy()],
            prep=transposed,
        )


EMPTIES = {
    "cosine": lambda F, L, r: F.cosine_embedding_loss(L.ones(0, 4), L.ones(0, 4), L.ones(0), reduction=r),
    "ranking": lambda F, L, r: F.margin_ranking_loss(L.ones(0), L.ones(0), L.ones(0), reduction=r),
    "hinge": lambda F, L, r: F.hinge_embedding_loss(L.ones(0, 4), L.ones(0, 4), reduction=r),
    "triplet": lambda F, L, r: F.triplet_margin_loss(L.ones(0, 4), L.ones(0, 4), L.ones(0, 4), reduction=r),
    "poisson": lambda F, L, r: F.poisson_nll_loss(L.ones(0, 4), L.ones(0, 4), reduction=r),
    "gaussian": lambda F, L, r: F.gaussian_nll_loss(L.ones(0, 4), L.ones(0, 4), L.ones(0, 4), reduction=r),
    "multilabel": lambda F, L, r: F.multilabel_soft_margin_loss(L.ones(0, 4), L.ones(0, 4), reduction=r),
    "soft_margin": lambda F, L, r: F.soft_margin_loss(L.ones(0, 4), L.ones(0, 4), reduction=r),
    "huber": lambda F, L, r: F.huber_loss(L.ones(0, 4), L.ones(0, 4), reduction=r),
}


@pytest.mark.parametrize("name", sorted(EMPTIES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_empty(name, reduction):
    """Zero-size inputs: torch's results (nan for a mean over nothing, 0 for a sum)."""
    ours = EMPTIES[name](FF, fastnn, reduction)
    theirs = EMPTIES[name](torch.nn.functional, torch, reduction)
    assert_close(ours, theirs)


# ---- gradchecks (float64) of every composed loss and the two new nodes ----

SIGNS64 = fastnn.tensor(signs(3, 4), dtype=fastnn.float64)
GRADCHECKS = [
    ("huber", lambda a, b: FF.huber_loss(a, b, delta=0.7), [randn(3, 4) * 2, randn(3, 4)]),
    ("huber_none", lambda a, b: FF.huber_loss(a, b, reduction="none"), [randn(3, 4) * 2, randn(1, 4)]),
    ("soft_margin", lambda a: FF.soft_margin_loss(a, SIGNS64), [randn(3, 4)]),
    ("kl_div", lambda a, b: FF.kl_div(a, b, reduction="batchmean"), [randn(3, 4), rng.uniform(0.1, 1, (3, 4))]),
    ("kl_div_log", lambda a, b: FF.kl_div(a, b, reduction="sum", log_target=True), [randn(3, 4), randn(3, 4)]),
    (
        "cosine",
        lambda a, b: FF.cosine_embedding_loss(a, b, fastnn.tensor([1.0, -1.0, 1.0], dtype=fastnn.float64), margin=-0.5),
        [randn(3, 4), randn(3, 4)],
    ),
    (
        "ranking",
        lambda a, b: FF.margin_ranking_loss(a, b, fastnn.tensor([1.0, -1.0, 1.0], dtype=fastnn.float64), margin=3.0),
        [randn(3), randn(3)],
    ),
    ("hinge", lambda a: FF.hinge_embedding_loss(a, SIGNS64, margin=5.0), [randn(3, 4)]),
    (
        "triplet",
        lambda a, b, c: FF.triplet_margin_loss(a, b, c, margin=10.0, swap=True),
        [randn(3, 4), randn(3, 4), randn(3, 4)],
    ),
    ("poisson", lambda a, b: FF.poisson_nll_loss(a, b, full=True), [randn(3, 4), rng.uniform(0, 4, (3, 4))]),
    (
        "gaussian",
        lambda a, b, v: FF.gaussian_nll_loss(a, b, v, full=True),
        [randn(3, 4), randn(3, 4), rng.uniform(0.5, 2, (3, 1))],
    ),
    ("multilabel", lambda a, b: FF.multilabel_soft_margin_loss(a, b), [randn(3, 4), rng.uniform(0, 1, (3, 4))]),
]


@pytest.mark.parametrize("name,fn,arrays", GRADCHECKS, ids=[g[0] for g in GRADCHECKS])
def test_gradcheck(name, fn, arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gradcheck_op(fn, [np.asarray(a, np.float64) for a in arrays])


# ---- modules ----

MODULES = [
    ("KLDivLoss", {"reduction": "batchmean"}, 2),
    ("KLDivLoss", {"log_target": True, "reduction": "sum"}, 2),
    ("HuberLoss", {"delta": 0.5}, 2),
    ("SoftMarginLoss", {}, 2),
    ("CosineEmbeddingLoss", {"margin": 0.2}, 3),
    ("MarginRankingLoss", {"margin": 0.1, "reduction": "sum"}, 3),
    ("HingeEmbeddingLoss", {"margin": 2.0}, 2),
    ("TripletMarginLoss", {"margin": 0.5, "p": 1.0, "swap": True}, 3),
    ("PoissonNLLLoss", {"log_input": False, "full": True}, 2),
    ("GaussianNLLLoss", {"full": True}, 3),
    ("MultiLabelSoftMarginLoss", {}, 2),
    ("MultiLabelSoftMarginLoss", {"reduce": False}, 2),
    ("HuberLoss", {"reduction": "none"}, 2),
]


@pytest.mark.parametrize("name,kwargs,n", MODULES)
def test_modules(name, kwargs, n):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = getattr(fastnn.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.reduction == theirs.reduction
    arrays = {
        "CosineEmbeddingLoss": [randn(4, 3), randn(4, 3), signs(4)],
        "MarginRankingLoss": [randn(4), randn(4), signs(4)],
        "TripletMarginLoss": [randn(4, 3), randn(4, 3), randn(4, 3)],
        "GaussianNLLLoss": [randn(4, 3), randn(4, 3), rng.uniform(0.5, 1, (4, 3)).astype(np.float32)],
        "HingeEmbeddingLoss": [randn(4, 3), signs(4, 3)],
        "SoftMarginLoss": [randn(4, 3), signs(4, 3)],
        "PoissonNLLLoss": [
            rng.uniform(0.5, 2, (4, 3)).astype(np.float32),
            rng.integers(0, 4, (4, 3)).astype(np.float32),
        ],
    }.get(name, [randn(4, 3), rng.uniform(0, 1, (4, 3)).astype(np.float32)])
    check_op(
        lambda lib, *xs: (ours if lib is fastnn else theirs)(*xs),
        arrays,
        uses_module=True,
        grad=name != "SoftMarginLoss",
    )


# ---- errors (torch's wording after the op's name) ----


def test_shape_errors():
    with pytest.raises(
        ValueError,
        match=r"\[cosine_embedding_loss\] 1D target tensor expects 2D input tensors, but "
        r"found inputs with sizes \[3, 4\] and \[3\]",
    ):
        FF.cosine_embedding_loss(fastnn.randn(3, 4), fastnn.randn(3), fastnn.ones(3))
    with pytest.raises(ValueError, match=r"\[cosine_embedding_loss\] 0D or 1D target tensor expected"):
        FF.cosine_embedding_loss(fastnn.randn(3, 4), fastnn.randn(3, 4), fastnn.ones(3, 1))
    with pytest.raises(
        ValueError,
        match=r"\[margin_ranking_loss\] All input tensors should have same dimension but "
        r"got sizes: input1: \(3, 4\), input2: \(3,\), target: \(3,\)",
    ):
        FF.margin_ranking_loss(fastnn.randn(3, 4), fastnn.randn(3), fastnn.ones(3))
    with pytest.raises(
        ValueError,
        match=r"\[triplet_margin_loss\] The anchor, positive, and negative tensors are "
        r"expected to have the same number of dimensions, but got: anchor 2D, "
        r"positive 1D, and negative 1D inputs",
    ):
        FF.triplet_margin_loss(fastnn.randn(3, 4), fastnn.randn(3), fastnn.ones(3))
    with pytest.raises(ValueError, match=r"\[triplet_margin_loss\] margin must be greater than 0, got 0"):
        FF.triplet_margin_loss(fastnn.randn(3, 4), fastnn.randn(3, 4), fastnn.ones(3, 4), margin=0)
    with pytest.raises(ValueError, match=r"\[TripletMarginLoss\] expected margin to be greater than 0"):
        fastnn.nn.TripletMarginLoss(margin=-1.0)
    with pytest.raises(ValueError, match=r"\[huber_loss\]"):
        FF.huber_loss(fastnn.randn(3, 4), fastnn.randn(2, 4))
    with pytest.raises(ValueError, match=r"\[poisson_nll_loss\] x is not a valid value for reduction"):
        FF.poisson_nll_loss(fastnn.randn(3), fastnn.randn(3), reduction="x")
    with pytest.raises(TypeError, match=r"\[multilabel_soft_margin_loss\] target must be a Tensor"):
        FF.multilabel_soft_margin_loss(fastnn.randn(3), None)
    with pytest.raises(TypeError, match=r"\[soft_margin_loss\] expected floating-point input, got int64"):
        FF.soft_margin_loss(fastnn.tensor([1, 2]), fastnn.tensor([1.0, 1.0]))


def test_legacy_reduction_args():
    x, y = randn(3, 4), signs(3, 4)
    for kwargs in ({"size_average": False}, {"reduce": False}, {"size_average": True, "reduce": True}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in ("soft_margin_loss", "hinge_embedding_loss", "multilabel_soft_margin_loss", "poisson_nll_loss"):
                ours = getattr(FF, name)(fastnn.tensor(x), fastnn.tensor(y), **kwargs)
                theirs = getattr(torch.nn.functional, name)(torch.tensor(x), torch.tensor(y), **kwargs)
                assert_close(ours, theirs, what=f"{name} {kwargs}")


# ---- MultiMarginLoss / MultiLabelMarginLoss (their own nodes) ----


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,margin,weighted", [(1, 1.0, False), (2, 1.0, False), (1, 0.5, True), (2, 2.0, True)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_multi_margin(reduction, p, margin, weighted, dtype):
    x = randn(5, 4, dtype=dtype)
    y = rng.integers(0, 4, 5).astype(np.int64)
    x[0, (y[0] + 1) % 4] = x[0, y[0]] - margin  # a term exactly at the hinge: no gradient, as torch
    w = rng.uniform(0.5, 2, 4).astype(dtype)
    if weighted:  # the weight is not differentiable (torch refuses one that requires grad)
        same(
            lambda F: (
                lambda a, b: F.multi_margin_loss(
                    a,
                    b,
                    p=p,
                    margin=margin,
                    reduction=reduction,
                    weight=(torch.tensor if F is torch.nn.functional else fastnn.tensor)(w),
                )
            ),
            [x, y],
        )
    else:
        same(lambda F: lambda a, b: F.multi_margin_loss(a, b, p=p, margin=margin, reduction=reduction), [x, y])
        same(
            lambda F: lambda a, b: F.multi_margin_loss(a, b, p=p, margin=margin, reduction=reduction),
            [x.T.copy(), y],
            prep=[transposed, None],
        )
    same(
        lambda F: lambda a, b: F.multi_margin_loss(a, b, p=p, reduction=reduction),
        [randn(4, dtype=dtype), np.array(2, np.int64)],
    )
    same(
        lambda F: lambda a, b: F.multi_margin_loss(a, b, p=p, reduction=reduction),
        [randn(4, dtype=dtype), np.array([1], np.int64)],
    )
    if reduction == "none":  # torch reduces no rows from uninitialised memory (garbage for sum and mean)
        same(
            lambda F: lambda a, b: F.multi_margin_loss(a, b, p=p, reduction=reduction),
            [randn(0, 3, dtype=dtype), np.zeros(0, np.int64)],
        )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_multilabel_margin(reduction, dtype):
    x = randn(4, 5, dtype=dtype)
    t = np.array([[3, 0, -1, 1, 2], [0, 1, 2, 3, 4], [-1, 2, 2, 2, 2], [4, 4, 1, -1, -1]], np.int64)
    x[0, 1] = x[0, 3] - 1.0  # exactly at the hinge
    same(lambda F: lambda a, b: F.multilabel_margin_loss(a, b, reduction=reduction), [x, t])
    same(
        lambda F: lambda a, b: F.multilabel_margin_loss(a, b, reduction=reduction),
        [x.T.copy(), t],
        prep=[transposed, None],
    )
    same(
        lambda F: lambda a, b: F.multilabel_margin_loss(a, b, reduction=reduction),
        [randn(3, dtype=dtype), np.array([2, -1, 0], np.int64)],
    )
    if reduction == "none":  # torch reduces no rows from uninitialised memory (garbage for sum and mean)
        same(
            lambda F: lambda a, b: F.multilabel_margin_loss(a, b, reduction=reduction),
            [randn(0, 3, dtype=dtype), np.zeros((0, 3), np.int64)],
        )


def test_margin_class_losses_gradcheck_modules_errors():
    y = fastnn.tensor([0, 2, 1])
    gradcheck_op(
        lambda a: FF.multi_margin_loss(
            a, y, p=2, margin=3.0, weight=fastnn.tensor([1.0, 2.0, 0.5, 1.0], dtype=fastnn.float64)
        ),
        [randn(3, 4)],
    )
    t = fastnn.tensor([[1, 3, -1, 0], [0, -1, 0, 0], [2, 1, 0, 3]])
    gradcheck_op(lambda a: FF.multilabel_margin_loss(a, t, reduction="sum"), [randn(3, 4) * 0.1])
    for name, kwargs in (("MultiMarginLoss", {"p": 2, "margin": 0.5}), ("MultiLabelMarginLoss", {})):
        ours, theirs = getattr(fastnn.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
        assert repr(ours) == repr(theirs)
    with pytest.raises(ValueError, match=r"\[multi_margin_loss\] only p == 1 and p == 2 supported"):
        FF.multi_margin_loss(fastnn.randn(2, 3), fastnn.tensor([1, 0]), p=3)
    with pytest.raises(
        ValueError,
        match=r"\[multi_margin_loss\] target tensor should be 1-D with size equal to the "
        r"number of input samples \(batch size\). Expected target size \[2\], but got "
        r"\(1,\)",
    ):
        FF.multi_margin_loss(fastnn.randn(2, 3), fastnn.tensor([1]))
    with pytest.raises(IndexError, match=r"\[multi_margin_loss\] target 5 is out of range for 3 classes"):
        FF.multi_margin_loss(fastnn.randn(2, 3), fastnn.tensor([1, 5]))
    with pytest.raises(ValueError, match=r"\[multi_margin_loss\] inconsistent weight size, expected 3 but got \(2,\)"):
        FF.multi_margin_loss(fastnn.randn(2, 3), fastnn.tensor([1, 0]), weight=fastnn.ones(2))
    with pytest.raises(
        ValueError,
        match=r"\[multi_margin_loss\] Expected non-empty vector or matrix with optional "
        r"0-dim batch size, but got: \(2, 0\)",
    ):
        FF.multi_margin_loss(fastnn.randn(2, 0), fastnn.tensor([0, 0]))
    with pytest.raises(
        ValueError,
        match=r"\[multilabel_margin_loss\] inconsistent target size: \(3,\) for input of "
        r"size: \(2, 3\)",
    ):
        FF.multilabel_margin_loss(fastnn.randn(2, 3), fastnn.tensor([1, -1, 0]))
    with pytest.raises(IndexError, match=r"\[multilabel_margin_loss\] target 5 is out of range for 3 classes"):
        FF.multilabel_margin_loss(fastnn.randn(2, 3), fastnn.tensor([[1, 5, 0], [0, 0, 0]]))
