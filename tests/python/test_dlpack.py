"""DLPack exchange with torch and NumPy: Tensor.__dlpack__/__dlpack_device__, fastnn.from_dlpack/to_dlpack and
fastnn.utils.dlpack. Memory is shared both ways (same data pointer, writes visible on the other side), layouts
keep their strides, every fastnn dtype round-trips, the producer's memory lives while the consumer holds it,
and every refused argument or tensor raises a clear error. The capsules' contents are read with ctypes."""

import ctypes
import gc
import sys
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.utils.dlpack

torch = pytest.importorskip("torch", reason="PyTorch (CPU, 2.13.0) is the test oracle")

# fastnn dtype -> (torch dtype, NumPy dtype or None where NumPy has none)
DTYPES = {
    fastnn.float32: (torch.float32, np.float32),
    fastnn.float64: (torch.float64, np.float64),
    fastnn.float16: (torch.float16, np.float16),
    fastnn.bfloat16: (torch.bfloat16, None),
    fastnn.bool: (torch.bool, np.bool_),
    fastnn.uint8: (torch.uint8, np.uint8),
    fastnn.int8: (torch.int8, np.int8),
    fastnn.int16: (torch.int16, np.int16),
    fastnn.int32: (torch.int32, np.int32),
    fastnn.int64: (torch.int64, np.int64),
}
DL_CODES = {
    fastnn.float32: (2, 32),
    fastnn.float64: (2, 64),
    fastnn.float16: (2, 16),
    fastnn.bfloat16: (4, 16),
    fastnn.bool: (6, 8),
    fastnn.uint8: (1, 8),
    fastnn.int8: (0, 8),
    fastnn.int16: (0, 16),
    fastnn.int32: (0, 32),
    fastnn.int64: (0, 64),
}


# --- the DLPack structs, for reading capsules and making hostile ones ---


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p)]


class DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [
        ("major", ctypes.c_uint32),
        ("minor", ctypes.c_uint32),
        ("manager_ctx", ctypes.c_void_p),
        ("deleter", ctypes.c_void_p),
        ("flags", ctypes.c_uint64),
        ("dl_tensor", DLTensor),
    ]


_name = ctypes.pythonapi.PyCapsule_GetName
_name.restype, _name.argtypes = ctypes.c_char_p, [ctypes.py_object]
_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_pointer.restype, _pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
_new_capsule = ctypes.pythonapi.PyCapsule_New
_new_capsule.restype, _new_capsule.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


def capsule_name(capsule):
    return _name(capsule).decode()


def peek(capsule):
    """(managed struct, DLTensor fields as a dict) of an unconsumed capsule."""
    name = _name(capsule)
    addr = _pointer(capsule, name)
    m = (DLManagedTensorVersioned if name == b"dltensor_versioned" else DLManagedTensor).from_address(addr)
    t = m.dl_tensor
    return m, {
        "data": t.data or 0,
        "device": (t.device.device_type, t.device.device_id),
        "dtype": (t.dtype.code, t.dtype.bits),
        "lanes": t.dtype.lanes,
        "shape": [t.shape[i] for i in range(t.ndim)],
        "strides": [t.strides[i] for i in range(t.ndim)],
        "byte_offset": t.byte_offset,
    }


_keep = []  # ctypes memory behind hand-made capsules (they have no deleter)


