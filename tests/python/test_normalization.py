"""Layer, group, instance and RMS normalisation against PyTorch: F functions (forward, input/weight/bias
gradients, dtypes, layouts, zero-size batches, optional weight/bias), modules (repr, state_dict, optimizer
steps), float64 gradchecks of every node, errors, refusal of create_graph, and bitwise-identical results
at 1, 2 and 3 threads."""

import numpy as np
import pytest

import fastnn
from oracle import assert_close, assert_same_params_and_grads, check_op, layout_input, make_leaves, to_numpy, torch

rng = np.random.default_rng(1234)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _lib_f(lib):
    return lib.nn.functional


def copy_params(ours, theirs):
    """fastnn module `ours` takes torch module `theirs`'s state (names and shapes must match)."""
    ours.load_state_dict({k: fastnn.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})


def run_optimizer_steps(ours, theirs, shape, opt_name, steps=4, dtype=np.float32, same_node=True, **opt_kw):
    """Several steps of (y * target).sum() through both modules with the same optimizer; compares outputs,
    input gradients, parameters and their gradients after every step."""
    opt_o = getattr(fastnn.optim, opt_name)(ours.parameters(), **opt_kw)
    opt_t = getattr(torch.optim, opt_name)(theirs.parameters(), **opt_kw)
    for step in range(steps):
        xa = (randn(*shape, dtype=dtype) * (1 + step) + step).astype(dtype)
        target = randn(*shape, dtype=dtype)
        (x,), (t,) = make_leaves([xa])
        y, ty = ours(x), theirs(t)
        assert y.grad_fn.name() == ty.grad_fn.name() or not same_node
        assert_close(y, ty, what=f"output at step {step}")
        opt_o.zero_grad()
        opt_t.zero_grad()
        (y * fastnn.tensor(target)).sum().backward()
        (ty * torch.tensor(target)).sum().backward()
        assert_close(x.grad, t.grad, what=f"input grad at step {step}")
        assert_same_params_and_grads(ours, theirs)
        opt_o.step()
        opt_t.step()
        assert_same_params_and_grads(ours, theirs)


def at_threads(n, fn):
    """fn() run with fastnn at n threads (the conftest fixture restores the count)."""
    fastnn.set_num_threads(n)
    return fn()


def assert_bitwise_same_at_1_2_3_threads(fn):
    """fn() returns NumPy arrays; they must be bitwise equal whatever the thread count."""
    ref = at_threads(1, fn)
    for n in (2, 3):
        for a, b in zip(ref, at_threads(n, fn)):
            assert a.tobytes() == b.tobytes(), f"differs at {n} threads"


