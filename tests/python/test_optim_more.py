"""optim.Adadelta / Adamax / NAdam / RAdam (and the older optimizers' options) against torch.optim: parameters and
state over 12 steps for several option sets, state_dict layout and round trips, argument errors, the refused
foreach/fused/capturable/differentiable switches, add_param_group and zero_grad as torch; lr_scheduler's
MultiplicativeLR, ConstantLR, LinearLR, PolynomialLR, SequentialLR, ChainedScheduler, CosineAnnealingWarmRestarts
and OneCycleLR: the same lrs (and cycled momenta) as torch over 35 steps, exact floats, state_dict round trips."""

import copy
import math
import warnings

import numpy as np
import pytest

import fastnn
from oracle import assert_same_history, assert_same_state, make_model, torch

STEPS = 12
DATA = np.random.default_rng(7).standard_normal((2 * STEPS, 6, 4))
TARGETS = np.random.default_rng(8).standard_normal((2 * STEPS, 6, 2))


def train(m, net, opt, start, steps, dtype):
    """`steps` optimizer steps on batches start.. of the fixed data; returns the parameters after each."""
    npdt = np.float64 if dtype == torch.float64 else np.float32
    history = []
    for s in range(start, start + steps):
        opt.zero_grad()
        x, y = m.tensor(DATA[s].astype(npdt)), m.tensor(TARGETS[s].astype(npdt))
        m.nn.functional.mse_loss(net(x), y).backward()
        opt.step()
        history.append([p.detach().numpy().copy() for p in net.parameters()])
    return history


def tol(dtype):
    return (1e-6, 1e-6) if dtype == torch.float32 else (1e-12, 1e-12)


CASES = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4)),
    ("Adadelta", dict(weight_decay=0.1, maximize=True)),
    ("Adadelta", dict(lr=0.3, rho=0.0, weight_decay=0.05)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.02, momentum_decay=0.01, betas=(0.8, 0.95))),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.01, weight_decay=0.05, maximize=True, momentum_decay=0.0)),
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.02, betas=(0.8, 0.9))),  # rectified from step 5 on: both branches run
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    # the older optimizers with every option on
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True, weight_decay=0.1, foreach=False)),
    ("AdamW", dict(lr=0.01, amsgrad=True, maximize=True, fused=False)),
    ("SGD", dict(lr=0.02, momentum=0.9, dampening=0.3, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.02, momentum=0.8, nesterov=True, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, weight_decay=0.1, maximize=True)),
]
IDS = [f"{c}-" + ",".join(f"{k}={v}" for k, v in o.items()) for c, o in CASES]


