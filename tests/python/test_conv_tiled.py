"""conv2d's large-image and pointwise paths against torch: images whose im2col matrix would pass the scratch
bound are cut into bands of output rows (forward: bands shared among threads; backward: a chunk's bands in
order, their col2im and weight-gradient products added), 1x1 convolutions with unit stride and no padding
read the input in place, and tiles with large GEMMs run in turn with each GEMM shared among the threads.
Forward, input/weight/bias gradients, and the same bits at 1, 2 and 3 threads."""

import numpy as np
import pytest

import fastnn
from oracle import assert_close

torch = pytest.importorskip("torch")

# (N, C, H, W, O, kernel, stride, padding, dilation, groups). Band rows = 2**20 // (max(K, O/groups) * output
# width) (the scratch bound in conv.cpp), evened out: each of the first three is cut into 2-4 bands.
CASES = [
    (2, 64, 80, 80, 8, 3, 1, 1, 1, 1),  # K 576, 80 wide: 4 bands of 20 rows
    (1, 128, 45, 150, 6, 3, 2, (2, 1), 2, 1),  # K 1152, 74 wide: 23 rows in bands of 12 and 11; stride, dilation
    (2, 128, 30, 52, 8, (3, 5), 1, (1, 2), 1, 2),  # groups: K 960 per group, 52 wide: 2 bands of 15
    (3, 16, 7, 7, 24, 1, 1, 0, 1, 1),  # pointwise, small: one image per chunk, no band
    (2, 12, 5, 6, 8, 1, 1, 0, 1, 4),  # pointwise with groups
    (1, 512, 48, 64, 16, 1, 1, 0, 1, 1),  # pointwise, K 512, 64 wide: 2 bands of 24
    (2, 8, 9, 9, 4, 1, 2, 0, 1, 1),  # 1x1 with stride 2: the im2col path
    (3, 256, 8, 8, 256, 3, 1, 1, 1, 1),  # 2 * O * K * 7 images * 64 pixels >= 2e8: tiles in turn, GEMMs shared
]


def run(lib, x, w, b, stride, padding, dilation, groups, gy):
    xt, wt, bt = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
    y = lib.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding, dilation=dilation, groups=groups)
    y.backward(lib.tensor(gy))
    return y, xt.grad, wt.grad, bt.grad


@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[:5])))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_bands_and_pointwise_match_torch(case, dtype):
    N, C, H, W, O, k, stride, padding, dilation, groups = case
    kh, kw = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(sum(case[:5]))
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = (rng.standard_normal((O, C // groups, kh, kw)) / np.sqrt(C * kh * kw)).astype(dtype)
    b = rng.standard_normal(O).astype(dtype)
    ty = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), None, stride, padding, dilation, groups)
    gy = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ours = run(fastnn, x, w, b, stride, padding, dilation, groups, gy)
    theirs = run(torch, x, w, b, stride, padding, dilation, groups, gy)
    for what, a, t in zip(("output", "grad input", "grad weight", "grad bias"), ours, theirs):
        assert_close(a, t, what=what)


@pytest.mark.parametrize("case", [CASES[1], CASES[5], CASES[7]], ids=["banded", "pointwise", "inner"])
def test_conv2d_bands_give_the_same_bits_at_any_thread_count(case):
    N, C, H, W, O, k, stride, padding, dilation, groups = case
    kh, kw = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(3)
    x = rng.standard_normal((N, C, H, W)).astype("float32")
    w = rng.standard_normal((O, C // groups, kh, kw)).astype("float32")
    b = rng.standard_normal(O).astype("float32")
    saved = fastnn.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            fastnn.set_num_threads(threads)
            y = fastnn.nn.functional.conv2d(fastnn.tensor(x), fastnn.tensor(w), None, stride, padding, dilation, groups)
            gy = np.cos(np.arange(y.numel(), dtype="float32")).reshape(tuple(y.shape))
            results.append(
                [r.detach().numpy().copy() for r in run(fastnn, x, w, b, stride, padding, dilation, groups, gy)]
            )
    finally:
        fastnn.set_num_threads(saved)
    for other in results[1:]:
        for a, b_ in zip(results[0], other):
            assert np.array_equal(a.view(np.uint32), b_.view(np.uint32))


def test_conv_transpose2d_on_a_banded_geometry_matches_torch():
    # The transposed convolution runs the convolution's backward as its forward (and the forward as its
    # input gradient): a large one goes through the bands too.
    rng = np.random.default_rng(7)
    # As a convolution from y (256 channels) to x: K 2304, 64 wide: 16 rows in bands of 6, 6 and 4.
    x = rng.standard_normal((1, 64, 16, 64)).astype("float32")
    w = (rng.standard_normal((64, 256, 3, 3)) / 24).astype("float32")

    def go(lib):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.conv_transpose2d(xt, wt, stride=2, padding=1)
        (y * y).sum().backward()
        return y, xt.grad, wt.grad

    for what, a, t in zip(("output", "grad input", "grad weight"), go(fastnn), go(torch)):
        assert_close(a, t, what=what)
