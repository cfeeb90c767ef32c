"""fastnn._tensor_str.format_tensor must reproduce repr(torch.Tensor) exactly."""

import importlib.util
import math
import pathlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")

# Load the module by path so the test runs without the compiled fastnn package.
_PATH = pathlib.Path(__file__).resolve().parents[2] / "python" / "fastnn" / "_tensor_str.py"
_spec = importlib.util.spec_from_file_location("fastnn_tensor_str_under_test", _PATH)
ts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ts)

_DEFAULT_DTYPES = (torch.float32, torch.int64, torch.bool)


@pytest.fixture(autouse=True)
def _reset_printoptions():
    torch.set_printoptions(profile="default")
    ts.set_printoptions(profile="default")
    yield
    torch.set_printoptions(profile="default")
    ts.set_printoptions(profile="default")


def _ours(t):
    suffixes = []
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return ts.format_tensor(
        t.detach().numpy(), dtype_repr=str(t.dtype), is_default_dtype=t.dtype in _DEFAULT_DTYPES, suffixes=suffixes
    )


def _check(t):
    expected = repr(t)
    assert _ours(t) == expected, f"\n--- torch ---\n{expected}\n--- ours ---\n{_ours(t)}"


def _randn(shape, scale=1.0, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=dtype) * scale


# ---------------------------------------------------------------- value table
def _cases():
    c = {}
    shapes = [(), (1,), (5,), (7,), (3, 4), (2, 3, 4), (1, 6, 5, 5), (2, 2, 2, 2, 2)]
    scales = [1.0, 1e-3, 1e-5, 10.0, 1e3, 1e5, 1e9]
    for dtype in (torch.float32, torch.float64):
        for shape in shapes:
            for i, scale in enumerate(scales):
                c[f"randn{shape}*{scale}-{dtype}"] = _randn(shape, scale, i, dtype)
    # sci-mode triggers and near-misses
    for vals in (
        [1e-5, 1.0],
        [1e8, 1.0],
        [1.0, 1e8 + 1],
        [1.0, 999.0],
        [1.0, 1001.0],
        [1e-4, 2e-4],
        [9.9e-5, 1.0],
        [1e-5, 1e8],
        [1.5e-5, -2.5e8, 3.0],
        [1e100, 1.0],
        [1e-100, 1.0],
        [1e20],
        [-1e20, 3e-30],
    ):
        for dtype in (torch.float32, torch.float64):
            c[f"sci{vals}-{dtype}"] = torch.tensor(vals, dtype=dtype)
    # integer-valued floats
    c["int-floats"] = torch.tensor([1.0, 2.0, -3.0])
    c["int-floats-2d"] = torch.tensor([[1.0, 200.0], [-3.0, 0.0]])
    c["int-floats-big"] = torch.tensor([1.0, 1e9])
    c["int-floats-f64"] = torch.tensor([[10.0, -2.0]], dtype=torch.float64)
    c["zeros"] = torch.zeros(3)
    c["zeros-2d-f64"] = torch.zeros(2, 2, dtype=torch.float64)
    c["rounding"] = torch.tensor([9.99996, 0.00004, 1.23455, -0.5])
    # nan / inf / negative zero
    c["nan-inf"] = torch.tensor([float("nan"), float("inf"), -float("inf"), 1.5])
    c["nan-inf-int"] = torch.tensor([float("nan"), float("inf"), -float("inf"), 2.0])
    c["only-nonfinite"] = torch.tensor([float("nan"), -float("inf"), 0.0])
    c["nan-sci"] = torch.tensor([float("nan"), 1e-7, 1.0])
    c["neg-zero"] = torch.tensor([-0.0, 1.0])
    c["neg-zero-frac"] = torch.tensor([-0.0, 1.5, -2.25])
    c["neg-zero-only"] = torch.tensor([-0.0, 0.0])
    c["neg-zero-0d"] = torch.tensor(-0.0)
    c["nan-0d"] = torch.tensor(float("nan"))
    c["inf-0d-f64"] = torch.tensor(-float("inf"), dtype=torch.float64)
    # 0-d
    c["0d"] = torch.tensor(0.8184)
    c["0d-int"] = torch.tensor(-42)
    c["0d-bool"] = torch.tensor(True)
    c["0d-f64"] = torch.tensor(3.0, dtype=torch.float64)
    c["0d-sci"] = torch.tensor(1.5e-9)
    # ints and bools
    c["ints"] = torch.tensor([1, -20, 300])
    c["ints-2d"] = torch.arange(-12, 12).reshape(2, 3, 4)
    c["ints-wide"] = torch.arange(0, 100000, 997)
    c["ints-huge"] = torch.tensor([2**62, -(2**63), 0])
    c["bools"] = torch.tensor([True, False, True])
    c["bools-2d"] = torch.arange(12).reshape(3, 4) % 3 == 0
    # wide rows wrap at linewidth
    c["wide-1d"] = _randn((40,), 1.0, 1)
    c["wide-2d"] = _randn((3, 30), 1.0, 2)
    c["wide-3d"] = _randn((2, 2, 25), 100.0, 3)
    c["wide-sci"] = _randn((20,), 1e-6, 4)
    c["wide-f64"] = _randn((2, 20), 1.0, 5, torch.float64)
    # summarization (> 1000 elements)
    c["sum-2000"] = _randn((2000,), 1.0, 6)
    c["sum-100x100"] = _randn((100, 100), 1.0, 7)
    c["sum-3x500"] = _randn((3, 500), 1.0, 8)
    c["sum-500x3"] = _randn((500, 3), 1.0, 9)
    c["sum-4d"] = _randn((10, 10, 10, 10), 1.0, 10)
    c["sum-f64"] = _randn((50, 50), 1e4, 11, torch.float64)
    c["sum-ints"] = torch.arange(5000)
    c["sum-bools"] = torch.arange(3000) % 2 == 0
    c["sum-outliers-hidden"] = torch.cat([torch.tensor([1e-8]), torch.ones(1500), torch.tensor([2.5])])
    c["sum-1001"] = _randn((1001,), 1.0, 12)
    c["no-sum-1000"] = _randn((1000,), 1.0, 13)
    # zero-size
    for shape in [(0,), (2, 0, 3), (0, 3), (3, 0)]:
        for dtype in (torch.float32, torch.float64, torch.int64, torch.bool):
            c[f"empty{shape}-{dtype}"] = torch.zeros(shape, dtype=dtype)
    return c


