"""float16, bfloat16, uint8, int8, int16 and int32: storage, conversions (rounded as torch's), promotion, ops that
compute in float32/int64 and round, autograd and optimizers on 16-bit parameters, NumPy, printing, checkpoints,
and set_default_dtype. PyTorch is the oracle throughout."""

import math

import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch", reason="PyTorch (CPU, 2.13.0) is the test oracle")

NAMES = ["float16", "bfloat16", "uint8", "int8", "int16", "int32", "int64", "float32", "float64", "bool"]
STORAGE = ["float16", "bfloat16", "uint8", "int8", "int16", "int32"]


def pair(name):
    return getattr(fastnn, name), getattr(torch, name)


def bits(t):
    """The raw bits of a tensor's values (16-bit floats as uint16), for bitwise comparisons."""
    if isinstance(t, torch.Tensor):
        t = t.detach()
        if t.dtype in (torch.float16, torch.bfloat16):
            return t.view(torch.int16).numpy().astype(np.uint16)
        return t.numpy()
    if t.dtype in (fastnn.float16, fastnn.bfloat16):
        # widen exactly to float32, then take its top bits (bfloat16) or re-encode with NumPy (float16)
        f = t.detach().float().numpy()
        if t.dtype == fastnn.bfloat16:
            return (f.view(np.uint32) >> 16).astype(np.uint16)
        return f.astype(np.float16).view(np.uint16)
    return t.detach().numpy()


