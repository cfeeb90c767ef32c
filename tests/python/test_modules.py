"""nn.Module against torch.nn.Module: registration, traversal order, state_dict round trips and
their error text, train/eval, zero_grad, printed module trees, and default initialisation."""

import math

import numpy as np
import pytest

import fastnn
from oracle import assert_close, torch
from models import lenet


def as_torch_text(text):
    return text.replace("torch.", "fastnn.")


def nested(m):
    """A model exercising every kind of registration (buffers, shared and None submodules...)."""
    nn = m.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)
            self.register_buffer("running", m.zeros(3))
            self.register_buffer("scratch", m.ones(2), persistent=False)
            self.scale = nn.Parameter(m.ones(1))
            self.plain = m.zeros(2)  # a plain tensor attribute: not registered
            self.act = nn.ReLU()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.b1 = Block()
            self.w = nn.Parameter(m.ones(2, 2))
            self.b2 = Block()
            self.shared = self.b1  # same module twice: listed once
            self.seq = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
            self.empty = nn.Sequential()
            self.missing = None

    return Net()


def names(pairs):
    return [k for k, _ in pairs]


def copy_weights(src_torch, dst_fastnn):
    """Loads a torch module's state_dict into a fastnn module (through NumPy)."""
    sd = {k: fastnn.tensor(v.detach().numpy().copy()) for k, v in src_torch.state_dict().items()}
    dst_fastnn.load_state_dict(sd)


# ---------------------------------------------------------------------------------------------
# registration and traversal
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        lambda n: names(n.named_parameters()),
        lambda n: names(n.named_parameters(remove_duplicate=False)),
        lambda n: names(n.named_parameters(prefix="model")),
        lambda n: names(n.named_parameters(recurse=False)),
        lambda n: names(n.named_buffers()),
        lambda n: names(n.named_children()),
        lambda n: [type(c).__name__ for c in n.children()],
        lambda n: names(n.named_modules()),
        lambda n: [type(c).__name__ for c in n.modules()],
        lambda n: list(n.state_dict().keys()),
        lambda n: [tuple(p.shape) for p in n.parameters()],
        lambda n: len(list(n.parameters())),
        lambda n: [k for k in ("lin", "running", "scale", "plain", "act") if k in dir(n.b1)],
    ],
)
def test_traversal_matches_torch(query):
    assert query(nested(fastnn)) == query(nested(torch))


def test_lenet_parameters_in_registration_order():
    f, t = lenet(fastnn), lenet(torch)
    assert (
        names(f.named_parameters())
        == names(t.named_parameters())
        == [
            "conv1.weight",
            "conv1.bias",
            "conv2.weight",
            "conv2.bias",
            "fc1.weight",
            "fc1.bias",
            "fc2.weight",
            "fc2.bias",
            "fc3.weight",
            "fc3.bias",
        ]
    )
    assert [tuple(p.shape) for p in f.parameters()] == [tuple(p.shape) for p in t.parameters()]
    assert all(isinstance(p, fastnn.nn.Parameter) and p.requires_grad and p.is_leaf for p in f.parameters())


def test_reassignment_and_deletion_update_registries():
    for m in (fastnn, torch):
        n = nested(m)
        n.missing = n.seq  # None placeholder -> module
        n.b2.lin.bias = None  # parameter -> None: stays registered as None
        n.b2.running = m.full((3,), 2.0)  # buffer reassigned: stays a buffer
        del n.b1
        n.w = m.nn.Parameter(m.zeros(4))  # replaced parameter
        n.extra = m.nn.Linear(1, 1)
        n.w2 = m.nn.Parameter(m.zeros(1))
        result = (
            names(n.named_parameters()),
            names(n.named_buffers()),
            names(n.named_children()),
            tuple(n.w.shape),
            n.b2.running.numpy().tolist(),
            n.b2.lin.bias is None,
        )
        if m is fastnn:
            ours = result
        else:
            assert ours == result