# ---------------------------------------------------------------------------------------------
# layer_norm / LayerNorm
# ---------------------------------------------------------------------------------------------
# (input shape, normalized_shape as passed)
LN_SHAPES = [
    ((4, 6), (6,)),
    ((3, 5, 7), (7,)),
    ((2, 3, 4, 5), [4, 5]),
    ((2, 3, 4), (2, 3, 4)),
    ((5, 1), (1,)),
    ((7,), [7]),
    ((3, 130), [130]),
    ((2, 1, 3), (1, 3)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,ns", LN_SHAPES)
@pytest.mark.parametrize("affine", ["weight+bias", "weight", "bias", "none"])
def test_layer_norm_matches_torch(shape, ns, affine, dtype):
    nsh = tuple(ns)
    arrays = [(randn(*shape, dtype=dtype) * 3 + 1).astype(dtype)]
    if "weight" in affine:
        arrays.append(randn(*nsh, dtype=dtype))
    if "bias" in affine:
        arrays.append(randn(*nsh, dtype=dtype))

    def fn(lib, x, *params):
        w = params[0] if "weight" in affine else None
        b = params[-1] if "bias" in affine else None
        return _lib_f(lib).layer_norm(x, ns, w, b, eps=1e-5)

    # one value per row: the input gradient is 0, torch's float32 one is rounding noise around it
    atol = 1e-4 if dtype == np.float32 and np.prod(nsh) == 1 else None
    y, ty = check_op(fn, arrays, uses_module=True, atol=atol)
    assert y.grad_fn.name() == ty.grad_fn.name() == "NativeLayerNormBackward0"
    assert len(y.grad_fn.next_functions) == 3


@pytest.mark.parametrize("layout", ["transposed", "strided", "offset", "expanded"])
def test_layer_norm_non_contiguous(layout):
    xa, prep = layout_input(rng, (4, 5, 6), layout)
    w, b = randn(6), randn(6)
    check_op(
        lambda lib, x, w, b: _lib_f(lib).layer_norm(x, (6,), w, b),
        [xa, w, b],
        uses_module=True,
        prep=[prep, None, None],
    )
    # a non-contiguous weight
    check_op(lambda lib, x, w: _lib_f(lib).layer_norm(x, (6,), w[::2]), [randn(3, 6), randn(12)], uses_module=True)


def test_layer_norm_zero_size():
    for shape, ns in [((0, 4), (4,)), ((2, 0, 3), (3,)), ((3, 0), (0,)), ((2, 0), (2, 0))]:
        if len(ns) > len(shape) or tuple(shape[-len(ns) :]) != ns:
            continue
        check_op(
            lambda lib, x, w, b: _lib_f(lib).layer_norm(x, ns, w, b),
            [randn(*shape), randn(*ns), randn(*ns)],
            uses_module=True,
        )
    # gradients of weight and bias over an empty batch are zeros
    (x, w, b), _ = make_leaves([randn(0, 4), randn(4), randn(4)])
    fastnn.nn.functional.layer_norm(x, (4,), w, b).sum().backward()
    assert to_numpy(w.grad).tolist() == [0.0] * 4 and to_numpy(b.grad).tolist() == [0.0] * 4


def test_empty_inputs_with_huge_sizes_compute_nothing():
    # no statistics are allocated or computed for an empty input, whatever its other sizes
    F = fastnn.nn.functional
    assert F.layer_norm(fastnn.empty(2**40, 2**40, 0), [0]).shape == (2**40, 2**40, 0)
    assert F.rms_norm(fastnn.empty(2**40, 0, 3), [0, 3]).shape == (2**40, 0, 3)
    x = fastnn.zeros(2, 0, requires_grad=True)
    y = F.group_norm(x, 2**40)
    y.sum().backward()
    assert y.shape == x.grad.shape == (2, 0)
    assert F.group_norm(fastnn.empty(2**40, 4, 0), 2).shape == (2**40, 4, 0)


def test_layer_norm_eps_and_large_offset():
    # a large common offset must not cancel the variance away (shifted sums); float64 torch is the reference
    xa = (1e4 + randn(8, 64)).astype(np.float32)
    y = fastnn.nn.functional.layer_norm(fastnn.tensor(xa), (64,), eps=1e-3)
    ref = torch.nn.functional.layer_norm(torch.tensor(xa, dtype=torch.float64), (64,), eps=1e-3)
    np.testing.assert_allclose(to_numpy(y), ref.numpy(), atol=2e-3)
    # a constant row: zero variance, output is the bias
    y = fastnn.nn.functional.layer_norm(fastnn.full((2, 5), 3.0), (5,), bias=fastnn.arange(5.0))
    assert to_numpy(y).tolist() == [[0.0, 1.0, 2.0, 3.0, 4.0]] * 2


def test_layer_norm_gradcheck():
    def x64(*shape):
        return fastnn.tensor(randn(*shape, dtype=np.float64), requires_grad=True)

    F = fastnn.nn.functional
    for shape, ns in [((3, 4), (4,)), ((2, 3, 4), (3, 4)), ((2, 5), (5,))]:
        x, w, b = x64(*shape), x64(*ns), x64(*ns)
        assert fastnn.autograd.gradcheck(lambda x, w, b: F.layer_norm(x, ns, w, b), [x, w, b])
        assert fastnn.autograd.gradcheck(lambda x: F.layer_norm(x, ns), [x])
        assert fastnn.autograd.gradcheck(lambda x, w: F.layer_norm(x.transpose(0, -1).transpose(0, -1), ns, w), [x, w])


def test_layer_norm_only_parameter_grads():
    # the input does not require grad: only weight and bias get gradients
    x = randn(3, 4)
    check_op(
        lambda lib, w, b: _lib_f(lib).layer_norm(lib.tensor(x), (4,), w, b), [randn(4), randn(4)], uses_module=True
    )


def test_layer_norm_refuses_create_graph():
    x = fastnn.tensor(randn(2, 3), requires_grad=True)
    y = fastnn.nn.functional.layer_norm(x, (3,))
    with pytest.raises(RuntimeError, match=r"create_graph=True .*NativeLayerNormBackward0"):
        fastnn.autograd.grad((y * y).sum(), [x], create_graph=True)


@pytest.mark.parametrize(
    "call,exc,msg",
    [
        (
            lambda F: F.layer_norm(fastnn.zeros(2, 3, 4), (5,)),
            ValueError,
            r"[layer_norm] Given normalized_shape=[5], expected input with shape [*, 5], but got input of size[2, 3, 4]",
        ),
        (
            lambda F: F.layer_norm(fastnn.zeros(3, 4), (2, 3, 4)),
            ValueError,
            r"[layer_norm] Given normalized_shape=[2, 3, 4], expected input with shape [*, 2, 3, 4], but got input of "
            r"size[3, 4]",
        ),
        (
            lambda F: F.layer_norm(fastnn.zeros(3, 4), ()),
            ValueError,
            "[layer_norm] Expected normalized_shape to be at least 1-dimensional",
        ),
        (
            lambda F: F.layer_norm(fastnn.zeros(3, 4), (4,), fastnn.ones(3)),
            ValueError,
            "[layer_norm] Expected weight to be of same shape as normalized_shape, but got weight of shape [3] and "
            "normalized_shape = [4]",
        ),
        (
            lambda F: F.layer_norm(fastnn.zeros(3, 4), (4,), None, fastnn.ones(1, 4)),
            ValueError,
            "[layer_norm] Expected bias to be of same shape as normalized_shape, but got bias of shape [1, 4]",
        ),
        (
            lambda F: F.layer_norm(fastnn.zeros(3, 4, dtype=fastnn.int64), (4,)),
            TypeError,
            "[layer_norm] expected a floating-point input, got int64",
        ),
        (
            lambda F: F.layer_norm(fastnn.zeros(3, 4), (4,), fastnn.ones(4, dtype=fastnn.float64)),
            TypeError,
            "[layer_norm] expected weight of dtype float32 (the input's), got float64",
        ),
        (lambda F: F.layer_norm([1.0, 2.0], (2,)), TypeError, "[layer_norm] input must be a Tensor, got list"),
        (
            lambda F: F.layer_norm(fastnn.zeros(3, 4), 4),
            TypeError,
            "[layer_norm] normalized_shape must be a tuple of ints, not int",
        ),
        (lambda F: F.layer_norm(fastnn.zeros(3, 4), [4.0]), TypeError, "[layer_norm] normalized_shape must be"),
        (lambda F: F.layer_norm(fastnn.zeros(3, 4), (4,), eps="x"), TypeError, "[layer_norm] eps must be a number"),
        (lambda F: F.layer_norm(fastnn.zeros(3, 4), (4,), 1.0), TypeError, "[layer_norm] weight must be a Tensor"),
    ],
)
def test_layer_norm_errors(call, exc, msg):
    with pytest.raises(exc) as info:
        call(fastnn.nn.functional)
    assert str(info.value).startswith(msg), str(info.value)


def test_layer_norm_module_surface():
    for args, kw in [
        ((128,), {}),
        (([3, 4],), dict(bias=False)),
        ((4,), dict(elementwise_affine=False)),
        (((2, 3),), dict(eps=1e-3)),
    ]:
        ours, theirs = fastnn.nn.LayerNorm(*args, **kw), torch.nn.LayerNorm(*args, **kw)
        assert repr(ours) == repr(theirs)
        assert ours.normalized_shape == theirs.normalized_shape
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for k, v in theirs.state_dict().items():
            assert_close(ours.state_dict()[k], v, what=k)
    assert repr(fastnn.nn.LayerNorm(128)) == "LayerNorm((128,), eps=1e-05, elementwise_affine=True, bias=True)"
    assert fastnn.nn.LayerNorm(3, dtype=fastnn.float64).weight.dtype == fastnn.float64
    assert fastnn.nn.LayerNorm(fastnn.Size([2, 3])).normalized_shape == (2, 3)
    assert fastnn.nn.LayerNorm(np.int64(5)).normalized_shape == (5,)


@pytest.mark.parametrize("kw", [{}, dict(bias=False), dict(elementwise_affine=False), dict(eps=1e-2)])
@pytest.mark.parametrize("opt,opt_kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01))])
def test_layer_norm_module_training_steps(kw, opt, opt_kw):
    # a Linear in front, so that the layer without parameters still trains something through it
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 5), torch.nn.LayerNorm((3, 5), **kw))
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(randn(*p.shape)))
    ours = fastnn.nn.Sequential(fastnn.nn.Linear(5, 5), fastnn.nn.LayerNorm((3, 5), **kw))
    copy_params(ours, theirs)
    run_optimizer_steps(ours, theirs, (4, 3, 5), opt, **opt_kw)


