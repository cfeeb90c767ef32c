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

Workers: ``num_workers > 0`` loads in that many worker processes (``multiprocessing``; the default
start method, fork on Linux as in torch, or ``multiprocessing_context``). The main process draws the
sampler's index batches, so a map-style dataset gives the same batches in the same order as
``num_workers=0``; workers fetch and collate them (``_worker_pool.py``, ``_worker.py``). Every
``iter()`` first draws a base seed from ``generator`` (or the global RNG), with or without workers, so
the shuffling order does not depend on ``num_workers``; worker ``i`` seeds fastnn's global RNG and
Python's ``random`` with ``base_seed + i`` (as torch) and NumPy's global RNG with its own stream.
``pin_memory=True`` is accepted and changes nothing, with torch's warning: pinned (page-locked) host
memory only speeds up copies to a GPU, and fastnn has none.
"""

from __future__ import annotations

import itertools
import multiprocessing
import numbers
import os
import typing
import warnings

import numpy as np

from fastnn._C import Generator, index_select
from fastnn._dtype import int64
from fastnn._errors import name_errors
from fastnn._factories import empty
from fastnn.utils.data._collate import default_collate, default_convert
from fastnn.utils.data._worker import Exhausted, get_worker_info
from fastnn.utils.data._worker_pool import MultiProcessIter, WorkerPool
from fastnn.utils.data.dataset import IterableDataset, Subset
from fastnn.utils.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler


def _process_limit():
    """How many processes this user may run (RLIMIT_NPROC), else Linux's largest pid count."""
    try:
        n = os.sysconf("SC_CHILD_MAX")
    except (ValueError, OSError):
        n = -1
    return n if n > 0 else 1 << 22


class DataLoader:
    """Iterates over ``dataset`` in batches, with torch's arguments (see the module docstring for
    shuffling, the fast path and workers).

    With ``num_workers > 0``: ``worker_init_fn(worker_id)`` runs once in each worker;
    ``persistent_workers=True`` keeps the workers between epochs (a new ``iter()`` reuses them);
    ``prefetch_factor`` batches per worker are requested ahead (default 2); ``timeout > 0`` raises
    RuntimeError when a batch takes longer than that many seconds; ``multiprocessing_context`` is a
    start method name or a ``multiprocessing`` context. An ``IterableDataset`` is iterated by each
    worker on its own copy (``get_worker_info()`` tells a worker its share). ``in_order=False``
    only permits out-of-order batches, and fastnn returns them in order anyway. ``pin_memory``
    changes nothing (and warns as torch does without an accelerator): pinned host memory only
    speeds up copies to a GPU, and fastnn runs on the CPU.
    """

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler=None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn=None,
        pin_memory=False,
        drop_last: bool = False,
        timeout=0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor=None,
        persistent_workers=False,
        pin_memory_device="",
        in_order=True,
    ) -> None:
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral):
            raise TypeError(f"num_workers option should be an integer, but got {type(num_workers).__name__}")
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if num_workers > _process_limit():
            raise ValueError(f"num_workers={num_workers} is more processes than this user may run ({_process_limit()})")
        num_workers = int(num_workers)
        if not timeout >= 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to "
                "None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None:
            if isinstance(prefetch_factor, bool) or not isinstance(prefetch_factor, numbers.Integral):
                raise TypeError(
                    f"prefetch_factor option should be an integer, but got {type(prefetch_factor).__name__}"
                )
            if prefetch_factor < 0:
                raise ValueError("prefetch_factor option should be non-negative")
            if prefetch_factor == 0:
                raise ValueError("prefetch_factor=0 would leave no batch in flight: it should be at least 1")
            prefetch_factor = int(prefetch_factor)
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(
                f"worker_init_fn should be a callable taking the worker id, but got {type(worker_init_fn).__name__}"
            )
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(f"generator should be a fastnn.Generator, got {type(generator).__name__}")
        self.multiprocessing_context = _context(multiprocessing_context, num_workers)
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0
        ):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = bool(persistent_workers)
        self.in_order = in_order
        self._pool = None  # the persistent workers, once started

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (False, None):
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified sampler option, but got sampler={sampler}"
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
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")

        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
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

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __iter__(self) -> typing.Iterator[typing.Any]:
        if self.pin_memory:
            warnings.warn(
                "'pin_memory' argument is set as true but no accelerator is found, then device "
                "pinned memory won't be used.",
                stacklevel=2,
            )
        # drawn with or without workers, so that the shuffling order does not depend on them
        base_seed = int(empty((), dtype=int64).random_(generator=self.generator).item())  # as torch draws it
        if self._iterable:
            fetcher = _IterableFetcher(self.dataset, self.collate_fn, self.batch_size, self.drop_last)
            tasks = itertools.repeat(None)
        else:
            fast = None if self._user_collate else _fast_source(self.dataset)
            fetcher = _MapFetcher(self.dataset, self.collate_fn, self._auto_collation, fast)
            tasks = self._tasks(fast)
        if self.num_workers == 0:
            return _Iter(self, fetcher, tasks)
        if not self.persistent_workers:
            return MultiProcessIter(self, WorkerPool(self, fetcher, base_seed), tasks, True)
        if self._pool is None or not self._pool.alive:
            self._pool = WorkerPool(self, fetcher, base_seed)
        return MultiProcessIter(self, self._pool, tasks, False)

    def _tasks(self, fast):
        """The epoch's index batches (drawn at the first batch); int64 arrays for the fast path."""
        batches = None
        if fast is not None and isinstance(self.batch_sampler, BatchSampler):
            batches = self.batch_sampler._array_batches()
        yield from iter(self._index_sampler) if batches is None else batches

    def __repr__(self):
        name = type(self.dataset).__name__
        return f"<fastnn.utils.data.DataLoader batch_size={self.batch_size} dataset={name}>"


