"""The tutorial's network on a GPU (-DFASTNN_CUDA=ON): matrix products, conv2d, max_pool2d, softmax, the
classification losses, argmax and comparisons, fill_, and the SGD/Adam updates, each against fastnn on the CPU
(and against torch's CUDA where the machine's torch has it), forward and backward; then LeNet trained on both
devices and the main job with --device cuda. Runs where a GPU is present (scripts/gpu_check.sh) and on the CUDA
emulator (-DFASTNN_CUDA_EMULATOR=ON: the kernels run on the CPU, CI's emulated-CUDA stage); elsewhere only the
refusals run."""

import copy

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F

HAS_GPU = fastnn.cuda.is_available()
EMULATED = fastnn._C._cuda_emulated()
gpu = pytest.mark.skipif(not HAS_GPU, reason="no CUDA GPU (fastnn built without CUDA, or no GPU on this machine)")
FLOATS = [fastnn.float32, fastnn.float64]


def tol(dtype):
    return dict(rtol=2e-5, atol=2e-5) if dtype == fastnn.float32 else dict(rtol=1e-11, atol=1e-12)


def rand(*shape, dtype=fastnn.float64, seed=0, requires_grad=False):
    x = fastnn.from_numpy(np.random.default_rng(seed).standard_normal(shape)).to(dtype)
    return x.requires_grad_() if requires_grad else x


def both(fn, inputs, grad_seed=7):
    """fn on the CPU inputs and on their GPU copies; returns (cpu output, gpu output, cpu grads, gpu grads), each
    gradient taken with respect to the CPU leaves (the GPU's through ToCopyBackward0)."""
    leaves = [t for t in inputs if isinstance(t, fastnn.Tensor) and t.requires_grad]
    y_cpu = fn(*inputs)
    y_gpu = fn(*[t.cuda() if isinstance(t, fastnn.Tensor) else t for t in inputs])
    assert y_gpu.is_cuda and y_gpu.shape == y_cpu.shape and y_gpu.dtype == y_cpu.dtype
    if not leaves:
        return y_cpu, y_gpu.cpu(), [], []
    g = rand(*y_cpu.shape, dtype=y_cpu.dtype, seed=grad_seed)
    g_cpu = fastnn.autograd.grad(y_cpu, leaves, g, allow_unused=True)
    g_gpu = fastnn.autograd.grad(y_gpu, leaves, g.cuda(), allow_unused=True)
    assert [a is None for a in g_gpu] == [b is None for b in g_cpu]
    g_cpu, g_gpu = [a for a in g_cpu if a is not None], [b for b in g_gpu if b is not None]
    return y_cpu.detach(), y_gpu.detach().cpu(), g_cpu, g_gpu


def check_close(fn, inputs, dtype, **tolerance):
    tolerance = tolerance or tol(dtype)
    y_cpu, y_gpu, g_cpu, g_gpu = both(fn, inputs)
    np.testing.assert_allclose(y_gpu.numpy(), y_cpu.numpy(), **tolerance)
    for a, b in zip(g_gpu, g_cpu):
        np.testing.assert_allclose(a.numpy(), b.numpy(), **tolerance)


def check_pair(entry, dtype, seeds):
    """A (fn, shape_a, shape_b) table entry: fn on two random leaves of those shapes, checked as check_close."""
    fn, sa, sb = entry
    a = rand(*sa, dtype=dtype, seed=seeds[0], requires_grad=True)
    check_close(fn, [a, rand(*sb, dtype=dtype, seed=seeds[1], requires_grad=True)], dtype)


PRODUCTS = {
    "mm": (lambda a, b: a @ b, (70, 33), (33, 129)),
    "mm transposed": (lambda a, b: a.t() @ b.t(), (33, 70), (129, 33)),
    "mm empty depth": (lambda a, b: a @ b, (5, 0), (0, 4)),
    "bmm": (lambda a, b: fastnn.bmm(a, b), (3, 17, 9), (3, 9, 65)),
    "matmul broadcast": (lambda a, b: a @ b, (2, 1, 5, 6), (3, 6, 4)),
    "matmul 3d by 2d": (lambda a, b: a @ b, (4, 5, 6), (6, 3)),
    "matvec": (lambda a, b: a @ b, (7, 6), (6,)),
    "linear": (
        lambda x, w: F.linear(x, w, fastnn.arange(w.shape[0], dtype=w.dtype, device=w.device)),
        (8, 20),
        (5, 20),
    ),
    "linear no bias 3d": (lambda x, w: F.linear(x, w), (2, 8, 20), (5, 20)),
    "addmm scaled": (
        lambda a, b: fastnn.addmm(fastnn.ones(1, device=a.device, dtype=a.dtype), a, b, beta=0.5, alpha=2),
        (4, 3),
        (3, 6),
    ),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_matrix_products_on_the_gpu_match_the_cpu(name, dtype):
    check_pair(PRODUCTS[name], dtype, seeds=(1, 2))


CONVS = {
    "lenet conv1": dict(x=(4, 1, 32, 32), w=(6, 1, 5, 5)),
    "stride pad": dict(x=(2, 3, 11, 9), w=(4, 3, 3, 3), stride=2, padding=1),
    "dilation": dict(x=(2, 2, 12, 12), w=(3, 2, 3, 2), dilation=(2, 3), padding=(2, 1)),
    "groups": dict(x=(3, 4, 7, 7), w=(6, 2, 3, 3), groups=2),
    "pointwise": dict(x=(2, 5, 6, 6), w=(7, 5, 1, 1)),
    "no bias": dict(x=(2, 3, 8, 8), w=(4, 3, 3, 3), bias=False),
    "empty batch": dict(x=(0, 3, 8, 8), w=(4, 3, 3, 3)),
    "unbatched": dict(x=(3, 8, 8), w=(4, 3, 3, 3)),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(CONVS))
def test_conv2d_on_the_gpu_matches_the_cpu(name, dtype):
    c = dict(CONVS[name])
    x = rand(*c.pop("x"), dtype=dtype, seed=3, requires_grad=True)
    w = rand(*c.pop("w"), dtype=dtype, seed=4, requires_grad=True)
    b = rand(w.shape[0], dtype=dtype, seed=5, requires_grad=True) if c.pop("bias", True) else None
    inputs = [x, w] + ([b] if b is not None else [])
    # outputs reach ~80 from sums of ~25 products: float32's rounding in another order differs by ~1e-5 of that
    scale = dict(rtol=1e-4, atol=1e-4) if dtype == fastnn.float32 else tol(dtype)
    check_close(lambda x, w, b=None: F.conv2d(x, w, b, **c), inputs, dtype, **scale)


@gpu
def test_conv2d_on_the_gpu_repeats_bit_for_bit():
    x = rand(8, 3, 16, 16, dtype=fastnn.float32, seed=6).cuda().requires_grad_()
    w = rand(5, 3, 3, 3, dtype=fastnn.float32, seed=7).cuda().requires_grad_()

    def run():
        y = F.conv2d(x, w, padding=1)
        gx, gw = fastnn.autograd.grad(y.square().sum(), [x, w])
        return [t.detach().cpu().numpy() for t in (y, gx, gw)]

    for a, b in zip(run(), run()):
        assert np.array_equal(a, b)


POOLS = {
    "2x2": dict(kernel_size=2),
    "3x3 stride 2 pad 1": dict(kernel_size=3, stride=2, padding=1),
    "dilation ceil": dict(kernel_size=2, stride=2, dilation=2, ceil_mode=True),
    "overlapping": dict(kernel_size=3, stride=1),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(POOLS))
def test_max_pool2d_on_the_gpu_gives_the_cpus_values_indices_and_gradients(name, dtype):
    values = np.random.default_rng(8).integers(-3, 4, (2, 3, 9, 10)).astype(np.float64)  # many ties
    values[0, 0, 2, 3] = np.nan  # NaN wins its windows
    x = fastnn.from_numpy(values).to(dtype).requires_grad_()
    y_cpu, i_cpu = F.max_pool2d(x, return_indices=True, **POOLS[name])
    y_gpu, i_gpu = F.max_pool2d(x.cuda(), return_indices=True, **POOLS[name])
    assert np.array_equal(i_gpu.cpu().numpy(), i_cpu.numpy())
    np.testing.assert_array_equal(y_gpu.detach().cpu().numpy(), y_cpu.detach().numpy())
    g = rand(*y_cpu.shape, dtype=dtype, seed=9)
    (gx_cpu,) = fastnn.autograd.grad(y_cpu, x, g)
    (gx_gpu,) = fastnn.autograd.grad(y_gpu, x, g.cuda())
    assert np.array_equal(gx_gpu.numpy(), gx_cpu.numpy())  # the same additions in the same order


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("dim,shape", [(1, (6, 10)), (0, (300, 4)), (-1, (2, 3, 700)), (0, ())])
def test_softmax_on_the_gpu_matches_the_cpu(dtype, log, dim, shape):
    fn = F.log_softmax if log else F.softmax
    check_close(lambda x: fn(x, dim=dim), [rand(*shape, dtype=dtype, seed=10, requires_grad=True)], dtype)


LOSSES = {
    "cross_entropy": lambda x, t: F.cross_entropy(x, t),
    "cross_entropy sum": lambda x, t: F.cross_entropy(x, t, reduction="sum"),
    "cross_entropy none": lambda x, t: F.cross_entropy(x, t, reduction="none"),
    "cross_entropy weight ignore": lambda x, t: F.cross_entropy(
        x, t, weight=fastnn.linspace(0.5, 2, 10, dtype=x.dtype, device=x.device), ignore_index=3
    ),
    "nll_loss": lambda x, t: F.nll_loss(F.log_softmax(x, 1), t),
    "mse_loss": lambda x, t: F.mse_loss(x, fastnn.full_like(x, 0.25)),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_on_the_gpu_match_the_cpu(name, dtype):
    target = fastnn.tensor([3, 0, 9, 3, 5, 1, 1, 7])
    check_close(LOSSES[name], [rand(8, 10, dtype=dtype, seed=11, requires_grad=True), target], dtype)


ACTIVATIONS = {
    "leaky_relu": lambda x: F.leaky_relu(x, 0.1),
    "gelu": F.gelu,
    "gelu tanh": lambda x: F.gelu(x, approximate="tanh"),
    "softplus": lambda x: F.softplus(x, beta=2, threshold=3),
    "elu": lambda x: F.elu(x, 0.7),
    "selu": F.selu,
    "celu": lambda x: F.celu(x, 1.5),
    "hardtanh": lambda x: F.hardtanh(x, -0.5, 0.8),
    "relu6": F.relu6,
    "hardshrink": lambda x: F.hardshrink(x, 0.3),
    "softshrink": lambda x: F.softshrink(x, 0.3),
    "threshold": lambda x: F.threshold(x, 0.2, -1.0),
    "clamp_min": lambda x: fastnn._C._clamp_min(x, 0.1),
    "clamp": lambda x: x.clamp(-0.3, 0.4),
    "clamp max": lambda x: fastnn.clamp(x, max=0.1),
    "square": lambda x: x**2,
    "cube": lambda x: x.pow(3),
    "sqrt by pow": lambda x: (x.abs() + 0.1) ** 0.5,
    "pow -1.5": lambda x: (x.abs() + 0.1) ** -1.5,
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_clamp_and_pow_on_the_gpu_match_the_cpu(name, dtype):
    x = rand(7, 9, dtype=dtype, seed=23, requires_grad=True)
    check_close(lambda t: ACTIVATIONS[name](t.t()), [x], dtype)  # a transposed view on the GPU


AVG_POOLS = {
    "avg 2x2": lambda x: F.avg_pool2d(x, 2),
    "avg 3x3 pad ceil": lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
    "avg exclude pad": lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
    "avg divisor": lambda x: F.avg_pool2d(x, 2, divisor_override=3),
    "avg negative divisor": lambda x: F.avg_pool2d(x, 2, divisor_override=-2),
    "adaptive 1x1": lambda x: F.adaptive_avg_pool2d(x, 1),
    "adaptive 4x3": lambda x: F.adaptive_avg_pool2d(x, (4, 3)),
    "adaptive 3d input": lambda x: F.adaptive_avg_pool2d(x[0], (5, 7)),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(AVG_POOLS))
def test_average_pools_on_the_gpu_give_the_cpus_bits(name, dtype):
    y_cpu, y_gpu, g_cpu, g_gpu = both(AVG_POOLS[name], [rand(2, 3, 9, 10, dtype=dtype, seed=16, requires_grad=True)])
    if name == "adaptive 1x1":  # global pooling is a mean, whose sum the GPU adds in a tree: close, not equal
        np.testing.assert_allclose(y_gpu.numpy(), y_cpu.numpy(), **tol(dtype))
    else:
        assert np.array_equal(y_gpu.numpy(), y_cpu.numpy())  # the same sums in the same order
    assert np.array_equal(g_gpu[0].numpy(), g_cpu[0].numpy())


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5, 7)], ids=["1d", "2d"])
def test_batch_norm_on_the_gpu_matches_the_cpu(dtype, training, affine, shape):
    layer = (fastnn.nn.BatchNorm1d if len(shape) == 2 else fastnn.nn.BatchNorm2d)(4, affine=affine).to(dtype)
    if affine:
        with fastnn.no_grad():
            layer.weight.copy_(rand(4, dtype=dtype, seed=17))
            layer.bias.copy_(rand(4, dtype=dtype, seed=18))
    layer.running_var.fill_(2.0)
    layer.train(training)
    x = rand(*shape, dtype=dtype, seed=19, requires_grad=True)
    g = rand(*shape, dtype=dtype, seed=20)
    results = []
    for device in ("cpu", "cuda"):
        m = copy.deepcopy(layer).to(device)
        y = m(x.to(device))
        params = [x] + list(m.parameters())
        grads = fastnn.autograd.grad(y, params, g.to(device))
        results.append([t.detach().cpu().numpy() for t in [y, m.running_mean, m.running_var, *grads]])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **tol(dtype))