def test_plain_tensor_attribute_is_not_registered():
    n = nested(fastnn)
    assert "plain" not in dict(n.b1.named_parameters()) and "plain" not in dict(n.b1.named_buffers())
    assert n.b1.plain.shape == (2,)
    assert isinstance(n.b1.__dict__["plain"], fastnn.Tensor)


def test_registration_errors_match_torch():
    def err(m, action):
        n = nested(m)
        try:
            action(m, n)
        except Exception as e:  # noqa: BLE001 - comparing the exception itself
            return type(e).__name__, as_torch_text(str(e))
        return None

    actions = [
        lambda m, n: n.register_buffer("a.b", m.zeros(1)),
        lambda m, n: n.register_parameter("a.b", None),
        lambda m, n: n.add_module("a.b", m.nn.ReLU()),
        lambda m, n: n.register_buffer("", m.zeros(1)),
        lambda m, n: n.register_parameter("", None),
        lambda m, n: n.add_module("", m.nn.ReLU()),
        lambda m, n: n.register_buffer("seq", m.zeros(1)),  # name taken by a module
        lambda m, n: n.b1.register_buffer("bad", [1, 2]),
        lambda m, n: n.b1.register_parameter("bad", m.zeros(1)),
        lambda m, n: n.add_module("bad", 3),
        lambda m, n: setattr(n, "seq", 3),
        lambda m, n: n.nope,
        lambda m, n: setattr(n.b1, "running", 3),
    ]
    for i, action in enumerate(actions):
        ours, theirs = err(fastnn, action), err(torch, action)
        assert theirs is not None and ours is not None, f"action {i}: {ours} vs {theirs}"
        assert ours[0] == theirs[0], f"action {i}: {ours} vs {theirs}"
        if i not in (7, 8, 9, 10, 12):  # these name the offending type, spelled differently
            assert ours[1] == theirs[1], f"action {i}"
    with pytest.raises(
        TypeError,
        match=r"cannot assign '.*' as parameter 'weight' \(fastnn.nn.Parameter or None "
        r"expected\)",
    ):
        nested(fastnn).b1.lin.weight = fastnn.zeros(3, 3)
    with pytest.raises(AttributeError, match="cannot assign .* before Module.__init__"):

        class Bad(fastnn.nn.Module):
            def __init__(self):
                self.x = fastnn.nn.Linear(1, 1)

        Bad()


def test_forward_not_implemented():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward" function'):
        fastnn.nn.Module()(1)


# ---------------------------------------------------------------------------------------------
# train / eval and gradients
# ---------------------------------------------------------------------------------------------
def test_train_eval_propagate():
    for m in (fastnn, torch):
        n = nested(m)
        assert all(x.training for x in n.modules())
        assert n.eval() is n
        assert not any(x.training for x in n.modules())
        n.b1.train()
        flags = [x.training for x in n.modules()]
        if m is fastnn:
            ours = flags
        else:
            assert ours == flags
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        nested(fastnn).train("yes")


def test_zero_grad():
    n = lenet(fastnn)
    n(fastnn.randn(2, 1, 32, 32)).sum().backward()
    assert all(p.grad is not None and np.any(p.grad.numpy()) for p in n.parameters())
    n.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not np.any(p.grad.numpy()) for p in n.parameters())
    n(fastnn.randn(2, 1, 32, 32)).sum().backward()
    n.zero_grad()  # torch's default: set_to_none=True
    assert all(p.grad is None for p in n.parameters())


def test_requires_grad_and_double():
    n = lenet(fastnn)
    n.requires_grad_(False)
    assert not any(p.requires_grad for p in n.parameters())
    n.requires_grad_(True)
    w = n.conv1.weight
    before = w.detach().numpy().astype(np.float64)
    assert n.double() is n
    assert n.conv1.weight is w and w.dtype == fastnn.float64  # same Parameter object, new data
    np.testing.assert_array_equal(w.detach().numpy(), before)
    assert n(fastnn.randn(1, 1, 32, 32, dtype=fastnn.float64)).dtype == fastnn.float64