def same(ours, theirs):
    """Same dtype, shape and bits; a NaN matches any NaN (torch's own casts give different NaN payloads)."""
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], (ours.dtype, theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    a, b = bits(ours), bits(theirs)
    if ours.is_floating_point():
        nan_a, nan_b = np.isnan(ours.detach().double().numpy()), np.isnan(theirs.detach().double().numpy())
        np.testing.assert_array_equal(nan_a, nan_b)
        a, b = a[~nan_a], b[~nan_b]
    np.testing.assert_array_equal(a, b)


# Values that probe rounding: ties, the largest finite values, overflow to inf, subnormals, signed zero, nan.
EDGE_FLOATS = np.array(
    [
        0.0,
        -0.0,
        0.1,
        -0.1,
        1 / 3,
        1.0009765625,
        1.00048828125,
        1.000732421875,
        65504.0,
        65519.99,
        65520.0,
        -65520.0,
        1e5,
        6.1e-5,
        6.0e-8,
        2.9802322e-08,
        2.98023224e-08 * 3,
        1e-9,
        3.0e38,
        3.3895314e38,
        3.4e38,
        float("inf"),
        float("-inf"),
        float("nan"),
        1.00390625,
        1.01171875,
        255.5,
        256.5,
        -7.75,
        12345.678,
    ],
    dtype=np.float64,
)


@pytest.mark.parametrize("src", ["float32", "float64"])
@pytest.mark.parametrize("dst", ["float16", "bfloat16"])
def test_float_to_half_rounds_as_torch(src, dst):
    a = EDGE_FLOATS.astype(src)
    ours = fastnn.tensor(a).to(getattr(fastnn, dst))
    theirs = torch.tensor(a).to(getattr(torch, dst))
    same(ours, theirs)
    # and back to float32/float64 exactly
    same(ours.to(getattr(fastnn, src)), theirs.to(getattr(torch, src)))


def test_every_float16_and_bfloat16_value_round_trips():
    u = np.arange(65536, dtype=np.uint16)
    for name in ("float16", "bfloat16"):
        t = torch.from_numpy(u.view(np.int16).copy()).view(getattr(torch, name))
        wide = t.float().numpy()
        ours = fastnn.tensor(wide).to(getattr(fastnn, name))
        nan = np.isnan(wide)
        np.testing.assert_array_equal(bits(ours)[~nan], u[~nan])
        assert np.isnan(ours.float().numpy()[nan]).all()
        np.testing.assert_array_equal(ours.float().numpy()[~nan], wide[~nan])


def test_random_floats_round_as_torch():
    rng = np.random.default_rng(0)
    a = (rng.standard_normal(20000) * np.exp(rng.uniform(-30, 15, 20000))).astype(np.float32)
    for name in ("float16", "bfloat16"):
        same(fastnn.tensor(a).to(getattr(fastnn, name)), torch.tensor(a).to(getattr(torch, name)))


@pytest.mark.parametrize("dst", ["uint8", "int8", "int16", "int32", "int64", "bool", "float16", "bfloat16"])
def test_integer_conversions_wrap_as_torch(dst):
    a = np.array(
        [
            0,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            255,
            256,
            300,
            -300,
            32767,
            32768,
            -32769,
            2**31 - 1,
            2**31,
            -(2**31) - 1,
            2**40 + 7,
            65504,
            65520,
        ],
        dtype=np.int64,
    )
    same(fastnn.tensor(a).to(getattr(fastnn, dst)), torch.tensor(a).to(getattr(torch, dst)))


@pytest.mark.parametrize("dst", ["uint8", "int8", "int16", "int32", "int64"])
@pytest.mark.parametrize("src", ["float32", "float16", "bfloat16"])
def test_float_to_integer_truncates_as_torch(src, dst):
    a = np.array([0.0, 0.5, -0.5, 1.9, -1.9, 100.7, -100.7, 126.9], dtype=np.float32)
    same(
        fastnn.tensor(a).to(getattr(fastnn, src)).to(getattr(fastnn, dst)),
        torch.tensor(a).to(getattr(torch, src)).to(getattr(torch, dst)),
    )


@pytest.mark.parametrize(
    "method, name",
    [
        ("half", "float16"),
        ("bfloat16", "bfloat16"),
        ("byte", "uint8"),
        ("char", "int8"),
        ("short", "int16"),
        ("int", "int32"),
    ],
)
def test_conversion_methods_and_type_names(method, name):
    a = np.array([[1.5, -2.25], [3.0, 250.0]], dtype=np.float32)
    ours, theirs = getattr(fastnn.tensor(a), method)(), getattr(torch.tensor(a), method)()
    same(ours, theirs)
    assert ours.dtype is getattr(fastnn, name)
    assert ours.type() == theirs.type()
    assert ours.element_size() == theirs.element_size()
    cls = theirs.type().split(".")[-1]
    assert isinstance(ours, getattr(fastnn, cls)) and not isinstance(ours, fastnn.FloatTensor)
    same(getattr(fastnn, cls)([[1, 2], [3, 4]]), getattr(torch, cls)([[1, 2], [3, 4]]))


def test_dtype_objects_and_aliases():
    assert fastnn.half is fastnn.float16 and fastnn.short is fastnn.int16 and fastnn.int is fastnn.int32
    for name in NAMES:
        ours, theirs = pair(name)
        assert repr(ours) == repr(theirs).replace("torch", "fastnn")
        assert ours.is_floating_point == theirs.is_floating_point
        assert ours.itemsize == theirs.itemsize
        assert ours.is_signed == theirs.is_signed


@pytest.mark.parametrize("a_name", NAMES)
@pytest.mark.parametrize("b_name", NAMES)
def test_promotion_matches_torch(a_name, b_name):
    a = np.array([1, 0, 3])
    b = np.array([2, 1, 1])
    fa, ta = fastnn.tensor(a).to(pair(a_name)[0]), torch.tensor(a).to(pair(a_name)[1])
    fb, tb = fastnn.tensor(b).to(pair(b_name)[0]), torch.tensor(b).to(pair(b_name)[1])
    assert str(fastnn.result_type(fa, fb)).split(".")[-1] == str(torch.result_type(ta, tb)).split(".")[-1]
    if a_name == b_name == "bool":
        return
    same(fa + fb, ta + tb)
    same(fa * fb, ta * tb)
    same(fa > fb, ta > tb)
    # a 0-d tensor and a Python scalar promote by category only
    same(fa + fastnn.tensor(2), ta + torch.tensor(2))
    same(fa * 2.5, ta * 2.5)


@pytest.mark.parametrize("name", STORAGE)
def test_arithmetic_and_reductions_match_torch(name):
    rng = np.random.default_rng(1)
    a = rng.uniform(-4, 60, (5, 7)).astype(np.float32)
    b = rng.uniform(1, 9, (7,)).astype(np.float32)
    fa, ta = fastnn.tensor(a).to(pair(name)[0]), torch.tensor(a).to(pair(name)[1])
    fb, tb = fastnn.tensor(b).to(pair(name)[0]), torch.tensor(b).to(pair(name)[1])
    for f in (
        lambda m, x, y: x + y,
        lambda m, x, y: x - y,
        lambda m, x, y: x * y,
        lambda m, x, y: x / y,
        lambda m, x, y: m.maximum(x, y),
        lambda m, x, y: x == y,
        lambda m, x, y: m.where(x > y, x, y),
        lambda m, x, y: x.sum(),
        lambda m, x, y: x.sum(1),
        lambda m, x, y: x.max(),
        lambda m, x, y: x.amax(0),
        lambda m, x, y: x.argmax(1),
        lambda m, x, y: m.cat([x, x]),
        lambda m, x, y: x[[0, 2]],
        lambda m, x, y: x.t().contiguous(),
        lambda m, x, y: x[1:, ::2],
        lambda m, x, y: x.abs(),
        lambda m, x, y: -x if name != "uint8" else x,
    ):
        same(f(fastnn, fa, fb), f(torch, ta, tb))
    if name in ("float16", "bfloat16"):
        for f in (
            lambda m, x: x.exp(),
            lambda m, x: x.sin(),
            lambda m, x: m.relu(x),
            lambda m, x: x.sigmoid(),
            lambda m, x: x.mean(),
            lambda m, x: x.mean(0),
            lambda m, x: x.pow(2),
            lambda m, x: x.sqrt(),
            lambda m, x: m.softmax(x, 1),
            lambda m, x: x.clamp(0, 10),
        ):
            ours, theirs = f(fastnn, fa), f(torch, ta)
            # one rounding of a float32 result: torch's kernels may differ by an ulp of the 16-bit type
            assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
            np.testing.assert_allclose(ours.float().numpy(), theirs.float().numpy(), rtol=1e-2, atol=1e-3)


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_in_place_ops_and_writes(name):
    a = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    fo, to = fastnn.tensor(a).to(pair(name)[0]), torch.tensor(a).to(pair(name)[1])
    for f in (
        lambda x: x.add_(1.25),
        lambda x: x.mul_(x),
        lambda x: x.__setitem__(0, 7.1),
        lambda x: x.__setitem__((slice(None), 1), x[:, 2]),
        lambda x: x.fill_(0.3) if False else x.zero_(),
        lambda x: x.__setitem__(x > 5, -1.0),
        lambda x: x.__setitem__(([0, 2], [1, 3]), 4.5),
    ):
        f(fo)
        f(to)
        same(fo, to)
    view = fo[1]
    view.fill_(9.0)
    assert fo[1, 0].item() == 9.0


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_autograd_through_16_bit_leaves(name):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    w = rng.standard_normal((3, 6)).astype(np.float32)
    fx = fastnn.tensor(x).to(pair(name)[0]).requires_grad_()
    tx = torch.tensor(x).to(pair(name)[1]).requires_grad_()
    fw = fastnn.tensor(w).to(pair(name)[0]).requires_grad_()
    tw = torch.tensor(w).to(pair(name)[1]).requires_grad_()
    fy = (fastnn.nn.functional.linear(fx, fw).tanh() * fx.sum(1, keepdim=True)).pow(2).mean()
    ty = (torch.nn.functional.linear(tx, tw).tanh() * tx.sum(1, keepdim=True)).pow(2).mean()
    assert fy.dtype is pair(name)[0]
    fy.backward()
    ty.backward()
    tol = dict(rtol=5e-2, atol=5e-2)
    np.testing.assert_allclose(fy.float().item(), ty.float().item(), rtol=2e-2)
    assert fx.grad.dtype is pair(name)[0] and fw.grad.dtype is pair(name)[0]
    np.testing.assert_allclose(fx.grad.float().numpy(), tx.grad.float().numpy(), **tol)
    np.testing.assert_allclose(fw.grad.float().numpy(), tw.grad.float().numpy(), **tol)


def _mlp(m, seed):
    gen = np.random.default_rng(seed)
    net = m.nn.Sequential(m.nn.Linear(8, 16), m.nn.ReLU(), m.nn.Linear(16, 3))
    with m.no_grad():
        for p in net.parameters():
            p.copy_(m.tensor(gen.uniform(-0.4, 0.4, tuple(p.shape)).astype(np.float32)))
    return net


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
@pytest.mark.parametrize("opt", ["SGD", "Adam"])
def test_model_to_16_bit_trains_like_torch(name, opt):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 8)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    losses = {}
    for m in (fastnn, torch):
        net = _mlp(m, 0).to(getattr(m, name))
        assert all(p.dtype is getattr(m, name) for p in net.parameters())
        # (Adam's default eps=1e-8 is 0 in float16, which makes torch's float16 Adam divide by zero)
        kw = {"lr": 0.1, "momentum": 0.9} if opt == "SGD" else {"lr": 0.01, "eps": 1e-3}
        o = getattr(m.optim, opt)(net.parameters(), **kw)
        xs, ys = m.tensor(x).to(getattr(m, name)), m.tensor(y)
        out = []
        for _ in range(5):
            o.zero_grad()
            loss = m.nn.functional.cross_entropy(net(xs), ys)
            loss.backward()
            o.step()
            out.append(loss.float().item())
        assert all(p.dtype is getattr(m, name) for p in net.parameters())
        losses[m.__name__] = out
    # torch rounds optimizer state to the 16-bit type, fastnn keeps it in float32: close, not bitwise
    np.testing.assert_allclose(losses["fastnn"], losses["torch"], rtol=5e-2, atol=2e-2)
    assert losses["fastnn"][-1] < losses["fastnn"][0]