def test_layer_norm_module_float64_steps():
    theirs = torch.nn.LayerNorm(6).double()
    ours = fastnn.nn.LayerNorm(6).double()
    copy_params(ours, theirs)
    run_optimizer_steps(ours, theirs, (2, 3, 6), "Adam", dtype=np.float64, lr=0.05)


def test_layer_norm_bitwise_same_at_any_thread_count():
    # big enough for several chunks in the forward and several row blocks in the backward
    xa, wa, ba, ga = randn(700, 300), randn(300), randn(300), randn(700, 300)

    def run():
        x, w, b = (fastnn.tensor(a, requires_grad=True) for a in (xa, wa, ba))
        y = fastnn.nn.functional.layer_norm(x, (300,), w, b)
        y.backward(fastnn.tensor(ga))
        return [to_numpy(t) for t in (y, x.grad, w.grad, b.grad)]

    assert_bitwise_same_at_1_2_3_threads(run)


# ---------------------------------------------------------------------------------------------
# group_norm / GroupNorm
# ---------------------------------------------------------------------------------------------
GN_SHAPES = [((2, 6), 3), ((2, 6, 5), 2), ((3, 4, 3, 5), 4), ((3, 4, 3, 5), 1), ((2, 6, 1), 6), ((2, 4, 2, 2, 3), 2)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,groups", GN_SHAPES)
@pytest.mark.parametrize("affine", ["weight+bias", "weight", "bias", "none"])
def test_group_norm_matches_torch(shape, groups, affine, dtype):
    C = shape[1]
    arrays = [(randn(*shape, dtype=dtype) * 2 - 1).astype(dtype)]
    if "weight" in affine:
        arrays.append(randn(C, dtype=dtype))
    if "bias" in affine:
        arrays.append(randn(C, dtype=dtype))

    def fn(lib, x, *params):
        w = params[0] if "weight" in affine else None
        b = params[-1] if "bias" in affine else None
        if lib is torch and w is None and b is not None:
            w = torch.ones(C, dtype=b.dtype)  # torch 2.13 fails on a bias without weight ("does not have a device")
        return _lib_f(lib).group_norm(x, groups, w, b, eps=1e-4)

    # one or two values per group: the input gradient is (nearly) 0, torch's float32 one is rounding noise around it
    atol = 1e-4 if dtype == np.float32 and np.prod(shape[2:], dtype=int) * C // groups <= 2 else None
    y, ty = check_op(fn, arrays, uses_module=True, atol=atol)
    assert y.grad_fn.name() == ty.grad_fn.name() == "NativeGroupNormBackward0"


@pytest.mark.parametrize("layout", ["transposed", "strided", "offset", "expanded"])
def test_group_norm_non_contiguous(layout):
    xa, prep = layout_input(rng, (3, 4, 5, 6), layout)
    check_op(
        lambda lib, x, w, b: _lib_f(lib).group_norm(x, 2, w, b),
        [xa, randn(4), randn(4)],
        uses_module=True,
        prep=[prep, None, None],
    )


def test_group_norm_zero_size_and_gradcheck():
    for shape in [(0, 4, 3), (0, 4)]:
        check_op(
            lambda lib, x, w, b: _lib_f(lib).group_norm(x, 2, w, b),
            [randn(*shape), randn(4), randn(4)],
            uses_module=True,
        )
    # no values per channel: torch 2.13 gives nan weight and bias gradients, the empty sums are 0
    (x, w, b), _ = make_leaves([randn(2, 4, 0), randn(4), randn(4)])
    y = fastnn.nn.functional.group_norm(x, 2, w, b)
    assert y.shape == (2, 4, 0)
    y.sum().backward()
    assert to_numpy(w.grad).tolist() == [0.0] * 4 and to_numpy(b.grad).tolist() == [0.0] * 4
    F = fastnn.nn.functional
    x, w, b = (fastnn.tensor(randn(*s, dtype=np.float64), requires_grad=True) for s in [(2, 4, 3), (4,), (4,)])
    assert fastnn.autograd.gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), [x, w, b])
    assert fastnn.autograd.gradcheck(lambda x: F.group_norm(x.transpose(1, 2), 3), [x])
    assert fastnn.autograd.gradcheck(lambda x, b: F.group_norm(x, 1, None, b), [x, b])


