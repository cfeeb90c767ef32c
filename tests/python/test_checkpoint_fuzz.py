"""Checkpoints under attack and under SIGKILL.

Fuzzing: every truncation of a small checkpoint, every byte flipped (three masks), thousands of
seeded random mutations, every header-length value that matters, and crafted headers (unknown dtypes,
bad shapes, offsets reversed/overlapping/outside the data, duplicate keys, non-UTF-8, JSON garbage)
and structures (with valid checksums, as an attacker would write them). Each load must give either a
ValueError naming the file or the original object; nothing else, no crash (the loop runs in a child
process: a crash fails the test), no code execution, and no allocation beyond a small multiple of
the file's size (tracemalloc's peak, checked per load; the child's address space is capped too).

SIGKILL: a child saves a ~20 MB state dict over and over to a target that starts as a valid older
checkpoint; the parent kills it at random moments and also exactly while the temporary file is open
(mid-write). After every kill the target loads and equals either the old or the new content.
"""

import io
import json
import os
import pickle
import random
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

import fastnn
from fastnn import serialization

AS_LIMIT = 4 << 30
# Loading holds the file's bytes, safetensors' arrays and their native-order copies (3x the file,
# measured for tensor data) plus JSON parsing of the header, which expands text into Python objects
# (15x measured for a structure of 200,000 tiny nodes). 32x + 1 MiB leaves room for that and still
# catches amplification (a tensor materialised once per reference: 5000x in the corpus below; a
# shape allocated without checking it against the file's size).
PEAK_FACTOR, PEAK_SLACK = 32, 1 << 20


def _env():
    here = os.path.dirname(os.path.abspath(__file__))
    return dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(fastnn.__path__[0]), here]))


def _run_child(code, timeout=300):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=_env())


# ---------------------------------------------------------------------- building files
def original():
    g = np.random.default_rng(0)
    return {
        "model": {
            "w": fastnn.from_numpy(g.standard_normal((3, 4)).astype(np.float32)),
            "b": fastnn.arange(3),
            "mask": fastnn.tensor([True, False, True]),
        },
        "epoch": 3,
        "lr": 0.1,
        "name": "ck",
        "none": None,
        "t": (1, 2.5),
        7: [fastnn.zeros(2, dtype=fastnn.float64)],
    }


def good_bytes():
    buf = io.BytesIO()
    fastnn.save(original(), buf)
    return buf.getvalue()


def split(data):
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def assemble(header, body, raw=None):
    """A safetensors file from a header (dict, or raw JSON bytes) and the data section."""
    if raw is None:
        raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + body


def reseal(header, body):
    """Recomputes the fastnn checksum, as someone crafting a file would."""
    header = json.loads(json.dumps(header))
    meta = header["__metadata__"]
    spans = {}
    for k, v in header.items():
        try:  # best effort for malformed entries: the loader must reject them before the checksum
            lo, hi = v["data_offsets"]
            spans[k] = body[int(lo) : int(hi)]
        except (TypeError, ValueError, KeyError, IndexError, OverflowError):
            spans[k] = b""
    spans.pop("__metadata__", None)
    meta["fastnn.sha256"] = serialization._digest(meta["fastnn.structure"], spans)
    return header


def with_structure(header, body, structure):
    header = json.loads(json.dumps(header))
    header["__metadata__"]["fastnn.structure"] = json.dumps(structure)
    return reseal(header, body)