def run_with_round_trip(m, cls, options, dtype):
    """6 steps, then the optimizer's state_dict loaded into a fresh optimizer over a fresh model holding the
    step-6 parameters, then 6 more steps: (parameters after each step, the optimizer after step 6, the last one)."""
    net = make_model(m, dtype)
    opt = getattr(m.optim, cls)(net.parameters(), **options)
    history = train(m, net, opt, 0, STEPS // 2, dtype)
    middle = copy.deepcopy(opt.state_dict())
    resumed = m.nn.Sequential(m.nn.Linear(4, 5), m.nn.Tanh(), m.nn.Linear(5, 2))
    if dtype == torch.float64:
        resumed = resumed.double()
    resumed.load_state_dict({k: v.detach().clone() for k, v in net.state_dict().items()})
    opt_r = getattr(m.optim, cls)(resumed.parameters(), **options)
    opt_r.load_state_dict(middle)
    history += train(m, resumed, opt_r, STEPS // 2, STEPS // 2, dtype)
    return history, opt, opt_r


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("cls,options", CASES, ids=IDS)
def test_matches_torch_with_a_state_dict_round_trip(cls, options, dtype):
    """12 steps against torch, with the state_dict saved at step 6 and loaded into a fresh optimizer on both sides;
    the state after step 6 and at the end compared too (keys, dtypes, values)."""
    ours, mid_f, end_f = run_with_round_trip(fastnn, cls, options, dtype)
    theirs, mid_t, end_t = run_with_round_trip(torch, cls, options, dtype)
    assert_same_history(ours, theirs, *tol(dtype))
    assert max(np.abs(a - b).max() for a, b in zip(ours[0], ours[-1])) > 1e-3  # the run moved the parameters
    assert_same_state(mid_f, mid_t, *tol(dtype))
    assert_same_state(end_f, end_t, *tol(dtype))
    assert repr(end_f) == repr(end_t)


@pytest.mark.parametrize("cls", ["Adadelta", "Adamax", "NAdam", "RAdam"])
def test_defaults_groups_and_params_without_grad(cls):
    """torch's defaults in param_groups, per-group options, and a parameter without a gradient gets no state."""
    nets = [make_model(m) for m in (fastnn, torch)]
    opts = []
    for m, net in zip((fastnn, torch), nets):
        groups = [{"params": net[0].parameters()}, {"params": net[2].parameters(), "lr": 0.01, "weight_decay": 0.2}]
        opts.append(getattr(m.optim, cls)(groups))
        for s in range(4):
            opts[-1].zero_grad()
            x = m.tensor(DATA[s].astype(np.float32))
            m.nn.functional.mse_loss(net(x), m.tensor(TARGETS[s].astype(np.float32))).backward()
            net[2].bias.grad = None
            opts[-1].step()
    assert opts[0].defaults == opts[1].defaults
    assert 3 not in opts[0].state_dict()["state"]  # the output bias never had a gradient
    assert_same_state(opts[0], opts[1], 1e-6, 1e-6)


def test_nadam_mu_product_dtype_follows_torch():
    """mu_product is a float32 scalar like torch's, even for float64 parameters; loading casts it as torch does."""
    for m in (fastnn, torch):
        p = m.nn.Parameter(m.ones(3, dtype=m.float64))
        p.grad = m.ones(3, dtype=m.float64)
        opt = m.optim.NAdam([p])
        opt.step()
        assert opt.state[p]["mu_product"].dtype == m.float32
        opt.load_state_dict(opt.state_dict())
        assert opt.state[p]["mu_product"].dtype == m.float64
        assert opt.state[p]["step"].dtype == m.float32


INVALID = [
    ("Adadelta", dict(lr=-1.0)),
    ("Adadelta", dict(rho=1.5)),
    ("Adadelta", dict(rho=-0.1)),
    ("Adadelta", dict(eps=-1e-6)),
    ("Adadelta", dict(weight_decay=-0.1)),
    ("Adamax", dict(lr=-1.0)),
    ("Adamax", dict(eps=-1.0)),
    ("Adamax", dict(betas=(1.0, 0.999))),
    ("Adamax", dict(betas=(0.9, -0.1))),
    ("Adamax", dict(weight_decay=-1.0)),
    ("NAdam", dict(lr=-1.0)),
    ("NAdam", dict(betas=(0.9, 1.0))),
    ("NAdam", dict(momentum_decay=-0.1)),
    ("NAdam", dict(weight_decay=-1.0, momentum_decay=-1.0)),
    ("RAdam", dict(lr=-1.0)),
    ("RAdam", dict(eps=-1.0, lr=-2.0)),
    ("RAdam", dict(weight_decay=-0.5)),
]


@pytest.mark.parametrize("cls,options", INVALID, ids=[f"{c}-{o}" for c, o in INVALID])
def test_invalid_arguments_match_torch(cls, options):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, cls)(make_model(torch).parameters(), **options)
    with pytest.raises(ValueError) as ours:
        getattr(fastnn.optim, cls)(make_model(fastnn).parameters(), **options)
    assert str(ours.value) == f"[{cls}] {theirs.value}"


SWITCHES = [
    ("SGD", "foreach"),
    ("SGD", "fused"),
    ("SGD", "differentiable"),
    ("Adam", "capturable"),
    ("Adam", "fused"),
    ("AdamW", "foreach"),
    ("RMSprop", "capturable"),
    ("Adagrad", "fused"),
    ("Adadelta", "foreach"),
    ("Adadelta", "capturable"),
    ("Adamax", "differentiable"),
    ("NAdam", "capturable"),
    ("RAdam", "foreach"),
]


@pytest.mark.parametrize("cls,switch", SWITCHES, ids=[f"{c}-{s}" for c, s in SWITCHES])
def test_implementation_switches_refused_when_true(cls, switch):
    net = make_model(fastnn)
    opt = getattr(fastnn.optim, cls)(net[0].parameters(), **{switch: False})  # False (and None) are torch's own
    assert opt.param_groups[0][switch] is False
    with pytest.raises(NotImplementedError, match=rf"\[{cls}\] {switch}=True is not supported"):
        getattr(fastnn.optim, cls)(net.parameters(), **{switch: True})
    with pytest.raises(NotImplementedError, match=rf"{switch}=True is not supported"):
        opt.add_param_group({"params": net[2].parameters(), switch: True})
    assert len(opt.param_groups) == 1
    state = opt.state_dict()
    state["param_groups"][0][switch] = True
    with pytest.raises(NotImplementedError, match=rf"{switch}=True is not supported"):
        opt.load_state_dict(state)
    assert opt.param_groups[0][switch] is False


def test_add_param_group_as_torch():
    results = []
    for m in (fastnn, torch):
        net = make_model(m)
        opt = m.optim.NAdam(net[0].parameters(), lr=0.01, momentum_decay=0.02)
        group = {"params": net[2].weight, "betas": (0.5, 0.6)}
        opt.add_param_group(group)
        assert opt.param_groups[-1] is group  # the caller's dict, defaults filled in
        errors = []
        for bad in (
            {"params": [net[0].weight]},
            {"params": {net[2].bias}},
            [net[2].bias],
            {"params": [3]},
            {"params": [net[2].bias * 2]},
            {"params": [net[2].weight, net[2].bias]},
        ):
            try:
                opt.add_param_group(bad)
                errors.append(None)
            except (TypeError, ValueError) as e:
                errors.append((type(e), str(e).split("] ", 1)[-1] if m is fastnn else str(e)))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            opt.add_param_group({"params": [net[2].bias, net[2].bias]})
        errors.append([str(w.message) for w in caught])
        results.append(([{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups], errors))
    assert results[0] == results[1]


def test_named_parameters():
    """(name, tensor) pairs put the names under 'param_names' (kept in state_dict), as torch 2.13."""
    results = []
    for m in (fastnn, torch):
        net = make_model(m)
        opt = m.optim.RAdam(net[0].named_parameters(), lr=0.01)
        opt.add_param_group({"params": list(net[2].named_parameters()), "lr": 0.02})
        errors = []
        for bad in (
            {"params": [m.nn.Parameter(m.ones(1))]},
            {"params": [("a", m.nn.Parameter(m.ones(1))), m.nn.Parameter(m.ones(1))]},
        ):
            with pytest.raises(ValueError) as e:
                opt.add_param_group(bad)
            errors.append(str(e.value).split("] ", 1)[-1])
        with pytest.raises(ValueError) as e:
            m.optim.SGD([{"params": [m.nn.Parameter(m.ones(1))]}, {"params": [("w", m.nn.Parameter(m.ones(1)))]}])
        errors.append(str(e.value).split("] ", 1)[-1])
        opt.load_state_dict(opt.state_dict())
        results.append(
            (
                [g["param_names"] for g in opt.state_dict()["param_groups"]],
                errors,
                [len(g["params"]) for g in opt.param_groups],
            )
        )
    assert results[0] == results[1]
    assert results[0][0] == [["weight", "bias"], ["weight", "bias"]]


def test_zero_grad_as_torch():
    for m in (fastnn, torch):
        p = m.nn.Parameter(m.ones(3))
        opt = m.optim.Adamax([p])
        (p * 2).sum().backward()
        grad = p.grad
        opt.zero_grad(set_to_none=False)
        assert p.grad is grad and p.grad.tolist() == [0.0, 0.0, 0.0]
        opt.zero_grad()
        assert p.grad is None


# ---------------------------------------------------------------------------------------------
# lr_scheduler
# ---------------------------------------------------------------------------------------------
def sched_opt(m, cls="SGD", **options):
    """An optimizer with two parameter groups (lr 0.1 and 0.05)."""
    a, b = m.nn.Parameter(m.ones(2)), m.nn.Parameter(m.ones(3))
    return getattr(m.optim, cls)([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, **options)


def L(m):
    return m.optim.lr_scheduler


SCHEDULERS = {
    "MultiplicativeLR": lambda m, o: L(m).MultiplicativeLR(o, [lambda e: 0.95, lambda e: 1.0 - 0.01 * e]),
    "ConstantLR": lambda m, o: L(m).ConstantLR(o, factor=0.5, total_iters=4),
    "ConstantLR-defaults": lambda m, o: L(m).ConstantLR(o),
    "LinearLR": lambda m, o: L(m).LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=10),
    "LinearLR-defaults": lambda m, o: L(m).LinearLR(o),
    "PolynomialLR": lambda m, o: L(m).PolynomialLR(o, total_iters=20, power=2.0),
    "PolynomialLR-defaults": lambda m, o: L(m).PolynomialLR(o),
    "CosineAnnealingWarmRestarts": lambda m, o: L(m).CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=1e-3),
    "CosineAnnealingWarmRestarts-T_mult1": lambda m, o: L(m).CosineAnnealingWarmRestarts(o, T_0=7),
    "OneCycleLR": lambda m, o: L(m).OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=36),
    "OneCycleLR-three-phase-linear": lambda m, o: L(m).OneCycleLR(
        o,
        max_lr=0.5,
        epochs=6,
        steps_per_epoch=6,
        three_phase=True,
        anneal_strategy="linear",
        pct_start=0.25,
        div_factor=10.0,
        final_div_factor=100.0,
        base_momentum=0.7,
        max_momentum=[0.9, 0.99],
    ),
    "OneCycleLR-no-momentum": lambda m, o: L(m).OneCycleLR(o, max_lr=0.3, total_steps=40, cycle_momentum=False),
    "SequentialLR": lambda m, o: L(m).SequentialLR(
        o,
        [
            L(m).LinearLR(o, start_factor=0.1, total_iters=5),
            L(m).ExponentialLR(o, gamma=0.9),
            L(m).CosineAnnealingLR(o, T_max=8),
        ],
        milestones=[6, 15],
    ),
    "SequentialLR-constant-step": lambda m, o: L(m).SequentialLR(
        o, [L(m).ConstantLR(o, factor=0.3, total_iters=3), L(m).StepLR(o, step_size=4, gamma=0.5)], milestones=[5]
    ),
    "ChainedScheduler": lambda m, o: L(m).ChainedScheduler(
        [L(m).ConstantLR(o, factor=0.2, total_iters=6), L(m).ExponentialLR(o, gamma=0.95)]
    ),
    "ChainedScheduler-optimizer": lambda m, o: L(m).ChainedScheduler(
        [L(m).LinearLR(o, total_iters=8), L(m).MultiStepLR(o, [5, 12, 20])], optimizer=o
    ),
}
SCHED_STEPS = 35