_CASES = _cases()


@pytest.mark.parametrize("name", list(_CASES))
def test_matches_torch(name):
    _check(_CASES[name])


# ---------------------------------------------------------------- suffixes
def test_requires_grad():
    _check(torch.tensor([1.0, 2.5], requires_grad=True))
    _check(_randn((3, 4)).requires_grad_())
    _check(torch.tensor(1.5, dtype=torch.float64, requires_grad=True))


def test_grad_fn_addmm():
    w = _randn((4, 3)).requires_grad_()
    out = torch.addmm(_randn((3,), seed=1), _randn((2, 4), seed=2), w)
    assert type(out.grad_fn).__name__ == "AddmmBackward0"
    _check(out)


@pytest.mark.parametrize("shape", [(8,), (10,), (11,), (12,), (13,), (2, 8), (2, 9), (2, 10), (1, 20)])
def test_suffix_wrapping(shape):
    # around the line width so the suffix lands on either side of the wrap decision
    _check(_randn(shape, 1.0, 3).requires_grad_())
    _check(_randn(shape, 1.0, 4, torch.float64).requires_grad_())
    w = _randn((shape[-1], shape[-1]), seed=5).requires_grad_()
    _check(torch.addmm(_randn((shape[-1],), seed=6), _randn((3, shape[-1]), seed=7), w))


def test_multiple_suffixes_custom_prefix():
    t = _randn((6,), 1.0, 7, torch.float64)
    expected = repr(t.requires_grad_())
    got = ts.format_tensor(
        t.detach().numpy(), dtype_repr="torch.float64", is_default_dtype=False, suffixes=["requires_grad=True"]
    )
    assert got == expected
    got = ts.format_tensor(
        np.array([1.0, 2.0], np.float32), dtype_repr="fastnn.float32", is_default_dtype=True, prefix="Foo("
    )
    assert got == "Foo([1., 2.])"
    got = ts.format_tensor(np.array([1.0], np.float64), dtype_repr="fastnn.float64", is_default_dtype=False)
    assert got == "tensor([1.], dtype=fastnn.float64)"


