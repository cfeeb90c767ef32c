"""optim.Adam / AdamW / RMSprop / Adagrad (and SGD) against torch.optim over 20 steps: every option,
parameter groups, state_dict layout and round trips, printing and argument errors; lr_scheduler's
StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LambdaLR and ReduceLROnPlateau: the same lrs
(exact floats) over 25+ steps, state_dict round trips and schedulers driving a real training loop."""

import copy
import math
import warnings

import numpy as np
import pytest

import fastnn
from oracle import assert_same_history, assert_same_state, make_model, torch


STEPS = 20
DATA = np.random.default_rng(5).standard_normal((STEPS, 6, 4))
TARGETS = np.random.default_rng(6).standard_normal((STEPS, 6, 2))


def np_dtype(dtype):
    return np.float64 if dtype == torch.float64 else np.float32


def loss_at(m, net, step, dtype):
    x = m.tensor(DATA[step].astype(np_dtype(dtype)))
    y = m.tensor(TARGETS[step].astype(np_dtype(dtype)))
    return m.nn.functional.mse_loss(net(x), y)


def params_np(net):
    return [p.detach().numpy().copy() for p in net.parameters()]


def groups_for(net, spec):
    if spec is None:
        return net.parameters()
    return [dict(params=[p for i in idx for p in net[i].parameters()], **opts) for idx, opts in spec]


def run(m, cls, options, spec=None, dtype=None, steps=STEPS, start=0, net=None, opt=None, sched=None):
    """`steps` optimizer steps from step `start`; returns (parameters after each step, optimizer, model)."""
    dtype = dtype or torch.float32
    net = net if net is not None else make_model(m, dtype)
    opt = opt if opt is not None else getattr(m.optim, cls)(groups_for(net, spec), **options)
    history = []
    for s in range(start, start + steps):
        opt.zero_grad()
        loss_at(m, net, s, dtype).backward()
        opt.step()
        if sched is not None:
            sched.step()
        history.append(params_np(net))
    return history, opt, net


def tol(dtype):
    return (1e-5, 1e-6) if dtype == torch.float32 else (1e-11, 1e-12)


# ---------------------------------------------------------------------------------------------
# 20 steps against torch
# ---------------------------------------------------------------------------------------------
CASES = [
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.0, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.005, alpha=0.9)),
    ("RMSprop", dict(lr=0.005, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, centered=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.005, weight_decay=0.1, eps=1e-4, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1, maximize=True)),
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.01, momentum=0.9, dampening=0.2, maximize=True)),  # larger lrs diverge: float32 noise grows
]
IDS = [f"{c}-" + ",".join(f"{k}={v}" for k, v in o.items()) for c, o in CASES]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("cls,options", CASES, ids=IDS)
def test_matches_torch_over_20_steps(cls, options, dtype):
    ours, opt_f, _ = run(fastnn, cls, options, dtype=dtype)
    theirs, opt_t, _ = run(torch, cls, options, dtype=dtype)
    assert_same_history(ours, theirs, *tol(dtype))
    # the run moved the parameters well beyond the tolerance
    assert max(np.abs(a - b).max() for a, b in zip(ours[0], ours[-1])) > 1e-3
    assert_same_state(opt_f, opt_t, *tol(dtype))
    assert repr(opt_f) == repr(opt_t)


GROUP_CASES = [
    ("Adam", dict(lr=0.01), [((0,), dict(lr=0.03, amsgrad=True)), ((2,), dict(betas=(0.5, 0.9), weight_decay=0.1))]),
    ("AdamW", dict(lr=0.01), [((0,), dict(weight_decay=0.5)), ((2,), dict(lr=0.002, maximize=True))]),
    ("RMSprop", dict(lr=0.005), [((0,), dict(momentum=0.9)), ((2,), dict(centered=True, alpha=0.95))]),
    ("Adagrad", dict(lr=0.1), [((0,), dict(lr_decay=0.1)), ((2,), dict(initial_accumulator_value=1.0, lr=0.3))]),
    ("SGD", dict(lr=0.05), [((0,), dict(momentum=0.9)), ((2,), dict(weight_decay=0.1))]),
]