@pytest.mark.parametrize(
    "call,exc,msg",
    [
        (
            lambda F: F.group_norm(fastnn.zeros(2, 3, 4), 2),
            ValueError,
            "[group_norm] Expected number of channels in input to be divisible by num_groups, but got input of shape "
            "[2, 3, 4] and num_groups=2",
        ),
        (
            lambda F: F.group_norm(fastnn.zeros(2, 4, 3), 0),
            ValueError,
            "[group_norm] Expected num groups to be greater than 0, got 0",
        ),
        (
            lambda F: F.group_norm(fastnn.zeros(2, 4, 3), -2),
            ValueError,
            "[group_norm] Expected num groups to be greater than 0, got -2",
        ),
        (
            lambda F: F.group_norm(fastnn.zeros(1, 6, 1), 6),
            ValueError,
            "[group_norm] Expected more than 1 value per channel when training, got input size [1, 6, 1]",
        ),
        (
            lambda F: F.group_norm(fastnn.zeros(3), 1),
            ValueError,
            "[group_norm] Expected at least 2 dimensions for input tensor but received 1",
        ),
        (
            lambda F: F.group_norm(fastnn.zeros(2, 4, 3), 2, fastnn.ones(2)),
            ValueError,
            "[group_norm] Expected weight to be a vector of size equal to the number of channels in input, but got weight "
            "of shape [2] and input of shape [2, 4, 3]",
        ),
        (
            lambda F: F.group_norm(fastnn.zeros(2, 4, 3), 2, None, fastnn.ones(1, 4)),
            ValueError,
            "[group_norm] Expected bias to be a vector of size equal to the number of channels",
        ),
        (
            lambda F: F.group_norm(fastnn.zeros(2, 4, 3), 2.0),
            TypeError,
            "[group_norm] num_groups must be an int, got float",
        ),
        (
            lambda F: F.group_norm(fastnn.zeros(2, 4, dtype=fastnn.int64), 2),
            TypeError,
            "[group_norm] expected a floating-point input, got int64",
        ),
        (
            lambda F: F.group_norm(fastnn.zeros(2, 4), 2, fastnn.ones(4, dtype=fastnn.float64)),
            TypeError,
            "[group_norm] expected weight of dtype float32 (the input's), got float64",
        ),
    ],
)
def test_group_norm_errors(call, exc, msg):
    with pytest.raises(exc) as info:
        call(fastnn.nn.functional)
    assert str(info.value).startswith(msg), str(info.value)


