"""Hooks and modes as people use them, against torch: Tensor.register_hook (leaf and non-leaf), grad_fn
pre/post hooks, Module full/legacy backward hooks and forward hook options, inference_mode, detect_anomaly."""

import numpy as np
import pytest

import fastnn
from oracle import assert_close, torch

LIBS = [fastnn, torch]


def _linear(lib, seed=0):
    rng = np.random.default_rng(seed)
    lin = lib.nn.Linear(3, 2)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor(rng.standard_normal((2, 3)).astype(np.float32)))
        lin.bias.copy_(lib.tensor(rng.standard_normal(2).astype(np.float32)))
    x = lib.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    return lin, x


def _both(fn):
    return fn(fastnn), fn(torch)


def _assert_same(a, b):
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b), (a, b)
        for u, v in zip(a, b):
            _assert_same(u, v)
    elif a is None or b is None:
        assert a is None and b is None, (a, b)
    elif isinstance(a, (int, float, str, bool)):
        assert a == b
    else:
        assert_close(a, b)


@pytest.mark.parametrize("case", ["nonleaf_scale", "leaf_add", "two_hooks", "removed", "keep_none", "multi_output"])
def test_tensor_register_hook(case):
    def run(lib):
        t = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        seen = []
        if case == "nonleaf_scale":
            y = t * 2
            y.register_hook(lambda g: g * 10)
            (y * y).sum().backward()
        elif case == "leaf_add":
            t.register_hook(lambda g: seen.append(g.clone()) or g + 1)
            (t * 3).sum().backward()
        elif case == "two_hooks":
            y = t.exp()
            y.register_hook(lambda g: g * 2)
            y.register_hook(lambda g: seen.append(g.clone()) or g + 1)
            y.sum().backward()
        elif case == "removed":
            h = t.register_hook(lambda g: g * 100)
            h.remove()
            (t * 3).sum().backward()
        elif case == "keep_none":
            y = t.tanh()
            y.register_hook(lambda g: seen.append(g.clone()))
            (y * 5).sum().backward()
        else:  # one output of a multi-output op
            a = t.unsqueeze(0).max(dim=1)
            v = a.values
            v.register_hook(lambda g: g * 7)
            (v * 2).sum().backward()
        return t.grad, seen

    _assert_same(*_both(run))


def test_hook_on_tensor_without_grad_is_refused():
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
            lib.randn(3).register_hook(lambda g: g)


def test_hook_changing_the_size_is_refused():
    for lib in LIBS:
        t = lib.ones(3, requires_grad=True)
        y = t * 2
        y.register_hook(lambda g: lib.ones(5))
        with pytest.raises(RuntimeError, match="has changed the size of value"):
            y.sum().backward()


def test_hook_exception_propagates_and_autograd_grad_sees_hooked_gradient():
    t = fastnn.ones(2, requires_grad=True)
    y = t * 2
    y.register_hook(lambda g: (_ for _ in ()).throw(KeyError("boom")))
    with pytest.raises(KeyError, match="boom"):
        y.sum().backward()

    def run(lib):
        t = lib.tensor([1.0, 2.0], requires_grad=True)
        t.register_hook(lambda g: g * 3)
        return lib.autograd.grad((t * t).sum(), [t])

    _assert_same(*_both(run))


def test_grad_fn_pre_and_post_hooks():
    def run(lib):
        t = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = t * 2
        z = y.exp().sum()
        log = []
        y.grad_fn.register_prehook(lambda go: log.append(("pre", go)) or (go[0] * 2,))
        y.grad_fn.register_hook(lambda gi, go: log.append(("post", gi, go)))
        z.backward()
        return t.grad, log

    _assert_same(*_both(run))


@pytest.mark.parametrize("x_requires_grad", [False, True])
def test_module_full_backward_hook(x_requires_grad):
    def run(lib):
        lin, x = _linear(lib)
        x.requires_grad_(x_requires_grad)
        calls = []
        lin.register_full_backward_hook(lambda m, gi, go: calls.append((type(m).__name__, gi, go)))
        y = lin(x)
        name = y.grad_fn.name() if lib is torch else y.grad_fn.name()
        (y * y).sum().backward()
        return calls, name, lin.weight.grad, x.grad

    _assert_same(*_both(run))


