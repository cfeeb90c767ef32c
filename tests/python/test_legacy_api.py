"""The older API tutorials still use, against torch 2.13: fastnn.Tensor(...) and the typed classes, Tensor.type(),
autograd.Variable, softmax without dim, legacy loss arguments, weighted mse/l1 losses and out=."""

import re
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F
from oracle import assert_close

torch = pytest.importorskip("torch", reason="PyTorch (CPU, 2.13.0) is the test oracle")
TF = torch.nn.functional


def _name(dtype):
    return str(dtype).split(".")[1]


def _same(ours, theirs):
    """Same shape, dtype and values (uninitialised memory: shape and dtype only)."""
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert _name(ours.dtype) == _name(theirs.dtype)


def _outcome(fn):
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001
        return type(e).__name__, re.sub(r"^\[[\w.]+\] ", "", str(e))


# ---- legacy constructors ----

DATA_CALLS = [
    ("Tensor list", lambda m: m.Tensor([1, 2])),
    ("Tensor tuple", lambda m: m.Tensor((1, 2.5))),
    ("Tensor nested", lambda m: m.Tensor([[1, 2], [3, 4]])),
    ("Tensor bools", lambda m: m.Tensor([True, False])),
    ("Tensor numpy", lambda m: m.Tensor(np.array([1, 2]))),
    ("Tensor float64 numpy", lambda m: m.Tensor(np.array([1.5, 2.0]))),
    ("FloatTensor", lambda m: m.FloatTensor([1, 2])),
    ("DoubleTensor", lambda m: m.DoubleTensor([1, 2.5])),
    ("LongTensor", lambda m: m.LongTensor([1, 2])),
    ("LongTensor truncates", lambda m: m.LongTensor([1.7, -2.7])),
    ("BoolTensor", lambda m: m.BoolTensor([1, 0])),
    ("Tensor empty", lambda m: m.Tensor()),
    ("FloatTensor empty", lambda m: m.FloatTensor()),
    ("LongTensor empty", lambda m: m.LongTensor()),
    ("Tensor device", lambda m: m.Tensor([1.0], device="cpu")),
]


@pytest.mark.parametrize("name,call", DATA_CALLS, ids=[c[0] for c in DATA_CALLS])
def test_legacy_constructors_from_data(name, call):
    assert_close(call(fastnn), call(torch))


SIZE_CALLS = [
    ("Tensor sizes", lambda m: m.Tensor(2, 3)),
    ("Tensor one size", lambda m: m.Tensor(3)),
    ("Tensor Size", lambda m: m.Tensor(m.Size([2, 2]))),
    ("Tensor zero", lambda m: m.Tensor(0)),
    ("LongTensor sizes", lambda m: m.LongTensor(2, 2)),
    ("DoubleTensor sizes", lambda m: m.DoubleTensor(4)),
    ("BoolTensor sizes", lambda m: m.BoolTensor(1, 2)),
]


@pytest.mark.parametrize("name,call", SIZE_CALLS, ids=[c[0] for c in SIZE_CALLS])
def test_legacy_constructors_from_sizes(name, call):
    _same(call(fastnn), call(torch))


def test_legacy_constructor_from_a_tensor_aliases_it():
    for m in (fastnn, torch):
        x = m.tensor([1.0, 2.0])
        y = m.Tensor(x)
        y[0] = 5.0
        assert x.tolist() == [5.0, 2.0]
        assert m.FloatTensor(x).tolist() == [5.0, 2.0]
        assert m.Tensor(m.tensor([1, 2])).dtype == m.int64  # Tensor(t) keeps t's dtype
    with pytest.raises(TypeError, match=r"^\[LongTensor\] expected a tensor of dtype fastnn.int64, got fastnn.float32"):
        fastnn.LongTensor(fastnn.ones(2))
    assert _outcome(lambda: torch.LongTensor(torch.ones(2)))[0] == "TypeError"


BAD_CALLS = [
    ("float", lambda m: m.Tensor(2.5), TypeError),
    ("string", lambda m: m.Tensor("a"), TypeError),
    ("size then float", lambda m: m.Tensor(2, 3.0), TypeError),
    ("dtype keyword", lambda m: m.Tensor([1, 2], dtype=m.float64), TypeError),
    ("None", lambda m: m.Tensor(None), TypeError),
]


