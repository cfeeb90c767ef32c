"""fastnn.save / fastnn.load: bitwise round trips of models, optimizers and nested structures;
atomic writes; and clear ValueErrors (naming the file) for truncated, flipped, foreign or malicious
files."""

import collections
import io
import json
import math
import os
import struct

import numpy as np
import pytest

import fastnn
from fastnn import nn, serialization

safetensors_numpy = pytest.importorskip("safetensors.numpy", reason="safetensors is a runtime dependency")


def bits(t):
    a = t.detach().numpy()
    return a.dtype, a.shape, a.tobytes()


def small_net():
    fastnn.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))


def train_steps(model, opt, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = fastnn.from_numpy(rng.standard_normal((4, 1, 6, 6)).astype(np.float32))
        y = fastnn.from_numpy(rng.integers(0, 5, 4).astype(np.int64))
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


# ---------------------------------------------------------------------- round trips
@pytest.mark.parametrize(
    "make_opt",
    [
        lambda p: fastnn.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda p: fastnn.optim.Adam(p, lr=1e-3),
    ],
)
def test_model_and_optimizer_checkpoint_resumes_bitwise(tmp_path, make_opt):
    model = small_net()
    opt = make_opt(model.parameters())
    sched = fastnn.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    train_steps(model, opt, 3, seed=1)
    sched.step()
    path = tmp_path / "ck.pt"
    fastnn.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "epoch": 7,
        },
        path,
    )
    ck = fastnn.load(path)
    assert ck["epoch"] == 7 and isinstance(ck["model"], collections.OrderedDict)
    assert list(ck["model"]) == list(model.state_dict())
    for k, v in model.state_dict().items():
        assert bits(ck["model"][k]) == bits(v)
    assert ck["optimizer"]["param_groups"] == opt.state_dict()["param_groups"]
    assert ck["scheduler"] == sched.state_dict()
    assert sorted(ck["optimizer"]["state"]) == sorted(opt.state_dict()["state"])  # int keys stay ints

    # A fresh model + optimizer restored from the file continue exactly as the original does.
    model2 = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    opt2 = make_opt(model2.parameters())
    sched2 = fastnn.optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
    model2.load_state_dict(ck["model"])
    opt2.load_state_dict(ck["optimizer"])
    sched2.load_state_dict(ck["scheduler"])
    train_steps(model, opt, 2, seed=2)
    train_steps(model2, opt2, 2, seed=2)
    for (k, a), b in zip(model.state_dict().items(), model2.state_dict().values()):
        assert bits(a) == bits(b), k


def test_nested_structures_round_trip(tmp_path):
    t = fastnn.arange(12).reshape(3, 4)
    obj = {
        "ints": [0, -1, 2**70, True, False, None],
        "floats": (0.1, -0.0, float("inf"), float("-inf"), 1e-310, 3.0),
        "strings": ["", "ünïcödé ✓", 'quote " and \\ backslash', "__tensor__"],
        "keys": {0: "int", 1.5: "float", None: "none", True: "bool", "s": "str", "0": "str zero"},
        "ordered": collections.OrderedDict([("b", 1), ("a", 2)]),
        "tensors": {
            "f32": fastnn.randn(2, 3),
            "f64": fastnn.randn(4, dtype=fastnn.float64),
            "i64": t,
            "bool": t > 5,
            "scalar": fastnn.tensor(2.5),
            "empty": fastnn.zeros(0, 3),
            "transposed": t.t(),
            "grad": fastnn.ones(2, requires_grad=True),
        },
        "deep": [[[[{"x": [fastnn.tensor([1, 2])]}]]]],
        "empty": {"list": [], "tuple": (), "dict": {}},
    }
    fastnn.save(obj, tmp_path / "n.safetensors")
    got = fastnn.load(tmp_path / "n.safetensors")
    assert got["ints"] == obj["ints"] and [type(v) for v in got["ints"]] == [type(v) for v in obj["ints"]]
    assert isinstance(got["floats"], tuple)
    assert [struct.pack("<d", v) for v in got["floats"]] == [struct.pack("<d", v) for v in obj["floats"]]
    assert got["strings"] == obj["strings"]
    assert got["keys"] == obj["keys"] and [type(k) for k in got["keys"]] == [type(k) for k in obj["keys"]]
    assert type(got["ordered"]) is collections.OrderedDict and list(got["ordered"].items()) == [
        ("b", 1),
        ("a", 2),
    ]
    assert type(got["keys"]) is dict
    for k, v in obj["tensors"].items():
        assert isinstance(got["tensors"][k], fastnn.Tensor) and bits(got["tensors"][k]) == bits(v), k
    assert got["tensors"]["scalar"].shape == () and got["tensors"]["empty"].shape == (0, 3)
    assert got["tensors"]["transposed"].dtype == fastnn.int64 and got["tensors"]["transposed"].shape == (4, 3)
    assert got["tensors"]["grad"].requires_grad and not got["tensors"]["f32"].requires_grad
    assert bits(got["deep"][0][0][0][0]["x"][0]) == bits(fastnn.tensor([1, 2]))
    assert got["empty"] == {"list": [], "tuple": (), "dict": {}}
    assert fastnn.load(_saved(tmp_path, 42)) == 42 and fastnn.load(_saved(tmp_path, None)) is None