def test_group_norm_module_surface_and_errors():
    for args, kw in [((2, 4), {}), ((3, 6), dict(affine=False)), ((1, 4), dict(bias=False, eps=1e-3))]:
        ours, theirs = fastnn.nn.GroupNorm(*args, **kw), torch.nn.GroupNorm(*args, **kw)
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
    with pytest.raises(ValueError, match=r"^\[GroupNorm\] num_channels \(5\) must be divisible by num_groups \(2\)$"):
        fastnn.nn.GroupNorm(2, 5)
    with pytest.raises(ValueError, match=r"^\[GroupNorm\] ZeroDivisionError"):
        fastnn.nn.GroupNorm(0, 5)


@pytest.mark.parametrize("kw", [{}, dict(affine=False), dict(bias=False)])
@pytest.mark.parametrize("opt,opt_kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01))])
def test_group_norm_module_training_steps(kw, opt, opt_kw):
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 5), torch.nn.GroupNorm(3, 6, **kw))
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(randn(*p.shape)))
    ours = fastnn.nn.Sequential(fastnn.nn.Linear(5, 5), fastnn.nn.GroupNorm(3, 6, **kw))
    copy_params(ours, theirs)
    run_optimizer_steps(ours, theirs, (4, 6, 5), opt, **opt_kw)


