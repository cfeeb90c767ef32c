"""The math helpers composed in Python (fastnn/_math_ops.py, F.cosine_similarity, F.pairwise_distance, clamp with
tensor bounds) against torch: values and gradients, broadcasting, non-contiguous inputs, kinks; float64 gradchecks."""

import fastnn
import fastnn.nn.functional as F
import numpy as np
import pytest
from oracle import check_op, gradcheck_op, layout_input, torch

pytestmark = pytest.mark.skipif(torch is None, reason="needs PyTorch (the oracle)")

rng = np.random.default_rng(2026)


def arr(*shape):
    return rng.standard_normal(shape).astype(np.float32)


BINARY = {  # lib-level ops of two tensors (broadcasting (3, 1, 5) with (4, 5))
    "addcmul": lambda lib, a, b: lib.addcmul(a, a, b, value=-0.5),
    "addcdiv": lambda lib, a, b: lib.addcdiv(b, a, b.exp(), value=2),
    "lerp number": lambda lib, a, b: lib.lerp(a, b, 0.3),
    "lerp number past half": lambda lib, a, b: lib.lerp(a, b, 0.8),
    "lerp tensor": lambda lib, a, b: lib.lerp(a, b, b.sigmoid()),
    "hypot": lambda lib, a, b: lib.hypot(a, b),
    "logaddexp": lambda lib, a, b: lib.logaddexp(a, b * 3),
    "dist": lambda lib, a, b: lib.dist(a, b, 3),
    "cosine_similarity": lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b, dim=-1),
    "cosine_similarity dim 0": lambda lib, a, b: lib.nn.functional.cosine_similarity(a, b, dim=0, eps=1e-3),
    "pairwise_distance": lambda lib, a, b: lib.nn.functional.pairwise_distance(a, b),
    "pairwise_distance p1 keepdim": lambda lib, a, b: lib.nn.functional.pairwise_distance(a, b, 1.0, keepdim=True),
    "clamp tensor min": lambda lib, a, b: lib.clamp(a, min=b),
    "clamp tensor both": lambda lib, a, b: a.clamp(b - 0.5, b + 0.5),
    "tensordot": lambda lib, a, b: lib.tensordot(a, b, dims=([2], [1])),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_composed_binary_ops_match_torch(name, layout):
    a, prep = layout_input(rng, (3, 1, 5), "contiguous" if layout == "contiguous" else "strided")
    b, prep_b = layout_input(rng, (4, 5), layout)
    check_op(BINARY[name], [a, b], prep=[prep, prep_b], uses_module=True, atol=1e-5, rtol=1e-5)