def _saved(tmp_path, obj, name="x.pt"):
    fastnn.save(obj, tmp_path / name)
    return tmp_path / name


def test_nan_payloads_and_special_values_are_bitwise(tmp_path):
    raw = np.array([0x7FC00001, 0xFFC12345, 0x80000000, 0x00000001, 0x7F800000], dtype=np.uint32)
    t = fastnn.from_numpy(raw.view(np.float32).copy())
    got = fastnn.load(_saved(tmp_path, t))
    assert got.numpy().view(np.uint32).tolist() == raw.tolist()
    i = fastnn.tensor([-(2**63), 2**63 - 1, 0])
    assert fastnn.load(_saved(tmp_path, i)).tolist() == [-(2**63), 2**63 - 1, 0]


def test_loaded_tensors_are_independent_and_writable(tmp_path):
    shared = fastnn.ones(3)
    got = fastnn.load(_saved(tmp_path, {"a": shared, "b": shared}))
    got["a"].add_(1.0)
    assert got["a"].tolist() == [2.0, 2.0, 2.0] and got["b"].tolist() == [1.0, 1.0, 1.0]
    assert shared.tolist() == [1.0, 1.0, 1.0]


def test_file_objects_and_plain_safetensors_interop(tmp_path):
    buf = io.BytesIO()
    fastnn.save({"w": fastnn.arange(4), "n": 3}, buf)
    buf.seek(0)
    got = fastnn.load(buf)
    assert got["n"] == 3 and got["w"].tolist() == [0, 1, 2, 3]
    # A fastnn checkpoint is a normal safetensors file named like the state dict ...
    model = small_net()
    fastnn.save(model.state_dict(), tmp_path / "m.safetensors")
    plain = safetensors_numpy.load_file(str(tmp_path / "m.safetensors"))
    assert sorted(plain) == sorted(model.state_dict())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(plain[k], v.numpy())
    # ... and a safetensors file from elsewhere loads as a flat dict that load_state_dict accepts.
    safetensors_numpy.save_file({k: v.numpy() for k, v in model.state_dict().items()}, str(tmp_path / "f.st"))
    flat = fastnn.load(tmp_path / "f.st")
    assert sorted(flat) == sorted(model.state_dict())
    model2 = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    model2.load_state_dict(flat)
    for a, b in zip(model.parameters(), model2.parameters()):
        assert bits(a) == bits(b)


