"""fastnn.save / fastnn.load: checkpoints as safetensors files, never pickle.

Layout of a file written by ``save(obj, path)``:

* the tensors of ``obj`` are the safetensors tensors, named by their path in ``obj``
  (``model.conv1.weight``, ``optimizer.state.0.momentum_buffer``; a clash gets a ``#n`` suffix), so
  any safetensors reader can open the file and a plain ``state_dict`` keeps torch's names;
* the safetensors metadata holds ``format: fastnn``, ``fastnn.version: 1`` and ``fastnn.structure``:
  a JSON tree of tagged nodes that rebuilds ``obj`` — ``["dict", [[key, value], ...]]``, ``["odict",
  ...]`` (OrderedDict), ``["list", [...]]``, ``["tuple", [...]]``, ``["none"]``, ``["bool", b]``,
  ``["int", i]``, ``["float", "repr"]`` (exact, with nan/inf), ``["str", s]`` and ``["tensor", name,
  dtype, shape, requires_grad]``. Dict keys are nodes too, so int keys (an optimizer's state) stay
  ints;
* ``fastnn.sha256`` in the metadata: a SHA-256 over the structure and the tensors' bytes, so a
  flipped bit anywhere in the data or the structure is reported instead of loaded.

Loading only parses JSON and copies bytes, so it can never run code. The file is validated before
safetensors parses it: the header length against the file size, every tensor's dtype, shape and
offsets against its data, the checksum, BOOL bytes (0 or 1), and the structure against the tensors
(each tensor used once, so memory stays within a few times the file's size); anything wrong raises
ValueError naming the file. A safetensors file written by another tool (no fastnn metadata) loads as
a flat ``{name: tensor}`` dict, provided its dtypes are ones fastnn has.

Saving is atomic: the bytes go to a temporary file in the target's directory, which is flushed,
fsync'ed and then ``os.replace``d onto the target, so an interrupted save (even SIGKILL) leaves the
previous file as it was. On Linux the temporary file is anonymous (O_TMPFILE) until complete, so a
killed save leaves no partial temporary file either (see ``_atomic_write``).
"""

from __future__ import annotations

import collections
import hashlib
import json
import math
import os
import re
import struct
import typing

import numpy as np

from fastnn._C import Tensor

_FORMAT_VERSION = "1"
_MAX_HEADER = 100_000_000  # safetensors' own limit on the JSON header
_MAX_DEPTH = 200
_SAFE_TO_NP = {
    "F32": np.float32,
    "F64": np.float64,
    "I64": np.int64,
    "BOOL": np.bool_,
    "F16": np.float16,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
}
_NAME_TO_NP = {
    "float32": np.float32,
    "float64": np.float64,
    "int64": np.int64,
    "bool": np.bool_,
    "float16": np.float16,
    "int32": np.int32,
    "int16": np.int16,
    "int8": np.int8,
    "uint8": np.uint8,
}
_NP_TO_SAFE = {np.dtype(v): k for k, v in _SAFE_TO_NP.items()}
_NP_TO_NAME = {np.dtype(v): k for k, v in _NAME_TO_NP.items()}
_WRITE_CHUNK = 1 << 22


# ---------------------------------------------------------------------- save
def save(obj: object, f: typing.Any) -> None:
    """Saves ``obj`` (tensors, and dicts/lists/tuples of them, ints, floats, bools, None, strings)
    to ``f``.

    ``f`` is a path (written atomically) or a binary file object opened for writing.
    """
    from safetensors.numpy import save as st_save

    tensors = {}
    structure = _Encoder(tensors).encode(obj)
    text = json.dumps(structure, separators=(",", ":"), allow_nan=False)
    digest = _digest(text, {k: v.reshape(-1).view(np.uint8) for k, v in tensors.items()})
    metadata = {
        "format": "fastnn",
        "fastnn.version": _FORMAT_VERSION,
        "fastnn.structure": text,
        "fastnn.sha256": digest,
    }
    chunks = _fixed_order(st_save(tensors, metadata=metadata))
    if hasattr(f, "write"):
        for chunk in chunks:
            f.write(chunk)
        return
    # Through symlinks, as open(path, "wb") would: the file they point to is the one replaced.
    _atomic_write(os.path.realpath(_path(f, "save")), chunks)