UNARY = {
    "trace": lambda lib, x: lib.trace(x[0]),
    "diff": lambda lib, x: lib.diff(x, dim=1),
    "diff n=2 prepend append": lambda lib, x: lib.diff(x, n=2, dim=-1, prepend=x[:, :, :1] * 2, append=x[:, :, -2:]),
    "nansum": lambda lib, x: lib.nansum(x.log()),
    "nansum dim": lambda lib, x: x.log().nansum(1, keepdim=True),
    "nanmean dims": lambda lib, x: lib.nanmean(x.log(), (0, 2)),
    "aminmax": lambda lib, x: tuple(lib.aminmax(x)),
    "aminmax dim": lambda lib, x: tuple(x.aminmax(dim=1, keepdim=True)),
    "clamp_min": lambda lib, x: lib.clamp_min(x, 0.1),
    "clamp_max method": lambda lib, x: x.clamp_max(-0.2),
    "cdist": lambda lib, x: lib.cdist(x, x[:, :2] * 1.5),
    "cdist p1": lambda lib, x: lib.cdist(x, x.flip(1), p=1.0),
    "diff of an empty dim": lambda lib, x: lib.diff(x[:, :0], dim=1),
    "cdist with itself (zero distances)": lambda lib, x: lib.cdist(x, x),
    "tensordot int dims": lambda lib, x: lib.tensordot(x, x.permute(1, 2, 0), dims=2),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_composed_unary_ops_match_torch(name):
    check_op(UNARY[name], [rng.uniform(-1, 2, (3, 4, 3)).astype(np.float32)], uses_module=True, atol=1e-5, rtol=1e-5)


def test_inplace_forms_and_isin_match_torch():
    a, b = arr(4, 5), arr(4, 5)
    for name, fn in {
        "addcmul_": lambda lib, x: x.clone().addcmul_(x, x, value=0.5),
        "addcdiv_": lambda lib, x: x.clone().addcdiv_(x, x.exp(), value=-1),
        "lerp_": lambda lib, x: x.clone().lerp_(x * 0 + 1, 0.25),
        "clamp_min_": lambda lib, x: x.clone().clamp_min_(0),
    }.items():
        check_op(fn, [a], uses_module=True, atol=1e-6, rtol=1e-6)
    e, t = np.array([[1, 5, 2], [7, 2, 0]]), np.array([2, 7, 9])
    for invert in (False, True):
        got = fastnn.isin(fastnn.tensor(e), fastnn.tensor(t), invert=invert)
        assert np.array_equal(got.numpy(), torch.isin(torch.tensor(e), torch.tensor(t), invert=invert).numpy())
    assert np.array_equal(fastnn.tensor(e).isin(fastnn.tensor(t)).numpy(), np.isin(e, t))
    assert np.array_equal(fastnn.isin(fastnn.tensor(e), 2).numpy(), e == 2)
    assert not fastnn.isin(3, fastnn.tensor([], dtype=fastnn.int64)).item()
    del b


def test_clamp_with_tensor_bounds_gives_torchs_gradients_at_the_kinks():
    x = np.array([0.0, 1.0, 2.0, 3.0, float("nan")], np.float32)
    lo, hi = np.array([0.0, 1.5, 2.0, 0.0, 0.0], np.float32), np.array([1.0, 2.0, 2.0, 3.0, 1.0], np.float32)
    check_op(lambda lib, x, lo, hi: lib.clamp(x, lo, hi), [x, lo, hi], uses_module=True)


def test_modules_and_errors():
    a, b = arr(3, 6), arr(3, 6)
    for ours, theirs in [
        (fastnn.nn.CosineSimilarity(dim=1), torch.nn.CosineSimilarity(dim=1)),
        (fastnn.nn.PairwiseDistance(p=3.0), torch.nn.PairwiseDistance(p=3.0)),
    ]:
        assert repr(ours) == repr(theirs)
        np.testing.assert_allclose(
            ours(fastnn.tensor(a), fastnn.tensor(b)).numpy(), theirs(torch.tensor(a), torch.tensor(b)).numpy(), 1e-6
        )
    with pytest.raises(RuntimeError, match=r"\[trace\] expected a matrix"):
        fastnn.trace(fastnn.ones(3))
    with pytest.raises(RuntimeError, match=r"\[tensordot\] contracted dimensions need to match"):
        fastnn.tensordot(fastnn.ones(2, 3), fastnn.ones(2, 3), dims=([1], [1]) and ([0], [1]))
    with pytest.raises(RuntimeError, match=r"\[cdist\] X1 and X2 must have the same number of columns"):
        fastnn.cdist(fastnn.ones(2, 3), fastnn.ones(2, 4))
    with pytest.raises(RuntimeError, match=r"\[diff\] diff expects prepend or append to be the same dimension"):
        fastnn.diff(fastnn.ones(3), prepend=fastnn.tensor(1.0))
    with pytest.raises(ValueError, match=r"\[diff\] order must be non-negative"):
        fastnn.diff(fastnn.ones(3), n=-1)
    with pytest.raises(TypeError, match=r"\[clamp\] min and max must both be tensors or both numbers"):
        fastnn.ones(2).clamp(-0.3, fastnn.ones(2))  # (torch refuses the mix too)


@pytest.mark.parametrize(
    "mode", ["use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"]
)
def test_cdist_compute_modes_match_torch(mode):
    # more than 25 rows: the default goes through a matrix product, as torch's (values and gradients, both sides)
    a, b = rng.standard_normal((2, 40, 5)).astype(np.float32), rng.standard_normal((30, 5)).astype(np.float32)
    check_op(lambda lib, x, y: lib.cdist(x, y, compute_mode=mode), [a, b], uses_module=True, atol=1e-5, rtol=1e-4)
    gradcheck_op(lambda x, y: fastnn.cdist(x, y + 0.5, compute_mode=mode), [a[0, :27].astype(np.float64), b[:4]])
    empty = fastnn.cdist(fastnn.tensor(a[0, :, :0]), fastnn.tensor(b[:, :0]), compute_mode=mode)
    assert empty.shape == (40, 30) and not empty.numpy().any()  # no columns: exact zeros, as torch
    with pytest.raises(ValueError, match=r"\[cdist\] None is not a valid value for compute_mode"):
        fastnn.cdist(fastnn.tensor(a), fastnn.tensor(b), compute_mode=None)


def test_addcmul_addcdiv_integer_rules_match_torch():
    a = [1, 2, -3]
    for value in (2, 0.5, -1.5):  # an integer input takes value in its dtype (0.5 -> 0), as torch
        ours, theirs = (
            fastnn.addcmul(*[fastnn.tensor(a)] * 3, value=value),
            torch.addcmul(*[torch.tensor(a)] * 3, value=value),
        )
        assert ours.dtype == fastnn.int64 and ours.tolist() == theirs.tolist()
    assert fastnn.addcdiv(
        fastnn.tensor([1.0, 2.0]), fastnn.tensor([3, 4]), fastnn.tensor([2, 8]), value=2
    ).tolist() == [
        4.0,
        3.0,
    ]
    with pytest.raises(RuntimeError, match=r"\[addcdiv\] Integer division with addcdiv is no longer supported"):
        fastnn.addcdiv(*[fastnn.tensor(a)] * 3)


def test_cosine_similarity_near_zero_vectors_matches_torch():
    a = np.array([[1e-10, 0.0, 0.0], [1.0, 2.0, 3.0]], np.float64)
    b = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]], np.float64)
    check_op(lambda lib, x, y: lib.nn.functional.cosine_similarity(x, y), [a, b], uses_module=True)


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: fastnn.addcdiv(a, a, b.exp(), value=0.5),
        lambda a, b: fastnn.lerp(a, b, b.sigmoid()),
        lambda a, b: fastnn.hypot(a, b),
        lambda a, b: fastnn.logaddexp(a, b),
        lambda a, b: F.cosine_similarity(a, b),
        lambda a, b: fastnn.cdist(a, b + 1),
        lambda a, b: fastnn.tensordot(a, b.t(), 1),
        lambda a, b: a.clamp(b - 0.1, b + 0.1),
    ],
)
def test_gradcheck(fn):
    gradcheck_op(fn, [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))])


