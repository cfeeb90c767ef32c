"""Factories and conversions against PyTorch: zeros/ones/full/arange/eye/rand/randn/randint, the *_like
forms, tensor() dtype inference (nested lists, numbers, NumPy arrays and scalars), from_numpy and numpy()
memory sharing, and dtype conversions (.float/.double/.long/.bool/.to) with their gradients."""

import gc

import fastnn
import numpy as np
import pytest
from oracle import assert_close, check_op, gradcheck_op, torch


def _lib_dtype(lib, name):
    return None if name is None else getattr(lib, name)


def _both(fn):
    """(fastnn result, torch result) of fn(lib)."""
    return fn(fastnn), fn(torch)


DTYPES = [None, "float32", "float64", "int64", "bool"]

CONST_FACTORIES = [
    ("zeros_args", lambda lib, dt: lib.zeros(2, 3, dtype=dt)),
    ("zeros_tuple", lambda lib, dt: lib.zeros((2, 3), dtype=dt)),
    ("zeros_list", lambda lib, dt: lib.zeros([4], dtype=dt)),
    ("zeros_0d", lambda lib, dt: lib.zeros((), dtype=dt)),
    ("zeros_empty", lambda lib, dt: lib.zeros(0, 3, dtype=dt)),
    ("zeros_size", lambda lib, dt: lib.zeros(lib.Size([2, 1]), dtype=dt)),
    ("ones_args", lambda lib, dt: lib.ones(3, 1, 2, dtype=dt)),
    ("ones_tuple", lambda lib, dt: lib.ones((2,), dtype=dt)),
    ("ones_0d", lambda lib, dt: lib.ones([], dtype=dt)),
    ("ones_empty", lambda lib, dt: lib.ones(2, 0, dtype=dt)),
    ("full", lambda lib, dt: lib.full((2, 3), 7, dtype=dt)),
    ("full_neg", lambda lib, dt: lib.full([3], -2, dtype=dt)),
    ("full_0d", lambda lib, dt: lib.full((), 1, dtype=dt)),
    ("full_empty", lambda lib, dt: lib.full((0,), 1, dtype=dt)),
    ("eye", lambda lib, dt: lib.eye(3, dtype=dt)),
    ("eye_rect", lambda lib, dt: lib.eye(2, 4, dtype=dt)),
    ("eye_tall", lambda lib, dt: lib.eye(4, 2, dtype=dt)),
    ("eye_0", lambda lib, dt: lib.eye(0, dtype=dt)),
    ("eye_m0", lambda lib, dt: lib.eye(2, 0, dtype=dt)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,fn", CONST_FACTORIES, ids=[c[0] for c in CONST_FACTORIES])
def test_constant_factories(name, fn, dtype):
    f, t = _both(lambda lib: fn(lib, _lib_dtype(lib, dtype)))
    assert_close(f, t)
    assert f.is_contiguous() and not f.requires_grad and f.is_leaf


FULL_VALUES = [1.5, 3, True, False, -0.0, float("inf"), float("nan"), 2**40]


@pytest.mark.parametrize("value", FULL_VALUES, ids=repr)
def test_full_infers_dtype_from_value(value):
    f, t = _both(lambda lib: lib.full((2, 2), value))
    assert_close(f, t)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_factories_requires_grad(dtype):
    for make in (
        lambda lib, dt: lib.zeros(2, dtype=dt, requires_grad=True),
        lambda lib, dt: lib.ones((2, 2), dtype=dt, requires_grad=True),
        lambda lib, dt: lib.full((2,), 3.0, dtype=dt, requires_grad=True),
        lambda lib, dt: lib.eye(2, dtype=dt, requires_grad=True),
        lambda lib, dt: lib.arange(3.0, dtype=dt, requires_grad=True),
        lambda lib, dt: lib.rand(2, dtype=dt, requires_grad=True),
        lambda lib, dt: lib.randn(2, dtype=dt, requires_grad=True),
        lambda lib, dt: lib.tensor([1.0, 2.0], dtype=dt, requires_grad=True),
    ):
        for lib in (fastnn, torch):
            x = make(lib, getattr(lib, dtype))
            assert x.requires_grad and x.is_leaf and x.grad_fn is None
        x = make(fastnn, getattr(fastnn, dtype))
        (x * 2).sum().backward()
        assert x.grad.dtype == x.dtype and (x.grad.numpy() == 2).all()


def test_factories_requires_grad_int_rejected():
    for lib in (fastnn, torch):
        for bad in (
            lambda lib: lib.zeros(2, dtype=lib.int64, requires_grad=True),
            lambda lib: lib.tensor([1, 2], requires_grad=True),
            lambda lib: lib.arange(3, requires_grad=True),
        ):
            with pytest.raises(RuntimeError):
                bad(lib)


def test_factory_errors():
    for lib in (fastnn, torch):
        for bad in (
            lambda lib: lib.zeros(-1),
            lambda lib: lib.ones(2, -3),
            lambda lib: lib.full((-1,), 1.0),
            lambda lib: lib.eye(-1),
            lambda lib: lib.arange(0, 5, 0),
            lambda lib: lib.arange(0, 5, -1),
            lambda lib: lib.arange(5, 0),
            lambda lib: lib.randint(5, 5, (2,)),
        ):
            with pytest.raises((ValueError, RuntimeError)):
                bad(lib)
        for bad in (lambda lib: lib.zeros(2.0), lambda lib: lib.ones("a"), lambda lib: lib.zeros((2, 1.5))):
            with pytest.raises(TypeError):
                bad(lib)


ARANGES = [
    (5,),
    (2, 7),
    (1, 10, 3),
    (10, 0, -3),
    (5.0,),
    (0, 1, 0.25),
    (0.5, 3),
    (0, -3, -1.5),
    (3, 3),
    (-1.0, 1.0, 0.3),
    (1, 2.5, 0.5),
    (0, 10, 2.5),
    (-5, 5),
    (0, 1, 0.1),
    (1e-3, 1e-2, 1e-3),
]


@pytest.mark.parametrize("dtype", [None, "float32", "float64", "int64"])
@pytest.mark.parametrize("args", ARANGES, ids=str)
def test_arange(args, dtype):
    # an int64 range truncates start, end and step first (a fractional step below 1 is then an error)
    try:
        t = torch.arange(*args, dtype=_lib_dtype(torch, dtype))
    except (RuntimeError, ValueError):
        with pytest.raises(ValueError, match="step must be nonzero"):
            fastnn.arange(*args, dtype=_lib_dtype(fastnn, dtype))
        return
    assert_close(fastnn.arange(*args, dtype=_lib_dtype(fastnn, dtype)), t)


def test_arange_keywords():
    for kw in ({"start": 2, "end": 5}, {"end": 4}, {"start": 0, "end": 1, "step": 0.5}):
        f, t = fastnn.arange(**kw), torch.arange(**kw)
        assert_close(f, t)


# ---------------------------------------------------------------------------------------------
# random factories: shapes, dtypes, ranges, seeding, rough moments

RANDOM = [
    ("rand", lambda lib, **kw: lib.rand(200, 50, **kw)),
    ("rand_tuple", lambda lib, **kw: lib.rand((100, 100), **kw)),
    ("randn", lambda lib, **kw: lib.randn(200, 50, **kw)),
    ("randn_list", lambda lib, **kw: lib.randn([10000], **kw)),
]


@pytest.mark.parametrize("dtype", [None, "float32", "float64"])
@pytest.mark.parametrize("name,fn", RANDOM, ids=[r[0] for r in RANDOM])
def test_rand_randn(name, fn, dtype):
    f = fn(fastnn, **({"dtype": getattr(fastnn, dtype)} if dtype else {}))
    t = fn(torch, **({"dtype": getattr(torch, dtype)} if dtype else {}))
    assert tuple(f.shape) == tuple(t.shape) and repr(f.dtype).split(".")[-1] == repr(t.dtype).split(".")[-1]
    v = f.numpy().astype(np.float64)
    assert np.isfinite(v).all()
    if name.startswith("rand") and not name.startswith("randn"):
        assert v.min() >= 0 and v.max() < 1
        assert abs(v.mean() - 0.5) < 0.02 and abs(v.std() - (1 / 12) ** 0.5) < 0.02
    else:
        assert abs(v.mean()) < 0.05 and abs(v.std() - 1) < 0.05
        assert (np.abs(v) > 2).mean() == pytest.approx(0.0455, abs=0.01)  # normal tails
    assert len(np.unique(v)) > 0.99 * v.size


@pytest.mark.parametrize("shape", [(0,), (), (3, 0)], ids=str)
def test_random_zero_size_and_0d(shape):
    for make in (fastnn.rand, fastnn.randn):
        x = make(shape)
        assert tuple(x.shape) == shape and x.dtype == fastnn.float32
    x = fastnn.randint(0, 3, shape)
    assert tuple(x.shape) == shape and x.dtype == fastnn.int64


RANDINTS = [
    ("high_size", lambda lib: lib.randint(5, (1000,))),
    ("low_high_size", lambda lib: lib.randint(3, 7, (50, 20))),
    ("negative", lambda lib: lib.randint(-4, -1, (1000,))),
    ("size_kw", lambda lib: lib.randint(10, size=(1000,))),
    ("all_kw", lambda lib: lib.randint(low=2, high=4, size=(100,))),
    ("high_kw", lambda lib: lib.randint(high=3, size=(100,))),
    ("dtype", lambda lib: lib.randint(0, 5, (1000,), dtype=lib.float32)),
    ("dtype64", lambda lib: lib.randint(0, 5, (1000,), dtype=lib.float64)),
    ("single_value", lambda lib: lib.randint(7, 8, (10,))),
    ("big_range", lambda lib: lib.randint(-(2**40), 2**40, (1000,))),
]


@pytest.mark.parametrize("name,fn", RANDINTS, ids=[r[0] for r in RANDINTS])
def test_randint(name, fn):
    f, t = _both(fn)
    assert tuple(f.shape) == tuple(t.shape) and repr(f.dtype).split(".")[-1] == repr(t.dtype).split(".")[-1]
    fv = f.numpy()
    # the same set of values as torch can produce: check bounds against torch's observed range definition
    lo, hi = {
        "high_size": (0, 5),
        "low_high_size": (3, 7),
        "negative": (-4, -1),
        "size_kw": (0, 10),
        "all_kw": (2, 4),
        "high_kw": (0, 3),
        "dtype": (0, 5),
        "dtype64": (0, 5),
        "single_value": (7, 8),
        "big_range": (-(2**40), 2**40),
    }[name]
    assert fv.min() >= lo and fv.max() < hi
    assert (fv == np.round(fv)).all()
    if hi - lo <= 10 and fv.size >= 1000:
        assert set(np.unique(fv).tolist()) == set(range(lo, hi))  # every value shows up


def test_manual_seed_reproducible_and_sequence_advances():
    fastnn.manual_seed(123)
    a = [fastnn.rand(5).tolist(), fastnn.randn(3, 2).tolist(), fastnn.randint(0, 100, (4,)).tolist()]
    b = fastnn.rand(5).tolist()
    fastnn.manual_seed(123)
    assert [fastnn.rand(5).tolist(), fastnn.randn(3, 2).tolist(), fastnn.randint(0, 100, (4,)).tolist()] == a
    assert fastnn.rand(5).tolist() == b and b != a[0]
    fastnn.manual_seed(124)
    assert fastnn.rand(5).tolist() != a[0]


def test_random_independent_of_thread_count():
    results = []
    for n in (1, 2):
        fastnn.set_num_threads(n)
        fastnn.manual_seed(7)
        results.append((fastnn.rand(300_000).numpy().copy(), fastnn.randn(200_000).numpy().copy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


# ---------------------------------------------------------------------------------------------
# *_like

LIKES = [
    ("zeros_like", lambda lib, x, **kw: lib.zeros_like(x, **kw)),
    ("ones_like", lambda lib, x, **kw: lib.ones_like(x, **kw)),
    ("full_like_int", lambda lib, x, **kw: lib.full_like(x, 7, **kw)),
    ("full_like_float", lambda lib, x, **kw: lib.full_like(x, 2.75, **kw)),
    ("full_like_bool", lambda lib, x, **kw: lib.full_like(x, True, **kw)),
    ("empty_like_shape", lambda lib, x, **kw: lib.empty_like(x, **kw).zero_()),
]


@pytest.mark.parametrize("dtype", [None, "float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("src", ["f32", "f64_noncontig", "i64", "bool", "0d", "empty"])
@pytest.mark.parametrize("name,fn", LIKES, ids=[like[0] for like in LIKES])
def test_like(name, fn, src, dtype):
    arrays = {
        "f32": np.ones((2, 3), np.float32),
        "f64_noncontig": np.ones((3, 4)),
        "i64": np.ones((4,), np.int64),
        "bool": np.ones((2, 2), bool),
        "0d": np.array(1.5, np.float32),
        "empty": np.ones((0, 2), np.float32),
    }

    def run(lib):
        x = lib.tensor(arrays[src])
        if src == "f64_noncontig":
            x = x.t()[::2]
        kw = {"dtype": getattr(lib, dtype)} if dtype else {}
        return fn(lib, x, **kw)

    f, t = _both(run)
    assert_close(f, t)
    assert f.is_contiguous()


@pytest.mark.parametrize("name", ["rand_like", "randn_like"])
def test_random_like(name):
    for src in (fastnn.zeros(3, 4, dtype=fastnn.float64), fastnn.zeros(2, 5).t(), fastnn.zeros(0, 2)):
        r = getattr(fastnn, name)(src)
        assert tuple(r.shape) == tuple(src.shape) and r.dtype == src.dtype and not r.requires_grad
        r = getattr(fastnn, name)(src, dtype=fastnn.float64, requires_grad=True)
        assert r.dtype == fastnn.float64 and r.requires_grad and r.is_leaf
    for lib in (fastnn, torch):
        with pytest.raises((TypeError, RuntimeError)):
            getattr(lib, name)(lib.zeros(2, dtype=lib.int64))


def test_like_requires_grad():
    for lib in (fastnn, torch):
        src = lib.ones(2, requires_grad=True)
        assert not lib.zeros_like(src).requires_grad
        assert lib.ones_like(src, requires_grad=True).requires_grad
        assert lib.full_like(src, 2.0, requires_grad=True).is_leaf


def test_new_methods():
    for lib in (fastnn, torch):
        x = lib.ones(2, dtype=lib.float64)
        assert x.new_zeros(3).dtype == lib.float64 and x.new_zeros((2, 2)).shape == (2, 2)
        assert x.new_ones(2, 1).tolist() == [[1.0], [1.0]]
        assert x.new_full((2,), 4).tolist() == [4.0, 4.0] and x.new_full((2,), 4).dtype == lib.float64
        assert x.new_tensor([1, 2]).dtype == lib.float64
        assert x.new_zeros(2, dtype=lib.int64).dtype == lib.int64


# ---------------------------------------------------------------------------------------------
# tensor(): data and dtype inference

TENSOR_DATA = [
    ("int", 3),
    ("float", 2.5),
    ("bool", True),
    ("neg_zero", -0.0),
    ("big_int", 2**40),
    ("int_list", [1, 2, 3]),
    ("float_list", [1.0, 2.5]),
    ("mixed_int_float", [1, 2.5]),
    ("bool_list", [True, False]),
    ("bool_int", [True, 2]),
    ("bool_float", [False, 1.5]),
    ("nested", [[1, 2], [3, 4]]),
    ("nested3", [[[1.5]], [[2.5]]]),
    ("empty", []),
    ("empty_nested", [[], []]),
    ("tuple", (1, 2)),
    ("list_of_tuples", [(1.0, 2.0), (3.0, 4.0)]),
    ("inf_nan", [float("inf"), float("nan"), -float("inf")]),
    ("np_f64", np.arange(6.0).reshape(2, 3)),
    ("np_f32", np.ones(3, np.float32)),
    ("np_i64", np.arange(4)),
    ("np_bool", np.array([True, False])),
    ("np_0d", np.array(2.5)),
    ("np_noncontig", np.arange(12.0).reshape(3, 4)[:, ::2]),
    ("np_fortran", np.asfortranarray(np.arange(6.0).reshape(2, 3))),
    ("np_scalar_f64", np.float64(1.5)),
    ("np_scalar_f32", np.float32(1.5)),
    ("np_scalar_i64", np.int64(7)),
    ("np_scalar_bool", np.bool_(True)),
    ("list_np_f64", [np.float64(1.5), 2.0]),
    ("list_np_f32", [np.float32(1.5), 2.0]),
    ("list_np_arrays", [np.array([1.0, 2.0]), np.array([3.0, 4.0])]),
    ("list_np_f32_arrays", [np.ones(2, np.float32), np.zeros(2, np.float32)]),
]


@pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy.ndarrays")
@pytest.mark.parametrize("dtype", [None, "float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("name,data", TENSOR_DATA, ids=[d[0] for d in TENSOR_DATA])
def test_tensor_inference(name, data, dtype):
    if dtype in ("int64", "bool") and name == "inf_nan":
        pytest.skip("converting inf/nan to an integer is undefined")
    f = fastnn.tensor(data, dtype=_lib_dtype(fastnn, dtype))
    try:
        t = torch.tensor(data, dtype=_lib_dtype(torch, dtype))
    except TypeError:  # torch refuses some NumPy scalars with a dtype; convert after inference instead
        t = torch.tensor(data).to(_lib_dtype(torch, dtype))
    assert_close(f, t)
    assert f.is_leaf and not f.requires_grad and f.is_contiguous()


def test_tensor_from_negative_strides_copies():
    # torch.tensor refuses arrays with negative strides; fastnn copies them like any other layout
    arr = np.arange(6.0).reshape(2, 3)[::-1, ::-2]
    x = fastnn.tensor(arr)
    assert x.dtype == fastnn.float64 and x.tolist() == arr.tolist() and x.is_contiguous()


def test_tensor_from_narrow_numpy_types():
    # NumPy's narrower types keep their dtype, as in torch; those torch lacks (uint16, uint32) become int64
    for arr in (
        np.arange(3, dtype=np.int32),
        np.arange(3, dtype=np.uint8),
        np.ones(2, np.float16),
        np.int32(4),
        np.arange(3, dtype=np.int8),
        np.arange(3, dtype=np.int16),
    ):
        x, t = fastnn.tensor(arr), torch.tensor(arr)
        assert x.dtype.name == str(t.dtype).split(".")[1] and x.tolist() == np.asarray(arr).tolist()
    for arr in (np.arange(3, dtype=np.uint16), np.arange(3, dtype=np.uint32)):
        assert fastnn.tensor(arr).dtype is fastnn.int64 and fastnn.tensor(arr).tolist() == [0, 1, 2]


def test_tensor_from_tensors():
    # tensor(t) copies; a list of 0-d tensors keeps their dtype
    for lib in (fastnn, torch):
        src = lib.tensor([1.0, 2.0], dtype=lib.float64)
        c = lib.tensor(src) if lib is fastnn else src.clone().detach()
        src.add_(1)
        assert c.tolist() == [1.0, 2.0] and c.dtype == lib.float64
    f = fastnn.tensor([fastnn.tensor(1.0, dtype=fastnn.float64), fastnn.tensor(2.0, dtype=fastnn.float64)])
    t = torch.tensor([torch.tensor(1.0, dtype=torch.float64), torch.tensor(2.0, dtype=torch.float64)])
    assert_close(f, t)
    f = fastnn.tensor([fastnn.tensor(1.0), fastnn.tensor(2.0)])
    t = torch.tensor([torch.tensor(1.0), torch.tensor(2.0)])
    assert_close(f, t)


def test_tensor_copies_data():
    arr = np.zeros(3)
    x = fastnn.tensor(arr)
    arr[0] = 5
    x[1] = 7
    assert x.tolist() == [0.0, 7.0, 0.0] and arr.tolist() == [5.0, 0.0, 0.0]


def test_tensor_errors():
    for bad in ([[1, 2], [3]], "abc", [None], [1, "a"], {"a": 1}, object()):
        for lib in (fastnn, torch):
            with pytest.raises((TypeError, ValueError, RuntimeError)):
                lib.tensor(bad)


# ---------------------------------------------------------------------------------------------
# from_numpy / numpy(): zero-copy sharing

FROM_NUMPY = [
    ("f64", lambda: np.arange(6.0).reshape(2, 3)),
    ("f32", lambda: np.arange(4, dtype=np.float32)),
    ("i64", lambda: np.arange(5)),
    ("bool", lambda: np.array([True, False, True])),
    ("0d", lambda: np.array(2.5)),
    ("empty", lambda: np.zeros((0, 3))),
    ("noncontig", lambda: np.arange(24.0).reshape(4, 6)[1:, ::2]),
    ("fortran", lambda: np.asfortranarray(np.arange(6.0).reshape(2, 3))),
    ("transposed", lambda: np.arange(6, dtype=np.float32).reshape(2, 3).T),
    ("broadcast_strides", lambda: np.broadcast_to(np.arange(3.0), (2, 3))),
]


@pytest.mark.filterwarnings("ignore:The given NumPy array is not writable")
@pytest.mark.parametrize("name,make", FROM_NUMPY, ids=[f[0] for f in FROM_NUMPY])
def test_from_numpy(name, make):
    a_f, a_t = make(), make()
    f, t = fastnn.from_numpy(a_f), torch.from_numpy(a_t)
    assert_close(f, t)
    if a_f.size:
        assert f.stride() == t.stride() and f.data_ptr() == a_f.ctypes.data
    if a_f.size and a_f.flags.writeable:
        # writes go both ways
        a_f[(0,) * a_f.ndim] = 42
        a_t[(0,) * a_t.ndim] = 42
        assert_close(f, t)
        last = tuple(-1 for _ in range(f.dim()))
        f[last] = 0
        assert a_f[last] == 0


def test_from_numpy_keeps_array_alive():
    x = fastnn.from_numpy(np.arange(1000.0))

    gc.collect()
    assert x.sum().item() == sum(range(1000))


def test_from_numpy_errors():
    for lib in (fastnn, torch):
        with pytest.raises(TypeError):
            lib.from_numpy([1.0, 2.0])
        with pytest.raises(TypeError):
            lib.from_numpy(np.array(["a"]))
        with pytest.raises(ValueError):
            lib.from_numpy(np.arange(5.0)[::-1])  # negative strides cannot be viewed
    with pytest.raises(TypeError, match="uint16"):
        fastnn.from_numpy(np.zeros(2, np.uint16))  # fastnn has no uint16 (torch 2.13 has a limited one)


NUMPY_SRC = [
    ("f32", lambda lib: lib.arange(6.0).view(2, 3)),
    ("f64", lambda lib: lib.ones(3, dtype=lib.float64)),
    ("i64", lambda lib: lib.arange(4)),
    ("bool", lambda lib: lib.tensor([True, False])),
    ("0d", lambda lib: lib.tensor(3.5)),
    ("empty", lambda lib: lib.zeros(0, 2)),
    ("transposed", lambda lib: lib.arange(6.0).view(2, 3).t()),
    ("sliced", lambda lib: lib.arange(12.0).view(3, 4)[1:, ::2]),
    ("expanded", lambda lib: lib.arange(3.0).view(3, 1).expand(3, 4)),
    ("detached", lambda lib: (lib.ones(2, requires_grad=True) * 2).detach()),
]


@pytest.mark.parametrize("name,make", NUMPY_SRC, ids=[n[0] for n in NUMPY_SRC])
def test_numpy(name, make):
    f, t = make(fastnn), make(torch)
    a_f, a_t = f.numpy(), t.numpy()
    assert a_f.dtype == a_t.dtype and a_f.shape == a_t.shape
    if f.numel():
        assert a_f.strides == a_t.strides
    np.testing.assert_array_equal(a_f, a_t)
    np.testing.assert_array_equal(np.asarray(f), a_t)
    if f.numel() and name != "expanded":
        first = (0,) * f.dim()
        a_f[first] = 1  # zero-copy: the tensor sees the write, and the array sees the tensor's
        assert f[first].item() == 1
        f.zero_()
        assert not a_f.any()


def test_numpy_requires_grad_error_and_lifetime():
    for lib in (fastnn, torch):
        with pytest.raises(RuntimeError, match="requires grad"):
            lib.ones(2, requires_grad=True).numpy()
    a = fastnn.arange(5.0).numpy()  # the array keeps the storage alive after the tensor is gone

    gc.collect()
    assert a.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


# ---------------------------------------------------------------------------------------------
# dtype conversions

CONVERSIONS = [
    ("float", lambda x: x.float()),
    ("double", lambda x: x.double()),
    ("long", lambda x: x.long()),
    ("bool", lambda x: x.bool()),
    ("to_f32", lambda x: x.to(_mod(x).float32)),
    ("to_f64", lambda x: x.to(_mod(x).float64)),
    ("to_i64", lambda x: x.to(_mod(x).int64)),
    ("to_bool", lambda x: x.to(dtype=_mod(x).bool)),
    ("to_cpu", lambda x: x.to("cpu")),
    ("to_cpu_dtype", lambda x: x.to("cpu", _mod(x).float64)),
    ("to_device_kw", lambda x: x.to(device="cpu")),
    ("to_other", lambda x: x.to(_mod(x).zeros(1, dtype=_mod(x).float64))),
    ("type_as", lambda x: x.type_as(_mod(x).zeros(1, dtype=_mod(x).int64))),
]


def _mod(x):
    return fastnn if isinstance(x, fastnn.Tensor) else torch


SOURCES = [
    ("f32", np.array([[-1.7, 0.0, 2.5], [0.49, -0.5, 3.99]], np.float32)),
    ("f64", np.array([[-1.7, 0.0, 2.5], [1e-300, -0.5, 1e10]])),
    ("i64", np.array([[-3, 0, 2], [2**40, 1, -1]])),
    ("bool", np.array([[True, False, True], [False, False, True]])),
]


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
@pytest.mark.parametrize("src", SOURCES, ids=[s[0] for s in SOURCES])
@pytest.mark.parametrize("name,fn", CONVERSIONS, ids=[c[0] for c in CONVERSIONS])
def test_conversions(name, fn, src, layout):
    arr = src[1]
    prep = {"contiguous": None, "transposed": lambda lib, x: x.t(), "strided": lambda lib, x: x[:, ::2]}[layout]
    check_op(fn, [arr], prep=prep)


def test_conversion_to_same_dtype_is_self():
    for lib in (fastnn, torch):
        x = lib.zeros(2)
        assert x.float() is x and x.to(lib.float32) is x and x.to("cpu") is x
        assert x.double() is not x and x.long() is not x
        y = lib.zeros(2, dtype=lib.int64)
        assert y.long() is y


def test_conversion_gradients():
    rng = np.random.default_rng(0)
    arr = rng.standard_normal((2, 3)).astype(np.float32)
    f, _ = check_op(lambda x: x.double() * x.double(), [arr])
    assert f.dtype == fastnn.float64
    check_op(lambda x: x.to(_mod(x).float64).t() * 3, [arr])
    check_op(lambda x: x.float() * 2, [arr.astype(np.float64)])
    gradcheck_op(lambda x: x.double() * x.to(fastnn.float64), [arr.astype(np.float64)])
    gradcheck_op(lambda x: x.t().double() ** 2, [arr.astype(np.float64)])
    # conversion to a non-floating dtype ends the graph
    for lib in (fastnn, torch):
        x = lib.ones(2, requires_grad=True)
        assert not x.long().requires_grad and not x.bool().requires_grad
        assert x.double().grad_fn is not None and x.double().grad_fn.name() == "ToCopyBackward0"


def test_to_errors():
    x = fastnn.zeros(2)
    with pytest.raises(RuntimeError):
        x.to("cuda")
    with pytest.raises(RuntimeError, match="Cannot access accelerator device"):  # an accelerator index, as torch
        x.to(3)