def test_torch_safetensors_state_dict_loads_into_fastnn(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    tm = torch.nn.Linear(3, 2)
    st_torch.save_file(tm.state_dict(), str(tmp_path / "t.safetensors"))
    m = nn.Linear(3, 2)
    m.load_state_dict(fastnn.load(tmp_path / "t.safetensors"))
    np.testing.assert_array_equal(m.weight.detach().numpy(), tm.weight.detach().numpy())


def test_unsupported_objects_raise_and_leave_previous_file(tmp_path):
    path = _saved(tmp_path, {"v": 1}, "keep.pt")
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"cannot save an object of type ndarray at 'a\.b\.1'"):
        fastnn.save({"a": {"b": [1, np.zeros(2)]}}, path)
    with pytest.raises(TypeError, match="dict keys must be"):
        fastnn.save({(1, 2): 3}, path)
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="self-referencing"):
        fastnn.save(loop, path)
    assert path.read_bytes() == before and fastnn.load(path) == {"v": 1}
    assert sorted(os.listdir(tmp_path)) == ["keep.pt"]


# ---------------------------------------------------------------------- atomicity
def _fail_half_way(fd, data):
    os.write(fd, bytes(data[: len(data) // 2]))
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("where", ["write", "fsync", "replace", "interrupt"])
def test_failed_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch, where):
    path = _saved(tmp_path, {"epoch": 1, "w": fastnn.arange(1000)}, "ck.pt")
    before = path.read_bytes()
    if where == "write":
        monkeypatch.setattr(serialization, "_write_all", _fail_half_way)
        expected = OSError
    elif where == "fsync":

        def bad_fsync(fd):
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(serialization.os, "fsync", bad_fsync)
        expected = OSError
    elif where == "replace":

        def bad_replace(src, dst):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(serialization.os, "replace", bad_replace)
        expected = OSError
    else:

        def interrupted(fd, data):
            os.write(fd, bytes(data[:100]))
            raise KeyboardInterrupt

        monkeypatch.setattr(serialization, "_write_all", interrupted)
        expected = KeyboardInterrupt
    with pytest.raises(expected):
        fastnn.save({"epoch": 2, "w": fastnn.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    ck = fastnn.load(path)
    assert ck["epoch"] == 1 and ck["w"].tolist() == list(range(1000))
    assert os.listdir(tmp_path) == ["ck.pt"]  # the temporary file was removed


def test_save_replaces_and_writes_through_a_temp_file(tmp_path, monkeypatch):
    path = _saved(tmp_path, {"epoch": 1}, "ck.pt")
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append((os.path.dirname(src), os.path.basename(src), dst))
        return real(src, dst)

    monkeypatch.setattr(serialization.os, "replace", spy)
    fastnn.save({"epoch": 2}, path)
    assert fastnn.load(path) == {"epoch": 2}
    ((src_dir, src_name, dst),) = seen
    assert src_dir == str(tmp_path) and src_name != "ck.pt" and dst == str(path)


# ---------------------------------------------------------------------- bad files
def _check_bad(path, *fragments):
    with pytest.raises(ValueError) as info:
        fastnn.load(path)
    msg = str(info.value)
    assert str(path) in msg, msg
    for f in fragments:
        assert f in msg, msg
    return msg


@pytest.fixture
def good_file(tmp_path):
    return _saved(
        tmp_path,
        {"model": {"w": fastnn.randn(3, 4), "b": fastnn.arange(3)}, "epoch": 3, "lr": 0.1},
        "good.pt",
    )


def test_truncated_files_raise(tmp_path, good_file):
    data = good_file.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    for cut in sorted({0, 1, 7, 8, 9, 8 + n // 2, 8 + n, 8 + n + 1, len(data) - 1}):
        bad = tmp_path / f"cut{cut}.pt"
        bad.write_bytes(data[:cut])
        _check_bad(bad)


@pytest.mark.slow
def test_every_flipped_byte_is_detected(tmp_path, good_file):
    data = bytearray(good_file.read_bytes())
    bad = tmp_path / "flipped.pt"
    for i in range(len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 0xFF
        bad.write_bytes(bytes(flipped))
        _check_bad(bad)


def test_absurd_header_length_is_rejected_before_reading(tmp_path, monkeypatch):
    bad = tmp_path / "absurd.pt"
    bad.write_bytes(struct.pack("<Q", 2**63 + 5) + b"{}")
    reads = []
    real_open = open

    class Spy:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def fileno(self):
            return self.f.fileno()

        def read(self, n=-1):
            reads.append(n)
            return self.f.read(n)

    monkeypatch.setattr("builtins.open", lambda p, m="r", *a, **k: Spy(real_open(p, m, *a, **k)))
    with pytest.raises(ValueError, match="header claims 9223372036854775813 bytes"):
        fastnn.load(bad)
    monkeypatch.undo()
    assert reads == [8]  # only the length itself was read
    big = tmp_path / "big.pt"
    big.write_bytes(struct.pack("<Q", 200_000_000) + b" " * 64)
    _check_bad(big, "header claims 200000000 bytes")


def _craft(path, header, data=b""):
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def _ours(structure, tensors=None):
    """Metadata a fastnn file would carry for `structure` (a JSON string) and these tensor bytes."""
    return {
        "format": "fastnn",
        "fastnn.version": "1",
        "fastnn.structure": structure,
        "fastnn.sha256": serialization._digest(structure, tensors or {}),
    }


@pytest.mark.parametrize(
    "header, data, fragment",
    [
        (
            {"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
            b"\0" * 8,
            "outside the 8 data bytes",
        ),
        (
            {"x": {"dtype": "F32", "shape": [1000000000], "data_offsets": [0, 8]}},
            b"\0" * 8,
            "needs 4000000000 bytes",
        ),
        (
            {
                "x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
            },
            b"\0" * 12,
            "overlaps",
        ),
        ({"x": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4, "dtype 'BF16'"),
        (
            {"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}},
            b"\0" * 4,
            "invalid shape",
        ),
        (
            {"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
            b"\0" * 8,
            "cover 4 of the 8 data bytes",
        ),
        ({"x": [1, 2]}, b"", "malformed entry"),
        ({"__metadata__": {"format": 3}}, b"", "string-to-string"),
    ],
)
def test_inconsistent_safetensors_headers(tmp_path, header, data, fragment):
    _check_bad(_craft(tmp_path / "bad.pt", header, data), fragment)


@pytest.mark.parametrize(
    "structure, fragment",
    [
        ('{"a": 1}', "expected a tagged node"),
        ('["tensor", "missing", "float32", [1], false]', "not in the file"),
        ('["dict", [[["list", []], ["none"]]]]', "unhashable dict key"),
        ('["int", "12"]', "unknown node"),
        ('["float", "not-a-float"]', "bad float"),
        ('["exec", "import os"]', "unknown node"),
        ("[" * 100000 + "]" * 100000, "not valid JSON"),
        ('["list", [' * 300 + '["none"]' + "]]" * 300, "nested more than"),
        ("not json", "not valid JSON"),
    ],
    ids=[
        "object",
        "missing-tensor",
        "list-key",
        "int-as-string",
        "bad-float",
        "unknown-tag",
        "json-bomb",
        "too-deep",
        "not-json",
    ],
)
def test_metadata_that_is_not_ours(tmp_path, structure, fragment):
    _check_bad(_craft(tmp_path / "meta.pt", {"__metadata__": _ours(structure)}), fragment)


def test_structure_must_agree_with_tensors(tmp_path):
    data = np.zeros(2, np.float32).tobytes()
    header = {"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    for structure, fragment in [
        ('["tensor", "x", "float64", [2], false]', "recorded as 'float64'"),
        ('["tensor", "x", "float32", [1, 2], false]', "recorded with shape"),
        ('["tensor", "x", "float32", [2], 1]', "non-boolean requires_grad"),
    ]:
        header["__metadata__"] = _ours(structure, {"x": data})
        _check_bad(_craft(tmp_path / "s.pt", header, data), fragment)
    header["__metadata__"] = _ours('["tensor", "x", "float32", [2], false]', {"x": data})
    assert fastnn.load(_craft(tmp_path / "ok.pt", header, data)).tolist() == [0.0, 0.0]
    header["__metadata__"]["fastnn.version"] = "99"
    _check_bad(_craft(tmp_path / "v.pt", header, data), "unsupported fastnn format version '99'")


def test_foreign_files_raise(tmp_path):
    _check_bad(_write(tmp_path / "empty.pt", b""), "too short")
    _check_bad(_write(tmp_path / "text.pt", b"hello, this is not a checkpoint at all\n"))
    _check_bad(_write(tmp_path / "zip.pt", b"PK\x03\x04" + os.urandom(200)))
    _check_bad(_write(tmp_path / "json.pt", struct.pack("<Q", 4) + b"[1] "), "not a JSON object")
    _check_bad(_write(tmp_path / "utf.pt", struct.pack("<Q", 4) + b"\xff\xfe{}"), "not valid JSON")


def test_torch_pickle_checkpoint_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.zeros(3)}, tmp_path / "torch.pt")
    _check_bad(tmp_path / "torch.pt")


def _write(path, data):
    path.write_bytes(data)
    return path


def test_save_writes_through_symlinks_and_numpy_scalars(tmp_path):
    target = _saved(tmp_path, {"epoch": 1}, "epoch1.pt")
    link = tmp_path / "latest.pt"
    link.symlink_to(target.name)
    fastnn.save({"epoch": 2, "ok": np.bool_(True), "n": np.int64(5), "x": np.float32(0.5)}, link)
    assert link.is_symlink() and fastnn.load(target) == {"epoch": 2, "ok": True, "n": 5, "x": 0.5}


def test_missing_file_and_map_location(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastnn.load(tmp_path / "nope.pt")
    path = _saved(tmp_path, {"a": 1})
    assert fastnn.load(path, map_location="cpu", weights_only=True) == {"a": 1}
    assert fastnn.load(path, map_location="cuda:0") == {"a": 1}  # no tensor to place
    with pytest.raises(RuntimeError, match=r"^\[load\] device 'cuda:0' is not available"):
        fastnn.load(_saved(tmp_path, {"w": fastnn.ones(2)}), map_location="cuda:0")
    assert math.isnan(fastnn.load(_saved(tmp_path, float("nan"))))


def test_map_location_forms_as_torch(tmp_path, monkeypatch):
    """A tensor saved from a GPU records its device; load puts it back there, or where map_location says. Without
    a GPU the file is made by a tensor that claims to be on cuda:1."""
    w = fastnn.arange(4.0)
    plain = _saved(tmp_path, {"w": w}, "cpu.pt")
    monkeypatch.setattr(fastnn.Tensor, "is_cuda", property(lambda self: True))
    monkeypatch.setattr(fastnn.Tensor, "device", property(lambda self: fastnn.device("cuda", 1)))
    from_gpu = _saved(tmp_path, {"w": w}, "gpu.pt")
    monkeypatch.undo()
    seen = []

    def keep_on_cpu(t, location):
        seen.append(location)
        return t

    assert np.array_equal(fastnn.load(from_gpu, map_location=keep_on_cpu)["w"].numpy(), w.numpy())
    assert seen == ["cuda:1"]
    for where in ("cpu", fastnn.device("cpu"), {"cuda:1": "cpu"}):
        assert fastnn.load(from_gpu, map_location=where)["w"].device == fastnn.device("cpu")
    if not fastnn.cuda.is_available():
        with pytest.raises(RuntimeError, match=r"^\[load\] device 'cuda:1' is not available"):
            fastnn.load(from_gpu)
    assert fastnn.load(plain)["w"].device == fastnn.device("cpu")
    with pytest.raises(TypeError, match=r"^\[load\] map_location must be"):
        fastnn.load(plain, map_location=3.5)
    with pytest.raises(TypeError, match=r"returned int for tensor 'w'"):
        fastnn.load(plain, map_location=lambda t, loc: 1)
