"""fastnn.compile: a captured step replays bit for bit as eager execution, captures again when what it depended on
changes, and refuses clearly what it cannot capture."""

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from models import lenet


def batches(n, shape=(8, 1, 32, 32), classes=10, seed=0):
    rng = np.random.default_rng(seed)
    return [
        (
            fastnn.from_numpy(rng.standard_normal(shape, dtype=np.float32)),
            fastnn.from_numpy(rng.integers(0, classes, shape[0])),
        )
        for _ in range(n)
    ]


OPTIMIZERS = {
    "sgd": lambda p: fastnn.optim.SGD(p, lr=0.01, momentum=0.9),
    "sgd-nesterov-wd": lambda p: fastnn.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4),
    "adam": lambda p: fastnn.optim.Adam(p, lr=1e-3),
    "adamw-amsgrad": lambda p: fastnn.optim.AdamW(p, lr=1e-3, amsgrad=True),
    "rmsprop": lambda p: fastnn.optim.RMSprop(p, lr=1e-3, momentum=0.5),
    "adagrad": lambda p: fastnn.optim.Adagrad(p, lr=1e-2),
}


def train(make_model, make_opt, data, compiled, loss_fn=F.cross_entropy, seed=0):
    """Losses and final state of a few steps, eager or through fastnn.compile (same seed, same data)."""
    fastnn.manual_seed(seed)
    net = make_model()
    opt = make_opt(net.parameters())

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    run = fastnn.compile(step) if compiled else step
    losses = [run(x, y).item() for x, y in data]
    state = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    opt_state = [
        {k: (v.numpy().copy() if isinstance(v, fastnn.Tensor) else v) for k, v in s.items()} for s in opt.state.values()
    ]
    return losses, state, opt_state, run


def assert_same_bits(a, b):
    losses_a, state_a, opt_a, _ = a
    losses_b, state_b, opt_b, _ = b
    assert losses_a == losses_b
    assert state_a.keys() == state_b.keys()
    for k in state_a:
        assert np.array_equal(state_a[k], state_b[k]), k
    assert len(opt_a) == len(opt_b)
    for sa, sb in zip(opt_a, opt_b):
        assert sa.keys() == sb.keys()
        for k in sa:
            assert np.array_equal(np.asarray(sa[k]), np.asarray(sb[k])), k


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_lenet_step_replays_bit_for_bit(opt):
    data = batches(6)
    eager = train(lambda: lenet(fastnn), OPTIMIZERS[opt], data, compiled=False)
    comp = train(lambda: lenet(fastnn), OPTIMIZERS[opt], data, compiled=True)
    assert_same_bits(eager, comp)
    (ops,) = comp[3].graph_ops()  # one signature: warm-up, capture, then 4 replays
    assert ops.count("_conv2d+relu") == 2 and ops.count("_linear+relu") == 2 and "backward" in ops
    assert ops[-2].endswith("_step")


def mlp():
    return nn.Sequential(
        nn.Linear(20, 64),
        nn.BatchNorm1d(64),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(64, 32),
        nn.GELU(),
        nn.Linear(32, 5),
    )