def lr_sequence(m, make, cls, options, steps=SCHED_STEPS, start=None):
    """(last lrs, each group's momentum or betas) after every step; `start`: (opt, sched) to continue."""
    opt, sched = start or (sched_opt(m, cls, **options),) * 2
    if start is None:
        sched = make(m, opt)
    seq = [(sched.get_last_lr(), [g.get("momentum", g.get("betas")) for g in opt.param_groups])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(steps):
            opt.step()
            sched.step()
            seq.append((sched.get_last_lr(), [g.get("momentum", g.get("betas")) for g in opt.param_groups]))
    return seq, opt, sched


@pytest.mark.parametrize("cls,options", [("SGD", dict(momentum=0.9)), ("Adam", {})], ids=["SGD", "Adam"])
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_lrs_match_torch_exactly(name, cls, options):
    steps = 35 if name.startswith("OneCycleLR") and "three" not in name else SCHED_STEPS
    ours, opt_f, _ = lr_sequence(fastnn, SCHEDULERS[name], cls, options, steps)
    theirs, opt_t, _ = lr_sequence(torch, SCHEDULERS[name], cls, options, steps)
    assert ours == theirs  # exact floats: the same formulas in the same order
    assert len({tuple(lrs) for lrs, _ in ours}) > 1  # the schedule did change the lrs
    assert opt_f.param_groups[0].keys() == opt_t.param_groups[0].keys()


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_state_dict_round_trip(name):
    """A scheduler rebuilt on a fresh optimizer and given the state_dict saved after 10 steps continues as torch."""
    full, _, _ = lr_sequence(torch, SCHEDULERS[name], "SGD", dict(momentum=0.9), 30)
    head, opt, sched = lr_sequence(fastnn, SCHEDULERS[name], "SGD", dict(momentum=0.9), 10)
    saved_opt, saved = copy.deepcopy(opt.state_dict()), sched.state_dict()
    opt2 = sched_opt(fastnn, "SGD", momentum=0.9)
    sched2 = SCHEDULERS[name](fastnn, opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    tail, _, _ = lr_sequence(fastnn, None, "SGD", {}, 20, start=(opt2, sched2))
    assert head + tail[1:] == full
    assert sorted(k for k in saved if k != "_schedulers") == sorted(
        k for k in SCHEDULERS[name](torch, sched_opt(torch, "SGD", momentum=0.9)).state_dict() if k != "_schedulers"
    )


def test_cosine_warm_restarts_fractional_epochs():
    seqs, scheds = [], []
    for m in (fastnn, torch):
        opt = sched_opt(m)
        sched = L(m).CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.01)
        scheds.append(sched)
        seq = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in [0.5, 1.7, 2.9, 3.0, 4.4, 9.1, 12.0, 21.5, 22, 0.25]:
                sched.step(epoch)
                seq.append((sched.get_last_lr(), sched.last_epoch, sched.T_cur, sched.T_i))
            sched.step()
            seq.append((sched.get_last_lr(), sched.last_epoch, sched.T_cur, sched.T_i))
        seqs.append(seq)
    assert seqs[0] == seqs[1]
    with pytest.raises(ValueError, match=r"\[CosineAnnealingWarmRestarts\] Expected non-negative epoch, but got -1"):
        scheds[0].step(-1)


def test_one_cycle_sets_group_keys_and_stops_at_total_steps():
    for m in (fastnn, torch):
        opt = sched_opt(m, "Adam", betas=(0.8, 0.99))
        sched = L(m).OneCycleLR(opt, max_lr=0.4, total_steps=5)
        group = opt.param_groups[1]
        assert (group["initial_lr"], group["max_lr"], group["min_lr"]) == (0.4 / 25.0, 0.4, 0.4 / 25.0 / 1e4)
        assert (group["betas"], group["max_momentum"], group["base_momentum"]) == ((0.95, 0.99), 0.95, 0.85)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(4):
                sched.step()
            with pytest.raises(ValueError, match="Tried to step 6 times. The specified number of total steps is 5"):
                sched.step()
                sched.step()


SCHED_ERRORS = [
    lambda m, o: L(m).ConstantLR(o, factor=1.5),
    lambda m, o: L(m).LinearLR(o, start_factor=0.0),
    lambda m, o: L(m).LinearLR(o, end_factor=1.5),
    lambda m, o: L(m).CosineAnnealingWarmRestarts(o, T_0=0),
    lambda m, o: L(m).CosineAnnealingWarmRestarts(o, T_0=2.5),
    lambda m, o: L(m).CosineAnnealingWarmRestarts(o, T_0=3, T_mult=0),
    lambda m, o: L(m).CosineAnnealingWarmRestarts(o, T_0=3, eta_min="0"),
    lambda m, o: L(m).OneCycleLR(o, max_lr=0.1),
    lambda m, o: L(m).OneCycleLR(o, max_lr=0.1, total_steps=0),
    lambda m, o: L(m).OneCycleLR(o, max_lr=0.1, epochs=0, steps_per_epoch=3),
    lambda m, o: L(m).OneCycleLR(o, max_lr=0.1, epochs=2, steps_per_epoch=-3),
    lambda m, o: L(m).OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1),
    lambda m, o: L(m).OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
    lambda m, o: L(m).OneCycleLR(o, max_lr=[0.1, 0.2, 0.3], total_steps=10),
    lambda m, o: L(m).OneCycleLR(o, max_lr=0.1, total_steps=10, max_momentum=[0.9]),
    lambda m, o: L(m).OneCycleLR(m.optim.Adagrad([m.nn.Parameter(m.ones(1))]), max_lr=0.1, total_steps=10),
    lambda m, o: L(m).SequentialLR(o, [], milestones=[]),
    lambda m, o: L(m).SequentialLR(o, [L(m).ConstantLR(o), L(m).LinearLR(o)], milestones=[2, 3]),
    lambda m, o: L(m).SequentialLR(o, [L(m).ConstantLR(o), L(m).ReduceLROnPlateau(o)], milestones=[2]),
    lambda m, o: L(m).SequentialLR(o, [L(m).ConstantLR(o), 3], milestones=[2]),
    lambda m, o: L(m).SequentialLR(o, [L(m).ConstantLR(sched_opt(m))], milestones=[]),
    lambda m, o: L(m).ChainedScheduler([]),
    lambda m, o: L(m).ChainedScheduler([L(m).ConstantLR(o), L(m).ConstantLR(sched_opt(m))]),
    lambda m, o: L(m).MultiplicativeLR(o, [lambda e: 1.0]),
    lambda m, o: L(m).MultiplicativeLR(o, 0.5),
]


@pytest.mark.parametrize("index", range(len(SCHED_ERRORS)))
def test_scheduler_errors_match_torch(index):
    make = SCHED_ERRORS[index]
    with pytest.raises(Exception) as theirs:
        make(torch, sched_opt(torch))
    with pytest.raises(Exception) as ours:
        make(fastnn, sched_opt(fastnn))
    assert type(ours.value) is type(theirs.value)
    # torch's message, after the name of the class that raised it unless the message names it already
    names = (
        "ConstantLR",
        "LinearLR",
        "CosineAnnealingWarmRestarts",
        "OneCycleLR",
        "SequentialLR",
        "ChainedScheduler",
        "MultiplicativeLR",
    )
    text = str(ours.value)
    prefix = next((f"[{n}] " for n in names if text.startswith(f"[{n}] ")), "")
    assert text == prefix + str(theirs.value)
    assert any(n in text for n in names)


def test_get_last_lr_is_a_copy():
    opt = sched_opt(fastnn)
    sched = L(fastnn).LinearLR(opt, total_iters=4)
    last = sched.get_last_lr()
    opt.param_groups[0]["lr"] = 1.0
    assert last[0] == pytest.approx(0.1 / 3) and math.isclose(sched.get_last_lr()[0], 0.1 / 3)
