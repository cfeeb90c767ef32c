"""nn.EmbeddingBag / F.embedding_bag and Embedding's max_norm against PyTorch: every mode, 1-D input with
offsets (include_last_offset, empty bags) and 2-D input, per_sample_weights, padding_idx, max_norm renorm,
scale_grad_by_freq, gradients for the weight and the per-sample weights, float64 gradchecks, bitwise
identical results at 1 and 2 threads, several optimizer steps, reprs, from_pretrained and errors."""

import fastnn
import fastnn.nn.functional as FF
import numpy as np
import pytest
from oracle import assert_close, gradcheck_op, torch

rng = np.random.default_rng(9)


def pair(arr, grad=True):
    f, t = fastnn.tensor(arr.copy()), torch.tensor(arr.copy())
    if grad and arr.dtype.kind == "f":
        f.requires_grad_(True)
        t.requires_grad_(True)
    return f, t


def run_both(weight, idx, offsets=None, psw=None, **kwargs):
    """embedding_bag on both libraries with the same inputs; compares output, weight grad and psw grad."""
    wf, wt = pair(weight)
    i_f, i_t = pair(idx)
    of, ot = (None, None) if offsets is None else pair(offsets)
    pf, pt = (None, None) if psw is None else pair(psw)
    out_f = FF.embedding_bag(i_f, wf, of, per_sample_weights=pf, **kwargs)
    out_t = torch.nn.functional.embedding_bag(i_t, wt, ot, per_sample_weights=pt, **kwargs)
    assert_close(out_f, out_t)
    assert out_f.grad_fn.name() == out_t.grad_fn.name() == "EmbeddingBagBackward0"
    g = rng.standard_normal(tuple(out_t.shape)).astype(weight.dtype)
    out_f.backward(fastnn.tensor(g))
    out_t.backward(torch.tensor(g))
    assert_close(wf.grad, wt.grad, what="weight grad")
    if psw is not None:
        assert_close(pf.grad, pt.grad, what="per_sample_weights grad")
    return out_f, out_t


IDX = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], np.int64)
OFFSETS = np.array([0, 3, 3, 7, 8], np.int64)  # bag 1 is empty


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_modes_1d(mode, dtype):
    w = rng.standard_normal((10, 4)).astype(dtype)
    run_both(w, IDX, OFFSETS, mode=mode)
    run_both(w, IDX, np.append(OFFSETS, len(IDX)), mode=mode, include_last_offset=True)
    run_both(w, IDX, OFFSETS, mode=mode, padding_idx=5)
    run_both(w, IDX, OFFSETS, mode=mode, padding_idx=-1)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_modes_2d(mode):
    w = rng.standard_normal((10, 3)).astype(np.float32)
    run_both(w, rng.integers(0, 10, (4, 5)).astype(np.int64), mode=mode)
    run_both(w, rng.integers(0, 10, (4, 5)).astype(np.int64), mode=mode, padding_idx=2)


def test_max_ties_pick_first():
    w = np.array([[1.0, 2.0], [1.0, 0.0], [0.5, 2.0]], np.float32)
    run_both(w, np.array([0, 1, 2, 1], np.int64), np.array([0, 2], np.int64), mode="max")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_per_sample_weights(dtype):
    w = rng.standard_normal((10, 4)).astype(dtype)
    psw = rng.uniform(-1, 2, IDX.shape).astype(dtype)
    run_both(w, IDX, OFFSETS, psw=psw, mode="sum")
    run_both(w, IDX, OFFSETS, psw=psw, mode="sum", padding_idx=1)
    idx2 = rng.integers(0, 10, (3, 4)).astype(np.int64)
    run_both(w, idx2, psw=rng.uniform(0, 1, (3, 4)).astype(dtype), mode="sum")


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_scale_grad_by_freq(mode):
    """Each row's gradient divided by how often its index occurs in the batch, as documented (torch 2.13's CPU
    embedding_bag divides by the count of another position's index, e.g. [0, 0, 1, 2, 2, 2] gives row 1 half
    and row 2 three times its gradient): torch's unscaled gradient divided by the counts is the reference."""
    w = rng.standard_normal((10, 4)).astype(np.float32)
    g = rng.standard_normal((len(OFFSETS), 4)).astype(np.float32)
    wf = fastnn.tensor(w, requires_grad=True)
    FF.embedding_bag(fastnn.tensor(IDX), wf, fastnn.tensor(OFFSETS), mode=mode, scale_grad_by_freq=True).backward(
        fastnn.tensor(g)
    )
    wt = torch.tensor(w, requires_grad=True)
    torch.nn.functional.embedding_bag(torch.tensor(IDX), wt, torch.tensor(OFFSETS), mode=mode).backward(torch.tensor(g))
    counts = np.maximum(np.bincount(IDX, minlength=10), 1).astype(np.float32)[:, None]
    assert_close(wf.grad, wt.grad / torch.tensor(counts))


