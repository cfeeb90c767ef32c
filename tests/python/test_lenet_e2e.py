"""End to end against PyTorch: the tutorial's LeNet and a convnet using padding, stride, dilation
and groups, with weights copied from torch — output, loss, every gradient and every parameter over
several SGD steps — plus fastnn's promise of bitwise-identical training at any thread count."""

import numpy as np
import pytest

import fastnn
from oracle import torch
from models import convnet, lenet


STEPS = 5
TOL = 1e-5  # of each tensor's largest magnitude


def copy_from_torch(t_net, f_net):
    f_net.load_state_dict({k: fastnn.tensor(v.detach().numpy().copy()) for k, v in t_net.state_dict().items()})


def check_close(ours, theirs, what):
    a = ours.detach().numpy() if isinstance(ours, fastnn.Tensor) else ours
    b = theirs.detach().numpy()
    assert a.shape == b.shape and a.dtype == b.dtype == np.float32, what
    scale = max(float(np.abs(b).max()), 1e-30)
    worst = float(np.abs(a.astype(np.float64) - b).max())
    assert worst <= TOL * scale, f"{what}: max difference {worst:.3g} > {TOL} * {scale:.3g}"


def run_both(make, inputs, targets, loss_name, opt_kwargs):
    torch.manual_seed(0)
    t_net = make(torch)
    f_net = make(fastnn)
    copy_from_torch(t_net, f_net)
    t_loss_fn = getattr(torch.nn, loss_name)()
    f_loss_fn = getattr(fastnn.nn, loss_name)()
    t_opt = torch.optim.SGD(t_net.parameters(), **opt_kwargs)
    f_opt = fastnn.optim.SGD(f_net.parameters(), **opt_kwargs)
    names = [n for n, _ in t_net.named_parameters()]
    assert names == [n for n, _ in f_net.named_parameters()]
    for step in range(STEPS):
        x, y = inputs[step], targets[step]
        t_opt.zero_grad()
        f_opt.zero_grad()
        t_out = t_net(torch.tensor(x))
        f_out = f_net(fastnn.tensor(x))
        check_close(f_out, t_out, f"step {step}: output")
        t_loss = t_loss_fn(t_out, torch.tensor(y))
        f_loss = f_loss_fn(f_out, fastnn.tensor(y))
        check_close(f_loss, t_loss, f"step {step}: loss")
        assert f_loss.grad_fn.name() == t_loss.grad_fn.name()
        t_loss.backward()
        f_loss.backward()
        for name, p, q in zip(names, f_net.parameters(), t_net.parameters()):
            check_close(p.grad, q.grad, f"step {step}: grad of {name}")
        t_opt.step()
        f_opt.step()
        for name, p, q in zip(names, f_net.parameters(), t_net.parameters()):
            check_close(p, q, f"step {step}: {name} after the update")
    # training moved every parameter
    torch.manual_seed(0)
    initial = make(torch)
    for name, p, q in zip(names, f_net.parameters(), initial.parameters()):
        assert not np.allclose(p.detach().numpy(), q.detach().numpy()), name


OPTIMIZERS = [
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    dict(lr=0.1, momentum=0.5, dampening=0.1, weight_decay=1e-2),
]


@pytest.mark.parametrize("opt_kwargs", OPTIMIZERS, ids=["momentum", "nesterov-wd", "dampening-wd"])
def test_lenet_matches_torch_cross_entropy(opt_kwargs):
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((STEPS, 4, 1, 32, 32)).astype(np.float32)
    targets = rng.integers(0, 10, size=(STEPS, 4)).astype(np.int64)
    run_both(lenet, inputs, targets, "CrossEntropyLoss", opt_kwargs)


def test_lenet_matches_torch_mse_single_image():
    rng = np.random.default_rng(1)
    inputs = rng.standard_normal((STEPS, 1, 1, 32, 32)).astype(np.float32)
    targets = rng.standard_normal((STEPS, 1, 10)).astype(np.float32)
    run_both(lenet, inputs, targets, "MSELoss", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4))


@pytest.mark.parametrize("opt_kwargs", OPTIMIZERS[1:], ids=["nesterov-wd", "dampening-wd"])
def test_convnet_matches_torch(opt_kwargs):
    rng = np.random.default_rng(2)
    inputs = rng.standard_normal((STEPS, 6, 3, 15, 13)).astype(np.float32)
    targets = rng.integers(0, 5, size=(STEPS, 6)).astype(np.int64)
    run_both(convnet, inputs, targets, "CrossEntropyLoss", opt_kwargs)


def test_convnet_shapes_follow_torch():
    x = np.zeros((2, 3, 15, 13), np.float32)
    t_shapes, f_shapes = [], []
    t, f = torch.tensor(x), fastnn.tensor(x)
    for t_layer, f_layer in zip(convnet(torch), convnet(fastnn)):
        t, f = t_layer(t), f_layer(f)
        t_shapes.append(tuple(t.shape))
        f_shapes.append(tuple(f.shape))
    assert f_shapes == t_shapes


# ---------------------------------------------------------------------------------------------
# thread-count determinism
# ---------------------------------------------------------------------------------------------
def seeded_training(make, threads, batch, shape, classes, steps=3):
    """Seeded init and data, a few SGD steps; returns every parameter's bytes and the losses' bytes."""
    fastnn.set_num_threads(threads)
    assert fastnn.get_num_threads() == threads
    fastnn.manual_seed(2024)
    net = make(fastnn)
    opt = fastnn.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
    loss_fn = fastnn.nn.CrossEntropyLoss()
    losses = []
    for _ in range(steps):
        x = fastnn.randn(batch, *shape)
        y = fastnn.randint(0, classes, (batch,))
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.detach().numpy().tobytes())
    return [p.detach().numpy().tobytes() for p in net.parameters()], losses


@pytest.mark.parametrize(
    "make,batch,shape,classes",
    [
        (lenet, 48, (1, 32, 32), 10),
        (convnet, 40, (3, 15, 13), 5),
    ],
    ids=["lenet", "convnet"],
)
def test_training_bitwise_identical_across_thread_counts(make, batch, shape, classes):
    one = seeded_training(make, 1, batch, shape, classes)
    two = seeded_training(make, 2, batch, shape, classes)
    three = seeded_training(make, 3, batch, shape, classes)  # an uneven split of the work
    for other, n in ((two, 2), (three, 3)):
        assert other[1] == one[1], f"losses differ between 1 and {n} threads"
        for i, (a, b) in enumerate(zip(one[0], other[0])):
            assert a == b, f"parameter {i} differs between 1 and {n} threads"
    # the runs really trained (the seed does not make every run trivially equal)
    fastnn.set_num_threads(1)
    fastnn.manual_seed(2024)
    untrained = [p.detach().numpy().tobytes() for p in make(fastnn).parameters()]
    assert all(a != b for a, b in zip(one[0], untrained))
