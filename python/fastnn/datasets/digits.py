"""Digits: scikit-learn's bundled 8 x 8 handwritten digits, shaped for LeNet (1 x 32 x 32), offline.

The 1,797 images (grey levels 0..16) are scaled to [0, 1], resized bilinearly to 24 x 24 (x3, see
``transforms.resize_bilinear``) and padded with 4 zero pixels on each side to 32 x 32, so a digit
sits in the centre of the frame with a margin, as MNIST's 20 x 20 digits do in LeNet's 32 x 32
input. The split is fixed: a permutation drawn from ``numpy.random.default_rng(seed)`` puts
``round(test_fraction * 1797)`` images (359 with the defaults) in the test set and the rest in the
training set; both keep the original order. scikit-learn is imported only here (``pip install
fastnn[examples]``).
"""

import functools

import numpy as np

from fastnn.datasets.transforms import resize_bilinear
from fastnn.datasets._base import plain_tensors
from fastnn.utils.data.dataset import Dataset

_INNER, _PAD = 24, 4


@functools.lru_cache(maxsize=1)
def _load_digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError(
            "fastnn.datasets.Digits needs scikit-learn, which ships the 8x8 digits: "
            "pip install scikit-learn (or pip install 'fastnn[examples]')"
        ) from None
    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)
    labels = np.asarray(bunch.target, dtype=np.int64)
    images.flags.writeable = labels.flags.writeable = False  # shared by every Digits instance
    return images, labels


class Digits(Dataset):
    """scikit-learn's 8 x 8 digits as float32 (1, 32, 32) images in [0, 1] with int labels 0..9.

    ``transform`` (if any) receives the (1, 32, 32) tensor; ``.data`` (N, 1, 32, 32) and
    ``.targets`` (N,) hold the whole split. ``root`` is accepted for symmetry with MNIST and not
    used.
    """

    classes = [str(i) for i in range(10)]

    def __init__(
        self,
        root=None,
        train=True,
        transform=None,
        test_fraction=0.2,
        seed=0,
        target_transform=None,
    ):
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"[Digits] test_fraction must be in (0, 1), got {test_fraction}")
        from fastnn._factories import from_numpy

        images, labels = _load_digits()
        n = len(images)
        n_test = int(round(test_fraction * n))
        order = np.random.default_rng(seed).permutation(n)
        chosen = np.sort(order[:n_test] if not train else order[n_test:])
        self.root = root
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        self.test_fraction = test_fraction
        self.seed = seed
        self.indices = chosen  # positions in sklearn's load_digits(), for reference
        big = resize_bilinear(images[chosen] / 16.0, (_INNER, _INNER), axes=(1, 2))
        big = np.pad(big, ((0, 0), (_PAD, _PAD), (_PAD, _PAD)))
        self.data = from_numpy(np.ascontiguousarray(big[:, None].astype(np.float32)))
        self.targets = from_numpy(np.ascontiguousarray(labels[chosen]))
        self._labels = labels[chosen]

    def __len__(self):
        return len(self._labels)

    def __getitem__(self, index):
        # A copy, as the DataLoader's batches are: an in-place transform must not edit the dataset.
        img, target = self.data[index].clone(), int(self._labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def _fast_tensors(self):
        return plain_tensors(self, Digits)

    def __repr__(self):
        return (
            f"Dataset Digits\n    Number of datapoints: {len(self)}\n"
            f"    Split: {'Train' if self.train else 'Test'} "
            f"(test_fraction={self.test_fraction}, seed={self.seed})"
        )
