"""nn.utils against torch.nn.utils: clip_grad_norm_ (every norm type, returned norms, clipped gradients, parameters
without gradients, a single tensor, empty lists, non-finite norms), clip_grad_value_, get_total_norm,
clip_grads_with_norm_, parameters_to_vector / vector_to_parameters, import paths, and errors (type and message)."""

import math
import warnings

import numpy as np
import pytest

import fastnn
from oracle import torch

INF = float("inf")
SHAPES = [(3, 4), (7,), (2, 1, 3)]


def make_params(m, dtype=np.float32, seed=0, scale=3.0, shapes=SHAPES, without_grad=()):
    """Parameters with gradients drawn from one seeded NumPy generator (the same for fastnn and torch)."""
    rng = np.random.default_rng(seed)
    params = []
    for i, shape in enumerate(shapes):
        p = m.nn.Parameter(m.tensor(rng.standard_normal(shape).astype(dtype)))
        g = (rng.standard_normal(shape) * scale).astype(dtype)
        if i not in without_grad:
            p.grad = m.tensor(g)
        params.append(p)
    return params


def grads(params):
    return [None if p.grad is None else p.grad.numpy().copy() for p in params]


def assert_same_grads(ours, theirs, rtol=1e-6):
    for a, b in zip(grads(ours), grads(theirs)):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype
            np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-7)