@pytest.mark.parametrize("cls,defaults,spec", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_param_groups_with_own_options(cls, defaults, spec):
    ours, opt_f, _ = run(fastnn, cls, defaults, spec)
    theirs, opt_t, _ = run(torch, cls, defaults, spec)
    assert_same_history(ours, theirs, *tol(torch.float32))
    assert_same_state(opt_f, opt_t)
    assert repr(opt_f) == repr(opt_t)
    assert "Parameter Group 1" in repr(opt_f)


@pytest.mark.parametrize(
    "cls,options",
    [("Adam", dict(lr=0.01, amsgrad=True)), ("RMSprop", dict(momentum=0.9, centered=True)), ("Adagrad", dict(lr=0.1))],
)
def test_parameters_without_grad_are_skipped(cls, options):
    results = []
    for m in (fastnn, torch):
        net = make_model(m)
        opt = getattr(m.optim, cls)(net.parameters(), **options)
        for s in range(5):
            opt.zero_grad()
            loss_at(m, net, s, torch.float32).backward()
            if s < 3:
                net[2].bias.grad = None  # frozen for three steps: no update, no step count
            opt.step()
        results.append((params_np(net), opt))
    assert_same_history([results[0][0]], [results[1][0]], *tol(torch.float32))
    assert_same_state(results[0][1], results[1][1])


def test_add_param_group_later_adam():
    hist = []
    for m in (fastnn, torch):
        net = make_model(m)
        opt = m.optim.Adam(net[0].parameters(), lr=0.01)
        out = []
        for s in range(8):
            if s == 3:
                opt.add_param_group({"params": net[2].parameters(), "lr": 0.05, "amsgrad": True})
            opt.zero_grad()
            loss_at(m, net, s, torch.float32).backward()
            opt.step()
            out.append(params_np(net))
        hist.append((out, opt))
    assert_same_history(hist[0][0], hist[1][0], *tol(torch.float32))
    assert_same_state(hist[0][1], hist[1][1])


def test_closure_and_no_graph():
    net = make_model(fastnn)
    opt = fastnn.optim.Adam(net.parameters(), lr=0.01)

    def closure():
        opt.zero_grad()
        loss = loss_at(fastnn, net, 0, torch.float32)
        loss.backward()
        return loss

    loss = opt.step(closure)
    expected = loss_at(torch, make_model(torch), 0, torch.float32).item()
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    for p in net.parameters():
        assert p.is_leaf and p.grad_fn is None and p.requires_grad


# ---------------------------------------------------------------------------------------------
# state_dict
# ---------------------------------------------------------------------------------------------
ROUND_TRIP = [
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.005, momentum=0.9, centered=True)),
    ("RMSprop", dict(lr=0.005)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.2)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("cls,options", ROUND_TRIP, ids=[c for c, _ in ROUND_TRIP])
def test_state_dict_round_trip_continues_identically(cls, options, dtype):
    split = 10
    full, _, _ = run(fastnn, cls, options, dtype=dtype)
    first, opt, net = run(fastnn, cls, options, dtype=dtype, steps=split)
    _, opt_t, _ = run(torch, cls, options, dtype=dtype, steps=split)
    assert_same_state(opt, opt_t, *tol(dtype))
    saved = copy.deepcopy(opt.state_dict())  # state_dict() holds references to the live state, as torch's
    model_state = {k: v.clone() for k, v in net.state_dict().items()}
    # keep going with the original: the saved state must not move with it
    run(fastnn, cls, options, dtype=dtype, steps=2, start=split, net=net, opt=opt)
    net2 = make_model(fastnn, dtype)
    net2.load_state_dict(model_state)
    opt2 = getattr(fastnn.optim, cls)(net2.parameters(), lr=0.777)  # options come from the state dict
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == options.get("lr", opt2.defaults["lr"]) and opt2.param_groups[0]["lr"] != 0.777
    rest, _, _ = run(fastnn, cls, options, dtype=dtype, steps=STEPS - split, start=split, net=net2, opt=opt2)
    for a, b in zip(rest, full[split:]):
        for p, q in zip(a, b):
            np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("cls,options", ROUND_TRIP, ids=[c for c, _ in ROUND_TRIP])