@pytest.mark.parametrize("name,call,exc", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_legacy_constructor_errors(name, call, exc):
    assert _outcome(lambda: call(torch))[0] == exc.__name__
    with pytest.raises(exc, match="Tensor"):
        call(fastnn)


def test_legacy_constructor_devices():
    with pytest.raises(
        RuntimeError,
        match=r"^\[Tensor\] device 'cuda' is not available: fastnn was built for the "
        r"CPU only$",
    ):
        fastnn.Tensor(2, device="cuda")
    assert _outcome(lambda: torch.Tensor(2, device="cuda"))[0] == "RuntimeError"
    with pytest.raises(RuntimeError, match=r"^\[LongTensor\] device 'cuda'"):
        fastnn.LongTensor([1], device="cuda")


@pytest.mark.parametrize(
    "cls,dtype",
    [
        ("ByteTensor", "uint8"),
        ("IntTensor", "int32"),
        ("HalfTensor", "float16"),
        ("CharTensor", "int8"),
        ("ShortTensor", "int16"),
        ("BFloat16Tensor", "bfloat16"),
    ],
)
def test_narrow_typed_classes_construct_their_dtype(cls, dtype):
    ours, theirs = getattr(fastnn, cls)([1, 2]), getattr(torch, cls)([1, 2])
    assert ours.dtype is getattr(fastnn, dtype) and theirs.dtype == getattr(torch, dtype)
    assert ours.tolist() == theirs.tolist() and ours.type() == theirs.type() == "torch." + cls
    assert isinstance(ours, getattr(fastnn, cls)) and not isinstance(fastnn.ones(1), getattr(fastnn, cls))


def test_isinstance_with_typed_classes_as_torch():
    classes = ["FloatTensor", "DoubleTensor", "LongTensor", "BoolTensor", "ByteTensor", "IntTensor"]
    values = [
        lambda m: m.ones(2),
        lambda m: m.ones(2, dtype=m.float64),
        lambda m: m.arange(3),
        lambda m: m.ones(2) > 0,
        lambda m: m.nn.Parameter(m.ones(2)),
        lambda m: 1.0,
        lambda m: [1.0],
    ]
    for make in values:
        for cls in classes:
            assert isinstance(make(fastnn), getattr(fastnn, cls)) == isinstance(make(torch), getattr(torch, cls)), cls
        assert isinstance(make(fastnn), fastnn.Tensor) == isinstance(make(torch), torch.Tensor)
    assert issubclass(fastnn.FloatTensor, fastnn.Tensor) == issubclass(torch.FloatTensor, torch.Tensor) is False
    assert type(fastnn.FloatTensor([1])) is fastnn.Tensor and type(torch.FloatTensor([1])) is torch.Tensor
    assert fastnn.FloatTensor.dtype == fastnn.float32 and fastnn.LongTensor.dtype == fastnn.int64
    assert fastnn.FloatTensor.__name__ == "FloatTensor" and repr(fastnn.FloatTensor) == "<class 'fastnn.FloatTensor'>"


def test_parameter_still_constructs_through_tensor():
    p = fastnn.nn.Parameter(fastnn.ones(2))
    assert isinstance(p, fastnn.nn.Parameter) and p.requires_grad and p.tolist() == [1.0, 1.0]
    assert fastnn.nn.Parameter().shape == (0,)


# ---- Tensor.type() and conversions ----


def test_type_names_as_torch():
    for make in (
        lambda m: m.ones(2),
        lambda m: m.ones(2, dtype=m.float64),
        lambda m: m.arange(2),
        lambda m: m.ones(2) > 0,
    ):
        assert make(fastnn).type() == make(torch).type()
    assert fastnn.ones(1).type() == "torch.FloatTensor"  # torch's exact string, so comparisons in scripts hold


TYPE_CALLS = [
    ("class", lambda m, x: x.type(m.DoubleTensor)),
    ("string", lambda m, x: x.type("torch.DoubleTensor")),
    ("long string", lambda m, x: x.type("torch.LongTensor")),
    ("dtype", lambda m, x: x.type(m.float64)),
    ("dtype keyword", lambda m, x: x.type(dtype=m.int64)),
    ("bool class", lambda m, x: x.type(m.BoolTensor)),
    ("Tensor class", lambda m, x: x.type(m.Tensor)),
    ("non_blocking", lambda m, x: x.type(m.float64, non_blocking=True)),
]


@pytest.mark.parametrize("name,call", TYPE_CALLS, ids=[c[0] for c in TYPE_CALLS])
def test_type_conversions(name, call):
    a = np.array([0.0, 1.5, -2.5], dtype=np.float32)
    assert_close(call(fastnn, fastnn.tensor(a)), call(torch, torch.tensor(a)))


def test_type_same_returns_self_and_errors():
    x = fastnn.ones(2)
    assert x.type(fastnn.FloatTensor) is x and x.type("torch.FloatTensor") is x
    assert torch.ones(2).type(torch.FloatTensor) is not None
    for arg, exc, msg in (
        ("torch.Foo", ValueError, "invalid type: 'torch.Foo'"),
        ("float", ValueError, "invalid type"),
        (5, TypeError, "dtype must be a type, str, or dtype object"),
    ):
        with pytest.raises(exc, match=r"^\[type\] " + msg):
            x.type(arg)
        assert _outcome(lambda: torch.ones(2).type(arg))[0] == exc.__name__
    with pytest.raises(RuntimeError, match=r"^\[type\] device 'cuda' is not available"):
        x.type("torch.cuda.FloatTensor")
    assert x.type(fastnn.ByteTensor).dtype is fastnn.uint8 and x.type("torch.IntTensor").dtype is fastnn.int32


@pytest.mark.parametrize("method", ["float", "double", "long", "bool"])
def test_conversion_methods(method):
    a = np.array([0.0, 1.7, -2.5], dtype=np.float32)
    assert_close(getattr(fastnn.tensor(a), method)(), getattr(torch.tensor(a), method)())


@pytest.mark.parametrize(
    "method,dtype",
    [
        ("byte", "uint8"),
        ("int", "int32"),
        ("half", "float16"),
        ("char", "int8"),
        ("short", "int16"),
        ("bfloat16", "bfloat16"),
    ],
)
def test_narrow_conversions_as_torch(method, dtype):
    ours, theirs = (
        getattr(fastnn.tensor([1.5, -2.0, 300.0]), method)(),
        getattr(torch.tensor([1.5, -2.0, 300.0]), method)(),
    )
    assert ours.dtype is getattr(fastnn, dtype) and theirs.dtype == getattr(torch, dtype)
    assert ours.tolist() == theirs.tolist()


# ---- autograd.Variable ----


def test_variable_returns_a_tensor():
    for m in (fastnn, torch):
        x = m.ones(2)
        v = m.autograd.Variable(x, requires_grad=True)
        assert type(v) is m.Tensor and v.requires_grad and v.is_leaf and v is not x and not x.requires_grad
        v.detach()[0] = 3.0
        assert x.tolist() == [3.0, 1.0]  # shares memory
        assert m.autograd.Variable(x) is not x and not m.autograd.Variable(x).requires_grad
        assert isinstance(x, m.autograd.Variable) and not isinstance(1, m.autograd.Variable)
        assert tuple(m.autograd.Variable().shape) == (0,)
    with pytest.warns(UserWarning, match=r"^volatile was removed and now has no effect"):
        fastnn.autograd.Variable(fastnn.ones(1), volatile=True)
    with pytest.raises(TypeError, match=r"^\[Variable\] Variable data has to be a tensor, but got list$"):
        fastnn.autograd.Variable([1, 2])
    with pytest.raises(
        RuntimeError,
        match=r"^\[Variable\] Only Tensors of floating point and complex dtype can "
        r"require gradients$",
    ):
        fastnn.autograd.Variable(fastnn.tensor([1, 2]), requires_grad=True)
    assert _outcome(lambda: torch.autograd.Variable([1, 2]))[0] == "TypeError"


# ---- softmax without dim ----

SOFTMAXES = [
    ("softmax", F.softmax, TF.softmax),
    ("log_softmax", F.log_softmax, TF.log_softmax),
    ("softmin", F.softmin, TF.softmin),
]


@pytest.mark.parametrize("name,ours,theirs", SOFTMAXES, ids=[s[0] for s in SOFTMAXES])
@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (2, 3, 4), (2, 3, 2, 2)])
def test_softmax_without_dim_warns_and_picks_torchs_dim(name, ours, theirs, shape):
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    msg = f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument."
    with pytest.warns(UserWarning, match=re.escape(msg)) as record:
        out = ours(fastnn.tensor(a))
    assert record[0].filename == __file__  # points at the caller, as torch's stacklevel does
    with pytest.warns(UserWarning, match=re.escape(msg)):
        expected = theirs(torch.tensor(a))
    assert_close(out, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_close(ours(fastnn.tensor(a), dim=-1), theirs(torch.tensor(a), dim=-1))


@pytest.mark.parametrize("cls", ["Softmax", "LogSoftmax", "Softmin"])
def test_softmax_layers_without_dim(cls):
    a = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    ours, theirs = getattr(fastnn.nn, cls)(), getattr(torch.nn, cls)()
    assert repr(ours) == repr(theirs)
    with pytest.warns(UserWarning, match="Implicit dimension choice") as record:
        out = ours(fastnn.tensor(a))
    assert record[0].filename == __file__
    with pytest.warns(UserWarning):
        assert_close(out, theirs(torch.tensor(a)))
    assert_close(getattr(fastnn.nn, cls)(0)(fastnn.tensor(a)), getattr(torch.nn, cls)(0)(torch.tensor(a)))


# ---- losses: weight= and the legacy size_average/reduce ----


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weighted_mse_and_l1_as_torch(loss, reduction):
    rng = np.random.default_rng(2)
    x, y, w = (rng.standard_normal((2, 3)) for _ in range(3))
    w = np.abs(w)
    fx, tx = fastnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours = getattr(F, loss)(fx, fastnn.tensor(y), reduction=reduction, weight=fastnn.tensor(w))
    theirs = getattr(TF, loss)(tx, torch.tensor(y), reduction=reduction, weight=torch.tensor(w))
    assert_close(ours, theirs)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    ours.sum().backward()
    theirs.sum().backward()
    assert_close(fx.grad, tx.grad)


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss"])
def test_weight_must_match_the_input(loss):
    with pytest.raises(ValueError, match=rf"^\[{loss}\] Weights and input must have the same size.$"):
        getattr(F, loss)(fastnn.ones(2, 3), fastnn.ones(2, 3), weight=fastnn.ones(3))
    assert _outcome(lambda: getattr(TF, loss)(torch.ones(2, 3), torch.ones(2, 3), weight=torch.ones(3))) == (
        "ValueError",
        "Weights and input must have the same size.",
    )
    with pytest.raises(TypeError, match=rf"^\[{loss}\] weight must be a Tensor"):
        getattr(F, loss)(fastnn.ones(2), fastnn.ones(2), weight=[1.0, 2.0])


@pytest.mark.parametrize(
    "size_average,reduce", [(False, None), (True, None), (None, False), (False, True), (True, False)]
)
def test_size_average_and_reduce_as_torch(size_average, reduce):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated") as ours_w:
        ours = F.mse_loss(fastnn.tensor(x), fastnn.tensor(y), size_average=size_average, reduce=reduce)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated") as theirs_w:
        theirs = TF.mse_loss(torch.tensor(x), torch.tensor(y), size_average=size_average, reduce=reduce)
    assert str(ours_w[0].message) == str(theirs_w[0].message)
    assert_close(ours, theirs)
    with pytest.warns(UserWarning):
        lo = fastnn.nn.L1Loss(size_average=size_average, reduce=reduce)
    with pytest.warns(UserWarning):
        lt = torch.nn.L1Loss(size_average=size_average, reduce=reduce)
    assert lo.reduction == lt.reduction


# ---- out= ----


def _pair(a):
    return fastnn.tensor(a), torch.tensor(a)


A = np.array([[0.5, 1.5, 2.0], [3.0, 0.25, 4.0]], dtype=np.float32)
B = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 3.0]], dtype=np.float32)
L = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)