def fake_capsule(
    array,
    device_type=1,
    code=None,
    bits=None,
    lanes=1,
    versioned=False,
    major=1,
    flags=0,
    strides=True,
    data=True,
    byte_offset=0,
    shift=0,
):
    """A capsule over `array`'s memory (its first element `shift` bytes further), with any field changed (no
    deleter: `array` must outlive its use)."""
    shape = (ctypes.c_int64 * max(array.ndim, 1))(*array.shape)
    st = (ctypes.c_int64 * max(array.ndim, 1))(*[s // array.itemsize for s in array.strides])
    kind = {"f": 2, "i": 0, "u": 1, "b": 6}[array.dtype.kind]
    t = DLTensor(
        np_ptr(array) + shift - byte_offset if data else 0,
        DLDevice(device_type, 0),
        array.ndim,
        DLDataType(kind if code is None else code, bits or array.itemsize * 8, lanes),
        shape,
        st if strides else None,
        byte_offset,
    )
    m = DLManagedTensorVersioned(major, 0, None, None, flags, t) if versioned else DLManagedTensor(t, None, None)
    _keep.extend([shape, st, m])
    return _new_capsule(ctypes.addressof(m), b"dltensor_versioned" if versioned else b"dltensor", None)


def np_ptr(a):
    return a.__array_interface__["data"][0]


def values(dtype, shape=(2, 3, 4)):
    """A fastnn tensor of `dtype` with distinct values (alternating for bool)."""
    return fastnn.arange(int(np.prod(shape))).reshape(shape).remainder(2 if dtype == fastnn.bool else 100).to(dtype)


def as_float64(t):
    """Values of a fastnn or torch tensor as a float64 NumPy array (NumPy lacks bfloat16)."""
    if isinstance(t, torch.Tensor):
        return t.double().numpy()
    return t.double().numpy()


# --- export: fastnn -> torch / NumPy ---


@pytest.mark.parametrize("dtype", list(DTYPES), ids=str)
def test_torch_imports_every_dtype_without_copy(dtype):
    f = values(dtype)
    t = torch.from_dlpack(f)
    assert t.dtype == DTYPES[dtype][0]
    assert t.data_ptr() == f.data_ptr() and t.shape == tuple(f.shape) and t.stride() == f.stride()
    np.testing.assert_array_equal(as_float64(t), as_float64(f))


@pytest.mark.parametrize("dtype", [d for d in DTYPES if DTYPES[d][1] is not None], ids=str)
def test_numpy_imports_every_dtype_without_copy(dtype):
    f = values(dtype)
    a = np.from_dlpack(f)
    assert a.dtype == DTYPES[dtype][1] and np_ptr(a) == f.data_ptr()
    np.testing.assert_array_equal(a.astype(np.float64), as_float64(f))


@pytest.mark.parametrize("dtype", list(DTYPES), ids=str)
def test_capsule_fields(dtype):
    f = values(dtype, (3, 4))[1:, 1:].t()
    for kwargs, name in [
        ({}, "dltensor"),
        ({"max_version": (1, 0)}, "dltensor_versioned"),
        ({"max_version": (0, 8)}, "dltensor"),
        ({"max_version": (2, 5)}, "dltensor_versioned"),
    ]:
        capsule = f.__dlpack__(**kwargs)
        assert capsule_name(capsule) == name
        m, fields = peek(capsule)
        # the data pointer is the first element (byte_offset 0), as torch and NumPy export
        assert fields == {
            "data": f.data_ptr(),
            "device": (1, 0),
            "dtype": DL_CODES[dtype],
            "lanes": 1,
            "shape": [3, 2],
            "strides": [1, 4],
            "byte_offset": 0,
        }
        if name == "dltensor_versioned":
            assert (m.major, m.minor, m.flags) == (1, 0, 0)


def test_dlpack_device():
    dev = fastnn.ones(2).__dlpack_device__()
    assert dev == (1, 0) and dev[0] is fastnn.utils.dlpack.DLDeviceType.kDLCPU
    assert dev == torch.ones(2).__dlpack_device__()
    assert list(fastnn.utils.dlpack.DLDeviceType.__members__.items()) == list(
        torch.utils.dlpack.DLDeviceType.__members__.items()
    )


LAYOUTS = {
    "contiguous": lambda x: x,
    "transposed": lambda x: x.transpose(0, 2),
    "sliced": lambda x: x[1:, :, 1::2],  # an offset and a step
    "expanded": lambda x: x[:, :1].expand(2, 5, 4),  # stride 0
    "zero_size": lambda x: x[:, :0],
    "zero_d": lambda x: x[1, 2, 3],
    "size_one": lambda x: x[:1, 1:2],
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layouts_to_torch_and_numpy(layout):
    f = LAYOUTS[layout](fastnn.arange(24.0).reshape(2, 3, 4))
    t = torch.from_dlpack(f)
    expected = LAYOUTS[layout](torch.arange(24.0).reshape(2, 3, 4))
    assert t.shape == expected.shape and t.stride() == expected.stride()
    np.testing.assert_array_equal(t.numpy(), expected.numpy())
    a = np.from_dlpack(f)
    np.testing.assert_array_equal(a, expected.numpy())
    if f.numel():
        assert t.data_ptr() == f.data_ptr() == np_ptr(a)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layouts_from_torch(layout):
    t = LAYOUTS[layout](torch.arange(24.0).reshape(2, 3, 4))
    f = fastnn.from_dlpack(t)
    assert tuple(f.shape) == t.shape and f.stride() == t.stride() and f.storage_offset() == 0
    np.testing.assert_array_equal(f.numpy(), t.numpy())
    if t.numel():
        assert f.data_ptr() == t.data_ptr()


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a.T,
        lambda a: a[1:, ::2],
        lambda a: a[:, :0],
        lambda a: a[1, 2, ...],
        lambda a: np.lib.stride_tricks.as_strided(a[:1], (3, 4), (0, 8)),
    ],
    ids=["T", "sliced", "empty", "0d", "bcast"],
)
def test_layouts_from_numpy(make):
    a = make(np.arange(12.0).reshape(3, 4))
    f = fastnn.from_dlpack(a)
    t = torch.from_dlpack(a)
    assert tuple(f.shape) == a.shape and f.stride() == t.stride()
    np.testing.assert_array_equal(f.numpy(), a)
    if a.size:
        assert f.data_ptr() == np_ptr(a)


@pytest.mark.parametrize("dtype", list(DTYPES), ids=str)
def test_every_dtype_from_torch_and_numpy(dtype):
    tdt, ndt = DTYPES[dtype]
    t = torch.arange(12).reshape(3, 4).remainder(2 if tdt == torch.bool else 100).to(tdt).t()
    f = fastnn.from_dlpack(t)
    assert f.dtype == dtype and f.data_ptr() == t.data_ptr() and f.stride() == t.stride()
    np.testing.assert_array_equal(as_float64(f), as_float64(t))
    if ndt is not None:
        a = np.arange(12).reshape(3, 4).astype(ndt)[:, 1:]
        f = fastnn.from_dlpack(a)
        assert f.dtype == dtype and f.data_ptr() == np_ptr(a)
        np.testing.assert_array_equal(as_float64(f), a.astype(np.float64))


def test_fastnn_to_fastnn_shares_memory():
    a = fastnn.arange(6.0).reshape(2, 3)
    b = fastnn.from_dlpack(a.t())
    assert b.data_ptr() == a.data_ptr() and b.stride() == (1, 3)
    b[0, 1] = -1.0
    assert a[1, 0].item() == -1.0


# --- writes are shared ---


def test_writes_are_visible_both_ways():
    f = fastnn.zeros(2, 3)
    t = torch.from_dlpack(f)
    a = np.from_dlpack(f)
    t[0, 1] = 5.0
    f[1, 2] = 7.0
    assert f[0, 1].item() == 5.0 and a[0, 1] == 5.0 and t[1, 2].item() == 7.0 and a[1, 2] == 7.0
    t2 = torch.zeros(3)
    f2 = fastnn.from_dlpack(t2)
    f2.add_(1.0)
    t2[2] = 9.0
    assert t2.tolist() == [1.0, 1.0, 9.0] and f2.tolist() == [1.0, 1.0, 9.0]
    a3 = np.zeros(3)
    f3 = fastnn.from_dlpack(a3)
    f3[0] = 4.0
    a3[1] = 2.0
    assert a3.tolist() == [4.0, 2.0, 0.0] and f3.tolist() == [4.0, 2.0, 0.0]


# --- lifetimes ---


def churn():
    """Frees and reuses memory, so a consumer reading freed memory sees other values (and ASan reports it)."""
    gc.collect()
    junk = [fastnn.full((64,), -7.0) for _ in range(50)] + [torch.full((64,), -7.0) for _ in range(50)]
    del junk


def test_torch_and_numpy_keep_fastnn_memory_alive():
    f = fastnn.arange(64.0)
    t = torch.from_dlpack(f)
    a = np.from_dlpack(fastnn.arange(64.0)[1::2])
    del f
    churn()
    np.testing.assert_array_equal(t.numpy(), np.arange(64.0))
    np.testing.assert_array_equal(a, np.arange(64.0)[1::2])


def test_fastnn_keeps_torch_and_numpy_memory_alive():
    f = fastnn.from_dlpack(torch.arange(64.0)[::2])
    a = np.arange(64.0)
    before = sys.getrefcount(a)
    g = fastnn.from_dlpack(a)
    assert sys.getrefcount(a) > before  # NumPy's capsule holds the array while fastnn holds the memory
    del a
    churn()
    np.testing.assert_array_equal(f.numpy(), np.arange(64.0)[::2])
    np.testing.assert_array_equal(g.numpy(), np.arange(64.0))


def test_memory_is_released_when_the_consumer_dies():
    a = np.arange(8.0)
    before = sys.getrefcount(a)
    g = fastnn.from_dlpack(a)
    del g
    gc.collect()
    assert sys.getrefcount(a) == before
    in_use = fastnn._C._allocator_in_use_bytes()  # (after gc.collect: no garbage tensors left to free)
    t = torch.from_dlpack(fastnn.ones(1024))  # the fastnn tensor dies here; torch's holds the storage
    assert fastnn._C._allocator_in_use_bytes() >= in_use + 4096
    del t
    gc.collect()
    assert fastnn._C._allocator_in_use_bytes() == in_use


def test_unconsumed_and_refused_capsules_release_their_memory():
    gc.collect()
    in_use = fastnn._C._allocator_in_use_bytes()
    capsule = fastnn.ones(1024).__dlpack__(max_version=(1, 0))
    legacy = fastnn.to_dlpack(fastnn.ones(1024))
    assert fastnn._C._allocator_in_use_bytes() >= in_use + 8192
    del capsule, legacy
    gc.collect()
    assert fastnn._C._allocator_in_use_bytes() == in_use
    a = np.ones(3, np.complex64)
    before = sys.getrefcount(a)
    with pytest.raises(TypeError, match="unsupported DLPack dtype complex64"):
        fastnn.from_dlpack(a)
    gc.collect()
    assert sys.getrefcount(a) == before


# --- capsules ---


def test_capsules_are_consumed_once():
    for capsule in [
        fastnn.to_dlpack(fastnn.arange(3)),
        fastnn.utils.dlpack.to_dlpack(fastnn.arange(3)),
        fastnn.arange(3).__dlpack__(max_version=(1, 0)),
        torch.utils.dlpack.to_dlpack(torch.arange(3)),
        torch.arange(3).__dlpack__(max_version=(1, 0)),
        np.arange(3).__dlpack__(),
    ]:
        name = capsule_name(capsule)
        assert fastnn.from_dlpack(capsule).tolist() == [0, 1, 2]
        assert capsule_name(capsule) == "used_" + name
        with pytest.raises(RuntimeError, match=r"\[from_dlpack\] received an invalid capsule .*consumed only once"):
            fastnn.from_dlpack(capsule)
    capsule = fastnn.to_dlpack(fastnn.arange(3))
    assert torch.from_dlpack(capsule).tolist() == [0, 1, 2] and capsule_name(capsule) == "used_dltensor"
    with pytest.raises(RuntimeError, match="consumed only once"):
        torch.from_dlpack(capsule)


def test_utils_dlpack_module():
    assert fastnn.utils.dlpack.from_dlpack is fastnn.from_dlpack
    assert fastnn.utils.dlpack.to_dlpack is fastnn.to_dlpack
    t = torch.utils.dlpack.from_dlpack(fastnn.utils.dlpack.to_dlpack(fastnn.arange(4.0)))
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    # torch's legacy to_dlpack does not check requires_grad (only __dlpack__ does): neither does fastnn's
    assert capsule_name(fastnn.to_dlpack(fastnn.ones(2, requires_grad=True))) == "dltensor"


# --- __dlpack__'s arguments ---


def test_stream_argument():
    f = fastnn.ones(2)
    for stream in (None, -1):  # -1: torch's "no synchronisation", the default of torch's __dlpack__
        assert capsule_name(f.__dlpack__(stream=stream)) == "dltensor"
    with pytest.raises(ValueError, match=r"\[__dlpack__\] stream must be None for a CPU tensor .*got 1"):
        f.__dlpack__(stream=1)
    with pytest.raises(TypeError, match=r"\[__dlpack__\] stream must be an int or None, got str"):
        f.__dlpack__(stream="x")
    with pytest.raises(TypeError):
        f.__dlpack__(None)  # keyword-only, as torch's


def test_max_version_and_dl_device_arguments():
    f = fastnn.ones(2)
    assert capsule_name(f.__dlpack__(dl_device=(fastnn.utils.dlpack.DLDeviceType.kDLCPU, 0))) == "dltensor"
    assert capsule_name(f.__dlpack__(dl_device=(1, 0), max_version=(1, 2))) == "dltensor_versioned"
    for bad, what in [(5, "int"), ((1,), "a tuple of 1"), ("ab", "str")]:
        with pytest.raises(TypeError, match=rf"\[__dlpack__\] max_version must be None or a tuple of two .*got {what}"):
            f.__dlpack__(max_version=bad)
        with pytest.raises(TypeError, match=rf"\[__dlpack__\] dl_device must be None or a tuple .*got {what}"):
            f.__dlpack__(dl_device=bad)
    with pytest.raises(TypeError, match=r"\[__dlpack__\] max_version must be an int"):
        f.__dlpack__(max_version=(1.0, 0))
    for dev in [(2, 0), (1, 1)]:
        with pytest.raises(
            BufferError,
            match=rf"\[__dlpack__\] cannot export to DLPack device \({dev[0]}, {dev[1]}\): "
            "fastnn tensors live on the CPU",
        ):
            f.__dlpack__(dl_device=dev)


def test_copy_argument():
    f = fastnn.arange(12.0).reshape(3, 4)[:, 1:]
    shared = f.__dlpack__(copy=False, max_version=(1, 0))
    assert peek(shared)[1]["data"] == f.data_ptr() and peek(shared)[0].flags == 0
    copied = f.__dlpack__(copy=True, max_version=(1, 0))
    m, fields = peek(copied)
    assert fields["data"] != f.data_ptr() and fields["strides"] == [3, 1] and m.flags == 2  # IS_COPIED
    t = torch.from_dlpack(copied)
    t[0, 0] = -1.0
    assert f[0, 0].item() == 1.0 and t.tolist()[1] == [5.0, 6.0, 7.0]
    assert peek(f.__dlpack__(copy=True))[1]["data"] != f.data_ptr()  # legacy capsules copy too (no flags field)
    with pytest.raises(TypeError, match=r"\[__dlpack__\] copy must be a bool or None, got int"):
        f.__dlpack__(copy=1)
    # torch and NumPy ask for copies through from_dlpack
    assert torch.from_dlpack(f, copy=True).data_ptr() != f.data_ptr()
    assert np_ptr(np.from_dlpack(f, copy=True)) != f.data_ptr()


def test_requires_grad_is_refused_as_torch():
    x = fastnn.ones(2, requires_grad=True)
    msg = "Can't export tensors that require gradient, use tensor.detach()"
    with pytest.raises(BufferError, match=r"\[__dlpack__\] " + msg.replace("(", r"\(").replace(")", r"\)")):
        x.__dlpack__()
    with pytest.raises(BufferError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        torch.ones(2, requires_grad=True).__dlpack__()
    for lib in (torch, np):
        with pytest.raises(BufferError, match="Can't export tensors that require gradient"):
            lib.from_dlpack(x * 2)
    assert torch.from_dlpack(x.detach()).data_ptr() == x.data_ptr()


# --- from_dlpack's arguments and refusals ---


def test_from_dlpack_device_and_copy():
    t = torch.arange(4.0)
    for dev in ("cpu", fastnn.device("cpu"), "cpu:0"):
        assert fastnn.from_dlpack(t, device=dev).data_ptr() == t.data_ptr()
    c = fastnn.from_dlpack(t, copy=True)
    assert c.data_ptr() != t.data_ptr() and c.tolist() == t.tolist()
    assert fastnn.from_dlpack(t, copy=False).data_ptr() == t.data_ptr()
    a = np.arange(4.0)
    assert fastnn.from_dlpack(a, copy=True).data_ptr() != np_ptr(a)
    with pytest.raises(RuntimeError, match=r"\[from_dlpack\] fastnn tensors live on the CPU, got device 'cuda'"):
        fastnn.from_dlpack(t, device="cuda")
    with pytest.raises(RuntimeError, match=r"\[from_dlpack\] Invalid device string"):
        fastnn.from_dlpack(t, device="gpu!")
    with pytest.raises(TypeError, match=r"\[from_dlpack\] copy must be a bool or None, got int"):
        fastnn.from_dlpack(t, copy=1)
    with pytest.raises(ValueError, match=r"\[from_dlpack\] device and copy are not supported .* a DLPack capsule"):
        fastnn.from_dlpack(torch.utils.dlpack.to_dlpack(t), copy=True)


class LegacyProducer:
    """A producer written before DLPack 1.0: __dlpack__ takes only stream."""

    def __init__(self, array):
        self.array = array

    def __dlpack__(self, stream=None):
        return self.array.__dlpack__(stream=stream)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()


def test_producers_without_the_newer_arguments():
    a = np.arange(3.0)
    f = fastnn.from_dlpack(LegacyProducer(a))
    assert f.data_ptr() == np_ptr(a)
    c = fastnn.from_dlpack(LegacyProducer(a), copy=True)  # the producer cannot copy: fastnn does
    assert c.data_ptr() != np_ptr(a) and c.tolist() == [0.0, 1.0, 2.0]


def test_refused_inputs():
    with pytest.raises(
        TypeError,
        match=r"\[from_dlpack\] expected an object with __dlpack__ or a DLPack capsule, "
        "got int",
    ):
        fastnn.from_dlpack(3)
    with pytest.raises(TypeError, match=r"got list"):
        fastnn.from_dlpack([1, 2])
    with pytest.raises(RuntimeError, match=r"\[from_dlpack\] received an invalid capsule \(named 'foo'"):
        fastnn.from_dlpack(_new_capsule(1, b"foo", None))

    class OnGpu(LegacyProducer):
        def __dlpack_device__(self):
            return (2, 0)

    with pytest.raises(
        RuntimeError,
        match=r"\[from_dlpack\] fastnn tensors live on the CPU, got a tensor on DLPack "
        r"device kDLCUDA \(2\), id 0",
    ):
        fastnn.from_dlpack(OnGpu(np.ones(2)))


@pytest.mark.parametrize(
    "dtype,name",
    [
        (np.complex64, "complex64"),
        (np.complex128, "complex128"),
        (np.uint16, "uint16"),
        (np.uint32, "uint32"),
        (np.uint64, "uint64"),
    ],
)
def test_unsupported_dtypes(dtype, name):
    for producer in (np.ones(2, dtype), torch.from_numpy(np.ones(2, dtype))):
        with pytest.raises(TypeError, match=rf"\[from_dlpack\] unsupported DLPack dtype {name} \(fastnn has bool"):
            fastnn.from_dlpack(producer)


def test_hand_made_capsules():
    a = np.arange(6.0).reshape(2, 3)
    f = fastnn.from_dlpack(fake_capsule(a, strides=False))  # no strides: compact row-major
    assert f.stride() == (3, 1) and f.tolist() == a.tolist()
    f = fastnn.from_dlpack(fake_capsule(a, byte_offset=16))  # data + byte_offset is the first element
    assert f.data_ptr() == np_ptr(a) and f.tolist() == a.tolist()
    with pytest.raises(
        RuntimeError,
        match=r"\[from_dlpack\] fastnn tensors live on the CPU, got a DLPack tensor on "
        r"device \(2, 0\)",
    ):
        fastnn.from_dlpack(fake_capsule(a, device_type=2))
    with pytest.raises(TypeError, match=r"unsupported DLPack dtype float64x4"):
        fastnn.from_dlpack(fake_capsule(a, lanes=4))
    with pytest.raises(TypeError, match=r"unsupported DLPack dtype type code 9 with 8 bits"):
        fastnn.from_dlpack(fake_capsule(a, code=9, bits=8))
    with pytest.raises(TypeError, match=r"unsupported DLPack dtype bool16"):
        fastnn.from_dlpack(fake_capsule(a, code=6, bits=16))
    with pytest.raises(RuntimeError, match=r"the DLPack tensor has version 2\.0; fastnn understands 1\.x"):
        fastnn.from_dlpack(fake_capsule(a, versioned=True, major=2))
    with pytest.raises(ValueError, match=r"\[from_dlpack\] invalid DLPack tensor: null data"):
        fastnn.from_dlpack(fake_capsule(a, data=False))
    with pytest.raises(ValueError, match=r"not aligned to its 8-byte elements"):
        fastnn.from_dlpack(fake_capsule(a, byte_offset=8, shift=4))
    assert fastnn.from_dlpack(fake_capsule(a[:, :0], data=False)).shape == (2, 0)  # no data needed when empty


def test_negative_strides():
    # NumPy exports negative strides; torch.from_dlpack aborts the process on them (a C++ error thrown
    # through its deleter), fastnn refuses them as from_numpy does and points at the copy.
    a = np.arange(5.0)[::-1]
    with pytest.raises(ValueError, match=r"\[from_dlpack\] the DLPack tensor's strides \[-1\] are negative.*copy=True"):
        fastnn.from_dlpack(a)
    assert fastnn.from_dlpack(a, copy=True).tolist() == [4.0, 3.0, 2.0, 1.0, 0.0]
    # a stride no element uses is fine
    b = np.arange(3.0).reshape(3, 1)[:, ::-1]
    assert fastnn.from_dlpack(b).tolist() == [[0.0], [1.0], [2.0]]


def test_read_only_arrays_are_shared_with_a_warning():
    # NumPy flags read-only arrays in versioned capsules; torch.from_dlpack shares them anyway (no copy, no
    # warning). fastnn shares them too, with the warning torch.from_numpy gives for non-writable arrays.
    a = np.arange(3.0)
    a.flags.writeable = False
    with pytest.warns(UserWarning, match=r"\[from_dlpack\] the DLPack tensor is read-only"):
        f = fastnn.from_dlpack(a)
    assert f.data_ptr() == np_ptr(a) == torch.from_dlpack(a).data_ptr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = fastnn.from_dlpack(a, copy=True)
    assert c.data_ptr() != np_ptr(a) and c.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(BufferError):  # NumPy refuses a legacy capsule, which cannot say read-only
        fastnn.from_dlpack(a.__dlpack__())
    f = fastnn.from_dlpack(fake_capsule(np.arange(2.0), versioned=True, flags=2))  # IS_COPIED alone: no warning
    assert f.tolist() == [0.0, 1.0]


def test_imported_tensors_are_plain_leaves():
    t = torch.arange(3.0)
    f = fastnn.from_dlpack(t).requires_grad_()
    assert f.is_leaf and f.grad_fn is None
    (f * f).sum().backward()
    assert f.grad.tolist() == [0.0, 2.0, 4.0]