ROW_NORMS = {
    "layer_norm": lambda x, w, b: F.layer_norm(x, (30,), w, b),
    "layer_norm no affine": lambda x, w, b: F.layer_norm(x, (30,)),
    "layer_norm 2 dims": lambda x, w, b: F.layer_norm(x.reshape(4, 3, 10), (3, 10), w.reshape(3, 10)),
    "rms_norm": lambda x, w, b: F.rms_norm(x, (30,), w),
    "layer_norm offset": lambda x, w, b: F.layer_norm(x + 1000, (30,), w, b),
    "layer_norm wide": lambda x, w, b: F.layer_norm(x.reshape(1, 120).repeat(2, 3), (360,)),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(ROW_NORMS))
def test_layer_and_rms_norm_on_the_gpu_match_the_cpu(name, dtype):
    x = rand(4, 30, dtype=dtype, seed=29, requires_grad=True)
    w = rand(30, dtype=dtype, seed=30, requires_grad=True)
    b = rand(30, dtype=dtype, seed=31, requires_grad=True)
    check_close(ROW_NORMS[name], [x, w, b], dtype)


def _attention(name):
    mask_bool = fastnn.tensor([[True, False, True, True, False, True, True]]).expand(5, 7)
    return {
        "plain": lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
        "causal": lambda q, k, v: F.scaled_dot_product_attention(q, k[..., :5, :], v[..., :5, :], is_causal=True),
        "bool mask": lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask_bool.to(q.device)),
        "float mask": lambda q, k, v: F.scaled_dot_product_attention(
            q, k, v, attn_mask=fastnn.linspace(-1, 1, 35, dtype=q.dtype).reshape(5, 7).to(q.device)
        ),
        "scale": lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.3),
        "dropout": lambda q, k, v: (fastnn.manual_seed(3), F.scaled_dot_product_attention(q, k, v, dropout_p=0.4))[1],
        "gqa": lambda q, k, v: F.scaled_dot_product_attention(q, k[:, :1], v[:, :1], enable_gqa=True),
    }[name]


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", ["plain", "causal", "bool mask", "float mask", "scale", "dropout", "gqa"])
def test_attention_on_the_gpu_matches_the_cpus_fused_kernel(name, dtype):
    q = rand(2, 2, 5, 4, dtype=dtype, seed=36, requires_grad=True)
    k = rand(2, 2, 7, 4, dtype=dtype, seed=37, requires_grad=True)
    v = rand(2, 2, 7, 3, dtype=dtype, seed=38, requires_grad=True)
    check_close(_attention(name), [q, k, v], dtype)


@gpu
@pytest.mark.parametrize("norm_first", [False, True])
def test_multihead_attention_and_a_transformer_layer_on_the_gpu_match_the_cpu(norm_first):
    fastnn.manual_seed(0)
    mha = fastnn.nn.MultiheadAttention(16, 4, batch_first=True)
    layer = fastnn.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True, norm_first=norm_first)
    x = rand(3, 6, 16, dtype=fastnn.float32, seed=39)
    pad = fastnn.tensor([[False] * 6, [False] * 4 + [True] * 2, [False] * 5 + [True]])
    outs = []
    for device in ("cpu", "cuda"):
        m, t = copy.deepcopy(mha).to(device), copy.deepcopy(layer).to(device)
        xd = x.detach().to(device).requires_grad_()
        y, w = m(xd, xd, xd, key_padding_mask=pad.to(device))
        causal = fastnn.nn.Transformer.generate_square_subsequent_mask(6, device=device)
        assert causal.device.type == device
        z = t(xd, src_mask=causal, src_key_padding_mask=pad.to(device))
        grads = fastnn.autograd.grad((y.sum() + z.square().sum()), [xd] + list(m.parameters()) + list(t.parameters()))
        outs.append([r.detach().cpu().numpy() for r in [y, w, z, *grads]])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