OUT_CALLS = [
    ("add", lambda m, a, b, l, o: m.add(a, a, alpha=2, out=o)),
    ("sub", lambda m, a, b, l, o: m.sub(a, 1.0, out=o)),
    ("mul", lambda m, a, b, l, o: m.mul(a, 2, out=o)),
    ("div", lambda m, a, b, l, o: m.div(a, 4, out=o)),
    ("pow", lambda m, a, b, l, o: m.pow(a, 2, out=o)),
    ("exp", lambda m, a, b, l, o: m.exp(a, out=o)),
    ("log", lambda m, a, b, l, o: m.log(a, out=o)),
    ("sqrt", lambda m, a, b, l, o: m.sqrt(a, out=o)),
    ("abs", lambda m, a, b, l, o: m.abs(-a, out=o)),
    ("neg", lambda m, a, b, l, o: m.neg(a, out=o)),
    ("clamp", lambda m, a, b, l, o: m.clamp(a, 1.0, 2.0, out=o)),
    ("sigmoid", lambda m, a, b, l, o: m.sigmoid(a, out=o)),
    ("tanh", lambda m, a, b, l, o: m.tanh(a, out=o)),
    ("reciprocal", lambda m, a, b, l, o: m.reciprocal(a, out=o)),
    ("matmul", lambda m, a, b, l, o: m.matmul(a, b, out=o)),
    ("mm", lambda m, a, b, l, o: m.mm(a, b, out=o)),
    ("bmm", lambda m, a, b, l, o: m.bmm(a.unsqueeze(0), b.unsqueeze(0), out=o)),
    ("addmm", lambda m, a, b, l, o: m.addmm(m.ones(2, 2), a, b, out=o)),
    ("cat", lambda m, a, b, l, o: m.cat([a, a], 1, out=o)),
    ("stack", lambda m, a, b, l, o: m.stack([a, a], out=o)),
    ("sum", lambda m, a, b, l, o: m.sum(a, 1, out=o)),
    ("sum keepdim", lambda m, a, b, l, o: m.sum(a, 0, True, out=o)),
    ("mean", lambda m, a, b, l, o: m.mean(a, 1, out=o)),
    ("mean all", lambda m, a, b, l, o: m.mean(a, out=o)),
    ("softmax", lambda m, a, b, l, o: m.softmax(a, 1, out=o)),
    ("log_softmax", lambda m, a, b, l, o: m.log_softmax(a, 0, out=o)),
    ("gt", lambda m, a, b, l, o: m.gt(a, 1.0, out=o)),
    ("max all", lambda m, a, b, l, o: m.max(a, out=o)),
    ("argmax", lambda m, a, b, l, o: m.argmax(a, 1, out=o)),
    ("index_select", lambda m, a, b, l, o: m.index_select(a, 1, m.tensor([2, 0]), out=o)),
    ("long add", lambda m, a, b, l, o: m.add(l, l, out=o)),
    ("long sum", lambda m, a, b, l, o: m.sum(l, 0, out=o)),
]
OUT_DTYPES = ["float32", "float64", "int64", "bool"]


