"""Devices, as torch 2.13 CPU has them: fastnn.device objects, tensor.device/.to()/.cpu()/.cuda(), device= in
factories and layers, and the CPU-only answers of fastnn.cuda/backends/accelerator/distributed/onnx/nn.parallel."""

import pickle
import re

import numpy as np
import pytest

import fastnn
from oracle import assert_close

torch = pytest.importorskip("torch", reason="PyTorch (CPU, 2.13.0) is the test oracle")

# A CUDA build on a machine without a GPU (scripts/check_cuda_build.sh) names the missing GPU instead.
NO_DEVICE = (
    "is not available: no CUDA GPU was found by this CUDA build of fastnn"
    if fastnn._C._cuda_built()
    else "is not available: fastnn was built for the CPU only"
)
OTHER_DEVICE = "is not available: fastnn has CPU and CUDA devices only" if fastnn._C._cuda_built() else NO_DEVICE
pytestmark = pytest.mark.skipif(fastnn.cuda.is_available(), reason="these are the answers without a GPU")


def _outcome(fn):
    """(exception type name, message without fastnn's "[op] " prefix) or ("ok", value)."""
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001
        return type(e).__name__, re.sub(r"^\[[\w.]+\] ", "", str(e))


DEVICE_ARGS = [
    ("cpu",),
    ("cpu:0",),
    ("cpu", 0),
    ("cpu", 3),
    ("cuda",),
    ("cuda:1",),
    ("cuda", 2),
    ("meta",),
    ("mps",),
    ("xla:0",),
]


@pytest.mark.parametrize("args", DEVICE_ARGS)
def test_device_type_index_str_repr_as_torch(args):
    ours, theirs = fastnn.device(*args), torch.device(*args)
    assert (ours.type, ours.index) == (theirs.type, theirs.index)
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)


def test_device_keywords_and_copy():
    assert repr(fastnn.device(type="cpu")) == repr(torch.device(type="cpu"))
    assert repr(fastnn.device(type="cuda", index=1)) == repr(torch.device(type="cuda", index=1))
    d = fastnn.device("cpu:0")
    assert fastnn.device(d) == d and repr(fastnn.device(d)) == repr(torch.device(torch.device("cpu:0")))


def test_device_equality_and_hash_as_torch():
    pairs = [("cpu", "cpu"), ("cpu", "cpu:0"), ("cpu:0", "cpu:0"), ("cpu", "cuda"), ("cuda:0", "cuda:1")]
    for a, b in pairs:
        assert (fastnn.device(a) == fastnn.device(b)) == (torch.device(a) == torch.device(b)), (a, b)
        assert (fastnn.device(a) != fastnn.device(b)) == (torch.device(a) != torch.device(b)), (a, b)
    # torch never compares a device equal to a string, nor to anything else
    for other in ("cpu", "cpu:0", None, 0):
        assert (fastnn.device("cpu") == other) == (torch.device("cpu") == other) is False
    assert hash(fastnn.device("cpu")) == hash(fastnn.device("cpu"))
    assert len({fastnn.device("cpu"), fastnn.device("cpu"), fastnn.device("cpu:0")}) == 2
    assert {fastnn.device("cpu"): 1}[fastnn.device("cpu")] == 1


def test_device_is_read_only_and_pickles():
    d = fastnn.device("cuda:1")
    with pytest.raises(AttributeError):
        d.type = "cpu"
    assert pickle.loads(pickle.dumps(d)) == d
    assert fastnn.device.__name__ == "device" and fastnn.device.__module__ == "fastnn"


BAD_DEVICES = [
    ("cpu:",),
    ("cpu:-1",),
    ("gpu",),
    ("cuda:x",),
    ("",),
    ("cpu:0:1",),
    (" cpu",),
    ("CPU",),
    ("cpu:01",),
    ("cuda:1x",),
    ("cpu", -1),
    ("cpu:0", 1),
    (5,),
    (-1,),
]


@pytest.mark.parametrize("args", BAD_DEVICES)
def test_malformed_devices_raise_as_torch(args):
    ours, theirs = _outcome(lambda: fastnn.device(*args)), _outcome(lambda: torch.device(*args))
    assert ours[0] == theirs[0] == "RuntimeError"
    assert ours[1] == theirs[1]


