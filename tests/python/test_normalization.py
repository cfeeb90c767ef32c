"""Layer, group, instance and RMS normalisation against PyTorch: F functions (forward, input/weight/bias
gradients, dtypes, layouts, zero-size batches, optional weight/bias), modules (repr, state_dict, optimizer
steps), float64 gradchecks of every node, errors, refusal of create_graph, and bitwise-identical results
at 1, 2 and 3 threads."""

import numpy as np
import pytest

import fastnn
from oracle import assert_close, check_op, layout_input, make_leaves, to_numpy, torch

rng = np.random.default_rng(1234)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def _lib_f(lib):
    return lib.nn.functional


def copy_params(ours, theirs):
    """fastnn module `ours` takes torch module `theirs`'s state (names and shapes must match)."""
    ours.load_state_dict({k: fastnn.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})


def assert_same_params_and_grads(ours, theirs, atol=None, rtol=None):
    on, tn = list(ours.named_parameters()), list(theirs.named_parameters())
    assert [n for n, _ in on] == [n for n, _ in tn]
    for (name, a), (_, b) in zip(on, tn):
        assert_close(a, b, atol, rtol, what=name)
        assert (a.grad is None) == (b.grad is None), name
        if b.grad is not None:
            assert_close(a.grad, b.grad, atol, rtol, what=f"grad of {name}")


def run_optimizer_steps(ours, theirs, shape, opt_name, steps=4, dtype=np.float32, **opt_kw):
    """Several steps of (y * target).sum() through both modules with the same optimizer; compares outputs,
    input gradients, parameters and their gradients after every step."""
    opt_o = getattr(fastnn.optim, opt_name)(ours.parameters(), **opt_kw)
    opt_t = getattr(torch.optim, opt_name)(theirs.parameters(), **opt_kw)
    for step in range(steps):
        xa = (randn(*shape, dtype=dtype) * (1 + step) + step).astype(dtype)
        target = randn(*shape, dtype=dtype)
        (x,), (t,) = make_leaves([xa])
        y, ty = ours(x), theirs(t)
        assert y.grad_fn.name() == ty.grad_fn.name()
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
LN_SHAPES = [((4, 6), (6,)), ((3, 5, 7), (7,)), ((2, 3, 4, 5), [4, 5]), ((2, 3, 4), (2, 3, 4)), ((5, 1), (1,)),
             ((7,), [7]), ((3, 130), [130]), ((2, 1, 3), (1, 3))]


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
    check_op(lambda lib, x, w, b: _lib_f(lib).layer_norm(x, (6,), w, b), [xa, w, b], uses_module=True,
             prep=[prep, None, None])
    # a non-contiguous weight
    check_op(lambda lib, x, w: _lib_f(lib).layer_norm(x, (6,), w[::2]), [randn(3, 6), randn(12)], uses_module=True)


def test_layer_norm_zero_size():
    for shape, ns in [((0, 4), (4,)), ((2, 0, 3), (3,)), ((3, 0), (0,)), ((2, 0), (2, 0))]:
        if len(ns) > len(shape) or tuple(shape[-len(ns):]) != ns:
            continue
        check_op(lambda lib, x, w, b: _lib_f(lib).layer_norm(x, ns, w, b), [randn(*shape), randn(*ns), randn(*ns)],
                 uses_module=True)
    # gradients of weight and bias over an empty batch are zeros
    (x, w, b), _ = make_leaves([randn(0, 4), randn(4), randn(4)])
    fastnn.nn.functional.layer_norm(x, (4,), w, b).sum().backward()
    assert to_numpy(w.grad).tolist() == [0.0] * 4 and to_numpy(b.grad).tolist() == [0.0] * 4


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
    check_op(lambda lib, w, b: _lib_f(lib).layer_norm(lib.tensor(x), (4,), w, b), [randn(4), randn(4)],
             uses_module=True)


def test_layer_norm_refuses_create_graph():
    x = fastnn.tensor(randn(2, 3), requires_grad=True)
    y = fastnn.nn.functional.layer_norm(x, (3,))
    with pytest.raises(RuntimeError, match=r"create_graph=True .*NativeLayerNormBackward0"):
        fastnn.autograd.grad((y * y).sum(), [x], create_graph=True)


@pytest.mark.parametrize("call,exc,msg", [
    (lambda F: F.layer_norm(fastnn.zeros(2, 3, 4), (5,)), ValueError,
     r"[layer_norm] Given normalized_shape=[5], expected input with shape [*, 5], but got input of size[2, 3, 4]"),
    (lambda F: F.layer_norm(fastnn.zeros(3, 4), (2, 3, 4)), ValueError,
     r"[layer_norm] Given normalized_shape=[2, 3, 4], expected input with shape [*, 2, 3, 4], but got input of "
     r"size[3, 4]"),
    (lambda F: F.layer_norm(fastnn.zeros(3, 4), ()), ValueError,
     "[layer_norm] Expected normalized_shape to be at least 1-dimensional"),
    (lambda F: F.layer_norm(fastnn.zeros(3, 4), (4,), fastnn.ones(3)), ValueError,
     "[layer_norm] Expected weight to be of same shape as normalized_shape, but got weight of shape [3] and "
     "normalized_shape = [4]"),
    (lambda F: F.layer_norm(fastnn.zeros(3, 4), (4,), None, fastnn.ones(1, 4)), ValueError,
     "[layer_norm] Expected bias to be of same shape as normalized_shape, but got bias of shape [1, 4]"),
    (lambda F: F.layer_norm(fastnn.zeros(3, 4, dtype=fastnn.int64), (4,)), TypeError,
     "[layer_norm] expected a floating-point input, got int64"),
    (lambda F: F.layer_norm(fastnn.zeros(3, 4), (4,), fastnn.ones(4, dtype=fastnn.float64)), TypeError,
     "[layer_norm] expected weight of dtype float32 (the input's), got float64"),
    (lambda F: F.layer_norm([1.0, 2.0], (2,)), TypeError, "[layer_norm] input must be a Tensor, got list"),
    (lambda F: F.layer_norm(fastnn.zeros(3, 4), 4), TypeError,
     "[layer_norm] normalized_shape must be a tuple of ints, not int"),
    (lambda F: F.layer_norm(fastnn.zeros(3, 4), [4.0]), TypeError, "[layer_norm] normalized_shape must be"),
    (lambda F: F.layer_norm(fastnn.zeros(3, 4), (4,), eps="x"), TypeError, "[layer_norm] eps must be a number"),
    (lambda F: F.layer_norm(fastnn.zeros(3, 4), (4,), 1.0), TypeError, "[layer_norm] weight must be a Tensor"),
])
def test_layer_norm_errors(call, exc, msg):
    with pytest.raises(exc) as info:
        call(fastnn.nn.functional)
    assert str(info.value).startswith(msg), str(info.value)


def test_layer_norm_module_surface():
    for args, kw in [((128,), {}), (([3, 4],), dict(bias=False)), ((4,), dict(elementwise_affine=False)),
                     (((2, 3),), dict(eps=1e-3))]:
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