def _context(context, num_workers):
    """The multiprocessing context for ``multiprocessing_context`` (a start method or a context)."""
    if context is None:
        return None
    if num_workers == 0:
        raise ValueError(
            "multiprocessing_context can only be used with multi-process loading "
            f"(num_workers > 0), but got num_workers={num_workers}"
        )
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(
                f"multiprocessing_context option should specify a valid start method in "
                f"{methods!r}, but got multiprocessing_context={context!r}"
            )
        return multiprocessing.get_context(context)
    if not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError(
            "multiprocessing_context option should be a valid context object or a string "
            f"specifying the start method, but got multiprocessing_context={context}"
        )
    return context


class _MapFetcher:
    """Turns one task (an index batch, or one index without auto-collation) into a batch; the same
    in the main process and in workers."""

    def __init__(self, dataset, collate_fn, auto_collation, fast):
        self.dataset, self.collate_fn = dataset, collate_fn
        self.auto_collation, self.fast = auto_collation, fast

    def restart(self):
        pass

    def __call__(self, task):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[task])
        if self.fast is None:
            return self.collate_fn(_fetch(self.dataset, task))
        from fastnn._factories import from_numpy

        tensors, row_map = self.fast
        n = tensors[0].shape[0] if row_map is None else len(row_map)
        idx = np.asarray(task, dtype=np.int64)
        if len(idx) == 0 or idx.min() < 0 or idx.max() >= n:
            # Out-of-range or negative indices: the dataset's own __getitem__ decides (or raises).
            return default_collate(_fetch(self.dataset, idx.tolist()))
        rows = from_numpy(np.ascontiguousarray(idx if row_map is None else row_map[idx]))
        return [index_select(t, 0, rows) for t in tensors]


_END = object()


class _IterableFetcher:
    """The next batch of an iterable dataset (this process's own iterator over it)."""

    def __init__(self, dataset, collate_fn, batch_size, drop_last):
        self.dataset, self.collate_fn = dataset, collate_fn
        self.batch_size, self.drop_last = batch_size, drop_last
        self._it = None

    def restart(self):
        self._it = None

    def __call__(self, _task):
        if self._it is None:
            self._it = iter(self.dataset)
        if self.batch_size is None:
            item = next(self._it, _END)
            if item is _END:
                raise Exhausted
            return self.collate_fn(item)
        batch = list(itertools.islice(self._it, self.batch_size))
        if not batch or (self.drop_last and len(batch) < self.batch_size):
            raise Exhausted
        return self.collate_fn(batch)


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
    """One pass over a DataLoader in the calling process (``len()`` gives the loader's length).

    Not a generator: a generator's frame would keep the last batch alive between steps.
    """

    def __init__(self, loader, fetcher, tasks):
        self._loader, self._fetcher, self._tasks = loader, fetcher, tasks

    def __iter__(self):
        return self

    def __next__(self):
        task = next(self._tasks)
        try:
            return self._fetcher(task)
        except Exhausted:
            raise StopIteration from None

    def __len__(self):
        return len(self._loader)


__all__ = ["DataLoader", "get_worker_info", "Sampler"]


name_errors(DataLoader, ("__init__", "__iter__", "__len__"))
name_errors(_Iter, ("__next__", "__len__"), owner="DataLoader")
