"""The CUDA backend (built with -DFASTNN_CUDA=ON): tensors move between the CPU and GPUs with .to/.cuda/.cpu,
keep their values and autograd history, live in the GPU arena of the caching allocator, and ops without a CUDA
kernel refuse GPU tensors clearly. Runs where a GPU is present (scripts/gpu_check.sh); elsewhere it checks what a
build without a GPU answers."""

import numpy as np
import pytest

import fastnn

HAS_GPU = fastnn.cuda.is_available()
gpu = pytest.mark.skipif(not HAS_GPU, reason="no CUDA GPU (fastnn built without CUDA, or no GPU on this machine)")

DTYPES = [
    fastnn.float32,
    fastnn.float64,
    fastnn.float16,
    fastnn.bfloat16,
    fastnn.int64,
    fastnn.int32,
    fastnn.uint8,
    fastnn.bool,
]


def test_without_a_gpu_every_way_to_reach_one_is_refused_clearly():
    if HAS_GPU:
        pytest.skip("this machine has a GPU")
    expect = (
        "fastnn was built for the CPU only"
        if not fastnn._C._cuda_built()
        else "no CUDA GPU was found by this CUDA build"
    )
    x = fastnn.ones(2)
    for fn in (x.cuda, lambda: x.to("cuda"), lambda: x.to("cuda:1"), lambda: fastnn.nn.Linear(2, 2).cuda()):
        with pytest.raises(RuntimeError, match=expect):
            fn()
    assert fastnn.cuda.device_count() == 0 and fastnn.cuda.memory_allocated() == 0
    assert x.device == fastnn.device("cpu") and not x.is_cuda and x.cpu() is x


@gpu
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced", "expanded", "empty"])
def test_round_trip_keeps_values(dtype, layout):
    base = fastnn.from_numpy(np.arange(60, dtype=np.float64).reshape(3, 4, 5) - 20).to(dtype)
    x = {
        "contiguous": base,
        "transposed": base.transpose(0, 2),
        "sliced": base[:, 1::2, ::3],
        "expanded": base[:1].expand(4, 4, 5),
        "empty": base[:, :0],
    }[layout]
    g = x.cuda()
    assert g.is_cuda and g.device == fastnn.device("cuda", 0) and g.dtype == x.dtype and g.shape == x.shape
    back = g.cpu()
    assert back.device == fastnn.device("cpu") and np.array_equal(back.float().numpy(), x.float().numpy())
    assert g.to("cuda:0") is g and g.is_contiguous()


@gpu
def test_gpu_tensors_print_as_torch_prints_them():
    x = fastnn.tensor([1.0, 2.5], requires_grad=True)
    assert repr(x.cuda()) == "tensor([1.0000, 2.5000], device='cuda:0', grad_fn=<ToCopyBackward0>)"
    assert repr(fastnn.tensor([3, 4]).cuda()) == "tensor([3, 4], device='cuda:0')"


@gpu
def test_values_reach_python_as_torch_gives_them():
    g = fastnn.tensor([[1.5, -2.0]]).cuda()
    assert g[0, 1].item() == -2.0  # a view of a GPU tensor, read through a copy
    assert g.tolist() == [[1.5, -2.0]]
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu()"):
        g.numpy()
    p = fastnn.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="assigned grad has data located on a different device"):
        p.grad = fastnn.ones(2).cuda()


@gpu
def test_gradients_flow_back_across_devices():
    x = fastnn.randn(3, 4, requires_grad=True)
    y = x.to("cuda")
    assert y.grad_fn.name() == "ToCopyBackward0"
    z = y.cpu() * 2
    z.sum().backward()
    assert x.grad.device == fastnn.device("cpu") and np.array_equal(x.grad.numpy(), np.full((3, 4), 2, np.float32))


@gpu
def test_module_to_cuda_moves_parameters_in_place_and_back():
    lin = fastnn.nn.Linear(4, 3)
    w, before = lin.weight, lin.weight.detach().clone()
    assert lin.cuda() is lin and lin.weight is w and w.is_cuda and lin.bias.is_cuda
    lin.to("cpu", fastnn.float64)
    assert not w.is_cuda and w.dtype == fastnn.float64
    assert np.array_equal(w.detach().float().numpy(), before.numpy())