@pytest.mark.parametrize("args", [(None,), (1.5,), ("cpu", "0"), ()])
def test_device_argument_types_are_type_errors(args):
    assert _outcome(lambda: torch.device(*args))[0] == "TypeError"
    with pytest.raises(TypeError, match=r"^\[device\]" if args else "device"):
        fastnn.device(*args)


# ---- tensors ----


def test_tensor_device_properties():
    x, t = fastnn.ones(2), torch.ones(2)
    assert repr(x.device) == repr(t.device) and x.device == fastnn.device("cpu")
    assert (x.is_cuda, x.is_cpu) == (t.is_cuda, t.is_cpu) == (False, True)
    assert x.cpu() is x and t.cpu() is t
    with pytest.raises(RuntimeError, match=r"^\[cuda\] device 'cuda' " + NO_DEVICE):
        x.cuda()


TO_CALLS = [
    ("device str", lambda m, x: x.to("cpu")),
    ("device obj", lambda m, x: x.to(m.device("cpu"))),
    ("device kw", lambda m, x: x.to(device="cpu")),
    ("dtype", lambda m, x: x.to(m.float64)),
    ("same dtype", lambda m, x: x.to(m.float32)),
    ("device, dtype", lambda m, x: x.to("cpu", m.int64)),
    ("device, dtype kw", lambda m, x: x.to("cpu", dtype=m.float64)),
    ("keywords", lambda m, x: x.to(dtype=m.float64, device="cpu")),
    ("other", lambda m, x: x.to(m.zeros(1, dtype=m.float64))),
    ("non_blocking", lambda m, x: x.to("cpu", non_blocking=True)),
    ("copy", lambda m, x: x.to("cpu", copy=True)),
    ("copy positional", lambda m, x: x.to(m.float32, False, True)),
    ("copy dtype change", lambda m, x: x.to(m.float64, copy=True)),
    ("all positional", lambda m, x: x.to(m.device("cpu"), m.int64, True, True)),
    ("nothing", lambda m, x: x.to()),
    ("only flags", lambda m, x: x.to(non_blocking=True)),
]


@pytest.mark.parametrize("name,call", TO_CALLS, ids=[c[0] for c in TO_CALLS])
def test_to_as_torch(name, call):
    a = np.array([1.5, -2.0, 3.25], dtype=np.float32)
    x, t = fastnn.tensor(a), torch.tensor(a)
    ours, theirs = call(fastnn, x), call(torch, t)
    assert_close(ours, theirs)
    assert (ours is x) == (theirs is t), "to() copies exactly when torch does"
    if ours is not x:  # a copy, not a view
        ours.fill_(0) if ours.dtype != fastnn.bool else None
        assert x.tolist() == a.tolist()


def test_to_records_tocopy_like_torch():
    x, t = fastnn.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    for call in (lambda m, v: v.to(m.float64), lambda m, v: v.to("cpu", copy=True)):
        ours, theirs = call(fastnn, x), call(torch, t)
        assert ours.grad_fn.name() == theirs.grad_fn.name() == "ToCopyBackward0"
        ours.sum().backward()
        theirs.sum().backward()
    assert_close(x.grad, t.grad)


BAD_TO = [
    ("cuda", lambda m, x: x.to("cuda"), RuntimeError, r"^\[to\] device 'cuda' " + NO_DEVICE),
    ("cuda device", lambda m, x: x.to(m.device("cuda", 1)), RuntimeError, r"^\[to\] device 'cuda:1' " + NO_DEVICE),
    ("cuda kw", lambda m, x: x.to(device="cuda", dtype=m.float64), RuntimeError, "device 'cuda' " + NO_DEVICE),
    ("meta", lambda m, x: x.to("meta"), RuntimeError, "device 'meta' " + OTHER_DEVICE),
    ("index", lambda m, x: x.to(0), RuntimeError, "Cannot access accelerator device when none is available."),
    ("two devices", lambda m, x: x.to("cpu", "cpu"), TypeError, "non_blocking"),
    ("two dtypes", lambda m, x: x.to(m.float64, m.float64), TypeError, "non_blocking"),
    ("dtype then device kw", lambda m, x: x.to(m.float64, device="cpu"), TypeError, r"^\[to\]"),
    ("bad dtype kw", lambda m, x: x.to(dtype=5), TypeError, r"^\[to\] dtype"),
    ("unknown kw", lambda m, x: x.to(foo=1), TypeError, "foo"),
    ("bad string", lambda m, x: x.to("gpu"), RuntimeError, "Expected one of cpu, cuda"),
]


