"""Layers against PyTorch: dropout (statistics, masks, seeds), batch norm (training/eval, running
statistics, options), activations, containers, shape layers, AvgPool2d, float64 gradchecks of their
backward nodes, and nn.init (statistics of the draws, gains exactly as torch)."""

import math

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as FF
from oracle import assert_close, assert_same_params_and_grads, check_op, make_leaves, to_numpy, torch


rng = np.random.default_rng(2024)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def f64(*shape):
    return fastnn.tensor(randn(*shape, dtype=np.float64), dtype=fastnn.float64).requires_grad_(True)


def gradcheck(fn, inputs, **kw):
    assert fastnn.autograd.gradcheck(fn, inputs, **kw)


# ---------------------------------------------------------------------------------------------
# Dropout / Dropout2d
# ---------------------------------------------------------------------------------------------
def frac_tolerance(p, n):
    """Five standard deviations of a Bernoulli(p) fraction over n draws (p in (0, 1))."""
    return 5 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_train_statistics_scale_and_grad(p):
    fastnn.manual_seed(11)
    n = 200_000
    x = fastnn.ones(400, 500).requires_grad_(True)
    layer = fastnn.nn.Dropout(p)
    assert layer.training
    y = layer(x)
    assert y.grad_fn.name() == "MulBackward0"  # as torch records dropout on the CPU
    out = to_numpy(y)
    dropped = out == 0
    assert abs(dropped.mean() - p) < frac_tolerance(p, n)
    # kept values are scaled by 1/(1-p), in the input's dtype
    np.testing.assert_allclose(out[~dropped], np.float32(1.0 / (1.0 - p)), rtol=1e-6)
    g = randn(400, 500)
    y.backward(fastnn.tensor(g))
    mask = out  # the input is all ones: the output is the mask
    np.testing.assert_allclose(to_numpy(x.grad), g * mask, rtol=1e-6, atol=1e-7)
    assert np.all(to_numpy(x.grad)[dropped] == 0)


def test_dropout_values_match_input_times_mask():
    fastnn.manual_seed(5)
    xa = randn(50, 40)
    x = fastnn.tensor(xa).requires_grad_(True)
    y = to_numpy(FF.dropout(x, 0.3))
    kept = y != 0
    assert 0.2 < 1 - kept.mean() < 0.4
    np.testing.assert_allclose(y[kept], xa[kept] / np.float32(0.7), rtol=1e-6)


def test_dropout_eval_returns_input():
    x = fastnn.tensor(randn(6, 7)).requires_grad_(True)
    layer = fastnn.nn.Dropout(0.5).eval()
    assert not layer.training
    y = layer(x)
    assert y is x  # as torch, which returns the input itself
    assert FF.dropout(x, 0.5, training=False) is x
    t = torch.tensor(to_numpy(x))
    assert torch.nn.Dropout(0.5).eval()(t) is t
    layer2d = fastnn.nn.Dropout2d(0.7).eval()
    assert layer2d(x.reshape(1, 6, 7, 1)).shape == (1, 6, 7, 1)
    np.testing.assert_array_equal(to_numpy(layer2d(x.reshape(1, 6, 7, 1))).reshape(6, 7), to_numpy(x))
    layer.train()
    assert layer.training and layer(x) is not x


def test_dropout_p0_and_p1():
    x = fastnn.tensor(randn(30, 20)).requires_grad_(True)
    assert FF.dropout(x, 0.0) is x
    t = torch.tensor(to_numpy(x), requires_grad=True)
    for lib, inp in ((fastnn, x), (torch, t)):
        y = lib.nn.functional.dropout(inp, 1.0)
        assert not np.any(to_numpy(y))
        y.sum().backward()
        assert not np.any(to_numpy(inp.grad))
    assert x.grad.shape == (30, 20)
    y2 = FF.dropout2d(fastnn.tensor(randn(2, 3, 4, 4)), 1.0)
    assert not np.any(to_numpy(y2))


def test_dropout_manual_seed_reproduces_mask():
    x = fastnn.ones(64, 64)
    fastnn.manual_seed(123)
    a = to_numpy(FF.dropout(x, 0.5))
    b = to_numpy(FF.dropout(x, 0.5))
    fastnn.manual_seed(123)
    a2 = to_numpy(FF.dropout(x, 0.5))
    b2 = to_numpy(FF.dropout(x, 0.5))
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    assert np.any(a != b)  # consecutive calls draw new masks
    fastnn.manual_seed(124)
    assert np.any(to_numpy(FF.dropout(x, 0.5)) != a)
    # the same bits whatever the number of threads
    fastnn.set_num_threads(1)
    fastnn.manual_seed(123)
    np.testing.assert_array_equal(to_numpy(FF.dropout(x, 0.5)), a)
    fastnn.manual_seed(9)
    c1 = to_numpy(FF.dropout2d(fastnn.ones(8, 16, 3, 3), 0.5))
    fastnn.set_num_threads(2)
    fastnn.manual_seed(9)
    np.testing.assert_array_equal(to_numpy(FF.dropout2d(fastnn.ones(8, 16, 3, 3), 0.5)), c1)