@gpu
def test_gpu_memory_is_counted_cached_and_given_back():
    fastnn.cuda.empty_cache()
    start = fastnn.cuda.memory_allocated()
    g = fastnn.zeros(1024, 1024).cuda()
    assert fastnn.cuda.memory_allocated() - start == 4 * 1024 * 1024
    assert fastnn.cuda.max_memory_allocated() >= fastnn.cuda.memory_allocated()
    del g
    assert fastnn.cuda.memory_allocated() == start
    assert fastnn.cuda.memory_reserved() >= 4 * 1024 * 1024  # cached for the next tensor of that size
    fastnn.cuda.empty_cache()
    assert fastnn.cuda.memory_reserved() == start
    fastnn.cuda.synchronize()


@gpu
def test_an_op_without_a_cuda_kernel_refuses_gpu_tensors():
    g = fastnn.ones(3).cuda()
    with pytest.raises(RuntimeError, match=r"no CUDA kernel for this op yet \(got a tensor on cuda:0\)"):
        fastnn.to_dlpack(g)
    assert g.data_ptr() != 0 and g[1:].data_ptr() == g.data_ptr() + 4  # a GPU address, as torch's
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        fastnn.ones(1).to(f"cuda:{fastnn.cuda.device_count()}")


# The rows of cpp/fastnn/ops/unary_table.h, each as users call it; the GPU runs the table's own expressions.
F = fastnn.nn.functional
UNARY = {
    "neg": fastnn.neg,
    "exp": fastnn.exp,
    "log": fastnn.log,
    "sqrt": fastnn.sqrt,
    "abs": fastnn.abs,
    "relu": F.relu,
    "sigmoid": fastnn.sigmoid,
    "tanh": fastnn.tanh,
    "reciprocal": fastnn.reciprocal,
    "sign": fastnn.sign,
    "floor": fastnn.floor,
    "ceil": fastnn.ceil,
    "round": fastnn.round,
    "trunc": fastnn.trunc,
    "sin": fastnn.sin,
    "cos": fastnn.cos,
    "tan": fastnn.tan,
    "log1p": fastnn.log1p,
    "expm1": fastnn.expm1,
    "erf": fastnn.erf,
    "log2": fastnn.log2,
    "log10": fastnn.log10,
    "rsqrt": fastnn.rsqrt,
    "exp2": fastnn.exp2,
    "silu": F.silu,
    "log_sigmoid": F.logsigmoid,
    "mish": F.mish,
    "hardswish": F.hardswish,
    "hardsigmoid": F.hardsigmoid,
}
POSITIVE_ONLY = {"log", "sqrt", "log2", "log10", "rsqrt"}