def _path(f, op):
    """``f`` (str, bytes or os.PathLike) as a str path, or a TypeError naming the op."""
    try:
        return os.fsdecode(os.fspath(f))
    except TypeError:
        raise TypeError(f"[{op}] f must be a path or a binary file object, got {type(f).__name__}") from None


def _fixed_order(data):
    """(header, data section) of a safetensors file, the header rewritten in a fixed key order.

    safetensors writes the metadata from a Rust HashMap, whose order changes from process to process;
    with the order fixed, the same object always saves to the same bytes. The data section is passed
    on as a view (no copy of the tensors' bytes).
    """
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(bytes(data[8 : 8 + n]))
    ordered = {}
    if "__metadata__" in header:
        ordered["__metadata__"] = dict(sorted(header.pop("__metadata__").items()))
    for key in sorted(header, key=lambda k: (header[k]["data_offsets"], k)):
        ordered[key] = header[key]
    raw = json.dumps(ordered, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # safetensors aligns the data section to 8 bytes
    return [struct.pack("<Q", len(raw)) + raw, memoryview(data)[8 + n :]]


class _Encoder:
    def __init__(self, tensors):
        self.tensors = tensors
        self.active = set()

    def encode(self, obj, path=(), depth=0):
        where = ".".join(map(str, path)) or "<root>"
        if depth > _MAX_DEPTH:
            raise ValueError(f"[save] object nested more than {_MAX_DEPTH} levels deep at '{where}'")
        if obj is None:
            return ["none"]
        if isinstance(obj, (bool, np.bool_)):
            return ["bool", bool(obj)]
        if isinstance(obj, (int, np.integer)):
            return ["int", int(obj)]
        if isinstance(obj, (float, np.floating)):
            return ["float", repr(float(obj))]
        if isinstance(obj, str):
            return ["str", obj]
        if isinstance(obj, Tensor):
            return self._tensor(obj, path)
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self.active:
                raise ValueError(f"[save] cannot save a self-referencing structure (cycle at '{where}')")
            self.active.add(id(obj))
            try:
                if isinstance(obj, dict):
                    items = []
                    for k, v in obj.items():
                        if not (k is None or isinstance(k, (bool, int, float, str, np.integer, np.floating))):
                            raise TypeError(
                                f"[save] dict keys must be str, int, float, bool or None; got "
                                f"{type(k).__name__} at '{where}'"
                            )
                        items.append(
                            [
                                self.encode(k, path, depth + 1),
                                self.encode(v, path + (k,), depth + 1),
                            ]
                        )
                    return ["odict" if isinstance(obj, collections.OrderedDict) else "dict", items]
                tag = "tuple" if isinstance(obj, tuple) else "list"
                return [tag, [self.encode(v, path + (i,), depth + 1) for i, v in enumerate(obj)]]
            finally:
                self.active.discard(id(obj))
        raise TypeError(
            f"[save] cannot save an object of type {type(obj).__name__} at '{where}': fastnn "
            "checkpoints hold tensors, dicts, lists, tuples, ints, floats, bools, None and strings"
        )

    def _tensor(self, t, path):
        # A C-ordered copy: the file holds the values as they are now (np.ascontiguousarray
        # would turn 0-d into 1-d).
        if t.dtype.name == "bfloat16":
            raise TypeError(
                f"[save] bfloat16 tensors cannot be saved yet (at {'.'.join(map(str, path)) or 'the top'}); "
                "convert them with .float() first"
            )
        arr = np.array(t.detach().cpu().numpy(), order="C", copy=True)
        if arr.dtype not in _NP_TO_SAFE:
            raise TypeError(f"[save] unsupported tensor dtype {arr.dtype}")
        base = ".".join(map(str, path)) or "tensor"
        name, n = base, 0
        while name in self.tensors or name == "__metadata__":
            n += 1
            name = f"{base}#{n}"
        self.tensors[name] = arr
        node = ["tensor", name, _NP_TO_NAME[arr.dtype], list(arr.shape), bool(t.requires_grad)]
        return node + [str(t.device)] if t.is_cuda else node  # the device, where it is not the CPU


def _digest(structure_text, tensor_bytes):
    """SHA-256 over the structure and every tensor's bytes (by name): any flipped bit is caught on
    load."""
    h = hashlib.sha256(structure_text.encode("utf-8"))
    for name in sorted(tensor_bytes):
        h.update(len(name).to_bytes(8, "little"))
        h.update(name.encode("utf-8"))
        buf = tensor_bytes[name]
        h.update(len(buf).to_bytes(8, "little"))
        h.update(buf)
    return h.hexdigest()


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view[:_WRITE_CHUNK])
        view = view[written:]