def _same(ours, theirs):
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1], (a.dtype, b.dtype)
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.numpy())


DATA = {  # non-differentiable helpers: exact values and dtypes
    "unique": lambda lib, x, w: lib.unique(x),
    "unique inverse counts": lambda lib, x, w: lib.unique(x.reshape(3, 4), return_inverse=True, return_counts=True),
    "unique method": lambda lib, x, w: x.float().unique(return_counts=True),
    "bincount": lambda lib, x, w: lib.bincount(x),
    "bincount minlength": lambda lib, x, w: x.bincount(minlength=12),
    "bincount weights": lambda lib, x, w: lib.bincount(x, weights=w),
    "bincount float64 weights": lambda lib, x, w: lib.bincount(x, weights=w.double()),
    "histc": lambda lib, x, w: lib.histc(w, bins=5),
    "histc range": lambda lib, x, w: w.histc(bins=4, min=-1, max=1),
    "searchsorted": lambda lib, x, w: lib.searchsorted(lib.tensor([0, 2, 4, 6]), x),
    "searchsorted right int32": lambda lib, x, w: lib.searchsorted(
        lib.tensor([0, 2, 4, 6]), x.reshape(3, 4), right=True, out_int32=True
    ),
    "searchsorted batched side": lambda lib, x, w: lib.searchsorted(
        lib.sort(w.reshape(3, 4), dim=1).values, w.reshape(3, 4) * 0.5, side="right"
    ),
    "searchsorted sorter": lambda lib, x, w: lib.searchsorted(w, w[:3], sorter=w.argsort()),
    "searchsorted scalar": lambda lib, x, w: lib.searchsorted(lib.tensor([0.0, 1.0, 2.0]), 1.5),
}


@pytest.mark.parametrize("name", sorted(DATA))
def test_data_helpers_match_torch_exactly(name):
    x = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 0])
    w = rng.uniform(-1, 1, 12).astype(np.float32)
    _same(DATA[name](fastnn, fastnn.tensor(x), fastnn.tensor(w)), DATA[name](torch, torch.tensor(x), torch.tensor(w)))


INDEXED = {  # differentiable: values and gradients
    "kron": lambda lib, a, b: lib.kron(a, b[:2, :3]),
    "kron 1-d with 2-d": lambda lib, a, b: lib.kron(a[0], b),
    "cross": lambda lib, a, b: lib.cross(a[:, :3], b[:3, :3], dim=1),
    "cross default dim": lambda lib, a, b: lib.cross(a[:3, :3].t(), b[:3, :3]),
    "linalg.cross": lambda lib, a, b: lib.linalg.cross(a[:, 1:4], b[:3, :3]),
    "index_fill": lambda lib, a, b: a.index_fill(1, lib.tensor([0, 3, 3]), -1.5),
    "index_fill tensor value": lambda lib, a, b: a.index_fill(0, lib.tensor([2]), b[0, 0]),
    "index_copy": lambda lib, a, b: a.index_copy(0, lib.tensor([2, 0]), b[:2, :5]),
    "masked_scatter": lambda lib, a, b: a.masked_scatter(a > 0, b),
    "masked_scatter broadcast mask": lambda lib, a, b: a.masked_scatter(
        lib.tensor([True, False, True, False, True]), b
    ),
}


@pytest.mark.filterwarnings("ignore:Using torch.cross without specifying the dim arg")
@pytest.mark.parametrize("name", sorted(INDEXED))
def test_indexed_helpers_match_torch_with_gradients(name):
    check_op(INDEXED[name], [arr(3, 5), arr(4, 6)], uses_module=True, atol=1e-6, rtol=1e-6)