@gpu
@pytest.mark.parametrize("dtype", [fastnn.float32, fastnn.float64], ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_table_on_the_gpu_matches_the_cpu(name, dtype):
    rng = np.random.default_rng(0)
    values = rng.uniform(0.1, 4.0, (6, 5)) * (1 if name in POSITIVE_ONLY else rng.choice([-1, 1], (6, 5)))
    x = fastnn.from_numpy(values).to(dtype).requires_grad_()
    g = fastnn.from_numpy(rng.standard_normal((5, 6))).to(dtype)
    fn = UNARY[name]
    y_cpu = fn(x.t())
    (gx_cpu,) = fastnn.autograd.grad(y_cpu, x, g)
    y_gpu = fn(x.cuda().t())  # a non-contiguous view on the GPU
    assert y_gpu.is_cuda and y_gpu.dtype == dtype
    (gx_gpu,) = fastnn.autograd.grad(y_gpu, x, g.cuda())  # through ToCopyBackward0 back to the CPU leaf
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == fastnn.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(y_gpu.detach().cpu().numpy(), y_cpu.detach().numpy(), **tol)
    np.testing.assert_allclose(gx_gpu.numpy(), gx_cpu.numpy(), **tol)


@gpu
def test_16_bit_floats_are_refused_on_the_gpu_and_integers_promote_as_on_the_cpu():
    with pytest.raises(TypeError, match=r"^\[to\] CUDA tensors of dtype float16 are not supported yet"):
        fastnn.arange(3.0).cuda().half()
    got = fastnn.exp(fastnn.arange(3).cuda())
    assert got.is_cuda and got.dtype == fastnn.float32
    np.testing.assert_allclose(got.cpu().numpy(), fastnn.exp(fastnn.arange(3)).numpy(), rtol=1e-6)


BINARY = {
    "add": lambda a, b: a + b,
    "add alpha": lambda a, b: fastnn.add(a, b, alpha=-2.5),
    "sub": lambda a, b: a - b,
    "sub alpha": lambda a, b: fastnn.sub(a, b, alpha=0.5),
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@gpu
@pytest.mark.parametrize("dtype", [fastnn.uint8, fastnn.int8, fastnn.int16, fastnn.int32, fastnn.int64], ids=str)
def test_integer_arithmetic_on_the_gpu_wraps_as_the_cpu(dtype):
    a = fastnn.tensor([[0, 1, 100, 127], [5, -7, 120, 3], [9, 8, 7, 6]]).to(dtype).t()  # a strided view
    b = fastnn.tensor([3, 100, -2]).to(dtype)  # broadcast along rows
    for fn in (
        lambda x, y: x + y,
        lambda x, y: x - y,
        lambda x, y: x * y,
        lambda x, y: fastnn.add(x, y, alpha=3),
        lambda x, y: fastnn.sub(x, y, alpha=2),
    ):
        got = fn(a.cuda(), b.cuda())
        assert got.is_cuda and got.dtype == dtype
        assert np.array_equal(got.cpu().numpy(), fn(a, b).numpy())
    steps = fastnn.tensor(0).cuda()  # BatchNorm's num_batches_tracked
    steps.add_(1)
    steps += 1
    assert steps.is_cuda and steps.item() == 2


@gpu
@pytest.mark.parametrize("dtype", [fastnn.float32, fastnn.float64], ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_arithmetic_on_the_gpu_matches_the_cpu(name, dtype):
    rng = np.random.default_rng(1)
    a = fastnn.from_numpy(rng.uniform(0.5, 2, (4, 3))).to(dtype).requires_grad_()
    b = fastnn.from_numpy(rng.uniform(0.5, 2, (3, 4))).to(dtype).requires_grad_()
    g = fastnn.from_numpy(rng.standard_normal((4, 3))).to(dtype)
    fn = BINARY[name]
    y_cpu = fn(a, b.t())
    grads_cpu = fastnn.autograd.grad(y_cpu, (a, b), g)
    y_gpu = fn(a.cuda(), b.cuda().t())  # the second operand a strided view
    grads_gpu = fastnn.autograd.grad(y_gpu, (a, b), g.cuda())
    tol = dict(rtol=1e-6, atol=1e-7) if dtype == fastnn.float32 else dict(rtol=1e-14, atol=1e-15)
    assert y_gpu.is_cuda
    np.testing.assert_allclose(y_gpu.detach().cpu().numpy(), y_cpu.detach().numpy(), **tol)
    for gg, gc in zip(grads_gpu, grads_cpu):
        np.testing.assert_allclose(gg.numpy(), gc.numpy(), **tol)


@gpu
def test_broadcasting_numbers_and_cpu_scalars_join_the_gpu_operand():
    x = fastnn.arange(6.0).reshape(2, 3)
    row = fastnn.tensor([1.0, 2.0, 4.0])
    for got, want in (
        (x.cuda() + row.cuda(), x + row),
        (x.cuda() * 2.5, x * 2.5),
        (3 - x.cuda(), 3 - x),
        (x.cuda() / fastnn.tensor(4.0), x / 4.0),  # a CPU 0-d tensor joins, as torch allows
    ):
        assert got.is_cuda and np.array_equal(got.cpu().numpy(), want.numpy())
    with pytest.raises(RuntimeError, match=r"Expected all tensors to be on the same device, .*cuda:0 and cpu"):
        x.cuda() + row
    mixed = x.double().cuda() + x.cuda()  # float32 converted on the GPU, as torch promotes
    assert mixed.dtype == fastnn.float64 and np.array_equal(mixed.cpu().numpy(), (x.double() + x).numpy())


@gpu
def test_in_place_arithmetic_and_gradient_accumulation_on_a_gpu_leaf():
    w = fastnn.ones(3).cuda().requires_grad_()
    for _ in range(2):  # the second backward accumulates into .grad with add_ on the GPU
        (w * fastnn.tensor([1.0, 2.0, 3.0]).cuda()).backward(fastnn.ones(3).cuda())
    assert w.grad.is_cuda and w.grad.cpu().tolist() == [2.0, 4.0, 6.0]
    with fastnn.no_grad():
        w.sub_(w.grad, alpha=0.5)
        w.mul_(2)
    assert w.cpu().tolist() == [0.0, -2.0, -4.0]


@gpu
def test_gradients_stay_on_the_gpu_through_slices_unused_outputs_and_a_move():
    x = fastnn.arange(6.0).cuda().requires_grad_()
    a, b, c = x.chunk(3)  # b and c get no gradient: the chunk node's zeros for them are made on the GPU
    (g,) = fastnn.autograd.grad((a * 2).sum() + x[4:].sum(), [x])  # a slice's gradient is zeros plus the slice
    assert g.is_cuda and g.cpu().tolist() == [2.0, 2.0, 0.0, 0.0, 1.0, 1.0]

    w = fastnn.nn.Parameter(fastnn.ones(2))
    kept = (w * 3).sum()  # a CPU graph that keeps w's CPU gradient accumulator alive
    layer = fastnn.nn.Module()
    layer.w = w
    layer.cuda()  # moves w in place: a new accumulator for the new device, as torch
    (w * 3).sum().backward()
    assert w.grad.is_cuda and w.grad.cpu().tolist() == [3.0, 3.0]
    assert kept.requires_grad


@gpu
def test_new_factories_default_to_their_tensors_device_as_torch():
    x = fastnn.ones(2, dtype=fastnn.float64).cuda()
    for made in (x.new_zeros(3), x.new_ones(2, 2), x.new_empty(1), x.new_full((2,), 7.0), x.new_tensor([1.0, 2.0])):
        assert made.is_cuda and made.dtype == fastnn.float64
    assert not x.new_zeros(2, device="cpu").is_cuda


@gpu
def test_a_gradient_on_the_wrong_device_is_refused_as_torch_refuses_it():
    class ToCpu(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return t * 1

        @staticmethod
        def backward(ctx, g):
            return g.cpu()  # wrong: the input lives on the GPU

    x = fastnn.ones(2).cuda().requires_grad_()
    with pytest.raises(
        RuntimeError, match=r"returned an invalid gradient at index 0 - expected device cuda:0 but got cpu"
    ):
        ToCpu.apply(x).sum().backward()


@gpu
@pytest.mark.parametrize("dtype", [fastnn.float32, fastnn.float64], ids=str)
@pytest.mark.parametrize(
    "reduce",
    [
        lambda t: t.sum(),
        lambda t: t.mean(),
        lambda t: t.sum(dim=1),
        lambda t: t.sum(dim=(0, 2), keepdim=True),
        lambda t: t.mean(dim=-1),
    ],
    ids=["sum", "mean", "sum dim 1", "sum dims 0 2 keepdim", "mean dim -1"],
)
def test_sums_on_the_gpu_match_the_cpu_and_repeat_bit_for_bit(reduce, dtype):
    x = fastnn.from_numpy(np.random.default_rng(2).standard_normal((5, 300, 7))).to(dtype).requires_grad_()
    y_cpu = reduce(x.transpose(0, 1))
    y_gpu = reduce(x.cuda().transpose(0, 1))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == fastnn.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y_gpu.detach().cpu().numpy(), y_cpu.detach().numpy(), **tol)
    assert np.array_equal(reduce(x.cuda().transpose(0, 1)).detach().cpu().numpy(), y_gpu.detach().cpu().numpy())
    g = fastnn.ones(y_cpu.shape, dtype=dtype)
    (gx_cpu,) = fastnn.autograd.grad(y_cpu, x, g)
    (gx_gpu,) = fastnn.autograd.grad(y_gpu, x, g.cuda())
    np.testing.assert_allclose(gx_gpu.numpy(), gx_cpu.numpy(), **tol)


def _fit(device):
    """A few steps of gradient descent on y = tanh(w * x + b) with a mean squared error, all on `device`."""
    rng = np.random.default_rng(3)
    x = fastnn.from_numpy(rng.standard_normal((64, 4), dtype=np.float32)).to(device)
    target = fastnn.from_numpy(rng.standard_normal((64, 4), dtype=np.float32)).to(device)
    w = fastnn.full((4,), 0.5).to(device).requires_grad_()
    b = fastnn.zeros(4).to(device).requires_grad_()
    losses = []
    for _ in range(5):
        err = fastnn.tanh(w * x + b) - target  # b broadcasts: its gradient is summed back on the device
        loss = (err * err).mean()
        loss.backward()
        with fastnn.no_grad():
            w.sub_(w.grad, alpha=0.1)
            b.sub_(b.grad, alpha=0.1)
        w.grad = None
        b.grad = None
        losses.append(loss.item())
    return losses, w.detach().cpu().numpy(), b.detach().cpu().numpy()


@gpu
def test_a_small_fit_on_the_gpu_follows_the_cpu():
    cpu, gpu_run = _fit("cpu"), _fit("cuda")
    np.testing.assert_allclose(gpu_run[0], cpu[0], rtol=1e-5)
    np.testing.assert_allclose(gpu_run[1], cpu[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gpu_run[2], cpu[2], rtol=1e-5, atol=1e-6)


@gpu
def test_factories_make_tensors_on_the_gpu_and_like_factories_follow_their_input():
    for t in (
        fastnn.zeros(2, 3, device="cuda"),
        fastnn.ones(4, device=fastnn.device("cuda", 0)),
        fastnn.full((2,), 7.0, device="cuda:0"),
        fastnn.arange(5, device="cuda"),
        fastnn.randn(3, device="cuda", requires_grad=True),
        fastnn.tensor([1.0, 2.0], device="cuda"),
        fastnn.zeros_like(fastnn.ones(2).cuda()),
        fastnn.rand_like(fastnn.ones(2).cuda()),
    ):
        assert t.is_cuda, t
    leaf = fastnn.randn(3, device="cuda", requires_grad=True)
    assert leaf.is_leaf and leaf.requires_grad
    assert fastnn.full((2,), 7.0, device="cuda").cpu().tolist() == [7.0, 7.0]
    assert not fastnn.zeros_like(fastnn.ones(2).cuda(), device="cpu").is_cuda
    with pytest.raises(RuntimeError, match=r"^\[Linear\] device='cuda' is not supported yet"):
        fastnn.nn.Linear(2, 2, device="cuda")


CONVERTIBLE = [
    fastnn.bool,
    fastnn.uint8,
    fastnn.int8,
    fastnn.int16,
    fastnn.int32,
    fastnn.int64,
    fastnn.float32,
    fastnn.float64,
]


@gpu
@pytest.mark.parametrize("src", CONVERTIBLE, ids=str)
def test_dtype_conversions_on_the_gpu_match_the_cpu(src):
    values = np.array([[0, 1, -2, 3.75], [-0.5, 100, 7, 0]])
    x = fastnn.from_numpy(values).to(src)
    for dst in CONVERTIBLE:
        got = x.cuda().t().to(dst)  # from a strided view
        assert got.is_cuda and got.dtype == dst
        assert np.array_equal(got.cpu().numpy(), x.t().to(dst).numpy()), dst
    with pytest.raises(TypeError, match=r"^\[to\] CUDA tensors of dtype float16 are not supported yet"):
        x.cuda().half()