RECURRENT = {
    "lstm 2 layers bidirectional": (lambda: fastnn.nn.LSTM(4, 6, num_layers=2, bidirectional=True), False),
    "lstm proj packed": (lambda: fastnn.nn.LSTM(4, 6, proj_size=3), True),
    "gru packed bidirectional": (lambda: fastnn.nn.GRU(4, 5, bidirectional=True), True),
    "rnn tanh batch_first": (lambda: fastnn.nn.RNN(4, 5, num_layers=2, batch_first=True), False),
    "rnn relu no bias packed": (lambda: fastnn.nn.RNN(4, 5, nonlinearity="relu", bias=False), True),
    "gru unsorted lengths": (lambda: fastnn.nn.GRU(4, 5), "unsorted"),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(RECURRENT))
def test_recurrent_layers_on_the_gpu_match_the_cpu(name, dtype):
    from fastnn.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    make, packed = RECURRENT[name]
    fastnn.manual_seed(0)
    layer = make().to(dtype)
    x = rand(5, 3, 4, dtype=dtype, seed=40)
    results = []
    for device in ("cpu", "cuda"):
        m = copy.deepcopy(layer).to(device)
        xd = x.detach().to(device).requires_grad_()
        if packed == "unsorted":
            xd_in = pack_padded_sequence(xd, [2, 5, 3], enforce_sorted=False)
        else:
            xd_in = pack_padded_sequence(xd, [5, 3, 2]) if packed else xd
        out, state = m(xd_in)
        if packed:
            out = pad_packed_sequence(out)[0]
        states = list(state) if isinstance(state, tuple) else [state]
        loss = (out * out).sum() + sum((s * s.detach()).sum() for s in states)
        grads = fastnn.autograd.grad(loss, [xd] + list(m.parameters()))
        results.append([t.detach().cpu().numpy() for t in [out, *states, *grads]])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, **tol(dtype))


@gpu
def test_packed_sequences_keep_their_indices_with_their_data():
    from fastnn.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    x = rand(4, 3, 2, dtype=fastnn.float32, seed=42).cuda()
    packed = pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False)
    assert packed.is_cuda and packed.sorted_indices.is_cuda and packed.unsorted_indices.is_cuda
    assert not packed.batch_sizes.is_cuda  # as torch's: batch_sizes stay on the CPU
    back = packed.cpu()
    assert not back.is_cuda and not back.sorted_indices.is_cuda and not back.unsorted_indices.is_cuda
    assert back.cuda().unsorted_indices.is_cuda
    padded, lengths = pad_packed_sequence(packed)
    assert padded.is_cuda and not lengths.is_cuda and lengths.tolist() == [2, 4, 3]
    np.testing.assert_array_equal(padded.cpu().numpy()[:, 1], x.cpu().numpy()[:, 1])


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_dropout_on_the_gpu_draws_the_cpus_mask(dtype):
    x = fastnn.ones(4, 3, 50, dtype=dtype)
    masks = {}
    for device in ("cpu", "cuda", "cuda"):
        fastnn.manual_seed(5)
        y = F.dropout(x.to(device), p=0.3)
        y2 = F.dropout2d(x.to(device), p=0.5)
        masks.setdefault(device, []).append((y.cpu().numpy(), y2.cpu().numpy()))
    (cpu,), (gpu1, gpu2) = masks["cpu"], masks["cuda"]
    for a, b, c in zip(cpu, gpu1, gpu2):
        assert np.array_equal(a, b) and np.array_equal(b, c)
    assert 0.2 < (cpu[0] == 0).mean() < 0.4


@gpu
def test_joining_and_writing_into_views_on_the_gpu():
    a = rand(2, 3, seed=21, requires_grad=True)
    b = rand(2, 5, seed=22, requires_grad=True)
    check_close(lambda a, b: fastnn.cat([a, b], 1), [a, b], fastnn.float64)
    check_close(lambda a, b: fastnn.stack([a, b[:, :3]], 2), [a, b], fastnn.float64)
    check_close(lambda a, b: fastnn.cat([fastnn.empty(0, device=a.device, dtype=a.dtype), a]), [a, b], fastnn.float64)
    x = fastnn.zeros(3, 4).cuda()
    x[:, 1] = fastnn.arange(3.0).cuda()  # a strided destination on the GPU
    x[0] = 5  # a number broadcast into a row
    x[1:, 2:] = fastnn.ones(2, 2)  # from the CPU
    want = fastnn.zeros(3, 4)
    want[:, 1] = fastnn.arange(3.0)
    want[0] = 5
    want[1:, 2:] = 1
    assert np.array_equal(x.cpu().numpy(), want.numpy())
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        fastnn.cat([fastnn.ones(2).cuda(), fastnn.ones(2)])


FLOAT_TARGET_LOSSES = {
    "l1_loss": lambda x, t: F.l1_loss(x, t),
    "smooth_l1_loss": lambda x, t: F.smooth_l1_loss(x, t, beta=0.5),
    "huber_loss": lambda x, t: F.huber_loss(x, t, reduction="sum", delta=0.7),
    "soft_margin_loss": lambda x, t: F.soft_margin_loss(x, t.detach() * 2 - 1),
    "binary_cross_entropy": lambda x, t: F.binary_cross_entropy(fastnn.sigmoid(x), t),
    "binary_cross_entropy weight": lambda x, t: F.binary_cross_entropy(fastnn.sigmoid(x), t, weight=t.detach() + 0.5),
    "bce_with_logits": lambda x, t: F.binary_cross_entropy_with_logits(x, t),
    "bce_with_logits pos_weight": lambda x, t: F.binary_cross_entropy_with_logits(
        x, t, pos_weight=fastnn.linspace(0.5, 3, 10, dtype=x.dtype, device=x.device), reduction="none"
    ),
    "cross_entropy label smoothing": lambda x, t: F.cross_entropy(x, t.argmax(1), label_smoothing=0.1),
    "cross_entropy probabilities": lambda x, t: F.cross_entropy(x, F.softmax(t, 1)),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(FLOAT_TARGET_LOSSES))
def test_losses_with_float_targets_on_the_gpu_match_the_cpu(name, dtype):
    x = rand(8, 10, dtype=dtype, seed=27, requires_grad=True)
    t = fastnn.from_numpy(np.random.default_rng(28).uniform(0, 1, (8, 10))).to(dtype).requires_grad_()
    check_close(FLOAT_TARGET_LOSSES[name], [x, t], dtype)