# ---------------------------------------------------------------------------------------------
# state_dict / load_state_dict
# ---------------------------------------------------------------------------------------------
def test_state_dict_detached_shared_and_round_trip():
    a, b = lenet(fastnn), lenet(fastnn)
    sd = a.state_dict()
    assert list(sd) == names(a.named_parameters())
    assert not any(v.requires_grad for v in sd.values())
    assert all(v.requires_grad for v in a.state_dict(keep_vars=True).values())
    # the state dict shares memory with the parameters
    with fastnn.no_grad():
        a.fc3.bias.fill_(0.5)
    assert np.all(sd["fc3.bias"].numpy() == 0.5)
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    x = fastnn.randn(2, 1, 32, 32)
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    # loading copies values: b keeps its own storage
    with fastnn.no_grad():
        a.fc3.bias.fill_(-1.0)
    assert np.all(b.fc3.bias.detach().numpy() == 0.5)


def test_state_dict_buffers_and_non_persistent():
    n = nested(fastnn)
    keys = list(n.state_dict())
    assert "b1.running" in keys and "b1.scratch" not in keys
    assert keys == list(nested(torch).state_dict())


def test_load_state_dict_from_torch_gives_torch_outputs():
    t, f = lenet(torch), lenet(fastnn)
    copy_weights(t, f)
    x = np.random.default_rng(0).standard_normal((3, 1, 32, 32)).astype(np.float32)
    assert_close(f(fastnn.tensor(x)), t(torch.tensor(x)))


def _load_error(m, mutate, strict=True):
    net = m.nn.Sequential(m.nn.Linear(2, 3), m.nn.ReLU(), m.nn.Linear(3, 1))
    sd = dict(net.state_dict())
    mutate(m, sd)
    try:
        result = net.load_state_dict(sd, strict=strict)
    except RuntimeError as e:
        return "error", as_torch_text(str(e))
    return "ok", repr(result), list(result.missing_keys), list(result.unexpected_keys)


def _drop(*keys):
    def mutate(m, sd):
        for k in keys:
            del sd[k]

    return mutate


def _add(*keys):
    def mutate(m, sd):
        for k in keys:
            sd[k] = m.zeros(1)

    return mutate


def _resize(key, *shape):
    def mutate(m, sd):
        sd[key] = m.zeros(*shape)

    return mutate


def _all(*fns):
    def mutate(m, sd):
        for f in fns:
            f(m, sd)

    return mutate


@pytest.mark.parametrize(
    "mutate",
    [
        _drop("0.bias"),
        _drop("0.bias", "2.weight"),
        _add("extra"),
        _add("extra", "0.extra"),
        _resize("2.weight", 2, 3),
        _resize("0.bias", 4),
        _all(_drop("0.bias"), _add("extra"), _resize("2.weight", 1, 2)),
        _all(_drop("0.bias", "2.bias"), _add("a", "b")),
        _drop(),
    ],
    ids=["missing", "missing2", "unexpected", "unexpected2", "size", "size-bias", "all", "several", "none"],
)
@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_errors_match_torch(mutate, strict):
    ours, theirs = _load_error(fastnn, mutate, strict), _load_error(torch, mutate, strict)
    assert ours == theirs


def test_load_state_dict_size_mismatch_text():
    net = fastnn.nn.Linear(2, 3)
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict({"weight": fastnn.zeros(3, 3), "bias": fastnn.zeros(3)})
    assert str(e.value) == (
        "Error(s) in loading state_dict for Linear:\n\tsize mismatch for weight: copying a param "
        "with shape fastnn.Size([3, 3]) from checkpoint, the shape in current model is "
        "fastnn.Size([3, 2])."
    )
    # like torch, the keys that fit are still copied
    tnet = torch.nn.Linear(2, 3)
    with pytest.raises(RuntimeError):
        tnet.load_state_dict({"weight": torch.zeros(3, 3), "bias": torch.zeros(3)})
    assert np.all(tnet.bias.detach().numpy() == 0)
    assert np.all(net.bias.detach().numpy() == 0)


