"""fastnn.datasets: IDX reading (raw and gzip; corrupt and truncated files), MNIST / FashionMNIST,
downloading from a local HTTP server (checksums, dead mirrors, interrupted transfers), Digits, and
the transforms (bilinear resize and padding checked against torch)."""

import functools
import gzip
import hashlib
import http.server
import os
import socket
import struct
import sys
import threading

import numpy as np
import pytest

import fastnn
from fastnn.datasets import MNIST, Digits, FashionMNIST, read_idx, transforms
from fastnn.utils.data import DataLoader
from fastnn.utils.data import dataloader as dataloader_module

try:
    import torch
except ImportError:  # pragma: no cover - CI installs torch
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch (CPU, 2.13.0) is the test oracle")

_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(">i2"): 0x0B,
    np.dtype(">i4"): 0x0C,
    np.dtype(">f4"): 0x0D,
    np.dtype(">f8"): 0x0E,
}


def idx_bytes(arr):
    """An IDX file's bytes, written independently of the reader under test."""
    arr = np.asarray(arr)
    be = arr.astype(arr.dtype.newbyteorder(">")) if arr.dtype.itemsize > 1 else arr
    code = _CODES[np.dtype(be.dtype)]
    return bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + be.tobytes()


def write(path, data, gz=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def fake_split(n, seed, h=28, w=28):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, h, w), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def make_mnist(root, name="MNIST", gz=False, n_train=20, n_test=7):
    raw = root / name / "raw"
    out = {}
    for prefix, n, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        images, labels = fake_split(n, seed)
        suffix = ".gz" if gz else ""
        write(raw / f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(images), gz)
        write(raw / f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(labels), gz)
        out[prefix] = (images, labels)
    return out


def np_of(t):
    return t.detach().numpy().copy()


# ---------------------------------------------------------------------- IDX
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_round_trips(tmp_path, gz, dtype):
    base = (np.arange(2 * 3 * 5) * 37 - 200).reshape(2, 3, 5)
    if dtype == np.uint8:
        arr = (base % 256).astype(np.uint8)
    elif np.dtype(dtype).kind == "f":
        arr = (base / 7).astype(dtype)
    else:
        arr = base.astype(dtype)
    got = read_idx(write(tmp_path / "a.idx", idx_bytes(arr), gz))
    assert got.dtype == np.dtype(dtype) and got.shape == arr.shape
    np.testing.assert_array_equal(got, arr)
    assert got.flags.writeable