def test_group_norm_bitwise_same_at_any_thread_count():
    xa, wa, ba, ga = randn(16, 64, 100), randn(64), randn(64), randn(16, 64, 100)

    def run():
        x, w, b = (fastnn.tensor(a, requires_grad=True) for a in (xa, wa, ba))
        y = fastnn.nn.functional.group_norm(x, 4, w, b)
        y.backward(fastnn.tensor(ga))
        return [to_numpy(t) for t in (y, x.grad, w.grad, b.grad)]

    assert_bitwise_same_at_1_2_3_threads(run)


def test_group_norm_refuses_create_graph():
    x = fastnn.tensor(randn(2, 4, 3), requires_grad=True)
    y = fastnn.nn.functional.group_norm(x, 2)
    with pytest.raises(RuntimeError, match=r"create_graph=True .*NativeGroupNormBackward0"):
        fastnn.autograd.grad((y * y).sum(), [x], create_graph=True)


# ---------------------------------------------------------------------------------------------
# instance_norm / InstanceNorm1d, 2d, 3d
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 3, 5), (3, 2, 4, 5), (1, 3, 2), (2, 2, 2, 3, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm_matches_torch(shape, affine, dtype):
    C = shape[1]
    arrays = [(randn(*shape, dtype=dtype) * 2 + 1).astype(dtype)]
    if affine:
        arrays += [randn(C, dtype=dtype), randn(C, dtype=dtype)]
    y, ty = check_op(lambda lib, x, *p: _lib_f(lib).instance_norm(x, None, None, *p), arrays, uses_module=True)
    assert y.grad_fn.name() == ty.grad_fn.name() == "ViewBackward0"


@pytest.mark.parametrize("momentum", [0.1, 0.7])
def test_instance_norm_running_stats(momentum):
    C = 3
    stats = [randn(C), np.abs(randn(C)) + 0.5]
    rm, rv = fastnn.tensor(stats[0]), fastnn.tensor(stats[1])
    trm, trv = torch.tensor(stats[0]), torch.tensor(stats[1])
    for _ in range(3):
        xa, wa, ba = randn(4, C, 6) * 3 + 2, randn(C), randn(C)
        y, ty = check_op(
            lambda lib, x, w, b: _lib_f(lib).instance_norm(
                x, rm if lib is fastnn else trm, rv if lib is fastnn else trv, w, b, True, momentum
            ),
            [xa, wa, ba],
            uses_module=True,
        )
        assert_close(rm, trm, what="running_mean")
        assert_close(rv, trv, what="running_var")
    # with the running statistics
    y, ty = check_op(
        lambda lib, x, w, b: _lib_f(lib).instance_norm(
            x, rm if lib is fastnn else trm, rv if lib is fastnn else trv, w, b, False
        ),
        [randn(2, C, 5), randn(C), randn(C)],
        uses_module=True,
    )
    assert y.grad_fn.name() == ty.grad_fn.name() == "ViewBackward0"
    assert y.grad_fn.next_functions[0][0].name() == "NativeBatchNormBackward0"


def test_instance_norm_non_contiguous_zero_size_gradcheck():
    xa, prep = layout_input(rng, (3, 4, 5, 6), "transposed")
    check_op(
        lambda lib, x, w, b: _lib_f(lib).instance_norm(x, weight=w, bias=b),
        [xa, randn(4), randn(4)],
        uses_module=True,
        prep=[prep, None, None],
    )
    check_op(lambda lib, x: _lib_f(lib).instance_norm(x), [randn(0, 4, 3)], uses_module=True)
    F = fastnn.nn.functional
    x, w, b = (fastnn.tensor(randn(*s, dtype=np.float64), requires_grad=True) for s in [(2, 3, 4), (3,), (3,)])
    assert fastnn.autograd.gradcheck(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), [x, w, b])
    rm, rv = fastnn.zeros(3, dtype=fastnn.float64), fastnn.ones(3, dtype=fastnn.float64)
    assert fastnn.autograd.gradcheck(lambda x, w: F.instance_norm(x, rm, rv, w, use_input_stats=False), [x, w])