def test_noncontiguous_weight_and_empty():
    w = rng.standard_normal((4, 10)).astype(np.float32)
    wf, wt = pair(w)
    idx, off = pair(IDX)[0], torch.tensor(IDX)
    o_f = FF.embedding_bag(idx, wf.t(), fastnn.tensor(OFFSETS), mode="mean")
    o_t = torch.nn.functional.embedding_bag(off, wt.t(), torch.tensor(OFFSETS), mode="mean")
    assert_close(o_f, o_t)
    o_f.sum().backward()
    o_t.sum().backward()
    assert_close(wf.grad, wt.grad)
    # no indices at all: every bag is empty (zeros); no offsets: no bags
    e = np.zeros(0, np.int64)
    for mode in ("sum", "mean", "max"):
        run_both(rng.standard_normal((5, 2)).astype(np.float32), e, np.array([0, 0], np.int64), mode=mode)
    out = FF.embedding_bag(fastnn.tensor([0, 1]), fastnn.randn(4, 2), fastnn.tensor(e), mode="sum")
    assert tuple(out.shape) == (0, 2)


def test_gradcheck():
    idx, off = fastnn.tensor(IDX), fastnn.tensor(OFFSETS)
    for mode in ("sum", "mean", "max"):
        gradcheck_op(lambda w: FF.embedding_bag(idx, w, off, mode=mode, padding_idx=4), [rng.standard_normal((10, 3))])
    gradcheck_op(
        lambda w, p: FF.embedding_bag(idx, w, off, mode="sum", per_sample_weights=p),
        [rng.standard_normal((10, 3)), rng.standard_normal(IDX.shape)],
    )


def test_deterministic_across_threads():
    w = fastnn.tensor(rng.standard_normal((50, 16)).astype(np.float32), requires_grad=True)
    idx = fastnn.tensor(rng.integers(0, 50, 4000).astype(np.int64))
    off = fastnn.tensor(np.arange(0, 4000, 7).astype(np.int64))
    results = []
    before = fastnn.get_num_threads()
    try:
        for threads in (1, 2):
            fastnn.set_num_threads(threads)
            w.grad = None
            out = FF.embedding_bag(idx, w, off, mode="mean")
            (out * out).sum().backward()
            results.append((out.detach().numpy().copy(), w.grad.numpy().copy()))
    finally:
        fastnn.set_num_threads(before)
    assert np.array_equal(results[0][0], results[1][0])
    assert np.array_equal(results[0][1], results[1][1])


def test_max_norm_renorm_in_place():
    w = (rng.standard_normal((10, 4)) * 3).astype(np.float32)
    for norm_type in (2.0, 1.0, 3.0):
        wf, wt = pair(w)
        o_f = FF.embedding_bag(fastnn.tensor(IDX), wf, fastnn.tensor(OFFSETS), max_norm=1.5, norm_type=norm_type)
        o_t = torch.nn.functional.embedding_bag(
            torch.tensor(IDX), wt, torch.tensor(OFFSETS), max_norm=1.5, norm_type=norm_type
        )
        assert_close(o_f, o_t)
        assert_close(wf.detach(), wt.detach(), what="renormalised weight")


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 0.5, float("inf"), float("-inf")])
def test_embedding_max_norm(norm_type):
    w = (rng.standard_normal((10, 4)) * 3).astype(np.float32)
    idx = np.array([[1, 2, 2], [7, 1, 0]], np.int64)
    wf, wt = pair(w)
    o_f = FF.embedding(fastnn.tensor(idx), wf, max_norm=2.0, norm_type=norm_type)
    o_t = torch.nn.functional.embedding(torch.tensor(idx), wt, max_norm=2.0, norm_type=norm_type)
    assert_close(o_f, o_t)
    assert_close(wf.detach(), wt.detach(), what="renormalised weight")  # rows not looked up are untouched
    o_f.sum().backward()
    o_t.sum().backward()
    assert_close(wf.grad, wt.grad)
    ef, et = fastnn.nn.Embedding(10, 4, max_norm=1.0), torch.nn.Embedding(10, 4, max_norm=1.0)
    ef.load_state_dict({"weight": fastnn.tensor(et.weight.detach().numpy())})
    assert_close(ef(fastnn.tensor(idx)), et(torch.tensor(idx)))
    assert_close(ef.weight, et.weight)
    assert repr(ef) == repr(et)