@pytest.mark.parametrize("dtype", OUT_DTYPES)
@pytest.mark.parametrize("name,call", OUT_CALLS, ids=[c[0] for c in OUT_CALLS])
def test_out_as_torch(name, call, dtype):
    """Empty out (resized silently), in every dtype: same values and dtype, or the same kind of error."""
    if "sum" in name and dtype == "bool":
        pytest.skip("fastnn's sum has no bool dtype (torch sums into bool as a logical or)")
    fa, ta = _pair(A)
    fb, tb = _pair(B)
    fl, tl = _pair(L)
    fo, to = fastnn.empty(0, dtype=getattr(fastnn, dtype)), torch.empty(0, dtype=getattr(torch, dtype))
    theirs = _outcome(lambda: call(torch, ta, tb, tl, to))
    if theirs[0] != "ok":
        ours = _outcome(lambda: call(fastnn, fa, fb, fl, fo))
        assert ours[0] == theirs[0], (ours, theirs)
        assert ours[1] == theirs[1] or not re.search(
            "can't be cast|Expected out tensor|Found dtype|same scalar", theirs[1]
        )
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an empty out is resized without a warning
        result = call(fastnn, fa, fb, fl, fo)
    assert result is fo
    assert_close(fo, to, atol=1e-6, rtol=1e-5)  # computed in the inputs' float32, whatever out's dtype