# ---------------------------------------------------------------------------------------------
# printing
# ---------------------------------------------------------------------------------------------
PRINTED = [
    "nn.Conv2d(1, 6, 5)",
    "nn.Conv2d(1, 6, (3, 5), stride=2, padding=1, dilation=2, groups=1, bias=False)",
    "nn.Conv2d(4, 8, 3, stride=(1, 2), padding=(1, 0), dilation=(2, 1), groups=4)",
    "nn.Conv2d(4, 4, 3, padding='same', groups=4)",
    "nn.Conv2d(4, 4, 3, padding='valid')",
    "nn.Conv2d(4, 4, 3, padding=0, dilation=1, padding_mode='zeros')",
    "nn.Conv2d(2, 4, 1, bias=False)",
    "nn.Linear(3, 4)",
    "nn.Linear(3, 4, bias=False)",
    "nn.ReLU()",
    "nn.ReLU(inplace=True)",
    "nn.MaxPool2d(2)",
    "nn.MaxPool2d((2, 3), stride=1, padding=1, dilation=2, ceil_mode=True)",
    "nn.MaxPool2d(3, 2, return_indices=True)",
    "nn.Flatten()",
    "nn.Flatten(0, 2)",
    "nn.Sequential()",
    "nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 2))",
    "nn.Sequential(nn.Sequential(nn.Linear(2, 3), nn.ReLU()), nn.Linear(3, 1))",
    "nn.MSELoss()",
    "nn.MSELoss(reduction='sum')",
    "nn.CrossEntropyLoss()",
    "nn.CrossEntropyLoss(weight=m.ones(3), ignore_index=1, label_smoothing=0.1)",
    "nn.NLLLoss()",
    "nn.AvgPool2d(2)",
    "nn.AvgPool2d(3, 2, 1)",
    "nn.Softmax(dim=1)",
    "nn.LogSoftmax(dim=-1)",
    "lenet(m)",
    "nested(m)",
]


@pytest.mark.parametrize("expr", PRINTED)
def test_print_matches_torch(expr):
    texts = []
    for m in (torch, fastnn):
        nn = m.nn  # noqa: F841 - used by eval
        texts.append(as_torch_text(repr(eval(expr))))
    assert texts[1] == texts[0]


def test_print_lenet_exact_text():
    assert (
        repr(lenet(fastnn))
        == """Net(
  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))
  (fc1): Linear(in_features=400, out_features=120, bias=True)
  (fc2): Linear(in_features=120, out_features=84, bias=True)
  (fc3): Linear(in_features=84, out_features=10, bias=True)
)"""
    )


def test_print_parameter_matches_torch():
    data = np.array([[1.5, -2.0], [0.25, 3.0]], np.float32)
    assert repr(fastnn.nn.Parameter(fastnn.tensor(data))) == as_torch_text(repr(torch.nn.Parameter(torch.tensor(data))))


def test_conv2d_module_argument_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        fastnn.nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        fastnn.nn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        fastnn.nn.Conv2d(4, 4, 3, groups=0)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        fastnn.nn.Conv2d(4, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="Invalid padding string 'full'"):
        fastnn.nn.Conv2d(4, 4, 3, padding="full")


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
def test_conv2d_same_module_forward_matches_torch():
    for k, d in [(3, 1), (2, 1), (4, 2), ((2, 3), 3)]:
        t = torch.nn.Conv2d(3, 4, k, padding="same", dilation=d)
        f = fastnn.nn.Conv2d(3, 4, k, padding="same", dilation=d)
        copy_weights(t, f)
        x = np.random.default_rng(d).standard_normal((2, 3, 7, 6)).astype(np.float32)
        assert_close(f(fastnn.tensor(x)), t(torch.tensor(x)))