def test_training_steps():
    """A bag-of-words classifier trained a few Adam steps: same parameters as torch."""
    torch.manual_seed(4)
    ref_bag, ref_lin = torch.nn.EmbeddingBag(20, 6, mode="mean", padding_idx=0), torch.nn.Linear(6, 3)
    bag, lin = fastnn.nn.EmbeddingBag(20, 6, mode="mean", padding_idx=0), fastnn.nn.Linear(6, 3)
    for ours, theirs in ((bag, ref_bag), (lin, ref_lin)):
        assert list(ours.state_dict()) == list(theirs.state_dict())
        ours.load_state_dict({k: fastnn.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    idx = rng.integers(0, 20, 30).astype(np.int64)
    off = np.array([0, 5, 9, 9, 20], np.int64)
    y = rng.integers(0, 3, 5).astype(np.int64)
    params_f = list(bag.parameters()) + list(lin.parameters())
    params_t = list(ref_bag.parameters()) + list(ref_lin.parameters())
    opt_f, opt_t = fastnn.optim.Adam(params_f, lr=0.05), torch.optim.Adam(params_t, lr=0.05)
    for _ in range(6):
        for lib, b, l, opt in ((fastnn, bag, lin, opt_f), (torch, ref_bag, ref_lin, opt_t)):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(l(b(lib.tensor(idx), lib.tensor(off))), lib.tensor(y))
            loss.backward()
            opt.step()
    for a, b in zip(params_f, params_t):
        assert_close(a, b)


def test_module_repr_and_from_pretrained():
    for kwargs in (
        {},
        {"mode": "sum"},
        {"mode": "max", "padding_idx": 0, "max_norm": 1.0, "norm_type": 1.0},
        {"scale_grad_by_freq": True, "include_last_offset": True},
    ):
        assert repr(fastnn.nn.EmbeddingBag(5, 3, **kwargs)) == repr(torch.nn.EmbeddingBag(5, 3, **kwargs))
    w = rng.standard_normal((5, 3)).astype(np.float32)
    ours = fastnn.nn.EmbeddingBag.from_pretrained(fastnn.tensor(w), mode="sum")
    theirs = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), mode="sum")
    assert ours.weight.requires_grad is False and repr(ours) == repr(theirs)
    idx = np.array([[0, 4], [2, 2]], np.int64)
    assert_close(ours(fastnn.tensor(idx)), theirs(torch.tensor(idx)))
    assert fastnn.nn.EmbeddingBag.from_pretrained(fastnn.tensor(w), freeze=False).weight.requires_grad
    e = fastnn.nn.Embedding.from_pretrained(fastnn.tensor(w), max_norm=1.0)
    assert e.max_norm == 1.0