def test_out_resizes_with_torchs_warning_and_writes_in_place():
    fa, ta = _pair(A)
    fo, to = fastnn.zeros(5), torch.zeros(5)
    with pytest.warns(
        UserWarning,
        match=re.escape(
            "An output with one or more elements was resized since it had "
            "shape [5], which does not match the required output shape "
            "[2, 3]. This behavior is deprecated"
        ),
    ):
        fastnn.add(fa, 1, out=fo)
    with pytest.warns(UserWarning):
        torch.add(ta, 1, out=to)
    assert_close(fo, to)
    # the right shape: written into out's own memory, views included, version bumped
    base = fastnn.zeros(2, 6)
    view = base[:, ::2]
    v = base._version
    assert fastnn.mul(fa, 2, out=view) is view
    assert base[:, ::2].tolist() == (fa * 2).tolist() and base[:, 1::2].abs().sum().item() == 0
    assert base._version > v
    x = fa.clone()
    fastnn.add(x, x, out=x)  # out aliasing an input
    assert x.tolist() == (fa * 2).tolist()


def test_out_refuses_autograd_as_torch():
    msg = "functions with out=... arguments don't support automatic differentiation, but one of the arguments requires grad."
    for args in (
        (fastnn.ones(2, requires_grad=True), fastnn.empty(0)),
        (fastnn.ones(2), fastnn.empty(0, requires_grad=True)),
    ):
        with pytest.raises(RuntimeError, match=r"^\[exp\] " + re.escape(msg) + "$"):
            fastnn.exp(args[0], out=args[1])
    assert _outcome(lambda: torch.exp(torch.ones(2, requires_grad=True), out=torch.empty(0))) == (
        "RuntimeError",
        "exp(): " + msg,
    )
    with fastnn.no_grad():  # no graph to record: allowed, as torch
        o = fastnn.empty(0, requires_grad=True)
        assert fastnn.exp(fastnn.ones(2, requires_grad=True), out=o) is o
        assert_close(o.detach(), torch.exp(torch.ones(2)))