def test_in_place_index_helpers_and_errors():
    a = arr(3, 5)
    for fn in (
        lambda lib, x: x.clone().index_fill_(1, lib.tensor([1]), 2.0),
        lambda lib, x: x.clone().index_copy_(1, lib.tensor([4, 0]), x[:, :2] * 3),
        lambda lib, x: x.clone().masked_scatter_(x < 0, x * 10),
    ):
        check_op(fn, [a], uses_module=True)
    with pytest.raises(RuntimeError, match=r"\[bincount\] bincount only supports 1-d non-negative"):
        fastnn.bincount(fastnn.tensor([1, -1]))
    with pytest.raises(RuntimeError, match=r"\[masked_scatter_\] Number of elements of source"):
        fastnn.zeros(4).masked_scatter(fastnn.ones(4, dtype=fastnn.bool), fastnn.ones(2))
    with pytest.raises(RuntimeError, match=r"\[cross\] linalg.cross: inputs dimension 0 must have length 3"):
        fastnn.cross(fastnn.ones(2, 3), fastnn.ones(2, 3), dim=0)
    with pytest.raises(NotImplementedError, match=r"\[unique\] dim= is not supported"):
        fastnn.unique(fastnn.ones(2, 2), dim=0)


POOLS = {
    "max_unpool2d": lambda lib, x: lib.nn.functional.max_unpool2d(
        *lib.nn.functional.max_pool2d(x[..., :6], 2, return_indices=True), 2
    ),
    "max_unpool2d stride padding output_size": lambda lib, x: lib.nn.MaxUnpool2d(3, 2, 1)(
        *lib.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True), output_size=(6, 7)
    ),
    "max_unpool1d": lambda lib, x: lib.nn.functional.max_unpool1d(
        *lib.nn.functional.max_pool1d(x[0], 2, return_indices=True), 2
    ),
    "lp_pool2d": lambda lib, x: lib.nn.functional.lp_pool2d(x, 2, 2),
    "lp_pool2d p3 stride": lambda lib, x: lib.nn.LPPool2d(3, (2, 3), stride=1)(x.abs()),
    "lp_pool1d": lambda lib, x: lib.nn.functional.lp_pool1d(x[0].abs(), 1.5, 3, stride=2),
}


@pytest.mark.parametrize("name", sorted(POOLS))
def test_unpooling_and_power_pooling_match_torch(name):
    check_op(POOLS[name], [arr(2, 3, 6, 7) + 0.1], uses_module=True, atol=1e-5, rtol=1e-5)


def test_channel_and_alpha_dropout_keep_torchs_statistics_and_shapes():
    x = fastnn.ones(64, 16, 50)
    y = fastnn.nn.functional.dropout1d(x, 0.25)
    per_channel = y.numpy().reshape(64, 16, 50)
    assert set(np.unique(per_channel.min(-1) == per_channel.max(-1))) == {True}  # whole channels kept or dropped
    assert abs((per_channel[..., 0] == 0).mean() - 0.25) < 0.05 and np.isclose(per_channel.max(), 1 / 0.75)
    assert fastnn.nn.functional.dropout1d(fastnn.ones(3, 5), 0.5).shape == (3, 5)
    with pytest.raises(RuntimeError, match=r"\[dropout1d\] dropout1d: Expected 2D or 3D input"):
        fastnn.nn.functional.dropout1d(fastnn.ones(2, 3, 4, 5))
    z = fastnn.randn(200000)
    for f in (fastnn.nn.functional.alpha_dropout, fastnn.nn.functional.feature_alpha_dropout):
        out = f(z.reshape(1000, 200), 0.2, training=True).numpy()
        assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.03  # zero mean, unit variance kept (SELU's point)
        assert f(z, 0.2) is z  # training=False by default, as torch
    dropped = fastnn.nn.functional.alpha_dropout(fastnn.zeros(10000), 0.3, True).numpy()
    alpha, p = 1.7580993408473766, 0.3
    a = 1 / np.sqrt((alpha * alpha * p + 1) * (1 - p))
    np.testing.assert_allclose(np.unique(dropped), sorted([a * alpha * p - a * alpha, a * alpha * p]), rtol=1e-5)
    layer = fastnn.nn.AlphaDropout(0.5)
    assert np.array_equal(layer.eval()(z).numpy(), z.numpy())


def test_max_unpool_refuses_bad_indices():
    with pytest.raises(RuntimeError, match=r"\[max_unpool2d\] Found an invalid max index"):
        fastnn.nn.functional.max_unpool2d(fastnn.ones(1, 1, 2, 2), fastnn.full((1, 1, 2, 2), 99), 2)