def assert_same_bits_and_grads(plain, fused, *inputs):
    """plain() and fused() give the same output and the same gradients for `inputs` (None ones skipped), bitwise."""
    leaves = [t for t in inputs if t is not None]
    results = []
    for fn in (plain, fused):
        for t in leaves:
            t.requires_grad_(True)
            t.grad = None
        y = fn()
        (y * fastnn.arange(y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        results.append([y.detach().numpy().copy()] + [t.grad.numpy().copy() for t in leaves])
    for a, c in zip(*results):
        assert np.array_equal(a, c)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", ["fused", "1-d input", "no bias", "transposed input", "one input feature"])
def test_linear_relu_gives_the_bits_of_relu_of_linear(dtype, case):
    dt = getattr(fastnn, dtype)
    n_in = 1 if case == "one input feature" else 5
    x = fastnn.randn(5, 4, dtype=dt).t() if case == "transposed input" else fastnn.randn(3, n_in, dtype=dt)
    if case == "1-d input":
        x = fastnn.randn(n_in, dtype=dt)
    w = fastnn.randn(4 if case == "transposed input" else 6, x.shape[-1], dtype=dt)
    b = None if case == "no bias" else fastnn.randn(w.shape[0], dtype=dt)
    assert_same_bits_and_grads(lambda: F.relu(F.linear(x, w, b)), lambda: fastnn._C._linear_relu(x, w, b), x, w, b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "case", ["3x3 pad 1", "strided, groups", "pointwise 1x1", "no bias", "unbatched", "no input channels"]
)
def test_conv2d_relu_gives_the_bits_of_relu_of_conv2d(dtype, case):
    dt = getattr(fastnn, dtype)
    c_in, c_out, k, stride, pad, groups = {
        "3x3 pad 1": (3, 4, 3, 1, 1, 1),
        "strided, groups": (4, 6, 3, 2, 0, 2),
        "pointwise 1x1": (3, 5, 1, 1, 0, 1),
        "no bias": (2, 3, 3, 1, 1, 1),
        "unbatched": (2, 3, 3, 1, 0, 1),
        "no input channels": (0, 3, 3, 1, 0, 1),
    }[case]
    x = fastnn.randn(*((c_in, 7, 6) if case == "unbatched" else (2, c_in, 7, 6)), dtype=dt)
    w = fastnn.randn(c_out, c_in // groups, k, k, dtype=dt)
    b = None if case == "no bias" else fastnn.randn(c_out, dtype=dt)
    args = ([stride] * 2, [pad] * 2, [1, 1], groups)
    assert_same_bits_and_grads(
        lambda: F.relu(F.conv2d(x, w, b, *args)), lambda: fastnn._C._conv2d_relu(x, w, b, *args), x, w, b
    )


def test_linear_and_relu_fuse_only_when_nothing_else_reads_the_linear():
    fastnn.manual_seed(0)
    lin1, lin2 = nn.Linear(6, 5), nn.Linear(5, 5)

    def f(x):
        h = lin1(x)
        fused = F.relu(lin2(F.relu(h)))  # both pairs fuse
        return (fused + F.relu(lin2(h)) + lin2(h)).sum()  # lin2(h)'s result is read twice: not fused

    x = fastnn.randn(4, 6)
    eager_grads = []
    for _ in range(3):
        lin1.zero_grad(), lin2.zero_grad()
        f(x).backward()
        eager_grads.append([p.grad.numpy().copy() for p in (*lin1.parameters(), *lin2.parameters())])

    @fastnn.compile
    def step(x):
        lin1.zero_grad(), lin2.zero_grad()
        y = f(x)
        y.backward()
        return y

    for i in range(3):
        step(x)
        for g, p in zip(eager_grads[i], (*lin1.parameters(), *lin2.parameters())):
            assert np.array_equal(g, p.grad.numpy())
    (ops,) = step.graph_ops()
    assert ops.count("_linear+relu") == 2 and ops.count("_linear") == 2, ops


def test_mlp_with_dropout_and_batch_norm_replays_bit_for_bit():
    # dropout draws its masks from the generator at replay as eagerly; batch norm updates its running stats
    data = batches(7, shape=(16, 20), classes=5)
    opt = OPTIMIZERS["adam"]
    assert_same_bits(train(mlp, opt, data, compiled=False), train(mlp, opt, data, compiled=True))


def test_mse_tutorial_step_with_numbers_and_operators():
    def make():
        return nn.Sequential(nn.Linear(10, 16), nn.Tanh(), nn.Linear(16, 10))

    def loss_fn(out, target):  # operators with Python numbers on either side
        return ((out - target) ** 2).mean() * 0.5 + 0.1 * out.abs().sum() / out.numel()

    data = [(x[:, :10].contiguous(), x[:, 10:].contiguous()) for x, _ in batches(5, shape=(8, 20))]
    opt = OPTIMIZERS["sgd"]
    assert_same_bits(
        train(make, opt, data, compiled=False, loss_fn=loss_fn), train(make, opt, data, compiled=True, loss_fn=loss_fn)
    )


def test_compiled_training_agrees_with_torch_over_20_steps():
    torch = pytest.importorskip("torch")
    data = batches(20)
    torch.manual_seed(0)
    tnet = lenet(torch)
    fnet = lenet(fastnn)
    fnet.load_state_dict({k: fastnn.tensor(v.detach().numpy()) for k, v in tnet.state_dict().items()})
    topt = torch.optim.SGD(tnet.parameters(), lr=0.05, momentum=0.9)
    fopt = fastnn.optim.SGD(fnet.parameters(), lr=0.05, momentum=0.9)

    @fastnn.compile
    def fstep(x, y):
        fopt.zero_grad()
        loss = F.cross_entropy(fnet(x), y)
        loss.backward()
        fopt.step()
        return loss

    for x, y in data:
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(tnet(torch.from_numpy(x.numpy())), torch.from_numpy(y.numpy()))
        tloss.backward()
        topt.step()
        np.testing.assert_allclose(fstep(x, y).item(), tloss.item(), rtol=2e-4, atol=1e-5)
    for k, v in tnet.state_dict().items():
        np.testing.assert_allclose(fnet.state_dict()[k].numpy(), v.numpy(), rtol=1e-3, atol=1e-5)


def test_compiled_module_inference():
    fastnn.manual_seed(0)
    net = lenet(fastnn).eval()
    compiled = fastnn.compile(net)
    assert compiled.conv1 is net.conv1  # the module's attributes through the wrapper
    with fastnn.no_grad():
        for x, _ in batches(4):
            out = compiled(x)
            assert not out.requires_grad
            assert np.array_equal(out.numpy(), net(x).numpy())
    (ops,) = compiled.graph_ops()
    assert "backward" not in ops and ops.count("_linear+relu") == 2 and ops.count("_linear") == 1


def test_results_keep_their_structure_and_inputs_pass_through():
    w = fastnn.randn(3, 3)

    @fastnn.compile
    def f(x, scale, extra):
        y = x @ w * scale
        return {"y": y, "pair": (x, y.sum())}, None, extra["k"]

    for i in range(4):
        x = fastnn.randn(2, 3)
        out, none, k = f(x, 2.0, {"k": "v"})
        assert none is None and k == "v" and out["pair"][0] is x
        assert np.array_equal(out["y"].numpy(), (x @ w * 2.0).numpy())
        assert np.array_equal(out["pair"][1].numpy(), (x @ w * 2.0).sum().numpy())


def test_state_kept_on_a_module_is_not_replayed_stale():
    class Carry(nn.Module):  # truncated BPTT: the state lives on the module between calls
        def __init__(self):
            super().__init__()
            self.cell = nn.RNNCell(3, 4)
            self.hidden = fastnn.zeros(2, 4)

        def forward(self, x):
            self.hidden = self.cell(x, self.hidden).detach()
            return self.hidden.sum()

    fastnn.manual_seed(0)
    eager, comp = Carry(), Carry()
    comp.load_state_dict(eager.state_dict())
    f = fastnn.compile(comp)
    with fastnn.no_grad():
        for _ in range(5):
            x = fastnn.randn(2, 3)
            assert np.array_equal(f(x).numpy(), eager(x).numpy())
    assert np.array_equal(comp.hidden.numpy(), eager.hidden.numpy())


def test_namedtuple_results():
    f = fastnn.compile(lambda x: x.max(dim=1))
    x = fastnn.randn(3, 4)
    for _ in range(3):
        r = f(x)
        assert type(r).__name__ == "max" and np.array_equal(r.values.numpy(), x.max(dim=1).values.numpy())


def test_new_shapes_dtypes_and_arguments_get_their_own_graph():
    w = fastnn.randn(4, 4, dtype=fastnn.float64)

    @fastnn.compile
    def f(x, double):
        y = x.double() @ w
        return y * 2 if double else y

    for _ in range(3):
        for shape in ((2, 4), (5, 4)):
            for dtype in (fastnn.float32, fastnn.float64):
                for double in (False, True):
                    x = fastnn.randn(*shape, dtype=dtype)
                    expect = x.double() @ w * (2 if double else 1)
                    assert np.array_equal(f(x, double).numpy(), expect.numpy())
    assert len(f.graph_ops()) == 8
    # a non-contiguous input is another signature too
    x = fastnn.randn(4, 2).t()
    for _ in range(3):
        assert np.array_equal(f(x, False).numpy(), (x.double() @ w).numpy())


def test_at_most_max_graphs_signatures_are_kept(monkeypatch):
    monkeypatch.setattr(fastnn._compile, "MAX_GRAPHS", 3)
    f = fastnn.compile(lambda x: x * 2)
    for _ in range(3):
        for n in range(1, 6):
            x = fastnn.randn(n)
            assert np.array_equal(f(x).numpy(), (x * 2).numpy())
    assert len(f._entries) == 3


def test_captures_again_when_python_state_changes():
    """training flags, learning rates (a scheduler), frozen parameters: eager and compiled agree throughout."""
    data = batches(12, shape=(16, 20), classes=5)

    def run(compiled):
        fastnn.manual_seed(3)
        net = mlp()
        opt = fastnn.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        sched = fastnn.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            return loss

        f = fastnn.compile(step) if compiled else step
        losses = []
        for i, (x, y) in enumerate(data):
            if i == 5:
                net.eval()  # batch norm's running stats, no dropout
            if i == 7:
                net.train()
            if i == 9:
                net[0].weight.requires_grad_(False)
            if i == 10:
                opt.state.clear()  # new momentum buffers from here
            if i == 11:
                net[4] = nn.Linear(64, 32)  # a new layer (its parameters are not the optimizer's)
            losses.append(f(x, y).item())
            sched.step()
        return losses, [p.detach().numpy().copy() for p in net.parameters()], f

    eager, comp = run(False), run(True)
    assert eager[0] == comp[0]
    for a, b in zip(eager[1], comp[1]):
        assert np.array_equal(a, b)
    assert comp[2].recaptures >= 6


def test_module_changes_by_any_path_are_noticed_and_unrelated_ones_cost_no_capture():
    """A replay skips the module checks while no module changed anywhere (a version counter that every
    attribute, parameter, buffer, submodule and hook change bumps); each change below must still be seen."""
    fastnn.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    other = nn.Linear(2, 2)
    f = fastnn.compile(net)
    x = fastnn.randn(5, 4)

    def check(expect_recaptures):
        with fastnn.no_grad():
            for _ in range(3):
                assert np.array_equal(f(x).numpy(), net(x).numpy())
        assert f.recaptures == expect_recaptures, f.recapture_reason

    check(0)
    other.weight = nn.Parameter(fastnn.randn(2, 2))  # another module: checked once, nothing to capture
    other.scale = 3.0
    check(0)
    net[0]._parameters["weight"] = nn.Parameter(fastnn.randn(3, 4))  # the dict itself, not setattr
    check(1)
    handle = net[2].register_forward_hook(lambda m, i, o: o * 2)
    check(2)
    handle.remove()
    check(3)
    net[1].forward = lambda t: t.sigmoid()  # a forward set on the instance
    check(4)
    del net[1].forward
    check(5)
    net._modules.update({"1": nn.Tanh()})
    check(6)


def test_grads_set_to_none_outside_the_step_is_noticed():
    fastnn.manual_seed(0)
    net = nn.Linear(4, 2)
    opt = fastnn.optim.SGD(net.parameters(), lr=0.1)
    x = fastnn.randn(3, 4)

    @fastnn.compile
    def step(x):  # accumulates: no zero_grad inside
        net(x).sum().backward()
        opt.step()

    for i in range(6):
        if i == 3:
            opt.zero_grad()  # the captured graph saw .grad present; now it is None
        step(x)
    ref = nn.Linear(4, 2)
    fastnn.manual_seed(0)
    ref = nn.Linear(4, 2)
    ropt = fastnn.optim.SGD(ref.parameters(), lr=0.1)
    for i in range(6):
        if i == 3:
            ropt.zero_grad()
        ref(x).sum().backward()
        ropt.step()
    assert np.array_equal(net.weight.detach().numpy(), ref.weight.detach().numpy())
    assert step.recaptures >= 1 and ".grad when captured" in step.recapture_reason


def capture_error(fn, *args):
    """The RuntimeError of the capture (the third call: warm-up, then capture)."""
    compiled = fastnn.compile(fn)
    compiled(*args)
    with pytest.raises(RuntimeError, match=r"\[compile\] cannot capture this function") as e:
        compiled(*args)
    return str(e.value)


def test_refuses_reading_values():
    x = fastnn.randn(3)
    assert "item" in capture_error(lambda x: x * 2 if (x.sum().item() > 0) else x, x)
    assert "bool" in capture_error(lambda x: x * 2 if (x.sum() > 0) else x, x)
    assert "numpy" in capture_error(lambda x: x.numpy().sum(), x)
    assert "depends on the values" in capture_error(lambda x: x.nonzero(), x)
    assert "equal" in capture_error(lambda x: fastnn.equal(x, x), x)


def test_refuses_tensors_made_by_unrecorded_ops_and_unrecorded_writes():
    x = fastnn.randn(3)
    ones = np.ones(3, np.float32)
    assert "was made during the capture" in capture_error(lambda x: x + fastnn.from_dlpack(ones), x)
    w = fastnn.zeros(3)

    def swap(x):
        w.data = x  # .data assignment is not recorded
        return x + w

    assert ".data assigned" in capture_error(swap, x)

    def reseed(x):
        fastnn.manual_seed(1)
        return x * 2

    assert "fastnn.manual_seed" in capture_error(reseed, x)


def test_python_data_indexing_and_in_place_ops_are_recorded():
    w = fastnn.zeros(2, 3)

    @fastnn.compile
    def f(x, i):
        w[0] = x[1:, ::2].sum()  # a slice of the input, written into a tensor from outside
        w[1, i] += 1
        y = fastnn.tensor([[1.0], [2.0]]) * w  # a tensor from Python data: a constant of the graph
        return fastnn.cat([y, x[:, :3]], dim=0).relu_()

    expect = fastnn.zeros(2, 3)
    for step in range(5):
        x = fastnn.randn(2, 4)
        expect[0] = x[1:, ::2].sum()
        expect[1, 2] += 1
        ref = fastnn.cat([fastnn.tensor([[1.0], [2.0]]) * expect, x[:, :3]], dim=0).relu_()
        assert np.array_equal(f(x, 2).numpy(), ref.numpy())
        assert np.array_equal(w.numpy(), expect.numpy())


def test_a_failed_capture_leaves_nothing_behind():
    x = fastnn.randn(3)
    f = fastnn.compile(lambda x: x * 2 if (x.sum().item() > 0) else x)
    f(x)
    with pytest.raises(RuntimeError):
        f(x)
    y = fastnn.randn(3, requires_grad=True)
    (y * 3).sum().backward()  # eager work goes on unrecorded
    assert np.array_equal(y.grad.numpy(), np.full(3, 3.0, np.float32))

    def boom(x):
        x = x + 1
        raise KeyError("user error")

    g = fastnn.compile(boom)
    for _ in range(2):
        with pytest.raises(KeyError):
            g(x)
    assert np.array_equal((x + 1).numpy(), x.numpy() + 1)


def test_nested_compiled_calls_are_refused():
    inner = fastnn.compile(lambda x: x * 2)
    outer = fastnn.compile(lambda x: inner(x) + 1)
    x = fastnn.randn(2)
    outer(x)
    with pytest.raises(RuntimeError, match="nested"):
        outer(x)


def test_arguments_as_torch_compile():
    f = lambda x: x  # noqa: E731
    assert fastnn.compile(f, disable=True) is f
    assert fastnn.compile(mode="reduce-overhead", fullgraph=True)(f)(fastnn.ones(1)).item() == 1.0
    with pytest.raises(ValueError, match="mode 'max-autotune'"):
        fastnn.compile(f, mode="max-autotune")
    with pytest.raises(ValueError, match="dynamic=True"):
        fastnn.compile(f, dynamic=True)
    assert fastnn.compile(f, backend="eager")(fastnn.ones(1)).item() == 1.0
    with pytest.raises(ValueError, match="backend 'tvm'"):
        fastnn.compile(f, backend="tvm")
    with pytest.raises(ValueError, match="options"):
        fastnn.compile(f, options={"x": 1})
    with pytest.raises(TypeError, match="expected a function or a Module"):
        fastnn.compile(3)
    with pytest.raises(TypeError, match="argument of type ndarray"):
        fastnn.compile(f)(np.ones(2))


def test_replay_is_the_same_at_any_thread_count():
    data = batches(5, shape=(32, 1, 32, 32))
    results = []
    for threads in (1, 2, 3):
        prev = fastnn.get_num_threads()
        fastnn.set_num_threads(threads)
        try:
            results.append(train(lambda: lenet(fastnn), OPTIMIZERS["sgd"], data, compiled=True))
        finally:
            fastnn.set_num_threads(prev)
    assert_same_bits(results[0], results[1])
    assert_same_bits(results[0], results[2])