def test_out_argument_errors():
    with pytest.raises(TypeError, match=r"^\[add\] out must be a Tensor, got int"):
        fastnn.add(fastnn.ones(2), 1, out=5)
    with pytest.raises(TypeError, match=r"^\[sum\] out= needs dim"):
        fastnn.sum(fastnn.ones(2), out=fastnn.empty(0))
    assert _outcome(lambda: torch.sum(torch.ones(2), out=torch.empty(0)))[0] == "TypeError"
    with pytest.raises(
        RuntimeError, match=r"^\[sum\] Expected out tensor to have dtype double, but got float instead$"
    ):
        fastnn.sum(fastnn.ones(2, 2), 1, dtype=fastnn.float64, out=fastnn.empty(0))
    assert _outcome(lambda: torch.sum(torch.ones(2, 2), 1, dtype=torch.float64, out=torch.empty(0)))[1] == (
        "Expected out tensor to have dtype double, but got float instead"
    )
    with pytest.raises(TypeError):
        fastnn.relu(fastnn.ones(2), out=fastnn.empty(0))  # torch.relu has no out= either
    with pytest.raises(TypeError):
        torch.relu(torch.ones(2), out=torch.empty(0))


def test_out_with_a_values_indices_pair():
    fa, ta = _pair(A)
    fv, fi = fastnn.empty(0), fastnn.empty(0, dtype=fastnn.int64)
    tv, ti = torch.empty(0), torch.empty(0, dtype=torch.int64)
    fastnn.max(fa, 1, out=(fv, fi))
    torch.max(ta, 1, out=(tv, ti))
    assert_close(fv, tv)
    assert_close(fi, ti)
    with pytest.raises(RuntimeError, match=r"^\[max\] Expected out tensor to have dtype long int, but got float"):
        fastnn.max(fa, 1, out=(fastnn.empty(0), fastnn.empty(0)))
