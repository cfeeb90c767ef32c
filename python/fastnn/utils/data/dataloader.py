"""DataLoader: batches from a dataset, in sampler order, collated; with torch's arguments and
checks.

Fast path: with the default collate, a dataset whose samples are rows of tensors (``TensorDataset``,
the built-in image datasets without a transform, and ``Subset``s of them) is batched with one
``index_select`` per tensor (a C++ gather) instead of indexing and stacking every sample in Python.
The result is identical to the per-sample path (tests compare them).

Shuffling and resuming: ``shuffle=True`` draws one permutation per epoch (per ``iter(loader)``) from
``generator``. Pass ``generator=fastnn.Generator().manual_seed(s)`` and checkpoint
``loader.generator.get_state()`` between epochs: after ``set_state`` on resume the following epochs
come in the same orders as in an uninterrupted run. Without a generator each epoch's permutation is
seeded from fastnn's global RNG (advancing it), so orders differ per epoch and the whole run is
reproducible after ``fastnn.manual_seed``.

Loading runs in the calling process: ``num_workers`` is accepted for compatibility and the batches
are the same as torch's worker processes would give; ``pin_memory`` has no effect on the CPU.
"""

import numpy as np

from fastnn._C import index_select
from fastnn._errors import name_errors
from fastnn.utils.data._collate import default_collate, default_convert
from fastnn.utils.data.dataset import IterableDataset, Subset
from fastnn.utils.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler


def get_worker_info():
    """Always None: fastnn loads data in the main process."""
    return None


class DataLoader:
    """Iterates over ``dataset`` in batches (see the module docstring for shuffling and the fast
    path)."""

    def __init__(
        self,
        dataset,
        batch_size=1,
        shuffle=None,
        sampler=None,
        batch_sampler=None,
        num_workers=0,
        collate_fn=None,
        pin_memory=False,
        drop_last=False,
        timeout=0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor=None,
        persistent_workers=False,
        pin_memory_device="",
        in_order=True,
    ):
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; "
                "use num_workers=0 to disable multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0
        ):
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified shuffle option, "
                    f"but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified sampler option, "
                    f"but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                    f"but got batch_sampler={batch_sampler}"
                )
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                    "and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching "
                "and is mutually exclusive with drop_last"
            )

        if sampler is None and not self._iterable:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self._user_collate = collate_fn is not None and collate_fn is not default_collate
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __iter__(self):
        if self._iterable:
            return _Iter(self, self._iterable_batches())
        if not self._auto_collation:
            return _Iter(self, (self.collate_fn(self.dataset[i]) for i in self.sampler))
        fast = None if self._user_collate else _fast_source(self.dataset)
        if fast is not None:
            return _Iter(self, self._fast_batches(*fast))
        return _Iter(self, (self.collate_fn(_fetch(self.dataset, b)) for b in self.batch_sampler))

    def _iterable_batches(self):
        if self.batch_size is None:
            for item in self.dataset:
                yield self.collate_fn(item)
            return
        batch = []
        for item in self.dataset:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def _fast_batches(self, tensors, row_map):
        from fastnn._factories import from_numpy

        n = tensors[0].shape[0] if row_map is None else len(row_map)
        batches = (
            self.batch_sampler._array_batches()
            if isinstance(self.batch_sampler, BatchSampler)
            else None
        )
        if batches is None:
            batches = (np.asarray(b, dtype=np.int64) for b in self.batch_sampler)
        for idx in batches:
            if len(idx) == 0 or idx.min() < 0 or idx.max() >= n:
                # Out-of-range or negative indices: the dataset's own __getitem__ decides
                # (or raises).
                yield default_collate(_fetch(self.dataset, idx.tolist()))
                continue
            rows = from_numpy(np.ascontiguousarray(idx if row_map is None else row_map[idx]))
            yield [index_select(t, 0, rows) for t in tensors]

    def __repr__(self):
        name = type(self.dataset).__name__
        return f"<fastnn.utils.data.DataLoader batch_size={self.batch_size} dataset={name}>"


def _fetch(dataset, indices):
    getitems = getattr(dataset, "__getitems__", None)
    if getitems is not None:
        return getitems(indices)
    return [dataset[i] for i in indices]


def _fast_source(dataset):
    """(tensors, row_map) when the dataset's samples are rows of tensors, else None.

    ``row_map`` (an int64 array or None) maps dataset indices to tensor rows, for ``Subset``s.
    """
    if isinstance(dataset, Subset) and type(dataset).__getitem__ is Subset.__getitem__:
        inner = _fast_source(dataset.dataset)
        if inner is None:
            return None
        tensors, inner_map = inner
        idx = np.asarray(dataset.indices, dtype=np.int64).reshape(-1)
        limit = tensors[0].shape[0] if inner_map is None else len(inner_map)
        if len(idx) and (idx.min() < 0 or idx.max() >= limit):
            return None  # unusual indices: the per-sample path handles (or reports) them
        return tensors, idx if inner_map is None else inner_map[idx]
    fast_tensors = getattr(dataset, "_fast_tensors", None)
    if fast_tensors is None:
        return None
    tensors = fast_tensors()
    if not tensors:
        return None
    return tuple(tensors), None


class _Iter:
    """The iterator of one pass over a DataLoader (``len()`` gives the loader's length)."""

    def __init__(self, loader, gen):
        self._loader = loader
        self._gen = gen

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._gen)

    def __len__(self):
        return len(self._loader)


__all__ = ["DataLoader", "get_worker_info", "Sampler"]


name_errors(DataLoader, ("__init__", "__iter__", "__len__"))
name_errors(_Iter, ("__next__", "__len__"), owner="DataLoader")