def _open_anonymous(directory):
    """An unnamed file in ``directory`` (Linux's O_TMPFILE), or None where that is not available.

    If the process dies (SIGKILL, power loss) before the file is given a name, the kernel frees it:
    a killed save leaves no partial temporary file behind.
    """
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY, 0o666)
    except OSError:  # a filesystem without O_TMPFILE (EOPNOTSUPP), or an old kernel (EISDIR)
        return None


def _temp_name(directory, base):
    return os.path.join(directory, f".{base}.{os.urandom(6).hex()}.tmp")


def _link_anonymous(fd, directory, base):
    """Gives the anonymous file ``fd`` a fresh temporary name; None if the system refuses."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return None
    try:
        for _ in range(100):
            candidate = _temp_name(directory, base)
            try:
                # linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N, as open(2) documents for O_TMPFILE.
                # A dir_fd makes CPython call linkat: with none it calls link(), which does not follow
                # the /proc link and fails with EXDEV.
                os.link(f"/proc/self/fd/{fd}", os.path.basename(candidate), dst_dir_fd=dfd, follow_symlinks=True)
                return candidate
            except FileExistsError:
                continue
            except OSError:
                return None
        return None
    finally:
        os.close(dfd)


def _create_named(directory, base, path):
    for _ in range(100):
        candidate = _temp_name(directory, base)
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        return candidate, fd
    raise RuntimeError(f"[save] could not create a temporary file next to '{path}'")


def _atomic_write(path, chunks):
    """Writes the byte strings ``chunks`` to a temporary file next to ``path``, fsyncs it and renames it over ``path``.

    On Linux the temporary file is anonymous (O_TMPFILE) until it is complete and fsync'ed, and only
    then linked under a name ``.<target>.<random>.tmp`` and renamed: a process killed while writing
    leaves nothing behind; one killed in the microseconds between link and rename leaves a complete
    temporary copy. Elsewhere the temporary file is named from the start, and a killed save can leave
    a partial ``.<target>.<random>.tmp`` (never a damaged target).
    """
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    tmp, fd = None, None
    try:
        fd = _open_anonymous(directory)
        if fd is not None:
            for chunk in chunks:
                _write_all(fd, chunk)
            os.fsync(fd)
            tmp = _link_anonymous(fd, directory, base)
            if tmp is None:  # linking refused (no /proc access?): start over with a named file
                os.close(fd)
                fd = None
        if tmp is None:
            tmp, fd = _create_named(directory, base, path)
            for chunk in chunks:
                _write_all(fd, chunk)
            os.fsync(fd)
        os.close(fd)
        fd = None
        os.replace(tmp, path)
        tmp = None
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    try:  # make the rename itself durable; not every platform lets a directory be opened
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


# ---------------------------------------------------------------------- load
def load(f: typing.Any, map_location=None, weights_only=None, mmap=None) -> typing.Any:
    """Loads what ``save`` wrote (or a plain safetensors file) from a path or a binary file object.

    Tensors come back on the device they were saved from, unless ``map_location`` says otherwise, as
    torch's: a device (or its name) for every tensor, a dict from saved device names to new ones
    (``{'cuda:1': 'cuda:0'}``), or a function ``f(tensor, saved_device_name)`` given the tensor on the CPU
    that returns it where it should be (``lambda t, loc: t`` keeps everything on the CPU).
    ``weights_only`` and ``mmap`` are accepted for torch compatibility (loading never runs code, whatever
    they say).
    """
    place = _placement(map_location)
    if hasattr(f, "read"):
        name = getattr(f, "name", "<file object>")
        data = f.read()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"[load] {name}: expected a binary file object")
        return _load_bytes(bytes(data), name, place)
    path = _path(f, "load")
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(8)
        _check_header_length(head, size, path)
        data = head + fh.read()
    if len(data) != size:
        raise ValueError(f"[load] {path}: the file changed size while being read")
    return _load_bytes(data, path, place)


def _fail(name, why):
    raise ValueError(f"[load] {name} is not a valid fastnn checkpoint: {why}")


def _check_header_length(head, size, name):
    if size < 8 or len(head) < 8:
        _fail(name, f"{size} bytes is too short for a safetensors file (truncated or empty?)")
    (n,) = struct.unpack("<Q", head[:8])
    if n > _MAX_HEADER or n > size - 8:
        _fail(
            name,
            f"the header claims {n} bytes but the file has {size} bytes "
            "(truncated, corrupted or not a safetensors file)",
        )
    return n


def _placement(map_location):
    """f(cpu_tensor, saved_device_name) -> the tensor where load() should return it."""
    from fastnn._device import device
    from fastnn._factories import _as_device, _device_index

    def move(t, where):
        index = _device_index(_as_device(where, "load"), "load")
        return t if index < 0 else t._to_device(index)

    if map_location is None:
        return move
    if callable(map_location) and not isinstance(map_location, device):
        return map_location
    if isinstance(map_location, dict):
        table = {str(k): v for k, v in map_location.items()}
        return lambda t, where: move(t, table.get(where, where))
    if isinstance(map_location, (str, device)):
        return lambda t, where: move(t, map_location)
    raise TypeError(
        f"[load] map_location must be a device, a device name, a dict or a function, got {type(map_location).__name__}"
    )


def _load_bytes(data, name, place):
    from safetensors.numpy import load as st_load

    n = _check_header_length(data[:8], len(data), name)
    header = _parse_header(data[8 : 8 + n], len(data) - 8 - n, name)
    meta = header.pop("__metadata__", None) or {}
    ours = meta.get("format") == "fastnn" or "fastnn.structure" in meta
    if ours:
        if meta.get("fastnn.version") != _FORMAT_VERSION:
            _fail(
                name,
                f"unsupported fastnn format version {meta.get('fastnn.version')!r} "
                f"(this fastnn reads version {_FORMAT_VERSION})",
            )
        text = meta.get("fastnn.structure")
        if not isinstance(text, str):
            _fail(name, "the fastnn metadata has no 'fastnn.structure' entry")
        body = memoryview(data)[8 + n :]
        spans = {k: body[v["data_offsets"][0] : v["data_offsets"][1]] for k, v in header.items()}
        if meta.get("fastnn.sha256") != _digest(text, spans):
            _fail(
                name,
                "checksum mismatch: the tensor data or the structure was altered (corrupted file)",
            )
    try:
        arrays = st_load(data)
    except Exception as e:  # safetensors' own checks; ours should have caught everything first
        _fail(name, f"safetensors could not read it ({type(e).__name__}: {e})")
    # Own, writable, native-order copies: the loaded bytes are immutable and fastnn
    # tensors are writable.
    tensors = {k: np.array(v, dtype=v.dtype.newbyteorder("="), copy=True) for k, v in arrays.items()}
    for k, v in tensors.items():
        # A bool byte other than 0 or 1 is not a bool (C++ reading it is undefined behaviour).
        if v.dtype == np.bool_ and v.size and int(v.view(np.uint8).max()) > 1:
            _fail(name, f"tensor '{k}' of dtype BOOL holds bytes other than 0 and 1")
    if not ours:
        # A safetensors file from another tool: a flat {name: tensor} dict.
        from fastnn._factories import from_numpy

        return {k: from_numpy(tensors[k]) for k in header}
    try:
        structure = json.loads(text)
    except (ValueError, RecursionError) as e:
        _fail(name, f"the fastnn structure is not valid JSON ({e})")
    return _Decoder(tensors, header, name, place).decode(structure)


def _parse_header(raw, data_len, name):
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        _fail(
            name,
            f"the safetensors header is not valid JSON ({type(e).__name__}); not a safetensors file, or corrupted",
        )
    if not isinstance(header, dict):
        _fail(name, "the safetensors header is not a JSON object")
    meta = header.get("__metadata__")
    if meta is not None and not (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())):
        _fail(name, "the safetensors __metadata__ is not a string-to-string map")
    spans = []
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if not isinstance(info, dict):
            _fail(name, f"tensor '{key}' has a malformed entry")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if not isinstance(dtype, str) or dtype not in _SAFE_TO_NP:
            _fail(name, f"tensor '{key}' has dtype {dtype!r}; fastnn reads {', '.join(_SAFE_TO_NP)}")
        if not (isinstance(shape, list) and all(type(s) is int and s >= 0 for s in shape)):
            _fail(name, f"tensor '{key}' has an invalid shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
            _fail(name, f"tensor '{key}' has invalid data offsets {offsets!r}")
        begin, end = offsets
        if not 0 <= begin <= end <= data_len:
            _fail(
                name,
                f"tensor '{key}' has data offsets [{begin}, {end}] outside the {data_len} "
                f"data bytes "
                "(truncated or corrupted)",
            )
        expected = math.prod(shape) * np.dtype(_SAFE_TO_NP[dtype]).itemsize
        if end - begin != expected:
            _fail(
                name,
                f"tensor '{key}' of dtype {dtype} and shape {shape} needs {expected} bytes but its "
                f"offsets span {end - begin}",
            )
        spans.append((begin, end))
    spans.sort()
    pos = 0
    for begin, end in spans:
        if begin != pos:
            _fail(name, "tensor data overlaps or leaves gaps (corrupted)")
        pos = end
    if pos != data_len:
        _fail(name, f"the tensors cover {pos} of the {data_len} data bytes (corrupted or truncated)")
    return header


class _Decoder:
    def __init__(self, tensors, header, name, place):
        self.tensors = tensors
        self.header = header
        self.name = name
        self.place = place
        self.handed_out = set()

    def bad(self, why):
        _fail(self.name, f"malformed fastnn structure: {why}")

    def decode(self, node, depth=0):
        if depth > _MAX_DEPTH:
            self.bad(f"nested more than {_MAX_DEPTH} levels deep")
        if not isinstance(node, list) or not node or not isinstance(node[0], str):
            self.bad(f"expected a tagged node, got {str(node)[:60]!r}")
        tag, args = node[0], node[1:]
        if tag == "none" and not args:
            return None
        if len(args) == 1:
            v = args[0]
            if tag == "bool" and isinstance(v, bool):
                return v
            if tag == "int" and type(v) is int:
                return v
            if tag == "float" and isinstance(v, str):
                try:
                    return float(v)
                except ValueError:
                    self.bad(f"bad float {v[:40]!r}")
            if tag == "str" and isinstance(v, str):
                return v
            if tag in ("list", "tuple") and isinstance(v, list):
                items = [self.decode(x, depth + 1) for x in v]
                return tuple(items) if tag == "tuple" else items
            if tag in ("dict", "odict") and isinstance(v, list):
                out = collections.OrderedDict() if tag == "odict" else {}
                for pair in v:
                    if not (isinstance(pair, list) and len(pair) == 2):
                        self.bad("a dict entry is not a [key, value] pair")
                    key = self.decode(pair[0], depth + 1)
                    if not (key is None or isinstance(key, (bool, int, float, str))):
                        self.bad(f"unhashable dict key of type {type(key).__name__}")
                    out[key] = self.decode(pair[1], depth + 1)
                return out
        if tag == "tensor" and len(args) in (4, 5):
            return self._tensor(*args)
        self.bad(f"unknown node {str(node)[:60]!r}")

    def _tensor(self, key, dtype, shape, requires_grad, device="cpu"):
        from fastnn._factories import from_numpy

        if not isinstance(key, str) or key not in self.tensors:
            self.bad(f"it refers to a tensor {str(key)[:60]!r} that is not in the file")
        arr = self.tensors[key]
        if dtype not in _NAME_TO_NP or np.dtype(_NAME_TO_NP[dtype]) != arr.dtype:
            self.bad(f"tensor '{key}' is recorded as {dtype!r} but stored as {arr.dtype}")
        if shape != list(arr.shape):
            self.bad(f"tensor '{key}' is recorded with shape {shape!r} but stored with {list(arr.shape)}")
        if not isinstance(requires_grad, bool):
            self.bad(f"tensor '{key}' has a non-boolean requires_grad")
        # save() names every tensor occurrence separately, so a name used twice is a crafted file;
        # copying it for each use would let a small file ask for unbounded memory.
        if key in self.handed_out:
            self.bad(f"tensor '{key}' is referenced more than once")
        self.handed_out.add(key)
        if device not in ("cpu",) and not (isinstance(device, str) and re.fullmatch(r"cuda:\d+", device)):
            self.bad(f"tensor '{key}' has an unknown device {str(device)[:40]!r}")
        t = self.place(from_numpy(arr), device)
        if not isinstance(t, Tensor):
            raise TypeError(f"[load] map_location returned {type(t).__name__} for tensor '{key}', not a tensor")
        if requires_grad:
            t.requires_grad_(True)
        return t