# ---------------------------------------------------------------- print options
_OPTION_SETS = [
    dict(precision=2),
    dict(precision=8),
    dict(precision=0),
    dict(sci_mode=True),
    dict(sci_mode=False),
    dict(threshold=5),
    dict(threshold=5, edgeitems=1),
    dict(threshold=5, edgeitems=0),
    dict(edgeitems=0),
    dict(linewidth=40),
    dict(linewidth=200),
    dict(linewidth=10),
    dict(profile="short"),
    dict(profile="full"),
    dict(profile="short", precision=6),
    dict(precision=3, sci_mode=True, linewidth=60),
]
_OPTION_TENSORS = {
    "randn-1d": _randn((9,), 1.0, 20),
    "randn-2d": _randn((4, 7), 10.0, 21),
    "randn-3d-f64": _randn((2, 3, 4), 1e-3, 22, torch.float64),
    "mixed-sci": torch.tensor([1e-6, 2.5, 3e7]),
    "int-floats": torch.tensor([1.0, 2.0, 30.0]),
    "zeros": torch.zeros(4),
    "ints": torch.arange(10),
    "bools": torch.tensor([True, False, True, True, False, False]),
    "0d": torch.tensor(0.8184),
    "big-2d": _randn((100, 100), 1.0, 23),
    "big-1d": _randn((1500,), 1.0, 24),
    "wide": _randn((3, 40), 1.0, 25),
    "nan-inf": torch.tensor([float("nan"), float("inf"), -0.0, 1.25]),
    "empty": torch.zeros(2, 0),
}


@pytest.mark.parametrize("opts", _OPTION_SETS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("name", list(_OPTION_TENSORS))
def test_printoptions(opts, name):
    torch.set_printoptions(**opts)
    ts.set_printoptions(**opts)
    _check(_OPTION_TENSORS[name])


def test_get_printoptions_matches_torch():
    assert ts.get_printoptions() == torch._tensor_str.get_printoptions()
    for opts in _OPTION_SETS:
        torch.set_printoptions(**opts)
        ts.set_printoptions(**opts)
        assert ts.get_printoptions() == torch._tensor_str.get_printoptions()
    # sci_mode is reset to automatic when not passed, like torch
    ts.set_printoptions(sci_mode=True)
    ts.set_printoptions(precision=3)
    assert ts.get_printoptions()["sci_mode"] is None
    # the returned dict round-trips
    ts.set_printoptions(**dict(ts.get_printoptions(), linewidth=50))
    assert ts.get_printoptions()["linewidth"] == 50


# ---------------------------------------------------------------- fuzz
@pytest.mark.parametrize("seed", range(40))
def test_fuzz(seed):
    rng = np.random.default_rng(seed)
    ndim = int(rng.integers(0, 5))
    shape = tuple(int(n) for n in rng.integers(1, 9, size=ndim))
    if rng.random() < 0.2:
        shape = (int(rng.integers(200, 1500)),) + shape[1:]
    scale = 10.0 ** rng.uniform(-9, 10)
    kind = rng.integers(0, 4)
    if kind == 3:
        t = torch.from_numpy(rng.integers(-(10**6), 10**6, size=shape))
    else:
        dtype = torch.float64 if kind == 1 else torch.float32
        vals = rng.standard_normal(shape) * scale
        if kind == 2:  # round to few significant digits: exercises int mode / rounding
            vals = np.round(vals, int(rng.integers(-2, 3)))
        t = torch.tensor(vals, dtype=dtype)
        if t.numel() > 2 and rng.random() < 0.3:
            t.view(-1)[0] = float(rng.choice([math.nan, math.inf, -math.inf, -0.0]))
    if rng.random() < 0.3:
        t.requires_grad_(t.is_floating_point())
    _check(t)