NORMS = [1, 2, 2.0, INF, -INF, 0.5, 0, 3, "inf"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("max_norm", [0.5, 1e4])
@pytest.mark.parametrize("norm_type", NORMS, ids=str)
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    ours, theirs = make_params(fastnn, dtype, without_grad=(1,)), make_params(torch, dtype, without_grad=(1,))
    before = grads(ours)
    n_f = fastnn.nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    n_t = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(n_f, fastnn.Tensor) and n_f.shape == () and n_f.numpy().dtype == n_t.numpy().dtype
    np.testing.assert_allclose(n_f.item(), n_t.item(), rtol=1e-6)
    assert_same_grads(ours, theirs)
    assert ours[1].grad is None
    clipped = max_norm < n_t.item()
    assert (grads(ours)[0] != before[0]).any() == clipped  # only a norm above max_norm scales the gradients


def test_clip_grad_norm_single_tensor_positional_and_deprecated_alias():
    results = []
    for m in (fastnn, torch):
        p = make_params(m)[0]
        n1 = m.nn.utils.clip_grad_norm_(p, 2.0, 1.0, False, None)
        with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
            n2 = m.nn.utils.clip_grad_norm(p, 1.0)
        n3 = m.nn.utils.clip_grad.clip_grad_norm_(p, max_norm=0.5, norm_type=INF, error_if_nonfinite=True)
        results.append(([n1.item(), n2.item(), n3.item()], p.grad.numpy().copy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6)


def test_clip_grad_norm_mixed_dtypes_give_the_widest():
    ours = make_params(fastnn, shapes=[(3,)]) + make_params(fastnn, np.float64, seed=1, shapes=[(4,)])
    theirs = make_params(torch, shapes=[(3,)]) + make_params(torch, np.float64, seed=1, shapes=[(4,)])
    n_f, n_t = fastnn.nn.utils.clip_grad_norm_(ours, 1.0), torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert n_f.dtype == fastnn.float64 and n_t.dtype == torch.float64
    np.testing.assert_allclose(n_f.item(), n_t.item(), rtol=1e-6)
    assert_same_grads(ours, theirs)


def test_empty_inputs():
    assert fastnn.nn.utils.clip_grad_value_([], 1.0) is None  # (torch 2.13's foreach path raises an internal error)
    for m in (fastnn, torch):
        n = m.nn.utils.clip_grad_norm_([], 1.0)
        assert n.item() == 0.0 and n.dtype == m.float32 and n.shape == ()
        assert m.nn.utils.get_total_norm([]).item() == 0.0
        assert m.nn.utils.clip_grad_norm_(make_params(m, without_grad=(0, 1, 2)), 1.0).item() == 0.0
        with pytest.warns(UserWarning, match="`parameters` is an empty generator, no gradient clipping will occur"):
            m.nn.utils.clip_grad_norm_((p for p in []), 1.0)
        # zero-element gradients: their norm is 0 where the norm has an identity
        p = m.nn.Parameter(m.ones(0))
        p.grad = m.ones(0)
        assert m.nn.utils.clip_grad_norm_([p], 1.0, norm_type=1).item() == 0.0
        with pytest.raises(RuntimeError, match="on an empty tensor because the operation does not have an identity"):
            m.nn.utils.clip_grad_norm_([p], 1.0, norm_type=INF)


@pytest.mark.parametrize("bad", [math.nan, INF, -INF])
@pytest.mark.parametrize("norm_type", [2, 1, INF])
def test_non_finite_norms(bad, norm_type):
    results = []
    for m in (fastnn, torch):
        params = make_params(m)
        params[1].grad[2] = bad
        with pytest.raises(RuntimeError) as err:
            m.nn.utils.clip_grad_norm_(params, 1.0, norm_type, error_if_nonfinite=True)
        text = str(err.value)
        assert grads(params)[0].tolist() == grads(make_params(m))[0].tolist()  # nothing was scaled
        n = m.nn.utils.clip_grad_norm_(params, 1.0, norm_type)  # default: the gradients are scaled anyway
        results.append((text, n.item(), grads(params)))
    ours, theirs = results
    assert ours[0] == "[clip_grad_norm_] " + theirs[0]
    assert f"The total norm of order {float(norm_type)} for gradients from `parameters` is non-finite" in theirs[0]
    np.testing.assert_equal(ours[1], theirs[1])
    for a, b in zip(ours[2], theirs[2]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("clip_value", [0.5, 2, 0.0, 1e9])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = make_params(fastnn, without_grad=(2,)), make_params(torch, without_grad=(2,))
    ours[0].grad[0, 0] = math.nan
    theirs[0].grad[0, 0] = math.nan
    assert fastnn.nn.utils.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for a, b in zip(grads(ours), grads(theirs)):
        np.testing.assert_array_equal(a, b)
    single_f, single_t = make_params(fastnn)[1], make_params(torch)[1]
    fastnn.nn.utils.clip_grad_value_(single_f, clip_value)
    torch.nn.utils.clip_grad_value_(single_t, clip_value)
    np.testing.assert_array_equal(single_f.grad.numpy(), single_t.grad.numpy())


@pytest.mark.parametrize("norm_type", [2.0, 1, INF, 0.5])
def test_get_total_norm_and_clip_grads_with_norm(norm_type):
    ours, theirs = make_params(fastnn), make_params(torch)
    t_f = fastnn.nn.utils.get_total_norm([p.grad for p in ours], norm_type)
    t_t = torch.nn.utils.get_total_norm([p.grad for p in theirs], norm_type)
    np.testing.assert_allclose(t_f.item(), t_t.item(), rtol=1e-6)
    np.testing.assert_allclose(
        fastnn.nn.utils.get_total_norm(ours[0], norm_type).item(),  # a tensor itself
        torch.nn.utils.get_total_norm(theirs[0], norm_type).item(),
        rtol=1e-6,
    )
    assert fastnn.nn.utils.clip_grads_with_norm_(ours, 2.0, t_f) is None
    torch.nn.utils.clip_grads_with_norm_(theirs, 2.0, t_t)
    assert_same_grads(ours, theirs)


def test_parameters_to_vector_and_back():
    results = []
    for m in (fastnn, torch):
        net = m.nn.Sequential(m.nn.Linear(3, 2), m.nn.Linear(2, 1))
        with m.no_grad():
            for i, p in enumerate(net.parameters()):
                p.copy_(m.arange(float(p.numel())).reshape(p.shape) + 10 * i)
        vec = m.nn.utils.parameters_to_vector(net.parameters())
        grad_fn = vec.grad_fn.name()
        vec.sum().backward()
        new = m.arange(float(vec.numel())) * -1
        m.nn.utils.vector_to_parameters(new, net.parameters())
        new[0] = 100.0  # the parameters are views of the vector, as in torch
        results.append(
            (
                vec.tolist(),
                grad_fn,
                [p.tolist() for p in net.parameters()],
                [p.grad.tolist() for p in net.parameters()],
                [p.requires_grad for p in net.parameters()],
            )
        )
    assert results[0] == results[1]


def test_import_paths():
    from fastnn.nn.utils import clip_grad, convert_parameters  # noqa: F401
    from fastnn.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_

    assert fastnn.nn.utils.clip_grad_norm_ is clip_grad_norm_ and fastnn.nn.utils.clip_grad_value_ is clip_grad_value_
    assert fastnn.nn.utils.parameters_to_vector is convert_parameters.parameters_to_vector
    assert sorted(clip_grad.__all__) == sorted(torch.nn.utils.clip_grad.__all__)


ERRORS = [
    (
        "clip_grad_norm_",
        lambda m: m.nn.utils.clip_grad_norm_(make_params(m), "a"),
        ValueError,
        "could not convert string to float: 'a'",
    ),
    (
        "clip_grad_norm_",
        lambda m: m.nn.utils.clip_grad_norm_(make_params(m), 1.0, norm_type="x"),
        ValueError,
        "could not convert string to float: 'x'",
    ),
    ("clip_grad_norm_", lambda m: m.nn.utils.clip_grad_norm_(3, 1.0), TypeError, None),
    ("clip_grad_norm_", lambda m: m.nn.utils.clip_grad_norm_([1, 2], 1.0), TypeError, None),
    (
        "clip_grad_value_",
        lambda m: m.nn.utils.clip_grad_value_(make_params(m), None),
        TypeError,
        "float() argument must be a string or a real number, not 'NoneType'",
    ),
    ("clip_grad_value_", lambda m: m.nn.utils.clip_grad_value_(None, 1.0), TypeError, None),
    ("get_total_norm", lambda m: m.nn.utils.get_total_norm([m.ones(2, dtype=m.int64)]), TypeError, None),
    ("clip_grads_with_norm_", lambda m: m.nn.utils.clip_grads_with_norm_(make_params(m), 1.0, 2.0), TypeError, None),
    (
        "vector_to_parameters",
        lambda m: m.nn.utils.vector_to_parameters([1.0], make_params(m)),
        TypeError,
        "expected torch.Tensor, but got: list",
    ),
    ("parameters_to_vector", lambda m: m.nn.utils.parameters_to_vector([m.ones(2), 3]), TypeError, None),
]


@pytest.mark.parametrize("name,call,kind,torch_text", ERRORS, ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_errors(name, call, kind, torch_text):
    with pytest.raises(kind) as ours:
        call(fastnn)
    assert str(ours.value).startswith(f"[{name}] ")
    if torch_text is not None:
        with pytest.raises(kind) as theirs:
            call(torch)
        assert str(theirs.value) == torch_text
        assert str(ours.value) == f"[{name}] {torch_text}"


@pytest.mark.parametrize("fn", ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"])
def test_foreach(fn):
    params = make_params(fastnn)
    args = {
        "clip_grad_norm_": (params, 1.0),
        "clip_grad_value_": (params, 1.0),
        "get_total_norm": ([p.grad for p in params],),
        "clip_grads_with_norm_": (params, 1.0, fastnn.tensor(5.0)),
    }[fn]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(fastnn.nn.utils, fn)(*args, foreach=False)
        getattr(fastnn.nn.utils, fn)(*args, foreach=None)
    with pytest.raises(NotImplementedError, match=rf"\[{fn}\] foreach=True is not supported"):
        getattr(fastnn.nn.utils, fn)(*args, foreach=True)


def test_clipping_records_no_graph():
    p = fastnn.nn.Parameter(fastnn.ones(3))
    p.grad = fastnn.tensor([3.0, 4.0, 0.0], requires_grad=True)
    n = fastnn.nn.utils.clip_grad_norm_([p], 1.0)
    assert n.grad_fn is None and not n.requires_grad
    np.testing.assert_allclose(p.grad.detach().numpy(), [0.6, 0.8, 0.0], rtol=1e-6)