# ---------------------------------------------------------------------------------------------
# default initialisation
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make,fan_in",
    [
        (lambda: fastnn.nn.Conv2d(16, 32, 3), 16 * 9),
        (lambda: fastnn.nn.Conv2d(8, 32, (3, 5), groups=4), 2 * 15),
        (lambda: fastnn.nn.Linear(400, 120), 400),
        (lambda: fastnn.nn.Linear(1000, 64), 1000),
    ],
)
def test_default_init_bounds_and_spread(make, fan_in):
    fastnn.manual_seed(7)
    layer = make()
    bound = 1.0 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)): gain sqrt(1/3) * sqrt(3 / fan_in)
    w = layer.weight.detach().numpy().astype(np.float64).ravel()
    b = layer.bias.detach().numpy().astype(np.float64).ravel()
    assert w.min() >= -bound and w.max() <= bound
    assert b.min() >= -bound and b.max() <= bound
    # spread: a U(-bound, bound) sample reaches close to both ends, has std bound/sqrt(3) and mean ~0
    assert w.min() < -0.95 * bound and w.max() > 0.95 * bound
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.05
    assert abs(w.mean()) < 0.05 * bound
    hist, _ = np.histogram(w, bins=4, range=(-bound, bound))
    assert hist.min() > 0.8 * w.size / 4, hist
    # the bias uses the same bound, and is not a constant
    assert b.std() > 0.2 * bound


def test_init_same_bounds_as_torch():
    # many re-initialisations: the largest magnitude each library reaches approaches the same bound
    for make in (lambda m: m.nn.Conv2d(6, 16, 5), lambda m: m.nn.Linear(84, 10)):
        torch.manual_seed(0)
        fastnn.manual_seed(0)
        ours, theirs = make(fastnn), make(torch)
        reach = {}
        for lib, layer in (("ours", ours), ("theirs", theirs)):
            top = [0.0, 0.0]
            for _ in range(20):
                layer.reset_parameters()
                for i, p in enumerate(layer.parameters()):
                    top[i] = max(top[i], float(np.abs(p.detach().numpy()).max()))
            reach[lib] = top
        fan_in = int(np.prod(tuple(theirs.weight.shape)[1:]))
        for a, b in zip(reach["ours"], reach["theirs"]):
            assert a <= 1 / math.sqrt(fan_in) and b <= 1 / math.sqrt(fan_in)
            assert a == pytest.approx(b, rel=0.05)
        assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
        assert all(p.dtype == fastnn.float32 for p in ours.parameters())


def test_manual_seed_reproducible():
    fastnn.manual_seed(123)
    a = lenet(fastnn)
    fastnn.manual_seed(123)
    b = lenet(fastnn)
    fastnn.manual_seed(124)
    c = lenet(fastnn)
    for (name, p), q, r in zip(a.named_parameters(), b.parameters(), c.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=name)
        assert not np.array_equal(p.detach().numpy(), r.detach().numpy()), name
    # two layers created in a row draw different numbers
    assert not np.array_equal(a.fc2.bias.detach().numpy()[:10], a.fc3.bias.detach().numpy())


def test_init_functions():
    fastnn.manual_seed(0)
    w = fastnn.empty(64, 32)
    fastnn.nn.init.kaiming_uniform_(w, nonlinearity="relu")
    bound = math.sqrt(2.0) * math.sqrt(3.0 / 32)
    assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.95 * bound
    fastnn.nn.init.xavier_uniform_(w)
    bound = math.sqrt(6.0 / (64 + 32))
    assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.95 * bound
    fastnn.nn.init.zeros_(w)
    assert not np.any(w.numpy())
    assert fastnn.nn.init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", math.sqrt(5))
    )
