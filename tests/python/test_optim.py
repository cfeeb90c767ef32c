"""optim.SGD against torch.optim.SGD: every option, parameter groups, several steps, state_dict
round trips, printing and argument errors."""

import numpy as np
import pytest

import fastnn
from oracle import assert_same_history, torch


STEPS = 6


def make_model(m, dtype):
    """A small conv + linear model; parameters copied from one seeded torch model."""
    torch.manual_seed(0)
    ref = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(3 * 4 * 4, 4),
        torch.nn.Tanh(),
        torch.nn.Linear(4, 2),
    )
    if m is torch:
        return ref.to(dtype)
    net = fastnn.nn.Sequential(
        fastnn.nn.Conv2d(2, 3, 3),
        fastnn.nn.ReLU(),
        fastnn.nn.Flatten(),
        fastnn.nn.Linear(3 * 4 * 4, 4),
        fastnn.nn.Tanh(),
        fastnn.nn.Linear(4, 2),
    )
    net.load_state_dict({k: fastnn.tensor(v.detach().numpy().copy()) for k, v in ref.state_dict().items()})
    return net.double() if dtype == torch.float64 else net


DATA = np.random.default_rng(3).standard_normal((STEPS, 5, 2, 6, 6))
TARGETS = np.random.default_rng(4).standard_normal((STEPS, 5, 2))


def loss_at(m, net, step, dtype):
    x = m.tensor(DATA[step].astype(np.float64 if dtype == torch.float64 else np.float32))
    y = m.tensor(TARGETS[step].astype(np.float64 if dtype == torch.float64 else np.float32))
    return m.nn.functional.mse_loss(net(x), y)


def params_np(net):
    return [p.detach().numpy().copy() for p in net.parameters()]


def groups_for(m, net, spec):
    """spec: None (all parameters, one group) or a list of (module indices, options) per group."""
    if spec is None:
        return net.parameters()
    return [dict(params=[p for i in idx for p in net[i].parameters()], **opts) for idx, opts in spec]


def train(m, options, spec=None, dtype=None, steps=STEPS, frozen=False):
    """Runs `steps` SGD steps; returns the parameters after each step and the optimizer."""
    dtype = dtype or torch.float64
    net = make_model(m, dtype)
    opt = m.optim.SGD(groups_for(m, net, spec), **options)
    history = []
    for s in range(steps):
        opt.zero_grad()
        loss = loss_at(m, net, s, dtype)
        loss.backward()
        if frozen:  # a parameter without a gradient is skipped (and gets no state)
            net[5].bias.grad = None
        opt.step()
        history.append(params_np(net))
    return history, opt, net


F64_TOL = (1e-12, 1e-13)  # (rtol, atol): float64 runs

OPTIONS = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.05, momentum=0.8, weight_decay=0.05, nesterov=True),
    dict(lr=0.05, momentum=0.5, dampening=0.5, weight_decay=0.1),
    dict(lr=0.1, maximize=True),
    dict(lr=0.02, momentum=0.9, weight_decay=0.01, maximize=True, nesterov=True),
    dict(lr=0.0, momentum=0.9),
]


@pytest.mark.parametrize("options", OPTIONS, ids=[",".join(f"{k}={v}" for k, v in o.items()) for o in OPTIONS])
def test_sgd_matches_torch(options):
    ours, opt_f, _ = train(fastnn, options)
    theirs, opt_t, _ = train(torch, options)
    assert_same_history(ours, theirs, *F64_TOL)
    # the steps moved the parameters (except with lr=0)
    moved = not all(np.array_equal(a, b) for a, b in zip(ours[0], ours[-1]))
    assert moved == (options["lr"] != 0)
    assert sorted(len(s) for s in opt_f.state.values()) == sorted(len(s) for s in opt_t.state.values())


def test_sgd_float32_matches_torch():
    opts = dict(lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True)
    ours, _, _ = train(fastnn, opts, dtype=torch.float32)
    theirs, _, _ = train(torch, opts, dtype=torch.float32)
    assert_same_history(ours, theirs, rtol=1e-5, atol=1e-6)
    assert ours[-1][0].dtype == np.float32


def test_sgd_default_lr_is_torch_default():
    net = make_model(fastnn, torch.float32)
    opt = fastnn.optim.SGD(net.parameters())
    assert opt.defaults["lr"] == torch.optim.SGD(make_model(torch, torch.float32).parameters()).defaults["lr"]
    ours, _, _ = train(fastnn, {})
    theirs, _, _ = train(torch, {})
    assert_same_history(ours, theirs, *F64_TOL)