def test_load_torch_state_dict_continues_like_torch(cls, options):
    # torch's optimizer state, converted tensor by tensor, continues in fastnn exactly as in torch
    split = 8
    _, opt_t, net_t = run(torch, cls, options, steps=split)
    t_state = copy.deepcopy(opt_t.state_dict())
    rest_t, _, _ = run(torch, cls, options, steps=STEPS - split, start=split, net=net_t, opt=opt_t)
    converted = {
        "state": {i: {k: fastnn.tensor(v.numpy().copy()) for k, v in s.items()} for i, s in t_state["state"].items()},
        "param_groups": t_state["param_groups"],
    }
    net = make_model(fastnn)
    _, _, net_t0 = run(torch, cls, options, steps=split)
    net.load_state_dict({k: fastnn.tensor(v.detach().numpy().copy()) for k, v in net_t0.state_dict().items()})
    opt = getattr(fastnn.optim, cls)(net.parameters())
    opt.load_state_dict(converted)
    rest, _, _ = run(fastnn, cls, options, steps=STEPS - split, start=split, net=net, opt=opt)
    assert_same_history(rest, rest_t, *tol(torch.float32))


def test_loaded_step_keeps_float32_like_torch():
    # torch leaves 'step' alone when loading (float32 scalar) and casts the other state to the parameter's dtype
    _, opt_f, _ = run(fastnn, "Adam", dict(lr=0.01), dtype=torch.float64, steps=2)
    _, opt_t, _ = run(torch, "Adam", dict(lr=0.01), dtype=torch.float64, steps=2)
    opt_f2 = fastnn.optim.Adam(make_model(fastnn, torch.float64).parameters())
    opt_t2 = torch.optim.Adam(make_model(torch, torch.float64).parameters())
    opt_f2.load_state_dict(opt_f.state_dict())
    opt_t2.load_state_dict(opt_t.state_dict())
    assert_same_state(opt_f2, opt_t2, *tol(torch.float64))


def test_adagrad_state_exists_before_first_step():
    opt_f = fastnn.optim.Adagrad(make_model(fastnn).parameters(), initial_accumulator_value=0.3)
    opt_t = torch.optim.Adagrad(make_model(torch).parameters(), initial_accumulator_value=0.3)
    assert_same_state(opt_f, opt_t)


# ---------------------------------------------------------------------------------------------
# printing and argument errors
# ---------------------------------------------------------------------------------------------
PRINTS = [
    ("Adam", dict()),
    ("Adam", dict(lr=0.1, betas=(0.5, 0.6), amsgrad=True, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(weight_decay=0.0, eps=1e-3)),
    ("RMSprop", dict()),
    ("RMSprop", dict(momentum=0.9, centered=True, alpha=0.5)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr_decay=0.1, initial_accumulator_value=0.5)),
]


@pytest.mark.parametrize("cls,options", PRINTS)
def test_print_matches_torch(cls, options):
    ours = getattr(fastnn.optim, cls)(make_model(fastnn).parameters(), **options)
    theirs = getattr(torch.optim, cls)(make_model(torch).parameters(), **options)
    assert repr(ours) == repr(theirs)
    assert str(ours).startswith(f"{cls} (\nParameter Group 0\n")
    net_f, net_t = make_model(fastnn), make_model(torch)
    ours = getattr(fastnn.optim, cls)(
        [{"params": net_f[0].parameters()}, {"params": net_f[2].parameters(), "lr": 0.5}], **options
    )
    theirs = getattr(torch.optim, cls)(
        [{"params": net_t[0].parameters()}, {"params": net_t[2].parameters(), "lr": 0.5}], **options
    )
    assert repr(ours) == repr(theirs)


INVALID = [
    ("Adam", dict(lr=-1e-3)),
    ("Adam", dict(eps=-1.0)),
    ("Adam", dict(betas=(1.0, 0.9))),
    ("Adam", dict(betas=(0.9, -0.1))),
    ("Adam", dict(weight_decay=-0.5)),
    ("AdamW", dict(lr=-2.0)),
    ("AdamW", dict(betas=(0.9, 1.5))),
    ("AdamW", dict(weight_decay=-1e-2)),
    ("RMSprop", dict(lr=-0.1)),
    ("RMSprop", dict(eps=-1e-8)),
    ("RMSprop", dict(momentum=-0.9)),
    ("RMSprop", dict(weight_decay=-0.1)),
    ("RMSprop", dict(alpha=-0.99)),
    ("Adagrad", dict(lr=-0.1)),
    ("Adagrad", dict(lr_decay=-0.5)),
    ("Adagrad", dict(weight_decay=-0.1)),
    ("Adagrad", dict(initial_accumulator_value=-1.0)),
    ("Adagrad", dict(eps=-1e-10)),
    ("SGD", dict(lr=-0.1)),
    ("SGD", dict(momentum=-0.1)),
    # more than one invalid value: the first torch checks is the one reported
    ("Adam", dict(lr=-1.0, eps=-1.0)),
    ("RMSprop", dict(eps=-1.0, alpha=-1.0, momentum=-1.0)),
    ("Adagrad", dict(lr_decay=-1.0, eps=-1.0, weight_decay=-1.0)),
    ("RMSprop", dict(weight_decay=-1.0, momentum=-1.0)),
    ("Adam", dict(weight_decay=-1.0, betas=(0.9, 1.0))),
    ("Adagrad", dict(eps=-1.0, initial_accumulator_value=-1.0)),
]