@gpu
def test_a_target_on_another_device_is_torchs_error():
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        F.cross_entropy(fastnn.zeros(2, 3).cuda(), fastnn.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        fastnn.zeros(2, 3).cuda() @ fastnn.zeros(3, 2)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        F.conv2d(fastnn.zeros(1, 1, 4, 4).cuda(), fastnn.zeros(1, 1, 3, 3))


@gpu
def test_argmax_comparisons_and_counting_on_the_gpu_match_the_cpu():
    values = np.random.default_rng(12).integers(0, 4, (5, 300)).astype(np.float32)  # ties: the first index wins
    values[2, 17] = np.nan
    x = fastnn.from_numpy(values)
    for fn in (
        lambda t: t.argmax(1),
        lambda t: t.argmin(1),
        lambda t: t.argmax(0, keepdim=True),
        lambda t: t.argmax(),
        lambda t: t.t().argmin(0),
    ):
        assert np.array_equal(fn(x.cuda()).cpu().numpy(), fn(x).numpy())
    labels = fastnn.tensor([1, 0, 3, 3, 2])
    pred = x.argmax(1)
    for fn in (
        lambda p, l: p == l,
        lambda p, l: p != l,
        lambda p, l: p < 2,
        lambda p, l: p.float() >= l.double(),
        lambda p, l: (p == l).sum(),
        lambda p, l: (p.unsqueeze(1) <= l).sum(0),
    ):
        got, want = fn(pred.cuda(), labels.cuda()), fn(pred, labels)
        assert got.is_cuda and got.dtype == want.dtype and np.array_equal(got.cpu().numpy(), want.numpy())


EXTREMES = {
    "max dim": lambda x: fastnn.max(x, 1)[0],
    "min dim keepdim": lambda x: x.min(0, keepdim=True)[0],
    "max all": lambda x: x.max(),
    "min all": lambda x: x.min(),
    "amax via max indices": lambda x: x.max(-1).indices.to(x.dtype),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(EXTREMES))
def test_max_and_min_on_the_gpu_give_the_cpus_values_indices_and_gradients(name, dtype):
    values = np.random.default_rng(24).integers(-3, 4, (6, 40)).astype(np.float64)  # ties share or pick the first
    x = fastnn.from_numpy(values).to(dtype).requires_grad_()
    y_cpu, y_gpu, g_cpu, g_gpu = both(EXTREMES[name], [x] if name != "amax via max indices" else [x.detach()])
    assert np.array_equal(y_gpu.numpy(), y_cpu.numpy())
    for a, b in zip(g_gpu, g_cpu):
        np.testing.assert_allclose(a.numpy(), b.numpy(), **tol(dtype))
    _, predicted = fastnn.max(x.detach().cuda(), 1)  # the CIFAR-10 tutorial's accuracy idiom
    assert predicted.is_cuda and np.array_equal(predicted.cpu().numpy(), values.argmax(1))


SELECTIONS = {
    "where": lambda a, b: fastnn.where(a > 0, a, b),
    "where number": lambda a, b: fastnn.where(b < 0.5, a, 0.0),
    "where broadcast": lambda a, b: fastnn.where(a[:1] > 0, a, b[:, :1]),
    "masked_fill": lambda a, b: a.masked_fill(b > 0, -1e9),
    "masked_fill causal": lambda a, b: a.masked_fill(fastnn.ones(5, 5, dtype=fastnn.bool).triu(1).to(a.device), 0.0),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(SELECTIONS))
def test_where_and_masked_fill_on_the_gpu_match_the_cpu(name, dtype):
    a = rand(5, 5, dtype=dtype, seed=25, requires_grad=True)
    b = rand(5, 5, dtype=dtype, seed=26, requires_grad=True)
    y_cpu, y_gpu, g_cpu, g_gpu = both(SELECTIONS[name], [a, b])
    assert np.array_equal(y_gpu.numpy(), y_cpu.numpy())
    for x, y in zip(g_gpu, g_cpu):
        if name == "where broadcast":  # a broadcast operand's gradient is a sum, added in a tree on the GPU
            np.testing.assert_allclose(x.numpy(), y.numpy(), **tol(dtype))
        else:
            assert np.array_equal(x.numpy(), y.numpy())


@gpu
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_select_on_the_gpu_gives_the_cpus_rows_and_gradients(dim):
    x = rand(4, 5, 6, seed=41, requires_grad=True)
    idx = fastnn.tensor([3, 0, -1, 3, 1])
    y_cpu, y_gpu, g_cpu, g_gpu = both(lambda t, i: t.index_select(dim, i), [x, idx])
    assert np.array_equal(y_gpu.numpy(), y_cpu.numpy())
    assert np.array_equal(g_gpu[0].numpy(), g_cpu[0].numpy())  # repeated indices add in index order
    with pytest.raises(IndexError, match="out of bounds"):
        x.detach().cuda().index_select(0, fastnn.tensor([4]).cuda())
    padded = fastnn.nn.utils.rnn.pad_sequence([fastnn.ones(3, 2).cuda(), fastnn.ones(1, 2).cuda()])
    assert padded.is_cuda and padded.cpu().sum().item() == 8


GATHERS = {
    "dqn q.gather(1, a)": (lambda t, i: t.gather(1, i), (6, 4), lambda: fastnn.tensor([[1], [3], [0], [3], [2], [1]])),
    "dim 0 repeats": (lambda t, i: t.gather(0, i), (3, 5), lambda: fastnn.tensor([[2, 2, 0, 1, 2], [2, 0, 0, 1, 1]])),
    "middle dim of a view": (
        lambda t, i: t.transpose(0, 2).gather(1, i),
        (4, 3, 2),
        lambda: fastnn.tensor([[[0, 1, 0], [2, 2, 2]], [[1, 1, 0], [0, 2, 1]]]),
    ),
    "take_along_dim": (
        lambda t, i: fastnn.take_along_dim(t, i, 1),
        (2, 5),
        lambda: fastnn.tensor([[4, 0, 4], [1, 1, 3]]),
    ),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(GATHERS))
def test_gather_on_the_gpu_gives_the_cpus_values_and_gradients(name, dtype):
    fn, shape, index = GATHERS[name]
    y_cpu, y_gpu, g_cpu, g_gpu = both(fn, [rand(*shape, dtype=dtype, seed=43, requires_grad=True), index()])
    assert np.array_equal(y_gpu.numpy(), y_cpu.numpy())
    assert np.array_equal(g_gpu[0].numpy(), g_cpu[0].numpy())  # repeated picks add in index order, as on the CPU
    with pytest.raises(IndexError, match="out of bounds"):
        fastnn.ones(2, 3).cuda().gather(1, fastnn.tensor([[3]]).cuda())


INDEXING = {
    "rows by a list": lambda t, m: t[fastnn.tensor([2, 0, 2, 1])],
    "bool mask": lambda t, m: t[m],
    "mask on the last dims": lambda t, m: t[:, m[0]],
    "two index tensors broadcast": lambda t, m: t[fastnn.tensor([[0], [2]]), fastnn.tensor([1, 3, 1])],
    "separated index dims": lambda t, m: t.reshape(3, 2, 2)[fastnn.tensor([1, 1]), :, fastnn.tensor([0, 1])],
    "masked_select": lambda t, m: fastnn.masked_select(t, m),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(INDEXING))
def test_advanced_indexing_on_the_gpu_gives_the_cpus_values_and_gradients(name, dtype):
    mask = fastnn.tensor([[True, False, True, True], [False, False, True, False], [True, True, False, True]])
    y_cpu, y_gpu, g_cpu, g_gpu = both(INDEXING[name], [rand(3, 4, dtype=dtype, seed=45, requires_grad=True), mask])
    assert np.array_equal(y_gpu.numpy(), y_cpu.numpy())
    assert np.array_equal(g_gpu[0].numpy(), g_cpu[0].numpy())  # repeated rows add in index order


@gpu
def test_index_put_on_the_gpu_writes_as_the_cpu():
    results = []
    for device in ("cpu", "cuda"):
        z = fastnn.zeros(3, 4, device=device)
        z[z.abs() < 1] = 0.5  # a number through a mask
        z[fastnn.tensor([0, 2, 0]), fastnn.tensor([1, 1, 1])] = fastnn.tensor([1.0, 2.0, 3.0], device=device)
        z.index_put_((fastnn.tensor([1, 1, 2]),), fastnn.tensor([10.0, 20.0, 30.0, 40.0], device=device), True)
        n = fastnn.zeros(5, dtype=fastnn.int64, device=device)
        n.index_put_((fastnn.tensor([4, 0, 4], device=device),), fastnn.tensor(7, device=device), accumulate=True)
        results.append((z.cpu().numpy(), n.cpu().numpy()))
    for a, b in zip(*results):
        assert np.array_equal(a, b)
    assert results[1][1].tolist() == [7, 0, 0, 0, 14]
    with pytest.raises(RuntimeError, match="indices should be either on cpu or on the same device"):
        fastnn.zeros(3)[fastnn.tensor([1]).cuda()]


COMPOSED = {  # ops whose GPU path is composed of other GPU ops (or copies): values and gradients against the CPU
    "roll": lambda x: x.roll((1, -2), (0, 2)),
    "pad constant": lambda x: F.pad(x, (1, 2, 0, 1), value=0.5),
    "pad crop": lambda x: F.pad(x, (-1, 1)),
    "pixel_shuffle": lambda x: F.pixel_shuffle(x.reshape(1, 4, 3, 5), 2),
    "diagonal and diag_embed": lambda x: fastnn.diag_embed(x.diagonal(0, 1, 2)),
    "flip": lambda x: x.flip((0, 2)),
    "tril": lambda x: x.tril(-1),
    "triu": lambda x: x.triu(2),
    "amax ties": lambda x: x.round().amax((0, 2)),
    "amin keepdim": lambda x: x.amin(1, keepdim=True),
    "logsumexp": lambda x: x.logsumexp(2),
    "logsumexp -inf row": lambda x: x.masked_fill(
        x.new_ones(x.shape, dtype=fastnn.bool).tril(), -float("inf")
    ).logsumexp(2),
    "norm 2 with a zero row": lambda x: fastnn.linalg.vector_norm(
        x * (x.new_ones(3, 1, 5) * fastnn.arange(3.0, dtype=x.dtype, device=x.device).reshape(3, 1, 1)), dim=(1, 2)
    ),
    "norm 1": lambda x: fastnn.linalg.vector_norm(x, 1, dim=1),
    "norm inf": lambda x: fastnn.linalg.vector_norm(x, float("inf")),
    "norm 3 keepdim": lambda x: fastnn.linalg.vector_norm(x, 3, dim=-1, keepdim=True),
    "normalize": lambda x: F.normalize(x, dim=1),
    "slice assignment": lambda x: _assign(x),
}


def _assign(x):
    y = x * 2
    y[1:, :2] = x[:2, 2:]  # copy_ into a view: the overwritten part gets no gradient
    return y


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(COMPOSED))
def test_composed_and_copying_ops_on_the_gpu_match_the_cpu(name, dtype):
    check_close(COMPOSED[name], [rand(3, 4, 5, dtype=dtype, seed=46, requires_grad=True)], dtype)


