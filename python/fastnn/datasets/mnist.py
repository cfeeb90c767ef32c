"""MNIST and Fashion-MNIST from their IDX files, with torchvision's constructor and file layout.

Files live in ``root/<ClassName>/raw/`` (torchvision's layout, so an existing torchvision download
is found), raw or gzip-compressed; ``download=True`` fetches the four ``.gz`` files from the mirrors
in ``mirrors`` and checks their MD5 sums.

A sample is ``(image, label)``: with no transform, ``image`` is a float32 tensor (1, H, W) in [0, 1]
(what ``ToTensor`` gives) and ``label`` an int. A transform receives the uint8 H x W NumPy array
(where torchvision hands over a PIL image), so ``Compose([ToTensor(), Normalize(...)])`` works as
there. ``.data`` is the whole split as a float32 tensor (N, 1, H, W) in [0, 1] (fastnn has no uint8
dtype; ``.raw_data`` keeps the uint8 array) and ``.targets`` an int64 tensor (N,). Without
transforms a DataLoader batches these two tensors directly (one gather per batch).
"""

import os

import numpy as np

from fastnn.datasets._download import download_file
from fastnn.datasets._idx import read_idx
from fastnn.datasets._base import plain_tensors
from fastnn.utils.data.dataset import Dataset


class MNIST(Dataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 28 x 28 grey levels."""

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = [
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
    ]
    download_timeout = 30.0

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        self.root = os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        if download:
            self.download()
        prefix = "train" if train else "t10k"
        images = read_idx(self._find(f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(self._find(f"{prefix}-labels-idx1-ubyte"))
        self._check(images, labels)
        self.raw_data = images
        self._labels = labels.astype(np.int64)
        self._data = None
        from fastnn._factories import from_numpy

        self.targets = from_numpy(self._labels)

    @property
    def raw_folder(self):
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    @property
    def data(self):
        """All images as a float32 tensor (N, 1, H, W) in [0, 1] (built on first use)."""
        if self._data is None:
            from fastnn._factories import from_numpy

            n, h, w = self.raw_data.shape
            scaled = self.raw_data.astype(np.float32) / np.float32(255)  # == ToTensor, bit for bit
            self._data = from_numpy(scaled.reshape(n, 1, h, w))
        return self._data

    def _find(self, stem):
        candidates = [os.path.join(d, stem + ext) for d in (self.raw_folder, self.root) for ext in ("", ".gz")]
        for c in candidates:
            if os.path.isfile(c):
                return c
        raise RuntimeError(f"Dataset not found: none of {candidates} exists. You can use download=True to download it.")

    def _check(self, images, labels):
        name = type(self).__name__
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(
                f"[{name}] the image file holds a {images.dtype} array of shape {images.shape}; "
                "expected uint8 (N, H, W)"
            )
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise ValueError(
                f"[{name}] the label file holds a {labels.dtype} array of shape {labels.shape}; expected uint8 (N,)"
            )
        if len(images) != len(labels):
            raise ValueError(f"[{name}] {len(images)} images but {len(labels)} labels")
        if len(labels) and labels.max() >= len(self.classes):
            raise ValueError(f"[{name}] label {int(labels.max())} is out of range for {len(self.classes)} classes")

    def download(self):
        """Fetches the four files into ``raw_folder`` unless they are already there (.gz with the
        right MD5, or already decompressed)."""
        for filename, md5 in self.resources:
            if filename.endswith(".gz") and os.path.isfile(os.path.join(self.raw_folder, filename[:-3])):
                continue
            download_file(filename, self.raw_folder, self.mirrors, md5, "md5", timeout=self.download_timeout)

    def __len__(self):
        return len(self._labels)

    def __getitem__(self, index):
        target = int(self._labels[index])
        if self.transform is None:
            img = self.data[index].clone()  # a copy: in-place edits must not reach the dataset
        else:
            img = self.transform(self.raw_data[index].copy())
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def _fast_tensors(self):
        return plain_tensors(self, MNIST)

    def __repr__(self):
        split = "Train" if self.train else "Test"
        lines = [
            f"Dataset {type(self).__name__}",
            f"    Number of datapoints: {len(self)}",
            f"    Root location: {self.root}",
            f"    Split: {split}",
        ]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        return "\n".join(lines)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's format and sizes, ten kinds of clothing."""

    mirrors = [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