@pytest.mark.parametrize("cls,options", INVALID, ids=[f"{c}-{o}" for c, o in INVALID])
def test_invalid_arguments_match_torch(cls, options):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, cls)(make_model(torch).parameters(), **options)
    with pytest.raises(ValueError) as ours:
        getattr(fastnn.optim, cls)(make_model(fastnn).parameters(), **options)
    assert str(ours.value) == f"[{cls}] {theirs.value}"  # torch's text after the class that raised it


def test_empty_and_non_leaf_params():
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        fastnn.optim.Adam([])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        fastnn.optim.RMSprop([make_model(fastnn)[0].weight * 2])


# ---------------------------------------------------------------------------------------------
# lr_scheduler
# ---------------------------------------------------------------------------------------------
def sched_opt(m, net, cls="SGD"):
    """An optimizer with two parameter groups (lr 0.1 and 0.03)."""
    return getattr(m.optim, cls)([{"params": net[0].parameters()}, {"params": net[2].parameters(), "lr": 0.03}], lr=0.1)


SCHEDULERS = [
    ("StepLR", dict(step_size=3)),
    ("StepLR", dict(step_size=4, gamma=0.7)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 11, 17], gamma=0.5)),
    ("MultiStepLR", dict(milestones=[7, 3])),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95**e)),
    ("LambdaLR", dict(lr_lambda=[lambda e: 1.0 / (e + 1), lambda e: 0.5 * (1 + math.cos(e / 3))])),
]
SCHED_IDS = [f"{c}-{i}" for i, (c, _) in enumerate(SCHEDULERS)]


def lr_history(m, cls, kw, opt_cls="SGD", steps=30):
    net = make_model(m)
    opt = sched_opt(m, net, opt_cls)
    sched = getattr(m.optim.lr_scheduler, cls)(opt, **kw)
    lrs = [list(sched.get_last_lr())]
    for s in range(steps):
        opt.zero_grad()
        loss_at(m, net, s % STEPS, torch.float32).backward()
        opt.step()
        sched.step()
        lrs.append(list(sched.get_last_lr()))
        assert lrs[-1] == [g["lr"] for g in opt.param_groups]
    return lrs, params_np(net), sched, opt


@pytest.mark.parametrize("cls,kw", SCHEDULERS, ids=SCHED_IDS)
def test_scheduler_lrs_equal_torch(cls, kw):
    ours, p_f, sched_f, opt_f = lr_history(fastnn, cls, kw)
    theirs, p_t, sched_t, opt_t = lr_history(torch, cls, kw)
    assert ours == theirs  # exact floats: the same formulas in the same order
    assert len(set(map(tuple, ours))) > 2  # the schedule moved
    assert [g["initial_lr"] for g in opt_f.param_groups] == [g["initial_lr"] for g in opt_t.param_groups] == [0.1, 0.03]
    assert sched_f.base_lrs == sched_t.base_lrs
    assert sched_f.last_epoch == sched_t.last_epoch == 30
    # the optimizer used the scheduled lrs: same parameters as torch
    for a, b in zip(p_f, p_t):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert sorted(sched_f.state_dict()) == sorted(sched_t.state_dict())


@pytest.mark.parametrize("cls,kw", SCHEDULERS, ids=SCHED_IDS)
def test_scheduler_with_adam_loop(cls, kw):
    ours, p_f, _, opt_f = lr_history(fastnn, cls, kw, "Adam", steps=STEPS)
    theirs, p_t, _, opt_t = lr_history(torch, cls, kw, "Adam", steps=STEPS)
    assert ours == theirs
    for a, b in zip(p_f, p_t):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert_same_state(opt_f, opt_t)