@gpu
def test_any_all_on_the_gpu_match_the_cpu():
    x = fastnn.tensor([[0.0, 1.0, float("nan")], [0.0, 0.0, 0.0], [2.0, 3.0, 4.0]])
    for fn in (lambda t: t.any(), lambda t: t.all(1), lambda t: t.any(0, keepdim=True), lambda t: (t > 1).all()):
        got = fn(x.cuda())
        assert got.is_cuda and got.dtype == fastnn.bool
        assert np.array_equal(got.cpu().numpy(), fn(x).numpy())


SCATTERS = {
    "scatter": lambda t, i, s: t.scatter(1, i, s),
    "scatter value": lambda t, i, s: t.scatter(1, i, 2.5),
    "scatter reduce add": lambda t, i, s: t.scatter(1, i, s, reduce="add"),  # (no derivative, as torch)
    "scatter reduce multiply": lambda t, i, s: t.scatter(1, i, s, reduce="multiply"),
    "scatter_add": lambda t, i, s: t.scatter_add(1, i, s),
    "scatter_add_ dim 0": lambda t, i, s: t.clone().scatter_add_(0, i[:, :2].flip(0) - i[:, :2].flip(0), s[:, :2]),
    "index_add alpha": lambda t, i, s: t.index_add(1, i[0], s, alpha=-2),
    "cumsum": lambda t, i, s: t.cumsum(1) + s.cumsum(0).sum(),
    "cumprod": lambda t, i, s: t.cumprod(0),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(SCATTERS))
def test_scatters_index_add_and_scans_on_the_gpu_give_the_cpus_values_and_gradients(name, dtype):
    t = rand(3, 5, dtype=dtype, seed=47, requires_grad=True)
    s = rand(3, 4, dtype=dtype, seed=48, requires_grad=True)
    i = fastnn.tensor([[4, 0, 4, 4], [1, 1, 2, 0], [3, 3, 3, 3]])  # repeats: they combine in index order
    inputs = [t.detach(), i, s.detach()] if "reduce" in name else [t, i, s]
    y_cpu, y_gpu, g_cpu, g_gpu = both(SCATTERS[name], inputs)
    assert np.array_equal(y_gpu.numpy(), y_cpu.numpy())
    for a, b in zip(g_gpu, g_cpu):
        np.testing.assert_allclose(a.numpy(), b.numpy(), **tol(dtype))
    with pytest.raises(RuntimeError, match="same device"):
        fastnn.zeros(3, 5).cuda().scatter_add(1, i.cuda(), fastnn.ones(3, 4))


SORTS = {
    "sort": lambda x: x.sort(1)[0],
    "sort descending indices": lambda x: x.sort(0, descending=True)[1].to(x.dtype),
    "argsort": lambda x: x.argsort(-1).to(x.dtype),
    "topk": lambda x: x.topk(3, 1)[0],
    "topk smallest indices": lambda x: x.topk(2, 1, largest=False)[1].to(x.dtype),
    "kthvalue": lambda x: x.kthvalue(2, 1)[0],
    "median dim": lambda x: x.median(0)[0],
    "median": lambda x: x.median(),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(SORTS))
def test_sorting_on_the_gpu_gives_the_cpus_order_and_gradients(name, dtype):
    values = np.random.default_rng(49).integers(-3, 4, (4, 6)).astype(np.float64)  # ties: ordered by index
    values[2, 3] = np.nan  # NaN sorts last (and wins median)
    x = fastnn.from_numpy(values).to(dtype).requires_grad_()
    y_cpu, y_gpu, g_cpu, g_gpu = both(
        SORTS[name], [x] if "indices" not in name and "argsort" not in name else [x.detach()]
    )
    np.testing.assert_array_equal(y_gpu.numpy(), y_cpu.numpy())
    for a, b in zip(g_gpu, g_cpu):
        assert np.array_equal(a.numpy(), b.numpy())


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", ["group_norm affine", "group_norm plain 3d", "instance_norm", "InstanceNorm2d affine"])
def test_group_and_instance_norm_on_the_gpu_match_the_cpu(name, dtype):
    w, b = rand(6, dtype=dtype, seed=50, requires_grad=True), rand(6, dtype=dtype, seed=51, requires_grad=True)
    fns = {
        "group_norm affine": lambda x, w, b: F.group_norm(x, 3, w, b),
        "group_norm plain 3d": lambda x, w, b: F.group_norm(x.flatten(2), 2) + 0 * (w.sum() + b.sum()),
        "instance_norm": lambda x, w, b: F.instance_norm(x) + 0 * (w.sum() + b.sum()),
        "InstanceNorm2d affine": lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
    }
    check_close(fns[name], [rand(2, 6, 3, 4, dtype=dtype, seed=52, requires_grad=True), w, b], dtype)


@gpu
def test_one_hot_and_nonzero_on_the_gpu_give_the_cpus_values():
    labels = fastnn.tensor([[2, 0], [3, 3]])
    for num_classes in (-1, 5):
        got = F.one_hot(labels.cuda(), num_classes)
        assert got.is_cuda and got.dtype == fastnn.int64
        assert np.array_equal(got.cpu().numpy(), F.one_hot(labels, num_classes).numpy())
    with pytest.raises(ValueError, match="smaller than num_classes"):
        F.one_hot(labels.cuda(), 3)
    x = fastnn.tensor([[0.0, 1.5, 0.0], [float("nan"), 0.0, -2.0]])
    got = x.cuda().nonzero()
    assert got.is_cuda and np.array_equal(got.cpu().numpy(), x.nonzero().numpy())


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("is_max", [True, False], ids=["maximum", "minimum"])
def test_maximum_and_minimum_on_the_gpu_match_the_cpu(is_max, dtype):
    op = fastnn.maximum if is_max else fastnn.minimum
    a = fastnn.tensor([[1.0, 2.0, float("nan")], [0.5, -1.0, 3.0]], dtype=dtype).requires_grad_()
    b = fastnn.tensor([2.0, 2.0, 0.0], dtype=dtype).requires_grad_()  # broadcast, ties split the gradient
    y_cpu, y_gpu, g_cpu, g_gpu = both(op, [a, b])
    np.testing.assert_array_equal(y_gpu.numpy(), y_cpu.numpy())
    for x, y in zip(g_gpu, g_cpu):
        assert np.array_equal(x.numpy(), y.numpy())
    ints = fastnn.tensor([[3, -4], [7, 0]])
    assert np.array_equal(op(ints.cuda(), fastnn.tensor(1)).cpu().numpy(), op(ints, fastnn.tensor(1)).numpy())


MOMENTS = {
    "var": lambda x: x.var(),
    "std dim": lambda x: x.std(1),
    "var dims keepdim": lambda x: x.var((0, 2), keepdim=True),
    "std correction 0": lambda x: fastnn.std(x, dim=-1, correction=0),
    "var_mean": lambda x: fastnn.cat([t.reshape(-1) for t in fastnn.var_mean(x, 1)]),
    "std_mean keepdim": lambda x: fastnn.cat([t.reshape(-1) for t in fastnn.std_mean(x, 2, keepdim=True)]),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(MOMENTS))
def test_var_and_std_on_the_gpu_match_the_cpu(name, dtype):
    x = rand(3, 4, 5, dtype=dtype, seed=44)
    x[1] = 0.5  # a constant slice: std 0, whose gradient is 0 (not nan)
    check_close(MOMENTS[name], [x.requires_grad_()], dtype)


@gpu
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_on_the_gpu_gives_the_cpus_rows_and_gradients(padding_idx):
    emb = fastnn.nn.Embedding(7, 4, padding_idx=padding_idx)
    idx = fastnn.tensor([[1, 2, 6, 1], [0, 1, 2, 2]])
    y_cpu = emb(idx)
    (g_cpu,) = fastnn.autograd.grad(y_cpu, [emb.weight], fastnn.ones(2, 4, 4) * fastnn.arange(4.0))
    emb.cuda()
    y_gpu = emb(idx.cuda())
    (g_gpu,) = fastnn.autograd.grad(y_gpu, [emb.weight], (fastnn.ones(2, 4, 4) * fastnn.arange(4.0)).cuda())
    assert np.array_equal(y_gpu.detach().cpu().numpy(), y_cpu.detach().numpy())
    assert np.array_equal(g_gpu.cpu().numpy(), g_cpu.numpy())  # each row sums its picks in index order
    with pytest.raises(IndexError, match="index 7 is out of range for 7 embeddings"):
        emb(fastnn.tensor([7]).cuda())