def test_dropout_non_contiguous_and_float64():
    fastnn.manual_seed(3)
    base = randn(20, 30, dtype=np.float64)
    x = fastnn.tensor(base, dtype=fastnn.float64).requires_grad_(True)
    xt = x.transpose(0, 1)
    y = FF.dropout(xt, 0.25)
    assert y.dtype == fastnn.float64 and y.shape == (30, 20)
    out = to_numpy(y)
    kept = out != 0
    np.testing.assert_allclose(out[kept], base.T[kept] / 0.75, rtol=1e-12)
    y.backward(fastnn.ones(30, 20, dtype=fastnn.float64))
    np.testing.assert_allclose(to_numpy(x.grad).T, np.where(kept, 1 / 0.75, 0.0), rtol=1e-12)


def test_dropout_inplace():
    fastnn.manual_seed(1)
    x = fastnn.ones(40, 40)
    y = fastnn.nn.Dropout(0.5, inplace=True)(x)
    np.testing.assert_array_equal(to_numpy(x), to_numpy(y))
    assert set(np.unique(to_numpy(x)).tolist()) == {0.0, 2.0}


@pytest.mark.parametrize("p", [0.3, 0.6])
def test_dropout2d_drops_whole_channels(p):
    fastnn.manual_seed(21)
    N, C = 100, 100
    xa = randn(N, C, 3, 4)
    x = fastnn.tensor(xa).requires_grad_(True)
    y = fastnn.nn.Dropout2d(p)(x)
    out = to_numpy(y).reshape(N, C, -1)
    zero = (out == 0).all(axis=2)
    # each channel is either all zero or all kept and scaled
    np.testing.assert_allclose(out[~zero], xa.reshape(N, C, -1)[~zero] / np.float32(1 - p), rtol=1e-6)
    assert abs(zero.mean() - p) < frac_tolerance(p, N * C)
    g = randn(N, C, 3, 4)
    y.backward(fastnn.tensor(g))
    mask = np.where(zero, 0.0, 1.0 / (1 - p))[:, :, None, None]
    np.testing.assert_allclose(to_numpy(x.grad), g * mask, rtol=1e-6, atol=1e-7)


def test_dropout2d_3d_input_is_channelwise_on_first_two_dims():
    # torch treats a 3-D input as (N, C, L) (feature dropout over the first two dims), with a warning
    fastnn.manual_seed(4)
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        out = to_numpy(FF.dropout2d(fastnn.ones(30, 40, 5), 0.5))
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d, which is deprecated"):
        FF.dropout2d(fastnn.ones(3, 4), 0.5)
    per = out.reshape(30 * 40, 5)
    assert np.all((per == 0).all(axis=1) | (per == 2).all(axis=1))
    assert 0.4 < (per[:, 0] == 0).mean() < 0.6


def test_dropout_errors():
    for cls in (fastnn.nn.Dropout, fastnn.nn.Dropout2d):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
            cls(1.5)
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got -0.1"):
            cls(-0.1)
    with pytest.raises(ValueError, match=r"dropout probability has to be between 0 and 1, but got 2"):
        FF.dropout(fastnn.ones(3), 2.0)
    with pytest.raises(ValueError, match=r"dropout probability has to be between 0 and 1, but got -1"):
        FF.dropout2d(fastnn.ones(2, 3, 4), -1.0)


def test_dropout_repr():
    for args in [(), (0.2,), (0.3, True)]:
        assert repr(fastnn.nn.Dropout(*args)) == repr(torch.nn.Dropout(*args))
        assert repr(fastnn.nn.Dropout2d(*args)) == repr(torch.nn.Dropout2d(*args))


def test_gradcheck_dropout():
    x = f64(4, 5)

    def fn(x):
        fastnn.manual_seed(7)  # the same mask on every call gradcheck makes
        return FF.dropout(x, 0.4)

    assert fn(x).grad_fn.name() == "MulBackward0"
    gradcheck(fn, [x])

    def fn2d(x):
        fastnn.manual_seed(8)
        return FF.dropout2d(x, 0.5)

    gradcheck(fn2d, [f64(3, 4, 2, 2)])