@pytest.mark.parametrize(
    "call,exc,msg",
    [
        (
            lambda F: F.instance_norm(fastnn.zeros(2, 3, 1)),
            ValueError,
            "[instance_norm] Expected more than 1 spatial element when training, got input size (2, 3, 1)",
        ),
        (
            lambda F: F.instance_norm(fastnn.zeros(3)),
            ValueError,
            "[instance_norm] expected input of shape (N, C) or (N, C, *), got (3,)",
        ),
        (
            lambda F: F.instance_norm(fastnn.zeros(2, 3, 4), use_input_stats=False),
            ValueError,
            "[instance_norm] Expected running_mean and running_var to be defined when use_input_stats is false",
        ),
        (
            lambda F: F.instance_norm(fastnn.zeros(2, 3, 4), fastnn.zeros(3)),
            ValueError,
            "[instance_norm] running_mean and running_var must either both be None or neither be None",
        ),
        (
            lambda F: F.instance_norm(fastnn.zeros(2, 3, 4), weight=fastnn.ones(2)),
            ValueError,
            "[instance_norm] expected weight of shape (3,), got (2,)",
        ),
        (
            lambda F: F.instance_norm(fastnn.zeros(2, 3, 4), fastnn.zeros(4), fastnn.ones(4)),
            ValueError,
            "[instance_norm] expected running_mean of shape (3,), got (4,)",
        ),
        (
            lambda F: F.instance_norm(fastnn.zeros(2, 3, 4), momentum="a"),
            TypeError,
            "[instance_norm] momentum must be a number",
        ),
    ],
)
def test_instance_norm_errors(call, exc, msg):
    with pytest.raises(exc) as info:
        call(fastnn.nn.functional)
    assert str(info.value).startswith(msg), str(info.value)


IN_CASES = [
    ("InstanceNorm1d", (4, 3, 6)),
    ("InstanceNorm1d", (3, 6)),
    ("InstanceNorm2d", (2, 3, 4, 5)),
    ("InstanceNorm2d", (3, 4, 5)),
    ("InstanceNorm3d", (2, 3, 2, 3, 4)),
    ("InstanceNorm3d", (3, 2, 3, 2)),
]


@pytest.mark.parametrize(
    "kw",
    [
        {},
        dict(affine=True),
        dict(track_running_stats=True),
        dict(affine=True, track_running_stats=True, momentum=0.3),
        dict(affine=True, bias=False),
        dict(track_running_stats=True, momentum=None),
    ],
)
@pytest.mark.parametrize("cls_name,shape", IN_CASES)
def test_instance_norm_modules_match_torch(cls_name, shape, kw):
    theirs = getattr(torch.nn, cls_name)(3, **kw)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(randn(*p.shape)))
    ours = getattr(fastnn.nn, cls_name)(3, **kw)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    copy_params(ours, theirs)
    for mode in ("train", "train", "eval", "train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        (x,), (t,) = make_leaves([randn(*shape) * 2 + 1])
        y, ty = ours(x), theirs(t)
        assert y.grad_fn.name() == ty.grad_fn.name()
        assert_close(y, ty, what=f"output ({mode})")
        g = randn(*shape)
        ours.zero_grad()
        theirs.zero_grad()
        y.backward(fastnn.tensor(g))
        ty.backward(torch.tensor(g))
        assert_close(x.grad, t.grad, what=f"input grad ({mode})")
        assert_same_params_and_grads(ours, theirs)
        for k, v in theirs.state_dict().items():
            assert_close(ours.state_dict()[k], v, what=k)


def test_instance_norm_module_steps_and_errors():
    theirs = torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
    ours = fastnn.nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
    copy_params(ours, theirs)
    run_optimizer_steps(ours, theirs, (2, 3, 4, 4), "Adam", lr=0.05)
    with pytest.raises(ValueError, match=r"^\[InstanceNorm2d\] expected 3D or 4D input \(got 2D input\)$"):
        ours(fastnn.zeros(3, 4))
    with pytest.raises(
        ValueError,
        match=r"^\[InstanceNorm2d\] expected input's size at dim=1 to match num_features "
        r"\(3\), but got: 4\.$",
    ):
        ours(fastnn.zeros(2, 4, 3, 3))
    with pytest.warns(UserWarning, match="input's size at dim=0 does not match num_features"):
        fastnn.nn.InstanceNorm1d(3)(fastnn.zeros(4, 5))
    with pytest.raises(TypeError, match=r"^\[InstanceNorm1d\] input must be a Tensor, got float"):
        fastnn.nn.InstanceNorm1d(3)(1.0)


# ---------------------------------------------------------------------------------------------
# rms_norm / RMSNorm
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape,ns", [((4, 6), (6,)), ((3, 5, 7), [5, 7]), ((2, 1), (1,)), ((5,), (5,)), ((2, 3, 130), (130,))]
)
@pytest.mark.parametrize("weight", [True, False])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_matches_torch(shape, ns, weight, eps, dtype):
    arrays = [randn(*shape, dtype=dtype)] + ([randn(*ns, dtype=dtype)] if weight else [])
    y, _ = check_op(lambda lib, x, *w: _lib_f(lib).rms_norm(x, ns, *w, eps=eps), arrays, uses_module=True)
    # torch's CPU rms_norm is a composite (MulBackward0 on top); fastnn's is one fused node, torch's fused name
    assert y.grad_fn.name() == "FusedRmsNormBackward0"
    assert len(y.grad_fn.next_functions) == 2