BINARY_RULES = {  # ops/binary_rules.h: the same formulas on both devices
    "pow tensor exponent": lambda a, b: a.abs() ** b,
    "pow broadcast number base": lambda a, b: 2.0 ** b[0],
    "remainder": lambda a, b: a % (b + 3),
    "remainder by number": lambda a, b: a % -0.7,
    "fmod": lambda a, b: fastnn.fmod(a, b + 3),
    "floor_divide": lambda a, b: (a // 0.7).detach() + b,
    "atan2": lambda a, b: fastnn.atan2(a, b),
    "prod": lambda a, b: a.prod(1),
    "prod all": lambda a, b: b.prod(),
    "prod with zeros": lambda a, b: (a * (a > 0)).prod(0, keepdim=True),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY_RULES))
def test_binary_rules_and_prod_on_the_gpu_match_the_cpu(name, dtype):
    a = rand(4, 6, dtype=dtype, seed=60, requires_grad=True)
    b = rand(4, 6, dtype=dtype, seed=61, requires_grad=True)
    check_close(BINARY_RULES[name], [a, b], dtype)


@gpu
def test_integer_powers_divisions_and_remainders_on_the_gpu_are_exact():
    a, b = fastnn.tensor([7, -7, 8, -9, 0]), fastnn.tensor([2, 3, -3, -4, 5])
    for fn in (lambda x, y: x // y, lambda x, y: x % y, lambda x, y: fastnn.fmod(x, y), lambda x, y: x ** (y * y)):
        got = fn(a.cuda(), b.cuda())
        assert got.is_cuda and got.dtype == fastnn.int64
        assert np.array_equal(got.cpu().numpy(), fn(a, b).numpy())
    with pytest.raises(ValueError, match="ZeroDivisionError"):
        a.cuda() // (b * 0).cuda()
    with pytest.raises(ValueError, match="negative integer powers"):
        a.cuda() ** b.cuda()
    assert fastnn.allclose(a.cuda().double(), a.double().cuda()) and fastnn.equal(a.cuda(), a.cuda())


RESAMPLES = {  # the tap-table kernels (kernels/cuda/resample.h)
    "pad reflect": lambda x: F.pad(x, (1, 2, 2, 1), mode="reflect"),
    "pad replicate": lambda x: F.pad(x, (3, 0, 1, 2), mode="replicate"),
    "pad circular with a crop": lambda x: F.pad(x, (2, -1, 1, 1), mode="circular"),
    "pad reflect 1d": lambda x: F.pad(x[0], (2, 3), mode="reflect"),
    "pad replicate 3d": lambda x: F.pad(x, (1, 1, 0, 2, 1, 0), mode="replicate"),
    "interpolate nearest": lambda x: F.interpolate(x, scale_factor=2.3),
    "interpolate nearest-exact down": lambda x: F.interpolate(x, size=(3, 4), mode="nearest-exact"),
    "interpolate bilinear": lambda x: F.interpolate(x, size=(9, 4), mode="bilinear"),
    "interpolate bilinear align_corners": lambda x: F.interpolate(
        x, scale_factor=1.7, mode="bilinear", align_corners=True
    ),
    "interpolate bicubic": lambda x: F.interpolate(x, size=(8, 11), mode="bicubic"),
    "interpolate linear": lambda x: F.interpolate(x[0], size=13, mode="linear"),
    "Upsample": lambda x: fastnn.nn.Upsample(scale_factor=2, mode="nearest")(x),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(RESAMPLES))
def test_padding_modes_and_interpolation_on_the_gpu_match_the_cpu(name, dtype):
    check_close(RESAMPLES[name], [rand(2, 3, 5, 7, dtype=dtype, seed=62, requires_grad=True)], dtype)


CONVOLUTIONS_MORE = {
    "conv_transpose2d stride output_padding": (
        lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
        (2, 3, 5, 7),
        (3, 2, 3, 3),
    ),
    "conv_transpose2d groups dilation bias": (
        lambda x, w: F.conv_transpose2d(x, w, w.sum((1, 2, 3)).repeat(2), groups=3, dilation=2),
        (2, 3, 5, 7),
        (3, 2, 3, 3),
    ),
    "conv_transpose1d": (lambda x, w: F.conv_transpose1d(x, w, stride=3), (2, 5, 7), (5, 4, 2)),
    "unfold": (lambda x, w: F.unfold(x + w.sum(), (2, 3), padding=1, stride=(1, 2)), (2, 3, 5, 7), (1,)),
    "fold": (lambda x, w: F.fold(x * w, (4, 5), 2, dilation=(1, 2), padding=1), (2, 12, 25), (1,)),
    "adaptive_max_pool2d": (lambda x, w: F.adaptive_max_pool2d(x * w, (2, 3)), (2, 3, 5, 7), (1,)),
    "adaptive_max_pool2d up": (lambda x, w: F.adaptive_max_pool2d(x * w, (7, 9)), (2, 3, 5, 7), (1,)),
    "AdaptiveMaxPool1d": (lambda x, w: fastnn.nn.AdaptiveMaxPool1d(4)(x * w), (2, 5, 7), (1,)),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(CONVOLUTIONS_MORE))
def test_transposed_convolutions_folds_and_adaptive_max_pools_on_the_gpu_match_the_cpu(name, dtype):
    check_pair(CONVOLUTIONS_MORE[name], dtype, seeds=(63, 64))


@gpu
def test_adaptive_max_pool_indices_on_the_gpu_are_the_cpus():
    x = rand(2, 3, 5, 7, seed=65)
    x[0, 0, 1, 1] = float("nan")
    for size in [(2, 3), (5, 7), (7, 9)]:
        out, idx = F.adaptive_max_pool2d(x.cuda(), size, return_indices=True)
        want, want_idx = F.adaptive_max_pool2d(x, size, return_indices=True)
        assert idx.is_cuda and np.array_equal(idx.cpu().numpy(), want_idx.numpy())
        assert np.array_equal(out.cpu().numpy(), want.numpy(), equal_nan=True)


@gpu
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("variant", ["offsets", "padding_idx", "2d", "include_last_offset", "scale_grad_by_freq"])
def test_embedding_bag_on_the_gpu_gives_the_cpus_bags_and_gradients(mode, variant):
    if variant == "scale_grad_by_freq" and mode == "max":
        pytest.skip("max mode refuses scale_grad_by_freq (as torch)")
    idx, off = fastnn.tensor([1, 2, 4, 5, 4, 3, 2, 9, 0, 0]), fastnn.tensor([0, 3, 3, 7])
    kwargs = {"mode": mode}
    if variant == "padding_idx":
        kwargs["padding_idx"] = 4
    elif variant == "2d":
        idx, off = idx.reshape(2, 5), None
    elif variant == "include_last_offset":
        off, kwargs["include_last_offset"] = fastnn.tensor([0, 3, 10]), True
    elif variant == "scale_grad_by_freq":
        kwargs["scale_grad_by_freq"] = True

    def bag(w):
        return F.embedding_bag(idx.to(w.device), w, None if off is None else off.to(w.device), **kwargs)

    check_close(bag, [rand(10, 4, seed=66, requires_grad=True)], fastnn.float64)


@gpu
def test_embedding_bag_per_sample_weights_and_max_norm_on_the_gpu_match_the_cpu():
    idx, off = fastnn.tensor([1, 2, 4, 5, 4, 3, 2, 9]), fastnn.tensor([0, 3, 3, 7])

    def weighted(w, p):
        return F.embedding_bag(idx.to(w.device), w, off.to(w.device), mode="sum", per_sample_weights=p)

    check_close(
        weighted, [rand(10, 4, seed=67, requires_grad=True), rand(8, seed=68, requires_grad=True)], fastnn.float64
    )
    emb = fastnn.nn.Embedding(10, 4, max_norm=1.0)
    w0 = emb.weight.detach().clone()
    y_cpu = emb(idx)
    emb.weight.data.copy_(w0)
    emb.cuda()
    y_gpu = emb(idx.cuda())
    assert np.array_equal(y_gpu.detach().cpu().numpy(), y_cpu.detach().numpy())


@gpu
def test_random_draws_on_the_gpu_are_the_cpus_for_the_same_seed():
    draws = {
        "bernoulli": lambda d: fastnn.bernoulli(fastnn.rand(5, 7).to(d)),
        "multinomial": lambda d: fastnn.multinomial(fastnn.rand(5, 7).to(d), 4),
        "multinomial with replacement": lambda d: fastnn.multinomial(fastnn.rand(7).to(d), 9, replacement=True),
        "uniform_": lambda d: fastnn.empty(3, 4, device=d).uniform_(-1, 2),
        "normal_ into a transposed view": lambda d: fastnn.empty(3, 4, device=d).t().normal_(),
        "bernoulli_ with tensor p": lambda d: fastnn.empty(3, 4, device=d).bernoulli_(fastnn.rand(3, 4).to(d)),
        "exponential_": lambda d: fastnn.empty(6, device=d).exponential_(),
        "random_": lambda d: fastnn.empty(6, dtype=fastnn.int64, device=d).random_(0, 10),
    }
    for name, draw in draws.items():
        fastnn.manual_seed(3)
        want = draw("cpu")
        fastnn.manual_seed(3)
        got = draw("cuda")
        assert got.is_cuda, name
        assert np.array_equal(got.cpu().numpy(), want.numpy()), name
    p = fastnn.rand(3, requires_grad=True)
    (g,) = fastnn.autograd.grad((fastnn.bernoulli(p.cuda()) * 2).sum(), [p])
    assert np.array_equal(g.numpy(), np.zeros(3, np.float32))
    layer = fastnn.nn.Linear(3, 4).cuda()
    fastnn.nn.init.xavier_uniform_(layer.weight)
    fastnn.nn.init.trunc_normal_(layer.bias)
    assert layer.weight.is_cuda and layer.bias.is_cuda


@gpu
def test_logical_bitwise_predicates_and_integer_ops_on_the_gpu_give_the_cpus_values():
    x = fastnn.tensor([[0.0, -1.5, float("nan")], [float("inf"), 2.0, -float("inf")]])
    i = fastnn.tensor([[5, -3, 0], [7, 12, -8]])
    b = fastnn.tensor([[True, False, True], [False, False, True]])
    ops = {
        "logical_and": lambda: fastnn.logical_and(x, i),
        "logical_or": lambda: fastnn.logical_or(b, i[0]),
        "logical_xor": lambda: fastnn.logical_xor(x, b),
        "logical_not": lambda: fastnn.logical_not(x),
        "~bool": lambda: ~b,
        "~int": lambda: ~i,
        "bool & bool": lambda: b & b.flip(0),
        "int | int": lambda: i | i.flip(1),
        "int ^ int": lambda: i ^ 6,
        "isnan": lambda: x.isnan(),
        "isinf": lambda: fastnn.isinf(x),
        "isfinite": lambda: fastnn.isfinite(x),
        "isfinite int": lambda: fastnn.isfinite(i),
        "int neg": lambda: -i,
        "int abs": lambda: i.abs(),
        "int sign": lambda: i.sign(),
        "int relu": lambda: fastnn.relu(i),
        "int floor": lambda: i.floor(),
        "int sigmoid": lambda: i.sigmoid(),
        "int clamp": lambda: i.clamp(-2, 6),
        "int clamp float bound": lambda: i.clamp(max=2.5),
        "int max": lambda: i.max(),
        "int min dim": lambda: i.min(1)[0],
        "int argmax": lambda: i.argmax(),
        "int amax": lambda: i.amax(0),
        "int cummax": lambda: i.cummax(1)[0],
        "count_nonzero": lambda: fastnn.count_nonzero(x, 1),
        "count_nonzero int": lambda: fastnn.count_nonzero(i),
    }
    for name, fn in ops.items():
        want = fn()
        x, i, b = x.cuda(), i.cuda(), b.cuda()
        got = fn()
        x, i, b = x.cpu(), i.cpu(), b.cpu()
        assert got.is_cuda and got.dtype == want.dtype, name
        assert np.array_equal(got.cpu().numpy(), want.numpy(), equal_nan=True), name


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_cummax_cummin_on_the_gpu_match_the_cpu(dtype):
    x = rand(3, 6, dtype=dtype, seed=70).round()  # ties: the last index wins
    x[1, 2] = float("nan")
    for is_max in (True, False):
        fn = (lambda t: t.cummax(1)) if is_max else (lambda t: t.cummin(0))
        want, got = fn(x), fn(x.cuda())
        assert np.array_equal(got[0].cpu().numpy(), want[0].numpy(), equal_nan=True)
        assert np.array_equal(got[1].cpu().numpy(), want[1].numpy())
    check_close(
        lambda t: t.cummax(1)[0] + t.cummin(0)[0], [rand(3, 6, dtype=dtype, seed=71, requires_grad=True)], dtype
    )


@gpu
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_loss_on_the_gpu_matches_the_cpu(p, reduction):
    target = fastnn.tensor([2, 0, 4, 1])
    weight = fastnn.arange(1.0, 6.0, dtype=fastnn.float64)
    for w in (None, weight):
        check_close(
            lambda x: F.multi_margin_loss(
                x,
                target.to(x.device),
                p=p,
                margin=0.7,
                weight=None if w is None else w.to(x.device),
                reduction=reduction,
            ),
            [rand(4, 5, seed=72, requires_grad=True)],
            fastnn.float64,
        )


@gpu
def test_instance_norm_running_statistics_and_normal_with_tensor_arguments_on_the_gpu():
    layer = fastnn.nn.InstanceNorm2d(3, affine=True, track_running_stats=True, momentum=0.3).double()
    gpu_layer = copy.deepcopy(layer).cuda()
    for seed in (73, 74):
        x = rand(2, 3, 4, 5, seed=seed)
        y_cpu, y_gpu = layer(x), gpu_layer(x.cuda())
        np.testing.assert_allclose(y_gpu.detach().cpu().numpy(), y_cpu.detach().numpy(), **tol(fastnn.float64))
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(
            getattr(gpu_layer, name).cpu().numpy(), getattr(layer, name).numpy(), **tol(fastnn.float64)
        )
    gpu_layer.eval()
    layer.eval()
    x = rand(2, 3, 4, 5, seed=75)
    np.testing.assert_allclose(
        gpu_layer(x.cuda()).detach().cpu().numpy(), layer(x).detach().numpy(), **tol(fastnn.float64)
    )
    mean, std = rand(3, 4, seed=76), rand(3, 4, seed=77).abs()
    fastnn.manual_seed(5)
    want = fastnn.normal(mean, std)
    fastnn.manual_seed(5)
    got = fastnn.normal(mean.cuda(), std.cuda())
    assert got.is_cuda and np.array_equal(got.cpu().numpy(), want.numpy())


LINALG = {
    "inv": lambda a, b: fastnn.linalg.inv(a),
    "det": lambda a, b: fastnn.linalg.det(a),
    "slogdet": lambda a, b: fastnn.linalg.slogdet(a).logabsdet,
    "solve": lambda a, b: fastnn.linalg.solve(a, b),
    "solve vector broadcast": lambda a, b: fastnn.linalg.solve(a[:1], b[..., 0]),
}


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(LINALG))
def test_linalg_solves_on_the_gpu_match_the_cpu(name, dtype):
    a = (rand(3, 4, 4, dtype=dtype, seed=80) + 3 * fastnn.eye(4, dtype=dtype)).detach().requires_grad_()
    check_close(LINALG[name], [a, rand(3, 4, 2, dtype=dtype, seed=81, requires_grad=True)], dtype)


