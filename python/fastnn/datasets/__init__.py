"""fastnn.datasets: MNIST, Fashion-MNIST (IDX files, optional download) and scikit-learn's 8x8
Digits, plus simple image transforms (``fastnn.datasets.transforms``)."""

from fastnn.datasets import transforms  # noqa: F401
from fastnn.datasets._idx import read_idx
from fastnn.datasets.digits import Digits
from fastnn.datasets.mnist import MNIST, FashionMNIST

__all__ = ["Digits", "FashionMNIST", "MNIST", "read_idx", "transforms"]