def test_rms_norm_layouts_zero_size_gradcheck():
    xa, prep = layout_input(rng, (4, 5, 6), "strided")
    check_op(lambda lib, x, w: _lib_f(lib).rms_norm(x, [6], w), [xa, randn(6)], uses_module=True, prep=[prep, None])
    check_op(lambda lib, x, w: _lib_f(lib).rms_norm(x, [4], w), [randn(0, 4), randn(4)], uses_module=True)
    F = fastnn.nn.functional
    x, w = (fastnn.tensor(randn(*s, dtype=np.float64), requires_grad=True) for s in [(3, 4), (4,)])
    assert fastnn.autograd.gradcheck(lambda x, w: F.rms_norm(x, [4], w), [x, w])
    assert fastnn.autograd.gradcheck(lambda x: F.rms_norm(x.t(), [3], eps=0.1), [x])


def test_rms_norm_errors_and_module():
    F = fastnn.nn.functional
    with pytest.raises(
        ValueError,
        match=r"^\[rms_norm\] Given normalized_shape=\[5\], expected input with shape "
        r"\[\*, 5\], but got input of size\[2, 3\]$",
    ):
        F.rms_norm(fastnn.zeros(2, 3), [5])
    with pytest.raises(ValueError, match=r"^\[rms_norm\] Expected weight to be of same shape as normalized_shape"):
        F.rms_norm(fastnn.zeros(2, 3), [3], fastnn.ones(2))
    with pytest.raises(TypeError, match=r"^\[rms_norm\] normalized_shape must be a tuple of ints, not int$"):
        F.rms_norm(fastnn.zeros(2, 3), 3)
    with pytest.raises(TypeError, match=r"^\[rms_norm\] eps must be a number, got str$"):
        F.rms_norm(fastnn.zeros(2, 3), [3], eps="a")
    for args, kw in [((4,), {}), (([3, 4],), dict(eps=1e-3, elementwise_affine=False))]:
        ours, theirs = fastnn.nn.RMSNorm(*args, **kw), torch.nn.RMSNorm(*args, **kw)
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 5), torch.nn.RMSNorm(5))
    ours = fastnn.nn.Sequential(fastnn.nn.Linear(5, 5), fastnn.nn.RMSNorm(5))
    copy_params(ours, theirs)
    run_optimizer_steps(ours, theirs, (3, 4, 5), "Adam", lr=0.05, same_node=False)


def test_rms_norm_bitwise_same_at_any_thread_count():
    xa, wa, ga = randn(600, 200), randn(200), randn(600, 200)

    def run():
        x, w = (fastnn.tensor(a, requires_grad=True) for a in (xa, wa))
        y = fastnn.nn.functional.rms_norm(x, (200,), w)
        y.backward(fastnn.tensor(ga))
        return [to_numpy(t) for t in (y, x.grad, w.grad)]

    assert_bitwise_same_at_1_2_3_threads(run)