def bad_idx_cases():
    good = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    return {
        "empty": (b"", "too short"),
        "bad-magic": (b"\x01" + good[1:], "bad magic number"),
        "bad-type": (good[:2] + b"\x07" + good[3:], "bad magic number"),
        "zero-dims": (b"\x00\x00\x08\x00", "0 dimensions"),
        "short-header": (good[:9], "truncated IDX header"),
        "truncated-data": (
            good[:-5],
            "truncated: the IDX header declares shape (2, 3, 4) (24 bytes of data) but the file holds 19 bytes",
        ),
        "trailing-data": (good + b"\x00\x01", "has trailing data"),
        "absurd-dims": (
            b"\x00\x00\x0e\x03" + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"\0" * 16,
            "truncated",
        ),
    }


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("case", list(bad_idx_cases()))
def test_read_idx_rejects_malformed_files(tmp_path, gz, case):
    data, fragment = bad_idx_cases()[case]
    if gz and fragment == "has trailing data":
        fragment = "unexpected data after"
    path = write(tmp_path / "bad.idx", data, gz)
    with pytest.raises(ValueError) as info:
        read_idx(path)
    assert str(path) in str(info.value) and fragment in str(info.value), str(info.value)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_read_idx_rejects_damaged_gzip(tmp_path, damage):
    packed = gzip.compress(idx_bytes(np.arange(3000, dtype=np.int32)))
    data = packed[: len(packed) // 2] if damage == "truncated" else packed[:10] + bytes(range(256)) * 4
    path = write(tmp_path / "bad.gz", data)
    with pytest.raises(ValueError, match="corrupted or truncated gzip data") as info:
        read_idx(path)
    assert str(path) in str(info.value)


# ---------------------------------------------------------------------- MNIST
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_both_splits(tmp_path, gz):
    arrays = make_mnist(tmp_path, gz=gz)
    for train, prefix in ((True, "train"), (False, "t10k")):
        ds = MNIST(tmp_path, train=train)
        images, labels = arrays[prefix]
        assert len(ds) == len(labels)
        img, label = ds[3]
        assert isinstance(label, int) and label == labels[3]
        assert img.dtype == fastnn.float32 and tuple(img.shape) == (1, 28, 28)
        np.testing.assert_array_equal(np_of(img)[0], images[3].astype(np.float32) / np.float32(255))
        assert tuple(ds.data.shape) == (len(labels), 1, 28, 28) and ds.data.dtype == fastnn.float32
        assert ds.targets.dtype == fastnn.int64 and np_of(ds.targets).tolist() == labels.tolist()
        assert float(np_of(ds.data).min()) >= 0.0 and float(np_of(ds.data).max()) <= 1.0
        np.testing.assert_array_equal(ds.raw_data, images)


@needs_torch
def test_mnist_transform_pipeline_matches_torch_formula(tmp_path):
    arrays = make_mnist(tmp_path)
    tf = transforms.Compose([transforms.Pad(2), transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    ds = MNIST(tmp_path, train=True, transform=tf, target_transform=lambda y: y + 100)
    img, label = ds[5]
    assert label == arrays["train"][1][5] + 100 and tuple(img.shape) == (1, 32, 32)
    t = torch.nn.functional.pad(torch.from_numpy(arrays["train"][0][5]).float().div(255), (2, 2, 2, 2))
    want = ((t - 0.1307) / 0.3081).unsqueeze(0).numpy()
    np.testing.assert_allclose(np_of(img), want, rtol=1e-6, atol=1e-6)


def test_mnist_loader_fast_path_equals_transform_path(tmp_path, monkeypatch):
    make_mnist(tmp_path, n_train=37)
    fast_ds = MNIST(tmp_path)
    slow_ds = MNIST(tmp_path, transform=transforms.ToTensor())
    calls = []
    real = dataloader_module.index_select
    monkeypatch.setattr(dataloader_module, "index_select", lambda *a: calls.append(a) or real(*a))
    fast = list(DataLoader(fast_ds, batch_size=8, shuffle=True, generator=fastnn.Generator().manual_seed(4)))
    assert len(calls) == 2 * len(fast) == 10
    slow = list(DataLoader(slow_ds, batch_size=8, shuffle=True, generator=fastnn.Generator().manual_seed(4)))
    assert len(calls) == 10
    assert len(fast) == len(slow) == 5
    for (x1, y1), (x2, y2) in zip(fast, slow):
        assert x1.dtype == x2.dtype == fastnn.float32 and y1.dtype == y2.dtype == fastnn.int64
        assert np_of(x1).tobytes() == np_of(x2).tobytes() and np_of(y1).tolist() == np_of(y2).tolist()


def test_in_place_transforms_do_not_edit_the_dataset(tmp_path):
    make_mnist(tmp_path)
    ds = MNIST(tmp_path)
    before = np_of(ds.data)
    ds[0][0].mul_(0.0)
    MNIST.__getitem__(ds, 1)[0].add_(1.0)
    np.testing.assert_array_equal(np_of(ds.data), before)


def test_fashion_mnist_has_its_own_folder_and_classes(tmp_path):
    make_mnist(tmp_path, name="FashionMNIST", gz=True)
    ds = FashionMNIST(tmp_path, train=False)
    assert (
        len(ds) == 7 and ds.classes[9] == "Ankle boot" and ds.raw_folder.endswith(os.path.join("FashionMNIST", "raw"))
    )
    with pytest.raises(RuntimeError, match="Dataset not found"):
        MNIST(tmp_path)


def test_mnist_inconsistent_files(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    images, labels = fake_split(5, 0)
    write(raw / "train-images-idx3-ubyte", idx_bytes(images))
    write(raw / "train-labels-idx1-ubyte", idx_bytes(labels[:4]))
    with pytest.raises(ValueError, match="5 images but 4 labels"):
        MNIST(tmp_path)
    write(raw / "train-labels-idx1-ubyte", idx_bytes(np.array([0, 1, 2, 3, 12], np.uint8)))
    with pytest.raises(ValueError, match="label 12 is out of range"):
        MNIST(tmp_path)
    write(raw / "train-labels-idx1-ubyte", idx_bytes(images))  # an image file where labels belong
    with pytest.raises(ValueError, match="expected uint8 \\(N,\\)"):
        MNIST(tmp_path)
    path = write(raw / "train-labels-idx1-ubyte", idx_bytes(labels)[:-2])
    with pytest.raises(ValueError, match="truncated") as info:
        MNIST(tmp_path)
    assert str(path) in str(info.value)


# ---------------------------------------------------------------------- download
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Truncating(_Quiet):
    """Claims more bytes than it sends, then hangs up: an interrupted transfer."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"\x1f\x8b" + b"\0" * 500)
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def serve():
    servers = []

    def start(directory, handler=_Quiet):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(directory)))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def dead_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # nothing listens there any more: connection refused


def published(tmp_path):
    """gzip'ed fake MNIST files in a served folder, with their (name, md5) resources list."""
    site = tmp_path / "site"
    arrays = make_mnist(site, gz=True)
    files = sorted((site / "MNIST" / "raw").iterdir())
    resources = [(f.name, hashlib.md5(f.read_bytes()).hexdigest()) for f in files]
    return site / "MNIST" / "raw", resources, arrays


def test_download_verifies_and_skips_dead_mirrors(tmp_path, serve, monkeypatch):
    folder, resources, arrays = published(tmp_path)
    url = serve(folder)
    monkeypatch.setattr(MNIST, "mirrors", [dead_url(), url])
    monkeypatch.setattr(MNIST, "resources", resources)
    monkeypatch.setattr(MNIST, "download_timeout", 5.0)
    root = tmp_path / "data"
    ds = MNIST(root, train=True, download=True)
    assert len(ds) == 20 and np_of(ds.targets).tolist() == arrays["train"][1].tolist()
    raw = root / "MNIST" / "raw"
    assert sorted(os.listdir(raw)) == sorted(name for name, _ in resources)  # no temporary files left
    for name, md5 in resources:
        assert hashlib.md5((raw / name).read_bytes()).hexdigest() == md5
    # Already there with the right checksum: no network needed.
    monkeypatch.setattr(MNIST, "mirrors", [dead_url()])
    assert len(MNIST(root, train=False, download=True)) == 7


def test_download_checksum_mismatch(tmp_path, serve, monkeypatch):
    folder, resources, _ = published(tmp_path)
    monkeypatch.setattr(MNIST, "mirrors", [serve(folder)])
    monkeypatch.setattr(MNIST, "resources", [(name, "0" * 32) for name, _ in resources])
    root = tmp_path / "data"
    with pytest.raises(RuntimeError, match="checksum mismatch") as info:
        MNIST(root, download=True)
    assert resources[0][0] in str(info.value) and "offline" not in str(info.value)
    assert os.listdir(root / "MNIST" / "raw") == []  # nothing kept under the real name, no temp files


def test_download_unreachable_mirror_says_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(MNIST, "mirrors", [dead_url(), dead_url()])
    with pytest.raises(RuntimeError) as info:
        MNIST(tmp_path / "data", download=True)
    msg = str(info.value)
    assert "could not download train-images-idx3-ubyte.gz from any mirror" in msg
    assert "are you offline?" in msg and "place it in" in msg and msg.count("cannot connect") == 2


def test_download_http_error_and_interrupted_transfer(tmp_path, serve, monkeypatch):
    folder, resources, _ = published(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(MNIST, "mirrors", [serve(empty), serve(folder, _Truncating)])
    monkeypatch.setattr(MNIST, "resources", resources)
    root = tmp_path / "data"
    with pytest.raises(RuntimeError) as info:
        MNIST(root, download=True)
    msg = str(info.value)
    assert "HTTP error 404" in msg and "download failed" in msg and "offline" not in msg
    assert os.listdir(root / "MNIST" / "raw") == []


def test_download_replaces_a_corrupted_existing_file(tmp_path, serve, monkeypatch):
    folder, resources, arrays = published(tmp_path)
    monkeypatch.setattr(MNIST, "mirrors", [serve(folder)])
    monkeypatch.setattr(MNIST, "resources", resources)
    raw = tmp_path / "data" / "MNIST" / "raw"
    write(raw / resources[0][0], b"corrupted")
    ds = MNIST(tmp_path / "data", train=False, download=True)
    assert np_of(ds.targets).tolist() == arrays["t10k"][1].tolist()
    assert hashlib.md5((raw / resources[0][0]).read_bytes()).hexdigest() == resources[0][1]


# ---------------------------------------------------------------------- Digits


def _digits_or_skip():
    pytest.importorskip("sklearn", reason="Digits needs scikit-learn (the 'examples' extra)")
    from sklearn.datasets import load_digits

    return load_digits()


def test_digits_shapes_split_and_values():
    ref = _digits_or_skip()
    train, test = Digits(), Digits(train=False)
    assert (len(train), len(test)) == (1438, 359)
    assert tuple(train.data.shape) == (1438, 1, 32, 32) and train.data.dtype == fastnn.float32
    img, label = test[0]
    assert tuple(img.shape) == (1, 32, 32) and isinstance(label, int)
    assert set(train.indices.tolist()).isdisjoint(test.indices.tolist())
    assert sorted(train.indices.tolist() + test.indices.tolist()) == list(range(1797))
    assert np_of(train.targets).tolist() == ref.target[train.indices].tolist()
    data = np_of(train.data)
    assert data.min() == 0.0 and data.max() == 1.0
    assert not data[:, :, :4].any() and not data[:, :, -4:].any() and not data[:, :, :, :4].any()
    assert np.array_equal(Digits(train=False).indices, test.indices)  # fixed split
    assert not np.array_equal(Digits(train=False, seed=1).indices, test.indices)
    assert len(Digits(train=False, test_fraction=0.5)) == 898
    assert sorted(set(np_of(test.targets).tolist())) == list(range(10))


@needs_torch
def test_digits_images_are_bilinear_resized_and_padded():
    ref = _digits_or_skip()
    ds = Digits(train=False)
    src = torch.from_numpy(ref.images[ds.indices] / 16.0).unsqueeze(1)
    want = torch.nn.functional.interpolate(src, size=(24, 24), mode="bilinear", align_corners=False)
    want = torch.nn.functional.pad(want, (4, 4, 4, 4)).float().numpy()
    np.testing.assert_allclose(np_of(ds.data), want, rtol=0, atol=1e-6)


def test_digits_loader_and_transform():
    _digits_or_skip()
    loader = DataLoader(
        Digits(),
        batch_size=64,
        shuffle=True,
        drop_last=True,
        generator=fastnn.Generator().manual_seed(0),
    )
    batches = list(loader)
    assert len(batches) == len(loader) == 1438 // 64
    assert tuple(batches[0][0].shape) == (64, 1, 32, 32) and tuple(batches[0][1].shape) == (64,)
    ds = Digits(transform=transforms.Normalize((0.5,), (0.25,), inplace=True))
    ds[3]
    ds[3]  # an in-place transform works on a copy, so applying it twice changes nothing
    np.testing.assert_allclose(np_of(ds[3][0]), (np_of(Digits()[3][0]) - 0.5) / 0.25, rtol=1e-6, atol=1e-6)


def test_digits_without_sklearn_is_a_clear_error(monkeypatch):
    from fastnn.datasets import digits

    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    digits._load_digits.cache_clear()
    try:
        with pytest.raises(ImportError, match="pip install scikit-learn"):
            Digits()
    finally:
        digits._load_digits.cache_clear()


# ---------------------------------------------------------------------- transforms
def test_to_tensor():
    img = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    t = transforms.ToTensor()(img)
    assert t.dtype == fastnn.float32 and tuple(t.shape) == (1, 3, 4)
    np.testing.assert_array_equal(np_of(t)[0], img.astype(np.float32) / np.float32(255))
    rgb = np.random.default_rng(0).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    t = transforms.ToTensor()(rgb)
    assert tuple(t.shape) == (3, 5, 6)
    np.testing.assert_array_equal(np_of(t), rgb.transpose(2, 0, 1).astype(np.float32) / np.float32(255))
    f = np.full((2, 2), 3.5, dtype=np.float64)
    assert np_of(transforms.ToTensor()(f)).tolist() == [[[3.5, 3.5], [3.5, 3.5]]]
    with pytest.raises(TypeError, match="NumPy ndarray or a tensor"):
        transforms.ToTensor()([[1, 2]])


def test_normalize():
    x = fastnn.from_numpy(np.random.default_rng(0).random((2, 3, 4, 4)).astype(np.float32))
    got = transforms.Normalize([0.1, 0.2, 0.3], [0.5, 0.25, 2.0])(x)
    want = (np_of(x) - np.array([0.1, 0.2, 0.3], np.float32)[:, None, None]) / np.array([0.5, 0.25, 2.0], np.float32)[
        :, None, None
    ]
    np.testing.assert_allclose(np_of(got), want, rtol=1e-6)
    y = x.clone()
    assert transforms.Normalize(0.5, 0.5, inplace=True)(y) is y
    np.testing.assert_allclose(np_of(y), (np_of(x) - 0.5) / 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match="division by zero"):
        transforms.Normalize([0.0], [0.0])(x[0])
    with pytest.raises(TypeError, match="float tensor"):
        transforms.Normalize([0.0], [1.0])(fastnn.zeros(1, 2, 2, dtype=fastnn.int64))
    with pytest.raises(ValueError, match="2 means and 2 stds for 3 channels"):
        transforms.Normalize([0.0, 1.0], [1.0, 1.0])(x[0])


@needs_torch
@pytest.mark.parametrize(
    "padding, mode, torch_pad",
    [
        (2, "constant", (2, 2, 2, 2)),
        ((1, 3), "constant", (1, 1, 3, 3)),
        ((1, 2, 3, 4), "reflect", (1, 3, 2, 4)),
        (2, "edge", (2, 2, 2, 2)),
    ],
)
def test_pad_matches_torch(padding, mode, torch_pad):
    arr = np.random.default_rng(0).random((2, 5, 6)).astype(np.float32)
    tmode = {"edge": "replicate"}.get(mode, mode)
    want = torch.nn.functional.pad(torch.from_numpy(arr), torch_pad, mode=tmode).numpy()
    got = transforms.Pad(padding, padding_mode=mode)(fastnn.from_numpy(arr))
    np.testing.assert_array_equal(np_of(got), want)
    got_np = transforms.Pad(padding, padding_mode=mode)(arr[0])  # H x W NumPy image
    np.testing.assert_array_equal(got_np, want[0])


@needs_torch
@pytest.mark.parametrize(
    "in_hw, size",
    [
        ((8, 8), (32, 32)),
        ((28, 28), (32, 32)),
        ((28, 28), (14, 14)),
        ((5, 9), (11, 4)),
        ((7, 7), (7, 7)),
        ((1, 5), (3, 5)),
    ],
)
def test_resize_matches_torch_bilinear(in_hw, size):
    arr = np.random.default_rng(1).random((3,) + in_hw)
    want = torch.nn.functional.interpolate(
        torch.from_numpy(arr)[None],
        size=size,
        mode="bilinear",
        align_corners=False,
        antialias=False,
    )[0].numpy()
    got = transforms.Resize(size)(fastnn.from_numpy(arr))
    assert got.dtype == fastnn.float64 and tuple(got.shape) == (3,) + size
    np.testing.assert_allclose(np_of(got), want, rtol=0, atol=1e-12)
    img = (arr[0] * 255).astype(np.uint8)
    got8 = transforms.Resize(size)(img)
    want8 = torch.nn.functional.interpolate(
        torch.from_numpy(img.astype(np.float64))[None, None],
        size=size,
        mode="bilinear",
        align_corners=False,
    )[0, 0].numpy()
    assert got8.dtype == np.uint8
    assert np.abs(got8.astype(np.float64) - want8).max() <= 0.5 + 1e-9  # rounded to nearest (ties may differ)


def test_resize_int_keeps_aspect_ratio():
    img = np.zeros((20, 30), np.uint8)
    assert transforms.Resize(10)(img).shape == (10, 15)
    assert transforms.Resize(10)(img.T).shape == (15, 10)
    assert transforms.Resize((4, 7))(img).shape == (4, 7)
    with pytest.raises(ValueError, match="size must be positive"):
        transforms.Resize(0)