@gpu
def test_fill_and_zero_on_the_gpu():
    x = fastnn.arange(12.0).reshape(3, 4).cuda()
    x[:, 1::2].fill_(7.5)
    x[0].zero_()
    want = fastnn.arange(12.0).reshape(3, 4)
    want[:, 1::2] = 7.5
    want[0] = 0
    assert np.array_equal(x.cpu().numpy(), want.numpy())
    n = fastnn.zeros(3, dtype=fastnn.int64).cuda().fill_(fastnn.tensor(4).cuda())
    assert n.tolist() == [4, 4, 4]


OPTIMIZERS = {
    "sgd": lambda p: fastnn.optim.SGD(p, lr=0.1),
    "sgd momentum decay": lambda p: fastnn.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01, dampening=0.1),
    "sgd nesterov maximize": lambda p: fastnn.optim.SGD(p, lr=0.1, momentum=0.5, nesterov=True, maximize=True),
    "adam": lambda p: fastnn.optim.Adam(p, lr=0.01),
    "adam amsgrad decay": lambda p: fastnn.optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1),
    "adamw": lambda p: fastnn.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    "rmsprop centered momentum": lambda p: fastnn.optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
    "rmsprop decay": lambda p: fastnn.optim.RMSprop(p, lr=0.01, weight_decay=0.1),
    "adagrad": lambda p: fastnn.optim.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.1),
    "adadelta": lambda p: fastnn.optim.Adadelta(p, weight_decay=0.1),
    "adamax": lambda p: fastnn.optim.Adamax(p, maximize=True),
    "nadam": lambda p: fastnn.optim.NAdam(p, weight_decay=0.1),
    "nadam decoupled": lambda p: fastnn.optim.NAdam(p, weight_decay=0.1, decoupled_weight_decay=True),
    "radam": lambda p: fastnn.optim.RAdam(p, weight_decay=0.1),
}