@pytest.mark.parametrize("name,call,exc,match", BAD_TO, ids=[c[0] for c in BAD_TO])
def test_to_errors(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call(fastnn, fastnn.ones(2))
    if not name.startswith(("cuda", "meta")):  # torch CPU raises AssertionError for cuda, and moves to meta
        assert _outcome(lambda: call(torch, torch.ones(2)))[0] == exc.__name__


def test_cpu_with_an_index_is_accepted_as_torch():
    assert fastnn.ones(1).to("cpu:1").device == fastnn.device("cpu")
    assert torch.ones(1).to("cpu:1").device == torch.device("cpu")


# ---- device= in factories ----

FACTORIES = {
    "empty": lambda m, d: m.empty(2, 3, device=d),
    "zeros": lambda m, d: m.zeros(2, 3, device=d),
    "ones": lambda m, d: m.ones((2, 3), device=d),
    "full": lambda m, d: m.full((2,), 1.5, device=d),
    "arange": lambda m, d: m.arange(5, device=d),
    "eye": lambda m, d: m.eye(3, device=d),
    "rand": lambda m, d: m.rand(2, device=d),
    "randn": lambda m, d: m.randn(2, device=d),
    "randint": lambda m, d: m.randint(0, 5, (3,), device=d),
    "tensor": lambda m, d: m.tensor([1.0, 2.0], device=d),
    "empty_like": lambda m, d: m.empty_like(m.ones(2), device=d),
    "zeros_like": lambda m, d: m.zeros_like(m.ones(2), device=d),
    "ones_like": lambda m, d: m.ones_like(m.ones(2), device=d),
    "rand_like": lambda m, d: m.rand_like(m.ones(2), device=d),
    "randn_like": lambda m, d: m.randn_like(m.ones(2), device=d),
    "full_like": lambda m, d: m.full_like(m.ones(2), 7.0, device=d),
    "new_zeros": lambda m, d: m.ones(2).new_zeros(3, device=d),
    "new_ones": lambda m, d: m.ones(2).new_ones((3,), device=d),
    "new_empty": lambda m, d: m.ones(2).new_empty(3, device=d),
    "new_full": lambda m, d: m.ones(2).new_full((3,), 2.0, device=d),
    "new_tensor": lambda m, d: m.ones(2).new_tensor([1.0], device=d),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_factories_accept_the_cpu(name):
    make = FACTORIES[name]
    for d in ("cpu", "cpu:0", None):
        ours, theirs = make(fastnn, d), make(torch, d)
        assert tuple(ours.shape) == tuple(theirs.shape) and ours.device == fastnn.device("cpu")
        assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    assert tuple(make(fastnn, fastnn.device("cpu")).shape) == tuple(make(torch, torch.device("cpu")).shape)


@pytest.mark.parametrize("name", list(FACTORIES))
def test_factories_refuse_other_devices_naming_op_and_device(name):
    make = FACTORIES[name]
    op = name if not name.startswith("new_") else name[len("new_") :]
    op = "tensor" if name == "new_tensor" else op
    for d, shown, why in (
        ("cuda", "cuda", NO_DEVICE),
        (fastnn.device("cuda", 1), "cuda:1", NO_DEVICE),
        ("meta", "meta", OTHER_DEVICE),
    ):
        with pytest.raises(RuntimeError, match=rf"^\[{op}\] device '{shown}' {why}$"):
            make(fastnn, d)
    with pytest.raises(RuntimeError, match=rf"^\[{op}\] Expected one of cpu, cuda"):
        make(fastnn, "gpu")
    with pytest.raises(TypeError, match=rf"^\[{op}\] device"):
        make(fastnn, 1.5)
    assert _outcome(lambda: make(torch, 1.5))[0] == "TypeError"


def test_check_device_returns_the_device():
    from fastnn._factories import _check_device

    assert _check_device(None, "zeros") == fastnn.device("cpu")
    assert _check_device("cpu:0", "zeros") == fastnn.device("cpu:0")
    with pytest.raises(RuntimeError, match=r"^\[my_op\] device 'cuda:0' " + NO_DEVICE):
        _check_device("cuda:0", "my_op")


# ---- layers ----

LAYERS = {
    "Linear": lambda m, **kw: m.nn.Linear(3, 2, **kw),
    "Conv2d": lambda m, **kw: m.nn.Conv2d(1, 2, 3, **kw),
    "BatchNorm1d": lambda m, **kw: m.nn.BatchNorm1d(3, **kw),
    "BatchNorm2d": lambda m, **kw: m.nn.BatchNorm2d(3, **kw),
    "Embedding": lambda m, **kw: m.nn.Embedding(5, 2, **kw),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layers_take_device_and_dtype(name):
    make = LAYERS[name]
    ours = make(fastnn, device="cpu", dtype=fastnn.float64)
    theirs = make(torch, device="cpu", dtype=torch.float64)
    ours_t = {k: str(v.dtype).split(".")[1] for k, v in ours.state_dict().items()}
    theirs_t = {k: str(v.dtype).split(".")[1] for k, v in theirs.state_dict().items()}
    assert ours_t == theirs_t and "float64" in ours_t.values()
    assert all(p.dtype == fastnn.float64 for p in ours.parameters())
    make(fastnn, device=fastnn.device("cpu"))
    with pytest.raises(RuntimeError, match=rf"^\[{name}\] device 'cuda' {NO_DEVICE}$"):
        make(fastnn, device="cuda")


def test_module_to_cpu_cuda_and_dtypes():
    ours, theirs = fastnn.nn.BatchNorm1d(2), torch.nn.BatchNorm1d(2)
    for call in (
        lambda m, mod: mod.to("cpu"),
        lambda m, mod: mod.to(m.float64),
        lambda m, mod: mod.to("cpu", m.float64),
        lambda m, mod: mod.to(dtype=m.float64),
        lambda m, mod: mod.to(m.zeros(1, dtype=m.float64)),
        lambda m, mod: mod.float(),
        lambda m, mod: mod.double(),
        lambda m, mod: mod.cpu(),
    ):
        assert call(fastnn, ours) is ours and call(torch, theirs) is theirs
        for (k, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
            assert str(a.dtype).split(".")[1] == str(b.dtype).split(".")[1], k
    with pytest.raises(
        TypeError,
        match=r"^\[to\] nn.Module.to only accepts floating point or complex dtypes, but got "
        r"desired dtype=fastnn.int64$",
    ):
        ours.to(fastnn.int64)
    assert _outcome(lambda: theirs.to(torch.int64))[0] == "TypeError"
    with pytest.raises(RuntimeError, match=r"^\[to\] device 'cuda' " + NO_DEVICE):
        ours.to("cuda")
    with pytest.raises(RuntimeError, match=r"^\[cuda\] device 'cuda' " + NO_DEVICE):
        ours.cuda()
    for method, dtype in (("half", "float16"), ("bfloat16", "bfloat16")):
        assert getattr(ours, method)() is ours and getattr(theirs, method)() is theirs
        assert ours.weight.dtype is getattr(fastnn, dtype) and theirs.weight.dtype is getattr(torch, dtype)


def test_module_to_keeps_parameters_and_converts_values():
    lin = fastnn.nn.Linear(2, 2)
    w, before = lin.weight, lin.weight.detach().clone()
    lin.double()
    assert lin.weight is w and w.dtype == fastnn.float64 and isinstance(w, fastnn.nn.Parameter)
    assert_close(w.detach().float(), before)


# ---- CPU-only answers of the torch modules ----


def test_cuda_module_as_torch_without_gpus():
    assert fastnn.cuda.is_available() is torch.cuda.is_available() is False
    assert fastnn.cuda.device_count() == torch.cuda.device_count() == 0
    assert fastnn.cuda.manual_seed(3) is None and fastnn.cuda.manual_seed_all(3) is None
    assert fastnn.cuda.is_initialized() is False and fastnn.cuda.empty_cache() is None
    with pytest.raises(TypeError, match=r"^\[cuda.manual_seed\] seed must be an int"):
        fastnn.cuda.manual_seed("a")
    for name in ("synchronize", "current_device", "get_device_name"):
        if fastnn._C._cuda_built():  # torch built with CUDA on a machine without a GPU says so too
            with pytest.raises(RuntimeError, match=rf"^\[cuda.{name}\] device 'cuda' {NO_DEVICE}"):
                getattr(fastnn.cuda, name)()
            continue
        with pytest.raises(RuntimeError, match=rf"^\[cuda.{name}\] Torch not compiled with CUDA enabled"):
            getattr(fastnn.cuda, name)()
        assert _outcome(getattr(torch.cuda, name)) == ("AssertionError", "Torch not compiled with CUDA enabled")


def test_the_usual_device_line_picks_the_cpu():
    dev = fastnn.device("cuda" if fastnn.cuda.is_available() else "cpu")
    assert dev == fastnn.device("cpu") and fastnn.zeros(2, device=dev).device == dev


def test_backends_accelerator_and_determinism():
    cudnn = fastnn.backends.cudnn
    for name in ("deterministic", "benchmark", "enabled"):
        assert getattr(cudnn, name) == getattr(torch.backends.cudnn, name)
    cudnn.deterministic, cudnn.benchmark = True, False
    assert cudnn.deterministic is True
    cudnn.deterministic = False
    assert fastnn.backends.mps.is_available() is torch.backends.mps.is_available() is False
    fastnn.backends.cuda.matmul.allow_tf32 = True
    assert fastnn.accelerator.is_available() is torch.accelerator.is_available() is False
    assert fastnn.accelerator.current_accelerator() is torch.accelerator.current_accelerator() is None
    assert fastnn.are_deterministic_algorithms_enabled() is False
    try:
        fastnn.use_deterministic_algorithms(True)
        assert fastnn.are_deterministic_algorithms_enabled() is True
    finally:
        fastnn.use_deterministic_algorithms(False)
    assert fastnn.are_deterministic_algorithms_enabled() is False
    with pytest.raises(TypeError, match=r"^\[use_deterministic_algorithms\] argument 'mode' must be bool, not int"):
        fastnn.use_deterministic_algorithms(1)
    assert _outcome(lambda: torch.use_deterministic_algorithms(1))[0] == "TypeError"


def test_distributed_onnx_and_parallel_import_as_in_torch():
    import fastnn.distributed
    import fastnn.nn.parallel
    import fastnn.onnx  # noqa: F401

    assert fastnn.distributed.is_available() is True and fastnn.distributed.is_initialized() is False
    with pytest.raises(ValueError, match=r"^\[init_process_group\] backend 'gloo' is not available"):
        fastnn.distributed.init_process_group("gloo")  # MPI only: tests/python/test_distributed.py
    with pytest.raises(TypeError, match=r"^\[onnx.export\] model must be a fastnn.nn.Module"):  # tests: test_onnx.py
        fastnn.onnx.export(None, (fastnn.ones(1),), "/nonexistent/model.onnx")
    ours = _outcome(lambda: fastnn.nn.parallel.DistributedDataParallel(fastnn.nn.Linear(1, 1)))
    assert ours == _outcome(lambda: torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(1, 1)))
    assert ours[0] == "ValueError" and "Default process group has not been initialized" in ours[1]


def test_data_parallel_is_a_transparent_wrapper_without_gpus():
    lin = fastnn.nn.Linear(2, 3)
    tlin = torch.nn.Linear(2, 3)
    with torch.no_grad():
        tlin.weight.copy_(torch.tensor(lin.weight.detach().numpy()))
        tlin.bias.copy_(torch.tensor(lin.bias.detach().numpy()))
    ours, theirs = fastnn.nn.DataParallel(lin), torch.nn.DataParallel(tlin)
    assert ours.module is lin and theirs.module is tlin
    assert ours.device_ids == theirs.device_ids == []
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["module.weight", "module.bias"]
    a = np.arange(4, dtype=np.float32).reshape(2, 2)
    assert_close(ours(fastnn.tensor(a)), theirs(torch.tensor(a)))
    assert fastnn.nn.parallel.DataParallel is fastnn.nn.DataParallel
    with pytest.raises(TypeError, match=r"^\[DataParallel\] module must be a fastnn.nn.Module"):
        fastnn.nn.DataParallel(3)