@pytest.mark.parametrize("cls,kw", SCHEDULERS, ids=SCHED_IDS)
def test_scheduler_state_dict_round_trip(cls, kw):
    split, total = 9, 26
    full, _, _, _ = lr_history(fastnn, cls, kw, steps=total)
    net = make_model(fastnn)
    opt = sched_opt(fastnn, net)
    sched = getattr(fastnn.optim.lr_scheduler, cls)(opt, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stepping the scheduler before the optimizer
        for _ in range(split):
            sched.step()
    state, opt_state = sched.state_dict(), opt.state_dict()
    t_net = make_model(torch)
    t_opt = sched_opt(torch, t_net)
    t_sched = getattr(torch.optim.lr_scheduler, cls)(t_opt, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stepping the scheduler before the optimizer
        for _ in range(split):
            t_sched.step()
    assert list(state) == list(t_sched.state_dict())
    for k, v in t_sched.state_dict().items():
        assert state[k] == v, k
    # a new optimizer and scheduler resume from the saved state
    opt2 = sched_opt(fastnn, make_model(fastnn))
    opt2.load_state_dict(opt_state)
    sched2 = getattr(fastnn.optim.lr_scheduler, cls)(opt2, **kw)
    sched2.load_state_dict(state)
    assert sched2.get_last_lr() == full[split]
    lrs = [sched2.get_last_lr()]
    for _ in range(total - split):
        sched2.step()
        lrs.append(sched2.get_last_lr())
    assert lrs == full[split:]


def test_scheduler_resume_with_last_epoch_matches_torch():
    for cls, kw in SCHEDULERS:
        results = []
        for m in (fastnn, torch):
            opt = sched_opt(m, make_model(m))
            for g in opt.param_groups:
                g["initial_lr"] = g["lr"]
                g["lr"] = g["lr"] * 0.5  # the lr a checkpoint would have restored
            sched = getattr(m.optim.lr_scheduler, cls)(opt, last_epoch=6, **kw)
            lrs = [sched.get_last_lr()]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(12):
                    sched.step()
                    lrs.append(sched.get_last_lr())
            results.append(lrs)
        assert results[0] == results[1], cls
    opt = sched_opt(fastnn, make_model(fastnn))
    with pytest.raises(KeyError, match=r"param 'initial_lr' is not specified in param_groups\[0\]"):
        fastnn.optim.lr_scheduler.StepLR(opt, 3, last_epoch=4)


@pytest.mark.parametrize("cls,kw", [c for c in SCHEDULERS if c[0] != "LambdaLR"], ids=SCHED_IDS[:-2])
def test_scheduler_step_with_epoch_uses_closed_form(cls, kw):
    results = []
    for m in (fastnn, torch):
        opt = sched_opt(m, make_model(m))
        sched = getattr(m.optim.lr_scheduler, cls)(opt, **kw)
        opt.step()  # no gradients yet: changes nothing, but the scheduler sees the optimizer stepped first
        lrs = []
        for epoch in (3, 4, 9, 2, 15, 15, 21):
            with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)` was not necessary"):
                sched.step(epoch)
            lrs.append(sched.get_last_lr())
        results.append(lrs)
    assert results[0] == results[1]


def test_scheduler_warnings_like_torch():
    net = make_model(fastnn)
    opt = sched_opt(fastnn, net)
    sched = fastnn.optim.lr_scheduler.StepLR(opt, 2)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        sched.step()
    opt2 = sched_opt(fastnn, make_model(fastnn))
    sched2 = fastnn.optim.lr_scheduler.ExponentialLR(opt2, 0.5)
    loss_at(fastnn, make_model(fastnn), 0, torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.step()  # no gradients: nothing to do, but it counts as a step
        sched2.step()
        sched2.get_last_lr()
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched2.get_lr()
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        fastnn.optim.lr_scheduler.StepLR([], 2)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 3"):
        fastnn.optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0] * 3)


def test_lambda_lr_state_dict_keeps_callable_object_state():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate**epoch

    opt = sched_opt(fastnn, make_model(fastnn))
    sched = fastnn.optim.lr_scheduler.LambdaLR(opt, [Decay(0.9), lambda e: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.9}, None]
    t_opt = sched_opt(torch, make_model(torch))
    t_state = torch.optim.lr_scheduler.LambdaLR(t_opt, [Decay(0.9), lambda e: 1.0]).state_dict()
    assert state["lr_lambdas"] == t_state["lr_lambdas"]
    other = Decay(0.5)
    sched2 = fastnn.optim.lr_scheduler.LambdaLR(sched_opt(fastnn, make_model(fastnn)), [other, lambda e: 1.0])
    sched2.load_state_dict(state)
    assert other.rate == 0.9
    assert "lr_lambdas" in state  # the caller's dict is left as it was


PLATEAU = [
    (dict(), [1.0, 0.9, 0.95, 0.95] + [0.95] * 12 + [0.5] + [0.6] * 14),
    (dict(patience=2, factor=0.5), [5, 4, 4, 4, 4, 3, 3.5, 3.2, 3.1, 3.0, 3.0, 3.0, 3.0, 2.0] + [2.5] * 16),
    (dict(mode="max", patience=1, factor=0.3, threshold=0.1), [1, 1.05, 1.2, 1.25, 1.3, 2, 2, 2, 2.1, 2.2] + [2] * 20),
    (dict(mode="min", threshold_mode="abs", threshold=0.5, patience=0), [10, 9.8, 9.0, 8.9, 8.6, 8.4, 7.0] * 4),
    (
        dict(mode="max", threshold_mode="abs", threshold=0.05, patience=1, cooldown=2, factor=0.5),
        list(np.linspace(0, 1, 6)) + [1.0] * 24,
    ),
    (dict(patience=0, factor=0.5, min_lr=[0.02, 0.01], cooldown=1), [1.0] * 30),
    (dict(patience=0, factor=0.5, min_lr=0.04, eps=0.01), [1.0] * 30),
]


@pytest.mark.parametrize("kw,metrics", PLATEAU, ids=[str(i) for i in range(len(PLATEAU))])
def test_reduce_lr_on_plateau(kw, metrics):
    results = []
    for m in (fastnn, torch):
        net = make_model(m)
        opt = sched_opt(m, net)
        sched = m.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        lrs = [sched.get_last_lr()]
        for s, metric in enumerate(metrics):
            opt.zero_grad()
            loss_at(m, net, s % STEPS, torch.float32).backward()
            opt.step()
            sched.step(m.tensor(float(metric)) if s % 2 else metric)  # a 0-d tensor or a number
            lrs.append(sched.get_last_lr())
            assert lrs[-1] == [g["lr"] for g in opt.param_groups]
        results.append((lrs, sched.state_dict(), params_np(net)))
    assert results[0][0] == results[1][0]
    assert len(set(map(tuple, results[0][0]))) > 1  # the lr was reduced at least once
    assert list(results[0][1]) == list(results[1][1])
    for k, v in results[1][1].items():
        assert results[0][1][k] == v, k
    for a, b in zip(results[0][2], results[1][2]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_reduce_lr_on_plateau_state_dict_round_trip_and_errors():
    metrics = [1.0, 0.8] + [0.9] * 20
    opt = sched_opt(fastnn, make_model(fastnn))
    sched = fastnn.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=2, factor=0.5, mode="min")
    full = []
    for metric in metrics:
        sched.step(metric)
        full.append(sched.get_last_lr())
    opt1 = sched_opt(fastnn, make_model(fastnn))
    s1 = fastnn.optim.lr_scheduler.ReduceLROnPlateau(opt1, patience=2, factor=0.5, mode="min")
    for metric in metrics[:4]:
        s1.step(metric)
    state = copy.deepcopy(s1.state_dict())
    opt2 = sched_opt(fastnn, make_model(fastnn))
    opt2.load_state_dict(opt1.state_dict())
    s2 = fastnn.optim.lr_scheduler.ReduceLROnPlateau(opt2, mode="max")  # mode comes from the state
    s2.load_state_dict(state)
    rest = []
    for metric in metrics[4:]:
        s2.step(metric)
        rest.append(s2.get_last_lr())
    assert rest == full[4:]
    for kw, message in [
        (dict(factor=1.0), "Factor should be < 1.0."),
        (dict(mode="mid"), "mode mid is unknown!"),
        (dict(threshold_mode="pct"), "threshold mode pct is unknown!"),
        (dict(min_lr=[0.1]), "expected 2 min_lrs, got 1"),
    ]:
        with pytest.raises(ValueError) as theirs:
            torch.optim.lr_scheduler.ReduceLROnPlateau(sched_opt(torch, make_model(torch)), **kw)
        with pytest.raises(ValueError) as ours:
            fastnn.optim.lr_scheduler.ReduceLROnPlateau(sched_opt(fastnn, make_model(fastnn)), **kw)
        assert str(theirs.value) == message and str(ours.value) == f"[ReduceLROnPlateau] {message}"