def _steps(make, device, dtype):
    w = rand(4, 5, dtype=dtype, seed=13).to(device).requires_grad_()
    opt = make([w])
    for step in range(8):  # RAdam rectifies from step 6
        opt.zero_grad()
        ((w * rand(4, 5, dtype=dtype, seed=20 + step).to(device)).sin().sum()).backward()
        opt.step()
    return w.detach().cpu().numpy()


@gpu
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_steps_on_the_gpu_match_the_cpu(name, dtype):
    np.testing.assert_allclose(
        _steps(OPTIMIZERS[name], "cuda", dtype), _steps(OPTIMIZERS[name], "cpu", dtype), **tol(dtype)
    )


@gpu
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_gradient_clipping_on_the_gpu_matches_the_cpu(norm_type):
    results = []
    for device in ("cpu", "cuda"):
        params = [rand(3, 4, seed=32).to(device).requires_grad_(), rand(5, seed=33).to(device).requires_grad_()]
        for p, seed in zip(params, (34, 35)):
            p.grad = (rand(*p.shape, seed=seed) * 3).to(device)
        total = fastnn.nn.utils.clip_grad_norm_(params, 1.5, norm_type=norm_type)
        fastnn.nn.utils.clip_grad_value_(params, 0.4)
        results.append([total.cpu().numpy()] + [p.grad.cpu().numpy() for p in params])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@gpu
def test_optimizer_state_loads_onto_its_parameters_device():
    w = fastnn.zeros(3, requires_grad=True)
    opt = fastnn.optim.Adam([w])
    w.grad = fastnn.ones(3)
    opt.step()
    w_gpu = w.detach().cuda().requires_grad_()
    moved = fastnn.optim.Adam([w_gpu])
    moved.load_state_dict(opt.state_dict())
    state = moved.state[w_gpu]
    assert state["exp_avg"].is_cuda and state["exp_avg_sq"].is_cuda and not state["step"].is_cuda


class LeNet(fastnn.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = fastnn.nn.Conv2d(1, 6, 5)
        self.conv2 = fastnn.nn.Conv2d(6, 16, 5)
        self.fc1 = fastnn.nn.Linear(16 * 5 * 5, 120)
        self.fc2 = fastnn.nn.Linear(120, 84)
        self.fc3 = fastnn.nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = fastnn.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def _train_lenet(device, steps=5, batch=16):
    fastnn.manual_seed(0)
    net = LeNet().to(device)
    opt = fastnn.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(14)
    losses = []
    for _ in range(steps):
        images = fastnn.from_numpy(rng.standard_normal((batch, 1, 32, 32), dtype=np.float32)).to(device)
        labels = fastnn.from_numpy(rng.integers(0, 10, batch)).to(device)
        opt.zero_grad()
        loss = F.cross_entropy(net(images), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().cpu().numpy() for p in net.parameters()]


@gpu
def test_lenet_trains_on_the_gpu_as_on_the_cpu_and_repeats_bit_for_bit():
    cpu_losses, cpu_params = _train_lenet("cpu")
    gpu_losses, gpu_params = _train_lenet("cuda")
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-4)
    for a, b in zip(gpu_params, cpu_params):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    again_losses, again_params = _train_lenet("cuda")
    assert again_losses == gpu_losses and all(np.array_equal(a, b) for a, b in zip(again_params, gpu_params))


def _tutorial(device):
    """examples/tutorial_neural_networks.py's steps with the net and tensors on `device`."""
    fastnn.manual_seed(0)
    net = LeNet().to(device)
    input = fastnn.randn(1, 1, 32, 32).to(device)
    out = net(input)
    net.zero_grad()
    out.backward(fastnn.randn(1, 10).to(device))
    target = fastnn.randn(10).to(device).view(1, -1)
    criterion = fastnn.nn.MSELoss()
    loss = criterion(net(input), target)
    names = [
        type(loss.grad_fn).__name__,
        type(loss.grad_fn.next_functions[0][0]).__name__,
        type(loss.grad_fn.next_functions[0][0].next_functions[0][0]).__name__,
    ]
    net.zero_grad()
    assert net.conv1.bias.grad is None
    loss.backward()
    bias_grad = net.conv1.bias.grad.cpu().numpy()
    for f in net.parameters():
        f.data.sub_(f.grad.data * 0.01)
    optimizer = fastnn.optim.SGD(net.parameters(), lr=0.01)
    optimizer.zero_grad()
    loss2 = criterion(net(input), target)
    loss2.backward()
    optimizer.step()
    return [out.detach().cpu().numpy(), loss.item(), loss2.item(), bias_grad, names] + [
        p.detach().cpu().numpy() for p in net.parameters()
    ]


@gpu
def test_the_tutorial_runs_on_the_gpu_as_on_the_cpu():
    cpu, gpu_run = _tutorial("cpu"), _tutorial("cuda")
    assert gpu_run[4] == cpu[4]  # the same grad_fn chain
    for a, b in zip(gpu_run[:4] + gpu_run[5:], cpu[:4] + cpu[5:]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@gpu
def test_lenet_on_the_gpu_agrees_with_torch_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("this torch has no CUDA")
    fastnn.manual_seed(0)
    net = LeNet()
    rng = np.random.default_rng(15)
    images = rng.standard_normal((8, 1, 32, 32), dtype=np.float32)
    labels = rng.integers(0, 10, 8)
    params = [torch.tensor(p.detach().numpy(), device="cuda", requires_grad=True) for p in net.parameters()]
    c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b, f3w, f3b = params
    tf = torch.nn.functional
    x = torch.tensor(images, device="cuda")
    x = tf.max_pool2d(tf.relu(tf.conv2d(x, c1w, c1b)), 2)
    x = tf.max_pool2d(tf.relu(tf.conv2d(x, c2w, c2b)), 2).flatten(1)
    x = tf.linear(tf.relu(tf.linear(tf.relu(tf.linear(x, f1w, f1b)), f2w, f2b)), f3w, f3b)
    t_loss = tf.cross_entropy(x, torch.tensor(labels, device="cuda"))
    t_loss.backward()
    net.cuda()
    loss = F.cross_entropy(net(fastnn.from_numpy(images).cuda()), fastnn.from_numpy(labels).cuda())
    loss.backward()
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-5)
    for p, tp in zip(net.parameters(), params):
        np.testing.assert_allclose(p.grad.cpu().numpy(), tp.grad.cpu().numpy(), rtol=1e-3, atol=1e-5)


@gpu
@pytest.mark.skipif(EMULATED, reason="80 s on the emulator; the LeNet training test runs the same kernels")
def test_the_main_job_trains_on_the_gpu_as_on_the_cpu(tmp_path, capsys):
    from fastnn import train

    def run(device, *extra):
        args = ["--device", device, "--epochs", "2", "--no-progress", "--plot", "", "--checkpoint-dir"]
        train.main(args + [str(tmp_path / device), *extra])
        out = capsys.readouterr().out
        losses = [float(line.split("loss ")[1].split()[0]) for line in out.splitlines() if line.startswith("epoch")]
        return losses, float(out.split("test accuracy ")[1].split("%")[0]), out

    cpu_losses, cpu_accuracy, _ = run("cpu")
    gpu_losses, gpu_accuracy, out = run("cuda")
    np.testing.assert_allclose(gpu_losses, cpu_losses, atol=2e-3, err_msg=out)  # printed to 4 decimals
    assert abs(gpu_accuracy - cpu_accuracy) < 1.0, out
    train.main(
        [
            "--device",
            "cuda",
            "--epochs",
            "3",
            "--no-progress",
            "--plot",
            "",
            "--checkpoint-dir",
            str(tmp_path / "cuda"),
            "--resume",
            str(tmp_path / "cuda" / "last.safetensors"),
        ]
    )
    assert "resumed from" in capsys.readouterr().out


@gpu
def test_the_main_job_accepts_the_gpu_it_has():  # the emulator runs this where the training test is skipped
    from fastnn import train

    for device in ("cuda", "cuda:0"):
        assert train.parse_args(["--device", device]).device == device


def test_the_main_job_refuses_a_device_it_cannot_use(capsys):
    from fastnn import train

    if HAS_GPU:
        pytest.skip("this machine has a GPU")
    for device, message in [
        ("cuda", "built for the CPU only" if not fastnn._C._cuda_built() else "no CUDA GPU was found"),
        ("tpu", "--device tpu"),
    ]:
        with pytest.raises(SystemExit) as e:
            train.main(["--device", device, "--epochs", "1"])
        assert e.value.code == 2 and message in capsys.readouterr().err


@gpu
def test_distributed_collectives_and_ddp_on_gpu_tensors():
    from test_distributed import HAVE_MPI, SCRIPTS, mpirun, ok

    if not HAVE_MPI:
        pytest.skip("MPI is missing: apt-get install openmpi-bin libopenmpi-dev; pip install mpi4py")
    assert ok(mpirun(2, SCRIPTS / "cuda.py")).count("ok rank") == 2