def test_conv_pool_and_batchnorm_in_16_bit():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    f_net = fastnn.nn.Sequential(
        fastnn.nn.Conv2d(3, 4, 3), fastnn.nn.BatchNorm2d(4), fastnn.nn.MaxPool2d(2), fastnn.nn.AvgPool2d(1)
    )
    t_net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.MaxPool2d(2), torch.nn.AvgPool2d(1)
    )
    t_net.load_state_dict({k: torch.tensor(v.numpy()) for k, v in f_net.state_dict().items()})
    for name in ("float16", "bfloat16"):
        fo = f_net.to(pair(name)[0])(fastnn.tensor(x).to(pair(name)[0]))
        to = t_net.to(pair(name)[1])(torch.tensor(x).to(pair(name)[1]))
        assert fo.dtype is pair(name)[0]
        np.testing.assert_allclose(fo.float().detach().numpy(), to.float().detach().numpy(), rtol=5e-2, atol=5e-2)
        f_net, t_net = f_net.float(), t_net.float()


def test_numpy_interop():
    for np_dtype, name in (
        (np.float16, "float16"),
        (np.uint8, "uint8"),
        (np.int8, "int8"),
        (np.int16, "int16"),
        (np.int32, "int32"),
    ):
        a = np.arange(6, dtype=np_dtype).reshape(2, 3)
        t = fastnn.from_numpy(a)
        assert t.dtype is getattr(fastnn, name)
        a[0, 0] = 5
        assert t[0, 0].item() == 5  # shares memory
        assert fastnn.tensor(a).dtype is getattr(fastnn, name)
        assert t.numpy().dtype == np_dtype
        assert t.tolist() == a.tolist()
    b = fastnn.tensor([1.5, 2.5]).bfloat16()
    with pytest.raises(TypeError, match="bfloat16"):
        b.numpy()
    assert b.tolist() == [1.5, 2.5]
    assert isinstance(b[0].item(), float)
    assert isinstance(fastnn.tensor([3], dtype=fastnn.uint8).item(), int)


