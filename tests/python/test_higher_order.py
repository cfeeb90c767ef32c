"""Higher-order gradients (create_graph=True) against torch: second derivatives of elementwise arithmetic,
tanh/sigmoid/relu/exp/log/sqrt/abs/reciprocal, pow, sum/mean, the 2-norm, views and linear layers, and a gradient
penalty (the norm of input gradients added to the loss) that trains like torch's."""

import numpy as np
import pytest

import fastnn
from oracle import assert_close, torch

RNG = np.random.default_rng(0)

SECOND = [  # (id, f(x) -> tensor, input range)
    ("cube", lambda x: x**3, (-2, 2)),
    ("pow_half", lambda x: x.pow(0.5), (0.5, 2)),
    ("mul_self", lambda x: x * x * x, (-2, 2)),
    ("div", lambda x: 1 / (x + 3), (-1, 1)),
    ("sub_add", lambda x: (x - 2) * (x + 1), (-2, 2)),
    ("exp", lambda x: x.exp(), (-2, 2)),
    ("log", lambda x: (x * x + 1).log(), (-2, 2)),
    ("sqrt", lambda x: (x * x + 1).sqrt(), (-2, 2)),
    ("tanh", lambda x: x.tanh(), (-2, 2)),
    ("sigmoid", lambda x: x.sigmoid(), (-3, 3)),
    ("relu", lambda x: x.relu() * x, (-2, 2)),
    ("abs", lambda x: x.abs() * x, (-2, 2)),
    ("reciprocal", lambda x: (x * x + 1).reciprocal(), (-2, 2)),
    ("neg", lambda x: -(x * x), (-2, 2)),
    ("mean_view", lambda x: (x.view(2, 3).t() * x.reshape(3, 2)).mean(0), (-2, 2)),
    ("expand", lambda x: x.view(6, 1).expand(6, 3) * x.view(3, 2).sum(1), (-2, 2)),
    ("matmul", lambda x: (x.view(2, 3) @ x.view(3, 2)).sum(1), (-1, 1)),
    ("norm", lambda x: x.norm() * x, (-2, 2)),
    ("norm_dim", lambda x: x.view(2, 3).norm(dim=1, keepdim=True) * x.view(2, 3), (-2, 2)),
    (
        "linalg_vector_norm",
        lambda x: (
            fastnn.linalg.vector_norm(x.view(3, 2), dim=0)
            if isinstance(x, fastnn.Tensor)
            else torch.linalg.vector_norm(x.view(3, 2), dim=0)
        ),
        (-2, 2),
    ),
]


@pytest.mark.parametrize("name,f,dom", SECOND, ids=[s[0] for s in SECOND])
def test_second_derivative_matches_torch(name, f, dom):
    a = RNG.uniform(*dom, size=6)
    results = []
    for lib in (fastnn, torch):
        x = lib.tensor(a.copy(), requires_grad=True)
        (g,) = lib.autograd.grad(f(x).sum(), [x], create_graph=True)
        assert g.requires_grad
        (gg,) = lib.autograd.grad((g * g).sum(), [x])
        results.append((g, gg))
    assert_close(results[0][0], results[1][0], what="first derivative")
    assert_close(results[0][1], results[1][1], what="second derivative")


def test_backward_create_graph_keeps_grad_history():
    out = []
    for lib in (fastnn, torch):
        x = lib.tensor([0.5, -1.5, 2.0], dtype=lib.float64, requires_grad=True)
        (x.tanh() * x).sum().backward(create_graph=True)
        assert x.grad.requires_grad
        g = x.grad
        x.grad = None
        (g**2).sum().backward()
        out.append(x.grad)
    assert_close(*out)


def _mlp(lib, weights):
    net = lib.nn.Sequential(
        lib.nn.Linear(4, 8), lib.nn.Tanh(), lib.nn.Linear(8, 8), lib.nn.ReLU(), lib.nn.Linear(8, 1), lib.nn.Sigmoid()
    )
    with lib.no_grad():
        for p, w in zip(net.parameters(), weights):
            p.copy_(lib.tensor(w))
    return net


def test_gradient_penalty_trains_like_torch():
    """WGAN-GP style: loss + 10 * (||d out / d x||_2 - 1)^2, 10 SGD steps, losses and weights compared."""
    shapes = [(8, 4), (8,), (8, 8), (8,), (1, 8), (1,)]
    weights = [RNG.standard_normal(s).astype(np.float32) * 0.5 for s in shapes]
    xs = [RNG.standard_normal((16, 4)).astype(np.float32) for _ in range(10)]
    histories, nets = [], []
    for lib in (fastnn, torch):
        net = _mlp(lib, weights)
        opt = lib.optim.SGD(net.parameters(), lr=0.05)
        losses = []
        for a in xs:
            x = lib.tensor(a, requires_grad=True)
            out = net(x)
            (gx,) = lib.autograd.grad(out.sum(), [x], create_graph=True)
            penalty = ((gx.pow(2).sum(1) + 1e-12).sqrt() - 1).pow(2).mean()
            loss = out.mean() + 10 * penalty
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        histories.append(losses)
        nets.append(net)
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-4, atol=1e-5)
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        assert_close(p, q, atol=1e-5, rtol=1e-4)


def test_unsupported_node_is_named():
    x = fastnn.ones(3, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"create_graph=True \(higher-order gradients\) is not supported through "
        r"LogSoftmaxBackward0",
    ):
        fastnn.autograd.grad(x.log_softmax(0).sum(), [x], create_graph=True)


def test_create_graph_leaves_no_cycle():
    """Saved outputs are rebuilt with the node as grad_fn only when unpacked: no reference cycle is left."""
    import gc

    gc.collect()
    before = fastnn._C._live_nodes()
    for _ in range(3):
        x = fastnn.randn(5, requires_grad=True)
        (g,) = fastnn.autograd.grad(x.tanh().exp().sum(), [x], create_graph=True)
        g.sum().backward()
        del x, g
    gc.collect()
    assert fastnn._C._live_nodes() == before


def test_norm_second_derivative_at_a_zero_row_and_other_orders():
    a = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]])
    out = []
    for lib in (fastnn, torch):
        x = lib.tensor(a.copy(), requires_grad=True)
        (g,) = lib.autograd.grad(
            (x.norm(dim=1) * lib.tensor([1.0, 2.0], dtype=lib.float64)).sum(), [x], create_graph=True
        )
        (gg,) = lib.autograd.grad((g * g * lib.tensor(a + 1)).sum(), [x])
        out.append((g, gg))
    assert_close(out[0][0], out[1][0], what="first derivative")
    assert_close(out[0][1], out[1][1], what="second derivative")
    x = fastnn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"not supported through LinalgVectorNormBackward0"):
        fastnn.autograd.grad(x.norm(p=1), [x], create_graph=True)
