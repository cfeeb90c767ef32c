"""Samplers: the order in which a DataLoader visits a map-style dataset, and its batches."""

import numpy as np

from fastnn._C import Generator, Tensor, multinomial
from fastnn._dtype import float64, int64
from fastnn._errors import name_errors
from fastnn._factories import empty, randint, randperm, tensor


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

    Each ``iter()`` draws from ``generator``; with none, from a fresh generator seeded from fastnn's
    global one (advancing it, as torch does). Draws are lazy, as torch's: with replacement 32 indices
    at a time, without it one permutation at a time, so a huge ``num_samples`` costs nothing up front.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        if not isinstance(self.num_samples, int) or isinstance(self.num_samples, bool) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_array(self):
        """One permutation as an array when the epoch is exactly that (the DataLoader's fast path),
        else None (the lazy ``__iter__`` runs)."""
        n = len(self.data_source)
        if self.replacement or self.num_samples != n:
            return None
        return randperm(n, generator=_generator_or_fresh(self.generator)).numpy()

    def __iter__(self):
        n, k = len(self.data_source), self.num_samples
        gen = _generator_or_fresh(self.generator)
        if self.replacement:
            for _ in range(k // 32):
                yield from randint(0, n, (32,), generator=gen).tolist()
            yield from randint(0, n, (k % 32,), generator=gen).tolist()
            return
        for _ in range(k // n):
            yield from randperm(n, generator=gen).tolist()
        if k % n:
            yield from randperm(n, generator=gen)[: k % n].tolist()

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order each epoch."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def _index_array(self):
        idx = np.asarray(list(self.indices), dtype=np.int64)
        return idx[randperm(len(idx), generator=self.generator).numpy()]

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = weights.detach().numpy() if isinstance(weights, Tensor) else np.asarray(weights)
        w = np.asarray(w, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError("cannot draw more samples than there are non-zero weights without replacement")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _index_array(self):
        w = tensor(self.weights, dtype=float64)
        return multinomial(w, self.num_samples, self.replacement, generator=self.generator).numpy()

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter unless
    ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
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
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size


_ARRAY_SAMPLERS = (SequentialSampler, RandomSampler, SubsetRandomSampler, WeightedRandomSampler)


def _epoch_array(sampler):
    """One epoch of a built-in sampler's indices as an int64 array (drawn once), or None.

    Only for the built-in samplers with their own ``__iter__``: a subclass that overrides
    ``__iter__`` is iterated as written.
    """
    cls = type(sampler)
    for base in _ARRAY_SAMPLERS:
        if isinstance(sampler, base) and cls.__iter__ is base.__iter__ and cls._index_array is base._index_array:
            return sampler._index_array()
    return None


def _generator_or_fresh(generator):
    """``generator``, or a new one seeded from fastnn's global generator (advancing it, as torch does,
    so successive epochs differ and a run is reproducible after ``fastnn.manual_seed``)."""
    if generator is not None:
        return generator
    return Generator().manual_seed(int(empty((), dtype=int64).random_().item()))


name_errors(Sampler)