@pytest.mark.parametrize("name", STORAGE)
def test_factories_take_storage_dtypes(name):
    fd, td = pair(name)
    for f in (
        lambda m, d: m.zeros(2, 3, dtype=d),
        lambda m, d: m.ones(4, dtype=d),
        lambda m, d: m.full((2,), 7, dtype=d),
        lambda m, d: m.eye(3, dtype=d),
        lambda m, d: m.arange(5, dtype=d),
        lambda m, d: m.tensor([[1, 2]], dtype=d),
        lambda m, d: m.zeros_like(m.ones(3), dtype=d),
        lambda m, d: m.ones(3).new_full((2,), 3, dtype=d),
    ):
        same(f(fastnn, fd), f(torch, td))


@pytest.mark.parametrize("name", STORAGE)
def test_repr_matches_torch(name):
    a = np.array([[0.1, 2.5, -3.0], [100.25, 0.0, 1e-3]], dtype=np.float32)
    if name in ("uint8",):
        a = np.abs(a)
    ours = repr(fastnn.tensor(a).to(pair(name)[0]))
    theirs = repr(torch.tensor(a).to(pair(name)[1]))
    assert ours == theirs.replace("torch.", "fastnn.")


def test_checkpoints_keep_storage_dtypes(tmp_path):
    sd = {n: fastnn.tensor([1, 2, 3]).to(getattr(fastnn, n)) for n in ("float16", "uint8", "int8", "int16", "int32")}
    fastnn.save(sd, tmp_path / "c.pt")
    back = fastnn.load(tmp_path / "c.pt")
    for n, t in sd.items():
        assert back[n].dtype is t.dtype and back[n].tolist() == t.tolist()
    with pytest.raises(TypeError, match=r"\[save\] bfloat16"):
        fastnn.save({"w": fastnn.ones(2).bfloat16()}, tmp_path / "b.pt")


def test_ops_without_storage_kernels_say_so():
    h = fastnn.ones(3).half()
    with pytest.raises(TypeError, match=r"\[cumsum\].*float16"):
        h.cumsum(0)