PARAM_GROUPS = [
    # (module indices, options) — modules 0, 3, 5 of the Sequential hold parameters
    [((0,), dict(lr=0.2)), ((3, 5), dict())],
    [((0,), dict(momentum=0.9, nesterov=True)), ((3,), dict(weight_decay=0.1, lr=0.01)), ((5,), dict(maximize=True))],
    [((0, 3), dict(momentum=0.5, dampening=0.2)), ((5,), dict(momentum=0.0, lr=0.3))],
    # options torch refuses in the constructor but runs when a group asks for them
    [((0,), dict(nesterov=True, momentum=0.0)), ((3, 5), dict(nesterov=True, momentum=0.9, dampening=0.5))],
]


@pytest.mark.parametrize("spec", PARAM_GROUPS)
def test_sgd_param_groups_match_torch(spec):
    defaults = dict(lr=0.05, momentum=0.7)
    ours, opt_f, _ = train(fastnn, defaults, spec)
    theirs, opt_t, _ = train(torch, defaults, spec)
    assert_same_history(ours, theirs, *F64_TOL)
    for g, h in zip(opt_f.param_groups, opt_t.param_groups):
        assert {k: v for k, v in g.items() if k != "params"} == {k: v for k, v in h.items() if k != "params"}
        assert len(g["params"]) == len(h["params"])


def test_sgd_skips_parameters_without_grad():
    opts = dict(lr=0.1, momentum=0.9, weight_decay=0.1)
    ours, opt_f, net_f = train(fastnn, opts, frozen=True)
    theirs, opt_t, net_t = train(torch, opts, frozen=True)
    assert_same_history(ours, theirs, *F64_TOL)
    np.testing.assert_array_equal(ours[-1][-1], make_model(fastnn, torch.float64)[5].bias.detach().numpy())
    assert net_f[5].bias not in opt_f.state or "momentum_buffer" not in opt_f.state[net_f[5].bias]
    assert len(opt_f.state_dict()["state"]) == len(opt_t.state_dict()["state"]) == 5


def test_sgd_add_param_group_later():
    ours, theirs = [], []
    for m, out in ((fastnn, ours), (torch, theirs)):
        net = make_model(m, torch.float64)
        opt = m.optim.SGD(net[0].parameters(), lr=0.1, momentum=0.9)
        for s in range(STEPS):
            if s == 2:
                opt.add_param_group({"params": list(net[3].parameters()) + list(net[5].parameters()), "lr": 0.01})
            opt.zero_grad()
            loss_at(m, net, s, torch.float64).backward()
            opt.step()
            out.append(params_np(net))
    assert_same_history(ours, theirs, *F64_TOL)


def test_sgd_closure_returns_loss():
    net = make_model(fastnn, torch.float64)
    opt = fastnn.optim.SGD(net.parameters(), lr=0.1)

    def closure():
        opt.zero_grad()
        loss = loss_at(fastnn, net, 0, torch.float64)
        loss.backward()
        return loss

    before = params_np(net)
    loss = opt.step(closure)
    assert float(loss) == pytest.approx(loss_at(torch, make_model(torch, torch.float64), 0, torch.float64).item())
    assert not np.array_equal(before[0], params_np(net)[0])


def test_sgd_step_does_not_record_graph():
    net = make_model(fastnn, torch.float32)
    opt = fastnn.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    loss_at(fastnn, net, 0, torch.float32).backward()
    opt.step()
    for p in net.parameters():
        assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_zero_grad():
    net = make_model(fastnn, torch.float32)
    opt = fastnn.optim.SGD(net.parameters(), lr=0.1)
    loss_at(fastnn, net, 0, torch.float32).backward()
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not np.any(p.grad.numpy()) for p in net.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in net.parameters())