def same(a, b):
    if isinstance(a, fastnn.Tensor) or isinstance(b, fastnn.Tensor):
        return (
            isinstance(a, fastnn.Tensor)
            and isinstance(b, fastnn.Tensor)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and a.tolist() == b.tolist()
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------------- the corpus
def corpus():
    """(category, case name, file bytes, must_fail) for every fuzz case; deterministic."""
    data = good_bytes()
    header, body = split(data)
    n = len(data) - 8 - len(body)
    names = [k for k in header if k != "__metadata__"]
    cases = []

    # every truncation
    for cut in range(len(data)):
        cases.append(("truncate", f"cut{cut}", data[:cut], True))
    # every byte flipped, three masks; only the informative "format":"fastnn" entry is outside the
    # checksum (the structure key alone marks a fastnn file), so a flip there may load unchanged
    fmt = data.index(b'"format":"fastnn"')
    for mask in (0x01, 0x80, 0xFF):
        for i in range(len(data)):
            b = bytearray(data)
            b[i] ^= mask
            cases.append(("flip", f"byte{i}^{mask:#x}", bytes(b), not fmt <= i < fmt + 17))
    # seeded random mutations: overwrite, insert, delete, splice, append
    rng = random.Random(1234)
    for k in range(3000):
        b = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            op, i = rng.randrange(5), rng.randrange(len(b))
            if op == 0:
                b[i] = rng.randrange(256)
            elif op == 1:
                b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            elif op == 2:
                del b[i : i + rng.randint(1, 16)]
            elif op == 3:
                j = rng.randrange(len(b))
                b[i : i + 8] = b[j : j + 8]
            else:
                b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        cases.append(("random", f"mutation{k}", bytes(b), False))
    # the header-length field
    size = len(data)
    for v in sorted(
        {
            0,
            1,
            2,
            7,
            8,
            n - 8,
            n - 1,
            n + 1,
            n + 8,
            size - 8,
            size - 7,
            size,
            2**31,
            2**32,
            100_000_000,
            100_000_001,
            2**63 - 1,
            2**63,
            2**64 - 1,
        }
    ):
        cases.append(("header_length", f"len{v}", struct.pack("<Q", v) + data[8:], True))
    cases.append(("header_length", "only_length", struct.pack("<Q", 0), True))
    cases.append(("header_length", "huge_length_only", struct.pack("<Q", 2**64 - 1), True))

    # crafted headers (checksums kept valid where the data still agrees)
    def entry_variants(field, values):
        for name in names[:2]:
            for v in values:
                h = json.loads(json.dumps(header))
                h[name][field] = v
                cases.append((f"header_{field}", f"{name}={json.dumps(v)[:40]}", assemble(reseal(h, body), body), True))

    entry_variants(
        "dtype",
        [
            "F16",
            "BF16",
            "U8",
            "I8",
            "I32",
            "U64",
            "F8_E4M3",
            "",
            None,
            3,
            ["F32"],
            "f32",
            "F32 ",
            "BOOL\u0000",
            "\u00e9",
        ],
    )
    entry_variants(
        "shape",
        [
            [],
            [-1],
            [2**63],
            [2**64],
            [1.5],
            ["2"],
            None,
            [True],
            [0, 2**62],
            [2**62, 2**62],
            [2**62, 0],
            [1] * 65,
            [0] * 65,
            "3",
            {"a": 1},
            [10**40],
        ],
    )
    entry_variants(
        "data_offsets",
        [
            [8, 0],
            [-8, 0],
            [0, -8],
            [0, len(body) + 8],
            [len(body), len(body) + 8],
            [0],
            [0, 8, 16],
            [0.0, 8.0],
            [False, True],
            [0, 2**64],
            [2**63, 2**63 + 8],
            None,
            "0,8",
            [0, 10**30],
        ],
    )
    # offsets overlapping / leaving gaps between two tensors
    if len(names) >= 2:
        h = json.loads(json.dumps(header))
        a, b = h[names[0]]["data_offsets"], h[names[1]]["data_offsets"]
        h[names[1]]["data_offsets"] = [a[0], a[0] + (b[1] - b[0])]
        cases.append(("header_offsets", "overlap", assemble(reseal(h, body), body), True))
        h = json.loads(json.dumps(header))
        h.pop(names[0])
        cases.append(("header_offsets", "gap", assemble(reseal(h, body), body), True))
    # an entry missing or malformed, extra fields
    for bad in ({}, [], "x", 1, None, {"dtype": "F32"}, {"dtype": "F32", "shape": [1]}):
        h = json.loads(json.dumps(header))
        h[names[0]] = bad
        cases.append(("header_entry", json.dumps(bad), assemble(h, body), True))
    # duplicate keys (JSON allows them textually; the last one wins in Python)
    raw = json.dumps(header).encode()
    first = json.dumps({names[0]: header[names[0]]})[1:-1].encode()
    for variant, dup in (
        ("same", first),
        ("other", json.dumps({names[0]: dict(header[names[0]], data_offsets=[0, 0])})[1:-1].encode()),
    ):
        cases.append(("header_duplicate", variant, assemble(None, body, raw[:-1] + b", " + dup + b"}"), False))
    # not an object, not JSON, not UTF-8, nesting, huge numbers
    for name, raw in [
        ("list", b"[1, 2]"),
        ("string", b'"abc"'),
        ("number", b"12"),
        ("null", b"null"),
        ("empty", b""),
        ("garbage", bytes(random.Random(5).randrange(256) for _ in range(n))),
        ("non_utf8", json.dumps(header).encode().replace(b'"F32"', b'"F\xff2"', 1)),
        ("nul", json.dumps(header).encode().replace(b'"dtype"', b'"dty\x00pe"', 1)),
        ("deep", b"[" * 100_000 + b"]" * 100_000),
        ("deep_object", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        ("huge_int", b'{"x": {"dtype": "F32", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 4]}}'),
        ("nan", b'{"x": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 4]}}'),
        ("metadata_list", b'{"__metadata__": ["a"]}'),
        ("metadata_int_value", b'{"__metadata__": {"format": 1}}'),
        ("truncated_json", json.dumps(header).encode()[:-3]),
    ]:
        cases.append(("header_json", name, assemble(None, body, raw), True))

    # crafted structures, resealed
    meta = header["__metadata__"]
    structure = json.loads(meta["fastnn.structure"])

    def struct_case(name, s, must_fail=True, h=header, b=body):
        cases.append(("structure", name, assemble(with_structure(h, b, s), b), must_fail))

    t0 = next(k for k in names)
    e0 = header[t0]
    tnode = [
        "tensor",
        t0,
        {"F32": "float32", "F64": "float64", "I64": "int64", "BOOL": "bool"}[e0["dtype"]],
        e0["shape"],
        False,
    ]
    struct_case("tensor_twice", ["list", [tnode, tnode]])
    struct_case("wrong_dtype", ["tensor", t0, "float16", e0["shape"], False])
    struct_case("wrong_shape", ["tensor", t0, tnode[2], [2**62, 2**62], False])
    struct_case("missing_tensor", ["tensor", "nope", "float32", [1], False])
    struct_case("not_tagged", {"a": 1})
    struct_case("unknown_tag", ["pickle", "cos\nsystem\n(S'touch marker'\ntR."])
    struct_case("deep", json.loads('["list", [' * 400 + '["none"]' + "]]" * 400))
    struct_case("int_as_float", ["int", 1.5])
    struct_case("big_int_ok", ["int", 10**100], must_fail=False)
    struct_case("float_text", ["float", "1e999999"], must_fail=False)
    struct_case("dict_key_list", ["dict", [[["list", []], ["none"]]]])
    struct_case("many_nodes", ["list", [["none"]] * 200_000], must_fail=False)
    struct_case("original", structure, must_fail=False)
    # BOOL bytes other than 0/1 (valid checksum)
    bools = [k for k in names if header[k]["dtype"] == "BOOL"]
    if bools:
        k = bools[0]
        lo, hi = header[k]["data_offsets"]
        b2 = body[:lo] + b"\x02" + body[lo + 1 :]
        cases.append(("structure", "bool_byte_2", assemble(reseal(header, b2), b2), True))
    # a 1 MiB tensor referenced 5000 times: 5 GiB if each reference were materialised
    big = np.zeros(1 << 18, np.float32).tobytes()
    h = {
        "big": {"dtype": "F32", "shape": [1 << 18], "data_offsets": [0, len(big)]},
        "__metadata__": {"format": "fastnn", "fastnn.version": "1", "fastnn.structure": "", "fastnn.sha256": ""},
    }
    node = ["tensor", "big", "float32", [1 << 18], False]
    struct_case("amplification", ["list", [node] * 5000], h=h, b=big)
    # plain safetensors files (no fastnn metadata) with odd but consistent headers
    for name, entries in [
        ("zero_size_huge_dims", {"x": {"dtype": "F32", "shape": [0, 2**62], "data_offsets": [0, 0]}}),
        ("zero_size_2^40_f32", {"x": {"dtype": "F32", "shape": [0, 2**40], "data_offsets": [0, 0]}}),
        ("zero_size_2^40", {"x": {"dtype": "F64", "shape": [2**40, 0], "data_offsets": [0, 0]}}),
        ("65_dims", {"x": {"dtype": "F32", "shape": [1] * 65, "data_offsets": [0, 4]}}),
        ("no_tensors", {}),
        ("metadata_only", {"__metadata__": {"hello": "world"}}),
        ("bool_byte_3", {"x": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}),
    ]:
        payload = (
            b"\x03\x01"
            if name == "bool_byte_3"
            else b"\0" * max((e["data_offsets"][1] for k, e in entries.items() if k != "__metadata__"), default=0)
        )
        cases.append(("foreign", name, assemble(entries, payload), name in ("bool_byte_3",)))

    # not safetensors at all: pickles that would run code if unpickled, a zip, text
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch PWNED",))

    for name, blob in [
        ("pickle", pickle.dumps(Evil())),
        ("pickle_p0", pickle.dumps(Evil(), protocol=0)),
        ("zip", b"PK\x03\x04" + bytes(200)),
        ("text", b"hello world, not a checkpoint\n" * 3),
    ]:
        cases.append(("foreign", name, blob, True))
    return cases


def _fuzz_child(workdir):
    """Loads every corpus case from a file; prints a JSON report (runs in a child process)."""
    import resource
    import traceback
    import tracemalloc

    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
    os.chdir(workdir)  # the pickles would `touch PWNED` here
    expected = original()
    path = os.path.join(workdir, "case.pt")
    report = {"cases": 0, "rejected": 0, "loaded": 0, "problems": [], "max_peak_ratio": 0.0, "by_category": {}}
    tracemalloc.start()
    for category, name, blob, must_fail in corpus():
        with open(path, "wb") as f:
            f.write(blob)
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        outcome = None
        try:
            obj = fastnn.load(path)
            ok = same(obj, expected) or category in ("foreign", "structure") and not must_fail
            outcome = "loaded" if ok else "loaded something else"
            del obj
        except ValueError as e:
            msg = str(e)
            outcome = (
                "rejected" if path in msg and "is not a valid fastnn checkpoint" in msg else f"bad message: {msg[:200]}"
            )
        except BaseException as e:  # noqa: BLE001 - any other exception is a finding
            outcome = f"{type(e).__name__}: {str(e)[:200]} {traceback.format_exc(limit=-2)[-400:]}"
        peak = tracemalloc.get_traced_memory()[1] - base
        if len(blob) >= 64 << 10 and peak / len(blob) > report["max_peak_ratio"]:
            report["max_peak_ratio"], report["max_peak_case"] = (
                peak / len(blob),
                f"{category}/{name} ({len(blob)} bytes)",
            )
        if peak > PEAK_FACTOR * len(blob) + PEAK_SLACK:
            report["problems"].append(f"{category}/{name}: peak allocation {peak} bytes for a {len(blob)}-byte file")
        if outcome not in ("rejected", "loaded") or (must_fail and outcome != "rejected"):
            report["problems"].append(f"{category}/{name}: {outcome}")
        report["cases"] += 1
        key = "rejected" if outcome == "rejected" else "loaded" if outcome == "loaded" else "other"
        report[key] = report.get(key, 0) + 1
        cat = report["by_category"].setdefault(category, {"rejected": 0, "loaded": 0, "other": 0})
        cat[key] += 1
    report["pwned"] = os.path.exists(os.path.join(workdir, "PWNED"))
    print(json.dumps(report))


@pytest.mark.slow
def test_fuzz_load(tmp_path):
    proc = _run_child(f"import test_checkpoint_fuzz as t; t._fuzz_child({str(tmp_path)!r})", timeout=600)
    assert proc.returncode == 0, f"the fuzz child crashed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"\nfuzzed fastnn.load with {report['cases']} files: {report['rejected']} rejected, {report['loaded']} "
        f"loaded unchanged; largest allocation peak among files >= 64 KiB: {report['max_peak_ratio']:.1f}x the "
        f"file's size ({report.get('max_peak_case')})"
    )
    assert not report["pwned"], "loading a pickle ran its code"
    assert report["problems"] == [], "\n".join(report["problems"][:50])
    cats = report["by_category"]
    # every truncation and every flip is rejected (must_fail above), and the corpus really ran
    assert cats["truncate"]["rejected"] == len(good_bytes())
    assert cats["flip"]["rejected"] >= 3 * (len(good_bytes()) - 17)
    assert cats["random"]["rejected"] > 2900
    assert cats["structure"]["loaded"] >= 1 and cats["foreign"]["loaded"] >= 4


@pytest.mark.slow
def test_corpus_cases_load_as_intended():
    """The crafted files that should load do load (so the rejections above are for the stated reason)."""
    ok = {name: blob for cat, name, blob, must_fail in corpus() if cat in ("structure", "foreign") and not must_fail}
    buf = lambda b: fastnn.load(io.BytesIO(b))  # noqa: E731
    assert same(buf(ok["original"]), original())
    assert buf(ok["big_int_ok"]) == 10**100 and buf(ok["float_text"]) == float("inf")
    assert buf(ok["many_nodes"]) == [None] * 200_000
    z = buf(ok["zero_size_2^40_f32"])["x"]
    assert tuple(z.shape) == (0, 2**40) and z.numel() == 0
    with pytest.raises(ValueError, match="array is too big"):  # NumPy's own limit, reported cleanly
        buf(ok["zero_size_huge_dims"])
    assert buf(ok["no_tensors"]) == {} and buf(ok["metadata_only"]) == {}


@pytest.mark.slow
def test_same_object_saves_to_the_same_bytes_in_every_process():
    """safetensors orders its metadata by a per-process random hash; save() fixes the order, so the
    fuzz corpus (and any checkpoint) is the same from one run to the next."""
    code = "import test_checkpoint_fuzz as t, hashlib; print(hashlib.sha256(t.good_bytes()).hexdigest())"
    digests = {_run_child(code).stdout.strip() for _ in range(3)}
    assert len(digests) == 1 and len(digests.pop()) == 64


def test_amplification_is_refused_with_a_clear_message():
    (blob,) = [b for c, n, b, _ in corpus() if n == "amplification"]
    with pytest.raises(ValueError, match=r"tensor 'big' is referenced more than once"):
        fastnn.load(io.BytesIO(blob))
    (blob,) = [b for c, n, b, _ in corpus() if n == "bool_byte_2"]
    with pytest.raises(ValueError, match=r"of dtype BOOL holds bytes other than 0 and 1"):
        fastnn.load(io.BytesIO(blob))


# ---------------------------------------------------------------------- SIGKILL during save
N_ELEMS = 5_000_000  # 20 MB of float32


def _content(step):
    return fastnn.arange(N_ELEMS, dtype=fastnn.float32) + float(step)


def _saver_child(path):
    """Saves step, step+1, ... to `path` forever, starting after the step the file holds."""
    step = fastnn.load(path)["step"]
    while True:
        step += 1
        state = {"w": _content(step), "step": step, "note": "x" * (step % 7)}
        print(f"saving {step}", flush=True)
        fastnn.save(state, path)
        print(f"saved {step}", flush=True)


def _open_in(pid, directory):
    """Whether process `pid` has a file in `directory` open (the save's temporary file)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(directory + os.sep) and not target.endswith(os.sep + "target.pt"):
            return True
    return False


def _check_target(path, allowed):
    ck = fastnn.load(path)
    step = ck["step"]
    assert step in allowed, f"target holds step {step}, expected one of {sorted(allowed)}"
    assert ck["note"] == "x" * (step % 7)
    assert np.array_equal(ck["w"].numpy(), _content(step).numpy()), f"step {step}: wrong tensor data"
    return step


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and SIGKILL")
def test_sigkill_during_save_never_damages_the_target(tmp_path):
    path = str(tmp_path / "target.pt")
    fastnn.save({"w": _content(0), "step": 0, "note": ""}, path)
    rng = random.Random(7)
    kills = {"mid_write": 0, "random": 0}
    last = 0
    for round_ in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-c", f"import test_checkpoint_fuzz as t; t._saver_child({path!r})"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        saving = None
        saved = last
        mid_write = round_ % 2 == 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"saver died: {proc.stderr.read()[-2000:]}"
            kind, step = line.split()
            if kind == "saved":
                saved = int(step)
                continue
            saving = int(step)
            if saving < last + 2:  # let it complete at least one save in this round
                continue
            if mid_write:  # wait until the temporary file is open, then kill
                while proc.poll() is None and not _open_in(proc.pid, str(tmp_path)):
                    time.sleep(0.0002)
            else:
                time.sleep(rng.uniform(0, 0.3))
            break
        proc.send_signal(signal.SIGKILL)
        rest, err = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, err[-2000:]
        for line in rest.splitlines():  # the saves it went on with while we waited
            kind, step = line.split()
            if kind == "saved":
                saved = int(step)
            else:
                saving = int(step)
        kills["mid_write" if mid_write else "random"] += 1
        # the file holds the last completed save or the one in progress; never anything else
        last = _check_target(path, {saved, saving})
    strays = [f for f in os.listdir(tmp_path) if f != "target.pt"]
    print(
        f"\nSIGKILL: {kills['mid_write']} kills mid-write, {kills['random']} at random moments; target intact each "
        f"time (last step {last}); stray temporary files: {strays}"
    )
    # Temporary files are anonymous (O_TMPFILE) until complete, so a kill leaves none half-written; one
    # left by a kill between link and rename is a complete checkpoint.
    for f in strays:
        assert f.startswith(".target.pt.") and f.endswith(".tmp"), strays
        _check_target(str(tmp_path / f), set(range(last + 20)))


def test_anonymous_temporary_files_are_used_on_linux(tmp_path, monkeypatch):
    """The mechanism behind 'no partial temporary file': saving opens an O_TMPFILE file first."""
    if not sys.platform.startswith("linux"):
        pytest.skip("O_TMPFILE is Linux-only")
    opened, linked = [], []
    real_open, real_link = serialization._open_anonymous, serialization._link_anonymous
    monkeypatch.setattr(serialization, "_open_anonymous", lambda d: opened.append(real_open(d)) or opened[-1])
    monkeypatch.setattr(serialization, "_link_anonymous", lambda *a: linked.append(real_link(*a)) or linked[-1])

    def no_named(*a):
        raise AssertionError("fell back to a named temporary file")

    monkeypatch.setattr(serialization, "_create_named", no_named)
    fastnn.save({"a": fastnn.ones(3)}, tmp_path / "a.pt")
    assert opened and opened[0] is not None, "O_TMPFILE was not available in the test directory"
    assert linked and linked[0] is not None and os.path.basename(linked[0]).startswith(".a.pt.")
    assert os.listdir(tmp_path) == ["a.pt"] and fastnn.load(tmp_path / "a.pt")["a"].tolist() == [1.0] * 3