def test_module_full_backward_hook_replaces_grad_input_and_pre_hook_grad_output():
    def run(lib):
        lin, x = _linear(lib)
        x.requires_grad_(True)
        h = lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 2,))
        lin(x).sum().backward()
        first = x.grad.clone()
        h.remove()
        x.grad = None
        lin.weight.grad = None
        lin.register_full_backward_pre_hook(lambda m, go: (go[0] * 3,))
        lin(x).sum().backward()
        return first, x.grad, lin.weight.grad

    _assert_same(*_both(run))


def test_module_legacy_backward_hook_sees_last_node():
    def run(lib):
        lin, x = _linear(lib)
        x.requires_grad_(True)
        calls = []
        lin.register_backward_hook(lambda m, gi, go: calls.append((gi, go)))
        lin(x).sum().backward()
        return calls

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _assert_same(*_both(run))


def test_full_and_legacy_backward_hooks_do_not_mix():
    for lib in LIBS:
        lin, _ = _linear(lib)
        lin.register_full_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full backward hooks"):
            lin.register_backward_hook(lambda *a: None)


def test_forward_hook_options():
    def run(lib):
        lin, x = _linear(lib)
        order = []
        lin.register_forward_pre_hook(lambda m, a: order.append("pre1"))
        lin.register_forward_pre_hook(lambda m, a: order.append("pre0"), prepend=True)
        lin.register_forward_pre_hook(lambda m, a, kw: (tuple(v * 2 for v in a), kw), with_kwargs=True)
        lin.register_forward_hook(lambda m, a, kw, out: out + 1, with_kwargs=True)
        y = lin(x)
        return order, y

    _assert_same(*_both(run))


def test_forward_hook_always_call_runs_when_forward_raises():
    for lib in LIBS:
        lin, _ = _linear(lib)
        seen = []
        lin.register_forward_hook(lambda m, a, out: seen.append(out), always_call=True)
        with pytest.raises(Exception):
            lin(lib.ones(2, 5))
        assert seen == [None]


def test_inference_mode():
    def run(lib):
        t = lib.ones(3, requires_grad=True)
        with lib.inference_mode():
            inside = lib.is_inference_mode_enabled()
            y = t * 2
        with lib.inference_mode(False):
            z = t * 2

        @lib.inference_mode()
        def f(a):
            return a * 3

        return inside, lib.is_inference_mode_enabled(), y.requires_grad, z.requires_grad, f(t).requires_grad

    assert run(fastnn) == run(torch)


def test_detect_anomaly_names_the_node():
    import warnings

    for lib in LIBS:
        b = lib.tensor([-1.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with lib.autograd.detect_anomaly():
                with pytest.raises(
                    RuntimeError, match="Function 'SqrtBackward0' returned nan values in its 0th output"
                ):
                    b.sqrt().sum().backward()
        b.sqrt().sum().backward()  # off again: the NaN goes through
        assert np.isnan(b.grad.numpy()).all()
        lib.autograd.set_detect_anomaly(True)
        assert lib.is_anomaly_enabled()
        lib.autograd.set_detect_anomaly(False)
        assert not lib.is_anomaly_enabled()


def test_post_accumulate_grad_hook_sees_the_accumulated_grad():
    def run(lib):
        w = lib.ones(3, requires_grad=True)
        seen = []
        handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.clone()))
        w.register_hook(lambda g: g * 10)  # runs before accumulation: the post hook sees its result
        (w * 2).sum().backward()
        (w * w).sum().backward()
        handle.remove()
        (w * 3).sum().backward()
        return seen, w.grad

    _assert_same(*_both(run))


def test_post_accumulate_grad_hook_refusals():
    for lib in LIBS:
        w = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf tensors"):
            (w * 2).register_post_accumulate_grad_hook(lambda p: None)
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            lib.ones(2).register_post_accumulate_grad_hook(lambda p: None)
        w.register_post_accumulate_grad_hook(lambda p: 5)
        with pytest.raises(TypeError):
            w.sum().backward()


def test_queue_callback_runs_when_the_backward_ends():
    def run(lib):
        w = lib.ones(2, requires_grad=True)
        events = []
        engine = lib.autograd.Variable._execution_engine

        def hook(p):
            events.append(("hook", p.grad.tolist()))
            engine.queue_callback(lambda: events.append(("callback", w.grad.tolist())))

        w.register_post_accumulate_grad_hook(hook)
        (w * 3).sum().backward()
        return events

    assert _both(run)[0] == _both(run)[1] == [("hook", [3.0, 3.0]), ("callback", [3.0, 3.0])]
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="Final callbacks can only be installed during backward pass"):
            lib.autograd.Variable._execution_engine.queue_callback(lambda: None)
