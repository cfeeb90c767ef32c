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
