"""Samplers: the order in which a DataLoader visits a map-style dataset, and its batches."""

import numpy as np

from fastnn._C import Tensor
from fastnn._errors import name_errors
from fastnn.utils._generator import _resolve


class Sampler:
    """Iterates over dataset indices. Subclasses define ``__iter__`` (and ``__len__`` when they
    can)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name_errors(cls)

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _index_array(self):
        """The whole epoch's indices as an int64 array (the built-in samplers draw each epoch once
        here)."""
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation per epoch (or ``num_samples`` draws with replacement).

    Each ``iter()`` draws from ``generator``; with none, from a generator seeded by fastnn's global
    RNG.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        if (
            not isinstance(self.num_samples, int)
            or isinstance(self.num_samples, bool)
            or self.num_samples <= 0
        ):
            raise ValueError(
                "num_samples should be a positive integer value, "
                f"but got num_samples={self.num_samples}"
            )

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_array(self):
        n, k = len(self.data_source), self.num_samples
        gen = _resolve(self.generator)
        if self.replacement:
            return gen._numpy().integers(0, n, size=k, dtype=np.int64)
        parts = [gen._randperm(n) for _ in range(k // n)]
        if k % n:
            parts.append(gen._randperm(n)[: k % n])
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order each epoch."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def _index_array(self):
        idx = np.asarray(list(self.indices), dtype=np.int64)
        return idx[_resolve(self.generator)._randperm(len(idx))]

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        w = weights.detach().numpy() if isinstance(weights, Tensor) else np.asarray(weights)
        w = np.asarray(w, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(
                f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}"
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(
                "cannot draw more samples than there are non-zero weights without replacement"
            )
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _index_array(self):
        rng = _resolve(self.generator)._numpy()
        idx = rng.choice(
            len(self.weights),
            size=self.num_samples,
            replace=self.replacement,
            p=self.weights / self.weights.sum(),
        )
        return idx.astype(np.int64)

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter unless
    ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _array_batches(self):
        """Batches as int64 arrays when the sampler can give its epoch as one array, else None."""
        if type(self).__iter__ is not BatchSampler.__iter__:
            return None
        idx = _epoch_array(self.sampler)
        return None if idx is None else self._split(idx)

    def _split(self, idx):
        b = self.batch_size
        stop = (len(idx) // b) * b if self.drop_last else len(idx)
        return (idx[i : i + b] for i in range(0, stop, b))

    def __iter__(self):
        idx = _epoch_array(self.sampler)
        if idx is not None:
            for batch in self._split(idx):
                yield batch.tolist()
            return
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return (
            n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size
        )


_ARRAY_SAMPLERS = (SequentialSampler, RandomSampler, SubsetRandomSampler, WeightedRandomSampler)


def _epoch_array(sampler):
    """One epoch of a built-in sampler's indices as an int64 array (drawn once), or None.

    Only for the built-in samplers with their own ``__iter__``: a subclass that overrides
    ``__iter__`` is iterated as written.
    """
    cls = type(sampler)
    for base in _ARRAY_SAMPLERS:
        if (
            isinstance(sampler, base)
            and cls.__iter__ is base.__iter__
            and cls._index_array is base._index_array
        ):
            return sampler._index_array()
    return None


name_errors(Sampler)