def test_set_default_dtype():
    assert fastnn.get_default_dtype() is fastnn.float32
    try:
        for name in ("float64", "float16", "bfloat16", "float32"):
            fastnn.set_default_dtype(getattr(fastnn, name))
            torch.set_default_dtype(getattr(torch, name))
            assert fastnn.get_default_dtype() is getattr(fastnn, name)
            for f in (
                lambda m: m.tensor([1.5, 2.0]),
                lambda m: m.zeros(2),
                lambda m: m.arange(3.0),
                lambda m: m.tensor([1, 2]) / 2,
                lambda m: m.tensor([1, 2]) * 0.5,
                lambda m: m.full((2,), 0.5),
                lambda m: m.tensor([1, 4]).sqrt(),
                lambda m: m.nn.Linear(2, 2).weight.detach() * 0 + 1,
                lambda m: m.Tensor([1, 2]),
                lambda m: m.tensor([1.0], dtype=m.float32) * 2.5,
            ):
                ours, theirs = f(fastnn), f(torch)
                assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], name
            assert fastnn.randn(2).dtype is getattr(fastnn, name) or name in ("float16", "bfloat16")
    finally:
        fastnn.set_default_dtype(fastnn.float32)
        torch.set_default_dtype(torch.float32)
    for bad in (fastnn.int32, fastnn.int64, fastnn.bool):
        with pytest.raises(TypeError, match="set_default_dtype.*floating"):
            fastnn.set_default_dtype(bad)
    with pytest.raises(TypeError, match="set_default_dtype"):
        fastnn.set_default_dtype("float64")
    assert math.isclose(fastnn.tensor([0.1]).item(), float(np.float32(0.1)))


@pytest.mark.parametrize("name", NAMES)
def test_finfo_and_iinfo_match_torch(name):
    ours, theirs = pair(name)
    if name == "bool":
        for info in ("finfo", "iinfo"):
            with pytest.raises(TypeError, match=info):
                getattr(fastnn, info)(ours)
        return
    if theirs.is_floating_point:
        f, t = fastnn.finfo(ours), torch.finfo(theirs)
        for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
            assert getattr(f, attr) == getattr(t, attr), attr
        assert repr(f) == repr(t)
        with pytest.raises(TypeError, match="iinfo"):
            fastnn.iinfo(ours)
    else:
        f, t = fastnn.iinfo(ours), torch.iinfo(theirs)
        for attr in ("bits", "max", "min", "dtype"):
            assert getattr(f, attr) == getattr(t, attr), attr
        assert repr(f) == repr(t)
        with pytest.raises(TypeError, match="finfo"):
            fastnn.finfo(ours)
    assert repr(fastnn.finfo()) == repr(torch.finfo())


def test_int32_indices_and_byte_masks_index_as_torch():
    a = np.arange(20, dtype=np.float32).reshape(4, 5)
    fx, tx = fastnn.tensor(a), torch.tensor(a)
    fi, ti = fastnn.tensor([3, 0, 1], dtype=fastnn.int32), torch.tensor([3, 0, 1], dtype=torch.int32)
    same(fx[fi], tx[ti])
    same(fx[:, fi], tx[:, ti])
    same(fx.index_select(1, fi), tx.index_select(1, ti))
    same(fastnn.nn.functional.embedding(fi, fx), torch.nn.functional.embedding(ti, tx))
    same(fx[fastnn.tensor(2, dtype=fastnn.int32)], tx[torch.tensor(2, dtype=torch.int32)])
    assert [10, 11, 12][fastnn.tensor(1, dtype=fastnn.int16)] == 11
    fm = fastnn.tensor([1, 0, 2, 0], dtype=fastnn.uint8)
    with pytest.warns(UserWarning):
        tm = torch.tensor([1, 0, 2, 0], dtype=torch.uint8)
        expected = tx[tm]
    same(fx[fm], expected)
    for bad in ("int8", "int16"):
        with pytest.raises(IndexError, match=r"\[index\].*long, int, byte or bool"):
            fx[fastnn.tensor([1], dtype=getattr(fastnn, bad))]


def test_promote_types_and_can_cast_match_torch():
    for a in NAMES:
        for b in NAMES:
            (fa, ta), (fb, tb) = pair(a), pair(b)
            assert fastnn.promote_types(fa, fb).name == str(torch.promote_types(ta, tb)).split(".")[-1], (a, b)
            assert fastnn.can_cast(fa, fb) == torch.can_cast(ta, tb), (a, b)
    assert fastnn.result_type(fastnn.ones(2, dtype=fastnn.int32), 2.5) is fastnn.float32
    assert fastnn.result_type(3, fastnn.ones(2, dtype=fastnn.uint8)) is fastnn.uint8