# ---------------------------------------------------------------------------------------------
# BatchNorm1d / BatchNorm2d
# ---------------------------------------------------------------------------------------------
def bn_pair(cls_name, C, dtype=np.float32, **kw):
    """(fastnn layer, torch layer) with the same random affine parameters."""
    ours = getattr(fastnn.nn, cls_name)(C, **kw)
    theirs = getattr(torch.nn, cls_name)(C, **kw)
    if dtype == np.float64:
        ours, theirs = ours.double(), theirs.double()
    with torch.no_grad():
        if theirs.weight is not None:
            theirs.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, C).astype(dtype)))
        if theirs.bias is not None:
            theirs.bias.copy_(torch.tensor(randn(C, dtype=dtype)))
    state = {k: fastnn.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    return ours, theirs


def assert_same_buffers(ours, theirs, atol=None, rtol=None):
    ob, tb = dict(ours.named_buffers()), dict(theirs.named_buffers())
    assert list(ob) == list(tb)
    for k in tb:
        assert_close(ob[k], tb[k], atol, rtol, what=k)


BN_CASES = [
    ("BatchNorm1d", (8, 4)),
    ("BatchNorm1d", (5, 3, 7)),
    ("BatchNorm2d", (4, 3, 5, 6)),
    ("BatchNorm2d", (2, 5, 1, 1)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls_name,shape", BN_CASES)
def test_batchnorm_training_steps_match_torch(cls_name, shape, dtype):
    ours, theirs = bn_pair(cls_name, shape[1], dtype)
    for step in range(4):
        xa = (randn(*shape, dtype=dtype) * (1 + step) + step).astype(dtype)
        (x,), (t,) = make_leaves([xa])
        y, ty = ours(x), theirs(t)
        assert y.grad_fn.name() == ty.grad_fn.name() == "NativeBatchNormBackward0"
        assert_close(y, ty, what=f"output at step {step}")
        g = randn(*shape, dtype=dtype)
        ours.zero_grad()
        theirs.zero_grad()
        y.backward(fastnn.tensor(g))
        ty.backward(torch.tensor(g))
        assert_close(x.grad, t.grad, what=f"input grad at step {step}")
        assert_same_params_and_grads(ours, theirs)
        assert_same_buffers(ours, theirs)
    assert int(ours.num_batches_tracked) == 4
    # eval mode uses the running statistics
    ours.eval()
    theirs.eval()
    xa = randn(*shape, dtype=dtype)
    (x,), (t,) = make_leaves([xa])
    y, ty = ours(x), theirs(t)
    assert_close(y, ty, what="eval output")
    g = randn(*shape, dtype=dtype)
    y.backward(fastnn.tensor(g))
    ty.backward(torch.tensor(g))
    assert_close(x.grad, t.grad, what="eval input grad")
    assert_same_buffers(ours, theirs)
    assert int(ours.num_batches_tracked) == 4  # eval does not count batches


@pytest.mark.parametrize(
    "kw",
    [
        dict(momentum=None),
        dict(momentum=0.5),
        dict(affine=False),
        dict(bias=False),
        dict(eps=1e-2, momentum=0.3),
        dict(track_running_stats=False),
        dict(affine=False, track_running_stats=False, momentum=None),
    ],
)
def test_batchnorm_options(kw):
    ours, theirs = bn_pair("BatchNorm2d", 3, np.float64, **kw)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for mode in ("train", "train", "train", "eval", "train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        xa = randn(3, 3, 4, 2, dtype=np.float64) * 2 + 1
        (x,), (t,) = make_leaves([xa])
        y, ty = ours(x), theirs(t)
        assert_close(y, ty, what=f"output ({mode})")
        g = randn(3, 3, 4, 2, dtype=np.float64)
        ours.zero_grad()
        theirs.zero_grad()
        y.backward(fastnn.tensor(g))
        ty.backward(torch.tensor(g))
        assert_close(x.grad, t.grad, what=f"input grad ({mode})")
        assert_same_params_and_grads(ours, theirs)
        assert_same_buffers(ours, theirs)
    if theirs.num_batches_tracked is not None:
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == 4


def test_batchnorm_momentum_none_is_cumulative_average():
    layer = fastnn.nn.BatchNorm1d(2, momentum=None).double()
    batches = [randn(6, 2, dtype=np.float64) * (i + 1) + i for i in range(5)]
    for b in batches:
        layer(fastnn.tensor(b, dtype=fastnn.float64))
    means = np.mean([b.mean(axis=0) for b in batches], axis=0)
    vars_ = np.mean([b.var(axis=0, ddof=1) for b in batches], axis=0)
    np.testing.assert_allclose(to_numpy(layer.running_mean), means, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(layer.running_var), vars_, rtol=1e-12)
    assert int(layer.num_batches_tracked) == 5


def test_batchnorm_state_dict_buffers_and_load():
    ours, theirs = bn_pair("BatchNorm2d", 4)
    ts = theirs.state_dict()
    os_ = ours.state_dict()
    assert list(os_) == list(ts) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert os_["num_batches_tracked"].dtype == fastnn.int64
    assert tuple(os_["num_batches_tracked"].shape) == tuple(ts["num_batches_tracked"].shape) == ()
    assert [n for n, _ in ours.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    for _ in range(3):
        theirs(torch.tensor(randn(2, 4, 3, 3)))
    ours.load_state_dict({k: fastnn.tensor(v.numpy().copy()) for k, v in theirs.state_dict().items()})
    assert_same_buffers(ours, theirs)
    assert int(ours.num_batches_tracked) == 3
    # without running statistics there are no buffers in the state dict
    assert (
        list(fastnn.nn.BatchNorm1d(3, track_running_stats=False).state_dict())
        == list(torch.nn.BatchNorm1d(3, track_running_stats=False).state_dict())
        == ["weight", "bias"]
    )
    assert list(fastnn.nn.BatchNorm1d(3, affine=False).state_dict()) == list(
        torch.nn.BatchNorm1d(3, affine=False).state_dict()
    )


def test_batchnorm_partial_grads_and_no_grad():
    ours, theirs = bn_pair("BatchNorm1d", 3)
    ours.bias.requires_grad_(False)
    theirs.bias.requires_grad_(False)
    xa = randn(6, 3, 4) + 2
    y, ty = ours(fastnn.tensor(xa)), theirs(torch.tensor(xa))  # the input needs no gradient
    g = randn(6, 3, 4)
    y.backward(fastnn.tensor(g))
    ty.backward(torch.tensor(g))
    assert ours.bias.grad is None
    assert_close(ours.weight.grad, theirs.weight.grad)
    with fastnn.no_grad(), torch.no_grad():  # running statistics still update, as in torch
        y, ty = ours(fastnn.tensor(xa * 2)), theirs(torch.tensor(xa * 2))
    assert y.grad_fn is None and not y.requires_grad
    assert_close(y, ty)
    assert_same_buffers(ours, theirs)


def test_batchnorm_same_bits_at_1_and_2_threads():
    xa, g = randn(16, 8, 9, 9) * 3 + 1, randn(16, 8, 9, 9)
    results = []
    for threads in (1, 2):
        fastnn.set_num_threads(threads)
        layer = fastnn.nn.BatchNorm2d(8)
        x = fastnn.tensor(xa).requires_grad_(True)
        y = layer(x)
        y.backward(fastnn.tensor(g))
        results.append(
            [
                to_numpy(t)
                for t in (y, x.grad, layer.weight.grad, layer.bias.grad, layer.running_mean, layer.running_var)
            ]
        )
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_batchnorm_reset_running_stats():
    ours = fastnn.nn.BatchNorm1d(3)
    ours(fastnn.tensor(randn(5, 3) + 4))
    assert np.all(to_numpy(ours.running_mean) != 0)
    ours.reset_running_stats()
    np.testing.assert_array_equal(to_numpy(ours.running_mean), np.zeros(3, np.float32))
    np.testing.assert_array_equal(to_numpy(ours.running_var), np.ones(3, np.float32))
    assert int(ours.num_batches_tracked) == 0


def test_batchnorm_non_contiguous_input():
    ours, theirs = bn_pair("BatchNorm2d", 3)
    check_op(lambda m, x: (ours if m is fastnn else theirs)(x.transpose(0, 1)), [randn(3, 4, 5, 2)], uses_module=True)
    assert_same_params_and_grads(ours, theirs)
    assert_same_buffers(ours, theirs)


def test_batchnorm_repr():
    for cls in ("BatchNorm1d", "BatchNorm2d"):
        for kw in [
            {},
            dict(eps=1e-3, momentum=None),
            dict(affine=False),
            dict(bias=False),
            dict(track_running_stats=False),
        ]:
            assert repr(getattr(fastnn.nn, cls)(7, **kw)) == repr(getattr(torch.nn, cls)(7, **kw))


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        fastnn.nn.BatchNorm2d(3)(fastnn.ones(3, 4, 4))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        fastnn.nn.BatchNorm1d(3)(fastnn.ones(2, 3, 4, 4))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        fastnn.nn.BatchNorm1d(3)(fastnn.ones(1, 3))
    with pytest.raises(ValueError, match=r"\[batch_norm\] expected weight of shape \(3,\), got \(4,\)"):
        fastnn.nn.BatchNorm1d(4)(fastnn.ones(2, 3))
    # eval with one sample is fine (running statistics)
    out = fastnn.nn.BatchNorm1d(3).eval()(fastnn.ones(1, 3))
    np.testing.assert_allclose(to_numpy(out), np.full((1, 3), 1 / math.sqrt(1 + 1e-5), np.float32), rtol=1e-6)


def test_gradcheck_batch_norm():
    x, w, b = f64(4, 3, 2), f64(3), f64(3)
    rm = fastnn.tensor(randn(3, dtype=np.float64), dtype=fastnn.float64)
    rv = fastnn.tensor(rng.uniform(0.5, 2, 3), dtype=fastnn.float64)
    out = FF.batch_norm(x, None, None, w, b, training=True)
    assert out.grad_fn.name() == "NativeBatchNormBackward0"
    gradcheck(lambda x, w, b: FF.batch_norm(x, None, None, w, b, training=True), [x, w, b])
    gradcheck(lambda x, w, b: FF.batch_norm(x, rm, rv, w, b, training=False), [x, w, b])
    gradcheck(lambda x: FF.batch_norm(x, None, None, training=True, eps=1e-3), [f64(5, 2)])
    gradcheck(lambda x: FF.batch_norm(x, rm[:2].clone(), rv[:2].clone(), training=False), [f64(3, 2, 2, 2)])


# ---------------------------------------------------------------------------------------------
# activations and shape layers
# ---------------------------------------------------------------------------------------------
def kinked(*shape):
    """Random values with exact zeros among them (the kink of relu-like functions)."""
    a = randn(*shape)
    a.reshape(-1)[::5] = 0
    return a


ACTIVATIONS = [
    ("LeakyReLU", (), "LeakyReluBackward0"),
    ("LeakyReLU", (0.2,), "LeakyReluBackward0"),
    ("LeakyReLU", (-0.5,), "LeakyReluBackward0"),
    ("GELU", (), "GeluBackward0"),
    ("GELU", ("tanh",), "GeluBackward0"),
    ("Sigmoid", (), "SigmoidBackward0"),
    ("Tanh", (), "TanhBackward0"),
    ("Softmax", (1,), "SoftmaxBackward0"),
    ("Softmax", (-1,), "SoftmaxBackward0"),
    ("LogSoftmax", (0,), "LogSoftmaxBackward0"),
    ("LogSoftmax", (2,), "LogSoftmaxBackward0"),
]


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("name,args,node", ACTIVATIONS)
def test_activation_modules(name, args, node, layout):
    prep = (lambda lib, x: x.transpose(0, 2)) if layout == "transposed" else None
    f_out, t_out = check_op(
        lambda m, x: getattr(m.nn, name)(*args)(x), [kinked(3, 4, 5) * 3], prep=prep, uses_module=True
    )
    assert f_out.grad_fn.name() == t_out.grad_fn.name() == node
    assert repr(getattr(fastnn.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_activation_modules_float64_and_extremes():
    big = np.array([-1e4, -50.0, -10.0, -1e-8, 0.0, 1e-8, 10.0, 50.0, 1e4])
    for name, args, _ in ACTIVATIONS[:7]:
        check_op(lambda m, x: getattr(m.nn, name)(*args)(x), [big], uses_module=True)
        check_op(lambda m, x: getattr(m.nn, name)(*args)(x), [big.astype(np.float32)], uses_module=True)


def test_inplace_layers_on_non_leaf_backward():
    # inplace layers overwrite an intermediate result; backward must still give torch's gradients
    xa = kinked(5, 6)
    for make in (lambda m: m.nn.LeakyReLU(0.2, inplace=True), lambda m: m.nn.ReLU(inplace=True)):
        f, t = check_op(lambda m, x: make(m)(x * 2), [xa], uses_module=True)
    fastnn.manual_seed(6)
    a = fastnn.tensor(randn(5, 6)).requires_grad_(True)
    h = a * 3
    y = fastnn.nn.Dropout(0.5, inplace=True)(h)
    assert y is h
    kept = to_numpy(y) != 0
    assert 0 < kept.sum() < 30
    y.backward(fastnn.ones(5, 6))
    np.testing.assert_allclose(to_numpy(a.grad), np.where(kept, 6.0, 0.0), rtol=1e-6)


def test_activation_inplace_and_gelu_errors():
    xa = kinked(4, 6)
    x = fastnn.tensor(xa)
    y = fastnn.nn.LeakyReLU(0.1, inplace=True)(x)
    np.testing.assert_allclose(to_numpy(x), np.where(xa > 0, xa, xa * np.float32(0.1)), rtol=1e-6)
    np.testing.assert_array_equal(to_numpy(y), to_numpy(x))
    with pytest.raises(ValueError, match="approximate"):
        fastnn.nn.GELU("fast")(x)
    with pytest.raises(TypeError, match=r"leaky_relu\] expected a floating-point input"):
        FF.leaky_relu(fastnn.tensor(np.array([1, 2])))


def test_gradcheck_activations():
    x = f64(3, 4)  # random normals: none within eps of the leaky_relu kink
    gradcheck(lambda x: FF.leaky_relu(x, 0.2), [x])
    gradcheck(lambda x: FF.leaky_relu(x.transpose(0, 1), -0.3), [x])
    gradcheck(lambda x: FF.gelu(x), [x])
    gradcheck(lambda x: FF.gelu(x, approximate="tanh"), [x])
    gradcheck(lambda x: FF.gelu(x.transpose(0, 1)[::2]), [x])
    assert FF.gelu(x, approximate="tanh").grad_fn.name() == "GeluBackward0"


def test_identity_flatten_unflatten():
    x = fastnn.tensor(randn(2, 3, 4, 5))
    assert fastnn.nn.Identity(54, unused=1)(x) is x
    for args in [(), (0,), (0, 2), (1, 2), (-3, -1), (2, 3)]:
        check_op(lambda m, x: m.nn.Flatten(*args)(x), [randn(2, 3, 4, 5)], uses_module=True)
        assert repr(fastnn.nn.Flatten(*args)) == repr(torch.nn.Flatten(*args))
    for dim, sizes in [(1, (3, 4)), (-1, (2, 10)), (0, (2, 1)), (2, [4, 5])]:
        shape = {1: (2, 12, 5), -1: (2, 3, 20), 0: (2, 3, 4), 2: (2, 3, 20)}[dim]
        f, t = check_op(lambda m, x: m.nn.Unflatten(dim, sizes)(x), [randn(*shape)], uses_module=True)
        assert tuple(f.shape) == tuple(t.shape)
        assert repr(fastnn.nn.Unflatten(dim, sizes)) == repr(torch.nn.Unflatten(dim, sizes))
    with pytest.raises(TypeError, match="unflattened_size must be tuple of ints, but found element of type float"):
        fastnn.nn.Unflatten(1, (2, 3.0))
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints, but found type int"):
        fastnn.nn.Unflatten(1, 6)
    check_op(lambda m, x: m.nn.Unflatten(1, (-1, 4))(x), [randn(2, 12)], uses_module=True)
    # non-contiguous input through Flatten then Unflatten
    check_op(
        lambda m, x: m.nn.Unflatten(1, (4, 3))(m.nn.Flatten()(x.transpose(1, 2))), [randn(2, 3, 4)], uses_module=True
    )


@pytest.mark.parametrize(
    "args,kw",
    [
        ((2,), {}),
        ((3, 2, 1), {}),
        ((3, 2, 1), dict(ceil_mode=True)),
        ((3, 2, 1), dict(count_include_pad=False)),
        (((2, 3),), dict(stride=(1, 2))),
        ((2,), dict(divisor_override=3)),
        ((3,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ],
)
def test_avg_pool2d_module(args, kw):
    f, t = check_op(lambda m, x: m.nn.AvgPool2d(*args, **kw)(x), [randn(2, 3, 7, 8)], uses_module=True)
    assert f.grad_fn.name() == t.grad_fn.name()
    check_op(lambda m, x: m.nn.AvgPool2d(*args, **kw)(x.transpose(1, 2)), [randn(3, 8, 7)], uses_module=True)
    assert repr(fastnn.nn.AvgPool2d(*args, **kw)) == repr(torch.nn.AvgPool2d(*args, **kw))


# ---------------------------------------------------------------------------------------------
# ModuleList / ModuleDict
# ---------------------------------------------------------------------------------------------
def linear_pair(i, o):
    ref = torch.nn.Linear(i, o)
    ours = fastnn.nn.Linear(i, o)
    ours.load_state_dict({k: fastnn.tensor(v.detach().numpy().copy()) for k, v in ref.state_dict().items()})
    return ours, ref


def test_module_list():
    pairs = [linear_pair(3, 4), linear_pair(4, 4), linear_pair(4, 2)]
    ours = fastnn.nn.ModuleList([p[0] for p in pairs])
    theirs = torch.nn.ModuleList([p[1] for p in pairs])
    assert len(ours) == len(theirs) == 3
    assert ours[0] is pairs[0][0] and ours[-1] is pairs[2][0]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    # forward through the list, gradients reach every registered parameter
    xa = randn(5, 3)
    x, t = fastnn.tensor(xa), torch.tensor(xa)
    for m in ours:
        x = m(x).tanh()
    for m in theirs:
        t = m(t).tanh()
    assert_close(x, t)
    x.sum().backward()
    t.sum().backward()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert_close(a.grad, b.grad)
    # mutation
    extra_o, extra_t = linear_pair(2, 2)
    ours.append(extra_o)
    theirs.append(extra_t)
    ours.insert(1, fastnn.nn.ReLU())
    theirs.insert(1, torch.nn.ReLU())
    assert repr(ours) == repr(theirs)
    ours[0] = fastnn.nn.Tanh()
    theirs[0] = torch.nn.Tanh()
    del ours[2]
    del theirs[2]
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert isinstance(ours[1:], fastnn.nn.ModuleList) and len(ours[1:]) == len(theirs[1:]) == 3
    ours.extend([fastnn.nn.Sigmoid()])
    theirs.extend([torch.nn.Sigmoid()])
    assert repr(ours) == repr(theirs)
    with pytest.raises(IndexError, match="index 9 is out of range"):
        ours[9]
    # nested inside a module: parameters are found through the list
    net = fastnn.nn.Sequential(fastnn.nn.ModuleList([fastnn.nn.Linear(2, 2)]))
    assert [n for n, _ in net.named_parameters()] == ["0.0.weight", "0.0.bias"]
    assert repr(fastnn.nn.ModuleList()) == repr(torch.nn.ModuleList())


def test_module_dict():
    lo, lt = linear_pair(3, 2)
    ours = fastnn.nn.ModuleDict({"lin": lo, "act": fastnn.nn.ReLU()})
    theirs = torch.nn.ModuleDict({"lin": lt, "act": torch.nn.ReLU()})
    assert len(ours) == 2 and "lin" in ours and "nope" not in ours
    assert ours["lin"] is lo
    assert list(ours.keys()) == list(theirs.keys()) == ["lin", "act"]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ours) == repr(theirs)
    ours["drop"] = fastnn.nn.Dropout(0.1)
    theirs["drop"] = torch.nn.Dropout(0.1)
    ours.update([("bn", fastnn.nn.BatchNorm1d(2))])
    theirs.update([("bn", torch.nn.BatchNorm1d(2))])
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [k for k, _ in ours.items()] == [k for k, _ in theirs.items()]
    assert list(iter(ours)) == list(iter(theirs))
    assert isinstance(ours.pop("act"), fastnn.nn.ReLU)
    theirs.pop("act")
    del ours["drop"]
    del theirs["drop"]
    assert repr(ours) == repr(theirs)
    # train/eval reach the children
    ours.eval()
    assert not ours["bn"].training
    with pytest.raises(KeyError):
        ours["act"]
    assert repr(fastnn.nn.ModuleDict()) == repr(torch.nn.ModuleDict())


# ---------------------------------------------------------------------------------------------
# nn.init
# ---------------------------------------------------------------------------------------------
GAINS = [
    ("linear", None),
    ("conv2d", None),
    ("conv_transpose3d", None),
    ("sigmoid", None),
    ("tanh", None),
    ("relu", None),
    ("leaky_relu", None),
    ("leaky_relu", 0.2),
    ("leaky_relu", math.sqrt(5)),
    ("leaky_relu", 1),
    ("selu", None),
]


@pytest.mark.parametrize("nl,param", GAINS)
def test_calculate_gain_exact(nl, param):
    ours, theirs = fastnn.nn.init.calculate_gain(nl, param), torch.nn.init.calculate_gain(nl, param)
    assert ours == theirs and type(ours) is type(theirs)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity softsign"):
        fastnn.nn.init.calculate_gain("softsign")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        fastnn.nn.init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="negative_slope a not a valid number"):
        fastnn.nn.init.calculate_gain("leaky_relu", "a")


def fresh(*shape):
    return fastnn.nn.Parameter(fastnn.empty(*shape))


def stats(t):
    a = to_numpy(t).astype(np.float64)
    return a, a.mean(), a.std()


def test_init_uniform_normal_constant():
    fastnn.manual_seed(0)
    w = fresh(200, 300)
    out = fastnn.nn.init.uniform_(w, -2.0, 3.0)
    assert out is w and w.is_leaf and w.requires_grad and w.grad_fn is None
    a, mean, std = stats(w)
    assert a.min() >= -2.0 and a.max() <= 3.0
    assert a.min() < -1.99 and a.max() > 2.99
    assert abs(mean - 0.5) < 0.02 and abs(std - 5 / math.sqrt(12)) < 0.02
    a, mean, std = stats(fastnn.nn.init.uniform_(w))
    assert a.min() >= 0 and a.max() <= 1 and abs(mean - 0.5) < 0.01
    a, mean, std = stats(fastnn.nn.init.normal_(w, 1.5, 0.25))
    assert abs(mean - 1.5) < 0.005 and abs(std - 0.25) < 0.005
    a, mean, std = stats(fastnn.nn.init.normal_(w))
    assert abs(mean) < 0.02 and abs(std - 1) < 0.01
    np.testing.assert_array_equal(to_numpy(fastnn.nn.init.constant_(w, 0.37)), np.full((200, 300), np.float32(0.37)))
    np.testing.assert_array_equal(to_numpy(fastnn.nn.init.zeros_(w)), np.zeros((200, 300), np.float32))
    np.testing.assert_array_equal(to_numpy(fastnn.nn.init.ones_(w)), np.ones((200, 300), np.float32))
    assert w.grad_fn is None and w.is_leaf


def test_init_reproducible_with_manual_seed():
    w = fresh(30, 40)
    fastnn.manual_seed(77)
    a = to_numpy(fastnn.nn.init.kaiming_uniform_(w, a=math.sqrt(5)))
    b = to_numpy(fastnn.nn.init.normal_(w))
    fastnn.manual_seed(77)
    np.testing.assert_array_equal(to_numpy(fastnn.nn.init.kaiming_uniform_(w, a=math.sqrt(5))), a)
    np.testing.assert_array_equal(to_numpy(fastnn.nn.init.normal_(w)), b)


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3), (40, 500)])
@pytest.mark.parametrize("gain", [1.0, 0.5, math.sqrt(2)])
def test_init_xavier(shape, gain):
    fastnn.manual_seed(1)
    w = fresh(*shape)
    t = torch.empty(*shape)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    a, mean, std = stats(fastnn.nn.init.xavier_uniform_(w, gain=gain))
    assert a.max() <= bound * (1 + 1e-6) and a.min() >= -bound * (1 + 1e-6)
    assert a.max() > 0.99 * bound and a.min() < -0.99 * bound
    assert abs(std - bound / math.sqrt(3)) < 0.02 * bound / math.sqrt(3)
    assert abs(mean) < 0.02 * bound
    a, mean, std = stats(fastnn.nn.init.xavier_normal_(w, gain=gain))
    target = gain * math.sqrt(2.0 / (fan_in + fan_out))
    assert abs(std - target) < 0.02 * target and abs(mean) < 0.02 * target


KAIMING = [
    dict(),
    dict(a=math.sqrt(5)),
    dict(nonlinearity="relu"),
    dict(mode="fan_out", nonlinearity="relu"),
    dict(a=0.2, mode="fan_out"),
    dict(nonlinearity="tanh"),
    dict(nonlinearity="linear", mode="fan_in"),
    dict(nonlinearity="selu", mode="fan_out"),
]


@pytest.mark.parametrize("shape", [(256, 300), (48, 16, 5, 5)])
@pytest.mark.parametrize("kw", KAIMING)
def test_init_kaiming(shape, kw):
    fastnn.manual_seed(2)
    w = fresh(*shape)
    t = torch.empty(*shape)
    fan = torch.nn.init._calculate_correct_fan(t, kw.get("mode", "fan_in"))
    std_expected = torch.nn.init.calculate_gain(kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0)) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std_expected
    a, mean, std = stats(fastnn.nn.init.kaiming_uniform_(w, **kw))
    assert a.max() <= bound * (1 + 1e-6) and a.min() >= -bound * (1 + 1e-6)
    assert a.max() > 0.99 * bound and a.min() < -0.99 * bound
    assert abs(std - std_expected) < 0.02 * std_expected and abs(mean) < 0.02 * std_expected
    a, mean, std = stats(fastnn.nn.init.kaiming_normal_(w, **kw))
    assert abs(std - std_expected) < 0.02 * std_expected and abs(mean) < 0.02 * std_expected


def test_init_errors_and_edge_cases():
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed for tensor with fewer than 2 dim"):
        fastnn.nn.init.xavier_uniform_(fresh(5))
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed"):
        fastnn.nn.init.kaiming_normal_(fresh(5))
    with pytest.raises(ValueError, match=r"Mode fan_avg not supported, please use one of \['fan_in', 'fan_out'\]"):
        fastnn.nn.init.kaiming_uniform_(fresh(3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        fastnn.nn.init.kaiming_uniform_(fresh(3, 4), nonlinearity="swish")
    # torch lower-cases the mode
    fastnn.manual_seed(0)
    a = to_numpy(fastnn.nn.init.kaiming_uniform_(fresh(200, 100), mode="FAN_OUT", nonlinearity="relu"))
    assert a.max() <= math.sqrt(6 / 200) * (1 + 1e-6) and a.max() > 0.99 * math.sqrt(6 / 200)
    # zero-element tensors are left alone, with torch's warning
    for fn in (fastnn.nn.init.kaiming_uniform_, fastnn.nn.init.kaiming_normal_):
        z = fresh(0, 3)
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            assert fn(z) is z
    # float64 parameters keep their dtype
    w = fastnn.nn.Parameter(fastnn.empty(50, 60, dtype=fastnn.float64))
    assert fastnn.nn.init.xavier_normal_(w).dtype == fastnn.float64


# ---- nn.Embedding and nn.AdaptiveAvgPool2d ----

EMBEDDING_CASES = [
    ("plain", (7, 3), [[1, 0, 6], [1, 1, 2]], None),
    ("padding", (7, 3), [[1, 0, 6], [1, 1, 2]], 1),
    ("negative_padding", (5, 4), [4, 0, 4, 2], -1),
    ("zero_size", (5, 2), np.zeros((0, 3), dtype=np.int64), None),
]


@pytest.mark.parametrize("name,wshape,idx,padding_idx", EMBEDDING_CASES, ids=[c[0] for c in EMBEDDING_CASES])
def test_embedding_matches_torch(name, wshape, idx, padding_idx):
    w = np.random.default_rng(3).standard_normal(wshape).astype(np.float32)
    idx = np.asarray(idx, dtype=np.int64)

    def fn(m, weight):
        return m.nn.functional.embedding(m.tensor(idx), weight, padding_idx=padding_idx)

    f_out, t_out = check_op(fn, [w], uses_module=True)
    assert f_out.grad_fn.name() == t_out.grad_fn.name() == "EmbeddingBackward0"


def test_embedding_module_init_repr_and_gradcheck():
    fastnn.manual_seed(0)
    emb = fastnn.nn.Embedding(10, 3, padding_idx=-1)
    assert repr(emb) == repr(torch.nn.Embedding(10, 3, padding_idx=-1)) == "Embedding(10, 3, padding_idx=9)"
    assert np.all(to_numpy(emb.weight)[9] == 0) and np.std(to_numpy(emb.weight)[:9]) > 0.5  # N(0, 1) rows
    with pytest.raises(IndexError, match=r"\[embedding\] index 10 is out of range for 10 embeddings"):
        emb(fastnn.tensor([10]))
    w = fastnn.randn(6, 2, dtype=fastnn.float64, requires_grad=True)
    # (row 1, the padding row, is not looked up: it never learns, so a numerical check would disagree)
    gradcheck(lambda t: fastnn.nn.functional.embedding(fastnn.tensor([[0, 5], [5, 3]]), t, padding_idx=1), [w])


ADAPTIVE_CASES = [
    ((2, 3, 7, 5), (3, 2)),
    ((1, 2, 8, 8), 1),
    ((3, 6, 4), (4, None)),
    ((1, 1, 5, 5), 7),
    ((2, 1, 6, 6), 3),
    ((0, 2, 4, 4), 2),
]


@pytest.mark.parametrize("shape,size", ADAPTIVE_CASES, ids=[str(c) for c in ADAPTIVE_CASES])
def test_adaptive_avg_pool2d_matches_torch(shape, size):
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    f_out, t_out = check_op(
        lambda m, t: m.nn.AdaptiveAvgPool2d(size)(t),
        [x],
        uses_module=True,
        prep=lambda m, t: t.transpose(-1, -2).transpose(-1, -2),
    )
    assert f_out.grad_fn.name() == t_out.grad_fn.name()
    assert repr(fastnn.nn.AdaptiveAvgPool2d(size)) == repr(torch.nn.AdaptiveAvgPool2d(size))


def test_adaptive_avg_pool2d_gradcheck():
    x = fastnn.randn(1, 2, 5, 4, dtype=fastnn.float64, requires_grad=True)
    gradcheck(lambda t: fastnn.nn.functional.adaptive_avg_pool2d(t, (3, 3)), [x])