def test_errors():
    w = fastnn.randn(5, 3)
    with pytest.raises(ValueError, match=r"\[embedding_bag\] mode has to be one of sum, mean or max"):
        FF.embedding_bag(fastnn.tensor([0, 1]), w, fastnn.tensor([0]), mode="foo")
    with pytest.raises(
        NotImplementedError,
        match=r"\[embedding_bag\] per_sample_weights was not None. "
        r"per_sample_weights is only supported for mode='sum' \(got "
        r"mode='mean'\)",
    ):
        FF.embedding_bag(fastnn.tensor([0, 1]), w, fastnn.tensor([0]), per_sample_weights=fastnn.ones(2))
    with pytest.raises(
        ValueError,
        match=r"\[embedding_bag\] If per_sample_weights \(\(3,\)\) is not None, then it "
        r"must have the same shape as the input \(\(2,\)\)",
    ):
        FF.embedding_bag(fastnn.tensor([0, 1]), w, fastnn.tensor([0]), mode="sum", per_sample_weights=fastnn.ones(3))
    with pytest.raises(
        ValueError,
        match=r"\[embedding_bag\] offsets\[0\] has to be 0, i.e., the first sequence in the "
        r"mini-batch has to start from position 0. However, got 1",
    ):
        FF.embedding_bag(fastnn.tensor([0, 1, 2]), w, fastnn.tensor([1, 1]))
    with pytest.raises(
        ValueError,
        match=r"\[embedding_bag\] offsets\[-1\] can not be greater than input's length 3 "
        r"but got offsets\[-1\] of 5",
    ):
        FF.embedding_bag(fastnn.tensor([0, 1, 2]), w, fastnn.tensor([0, 5]))
    with pytest.raises(
        ValueError,
        match=r"\[embedding_bag\] offsets must be non-decreasing, but offsets\[2\] = 1 < "
        r"offsets\[1\] = 2",
    ):
        FF.embedding_bag(fastnn.tensor([0, 1, 2]), w, fastnn.tensor([0, 2, 1]))
    with pytest.raises(
        IndexError,
        match=r"\[embedding_bag\] Index 2 of input takes value 7 which is not in the valid "
        r"range \[0, 5\)",
    ):
        FF.embedding_bag(fastnn.tensor([0, 1, 7]), w, fastnn.tensor([0]))
    with pytest.raises(ValueError, match=r"\[embedding_bag\] if input is 2D, then offsets has to be None"):
        FF.embedding_bag(fastnn.tensor([[0, 1]]), w, fastnn.tensor([0]))
    with pytest.raises(ValueError, match=r"\[embedding_bag\] offsets has to be a 1D Tensor but got None"):
        FF.embedding_bag(fastnn.tensor([0, 1]), w)
    with pytest.raises(
        ValueError,
        match=r"\[embedding_bag\] input has to be 1D or 2D Tensor, but got Tensor of "
        r"dimension 3",
    ):
        FF.embedding_bag(fastnn.zeros(1, 1, 1, dtype=fastnn.int64), w)
    with pytest.raises(
        ValueError,
        match=r"\[embedding_bag\] max mode does not support scaling the gradient by the "
        r"frequency",
    ):
        FF.embedding_bag(fastnn.tensor([0, 1]), w, fastnn.tensor([0]), mode="max", scale_grad_by_freq=True)
    with pytest.raises(
        ValueError,
        match=r"\[embedding_bag\] padding_idx must be within the number of embeddings, -5 "
        r"through 4, but got 9",
    ):
        FF.embedding_bag(fastnn.tensor([0, 1]), w, fastnn.tensor([0]), padding_idx=9)
    with pytest.raises(NotImplementedError, match=r"\[embedding_bag\] sparse=True"):
        FF.embedding_bag(fastnn.tensor([0, 1]), w, fastnn.tensor([0]), sparse=True)
    with pytest.raises(NotImplementedError, match=r"\[EmbeddingBag\] sparse=True"):
        fastnn.nn.EmbeddingBag(5, 3, sparse=True)
    with pytest.raises(
        ValueError,
        match=r"\[embedding_bag\] include_last_offset: number of offsets should be at "
        r"least 1",
    ):
        FF.embedding_bag(fastnn.tensor([0, 1]), w, fastnn.tensor(np.zeros(0, np.int64)), include_last_offset=True)
    with pytest.raises(
        ValueError,
        match=r"\[embedding_bag\] include_last_offset: the last offset must be the "
        r"input's length 3, got 2",
    ):
        FF.embedding_bag(fastnn.tensor([0, 1, 2]), w, fastnn.tensor([0, 2]), include_last_offset=True)
    with pytest.raises(TypeError, match=r"\[embedding_bag\] expected int64 input and offsets, got float32"):
        FF.embedding_bag(fastnn.tensor([0.0, 1.0]), w, fastnn.tensor([0]))
    with pytest.raises(IndexError, match=r"\[embedding_renorm_\] index 9 is out of range for 5 embeddings"):
        FF.embedding(fastnn.tensor([9]), w, max_norm=1.0)