# ---------------------------------------------------------------------------------------------
# state_dict round trip
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [
        dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
        dict(lr=0.1),
        dict(lr=0.05, momentum=0.5, dampening=0.5),
    ],
)
def test_state_dict_round_trip_continues_identically(options):
    split = 3
    full, _, _ = train(fastnn, options)
    # first half, then save the model and the optimizer
    net = make_model(fastnn, torch.float64)
    opt = fastnn.optim.SGD(net.parameters(), **options)
    for s in range(split):
        opt.zero_grad()
        loss_at(fastnn, net, s, torch.float64).backward()
        opt.step()
    model_state = {k: v.clone() for k, v in net.state_dict().items()}
    opt_state = opt.state_dict()
    # torch lays the state dict out the same way
    _, opt_t, _ = train(torch, options, steps=split)
    t_state = opt_t.state_dict()
    assert opt_state["param_groups"] == t_state["param_groups"]
    assert sorted(opt_state["state"]) == sorted(t_state["state"])
    for i in t_state["state"]:
        assert sorted(opt_state["state"][i]) == sorted(t_state["state"][i])
        for key, value in t_state["state"][i].items():
            np.testing.assert_allclose(opt_state["state"][i][key].numpy(), value.numpy(), rtol=1e-12, atol=1e-13)
    # a fresh model and optimizer loaded from the saved state continue as if uninterrupted
    net2 = make_model(fastnn, torch.float64)
    net2.load_state_dict(model_state)
    opt2 = fastnn.optim.SGD(net2.parameters(), lr=123.0)  # options come from the state dict
    opt2.load_state_dict(opt_state)
    assert opt2.param_groups[0]["lr"] == options["lr"]
    # the loaded buffers are copies: stepping the old optimizer does not move them
    opt.zero_grad()
    loss_at(fastnn, net, split, torch.float64).backward()
    opt.step()
    for s in range(split, STEPS):
        opt2.zero_grad()
        loss_at(fastnn, net2, s, torch.float64).backward()
        opt2.step()
        for p, q in zip(params_np(net2), full[s]):
            np.testing.assert_array_equal(p, q)


def test_load_state_dict_errors():
    net = make_model(fastnn, torch.float32)
    opt = fastnn.optim.SGD(net.parameters(), lr=0.1)
    two = fastnn.optim.SGD([{"params": net[0].parameters()}, {"params": net[3].parameters()}], lr=0.1)
    with pytest.raises(ValueError, match="loaded state dict has a different number of parameter groups"):
        opt.load_state_dict(two.state_dict())
    other = fastnn.optim.SGD([{"params": net[0].parameters()}, {"params": net[5].parameters()}], lr=0.1)
    three = fastnn.optim.SGD([{"params": net[0].parameters()}, {"params": net[3].parameters()}], lr=0.1)
    net3 = make_model(fastnn, torch.float32)
    three = fastnn.optim.SGD([{"params": [net3[0].weight]}, {"params": net3[3].parameters()}], lr=0.1)
    with pytest.raises(
        ValueError,
        match="loaded state dict contains a parameter group that doesn't match the size of optimizer's group",
    ):
        three.load_state_dict(other.state_dict())


# ---------------------------------------------------------------------------------------------
# printing and errors
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda m, net: m.optim.SGD(net.parameters()),
        lambda m, net: m.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4),
        lambda m, net: m.optim.SGD(net.parameters(), lr=0.5, dampening=0.1, maximize=True),
        lambda m, net: m.optim.SGD(
            [{"params": net[0].parameters()}, {"params": net[3].parameters(), "lr": 0.5, "momentum": 0.9}], lr=0.1
        ),
    ],
)
def test_print_matches_torch(make):
    ours = repr(make(fastnn, make_model(fastnn, torch.float32)))
    theirs = repr(make(torch, make_model(torch, torch.float32)))
    assert ours == theirs
    assert ours.startswith("SGD (\nParameter Group 0\n    dampening: ")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(lr=-0.1), "Invalid learning rate: -0.1"),
        (dict(lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
        (dict(lr=0.1, weight_decay=-1e-3), "Invalid weight_decay value: -0.001"),
        (dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
        (
            dict(lr=0.1, nesterov=True, momentum=0.9, dampening=0.1),
            "Nesterov momentum requires a momentum and zero dampening",
        ),
    ],
)
def test_invalid_arguments_match_torch(kwargs, message):
    with pytest.raises(ValueError) as theirs:
        torch.optim.SGD(make_model(torch, torch.float32).parameters(), **kwargs)
    assert str(theirs.value) == message
    with pytest.raises(ValueError) as ours:
        fastnn.optim.SGD(make_model(fastnn, torch.float32).parameters(), **kwargs)
    assert str(ours.value) == f"[SGD] {message}"  # torch's text, after the class that raised it (fastnn._errors)


def test_invalid_params():
    net = make_model(fastnn, torch.float32)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        fastnn.optim.SGD([], lr=0.1)
    with pytest.raises(
        TypeError, match="params argument given to the optimizer should be an iterable of Tensors or dicts"
    ):
        fastnn.optim.SGD(net[0].weight, lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        fastnn.optim.SGD([{"params": net[0].parameters()}, {"params": [net[0].weight]}], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        fastnn.optim.SGD([net[0].weight * 2], lr=0.1)
