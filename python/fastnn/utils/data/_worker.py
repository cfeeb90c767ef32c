"""Inside a DataLoader worker process: the worker loop, ``get_worker_info()``, and the transport
of batches and errors between processes.

Transport: fastnn tensors are not picklable (checkpoints avoid pickle), so what crosses a process
boundary is pickled here with a private pickler that turns every tensor into its NumPy array (and
``requires_grad``) and back into a tensor on the other side; everything around the tensors (dicts,
lists, tuples, namedtuples, numbers, strings) is pickled as usual.
"""

import io
import os
import pickle
import queue
import random
import sys
import traceback

import numpy as np

from fastnn._C import Tensor

_POLL_S = 0.5  # how often an idle worker checks that its parent is still alive
_info = None  # this process's WorkerInfo (None in the main process)


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: ``id``, ``num_workers``, ``seed`` and
    ``dataset`` (this worker's copy)."""

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return (
            f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
            f"dataset={type(self.dataset).__name__})"
        )


def get_worker_info():
    """In a DataLoader worker process: its ``WorkerInfo`` (id, num_workers, seed, dataset);
    in the main process: None. An ``IterableDataset`` uses it to give each worker its own share."""
    return _info


# ---- transport ----
def _rebuild_tensor(array, requires_grad):
    from fastnn._factories import from_numpy

    t = from_numpy(array)
    return t.requires_grad_(True) if requires_grad else t


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if not isinstance(obj, Tensor):
            return NotImplemented
        if obj.requires_grad and not obj.is_leaf:
            raise RuntimeError(
                "[DataLoader] cannot send a non-leaf tensor that requires grad to another "
                "process: autograd does not cross process boundaries; call .detach() on it first"
            )
        return _rebuild_tensor, (np.ascontiguousarray(obj.detach().numpy()), obj.requires_grad)


def dumps(obj):
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


loads = pickle.loads


class _KeyErrorMessage(str):
    """A KeyError shows repr() of its message: this keeps the traceback text readable."""

    def __repr__(self):
        return self


def error_payload(worker_id):
    """The exception being handled, as (type, text) bytes with torch's wording and the worker's
    traceback. A type that cannot be pickled comes back as RuntimeError."""
    exc = sys.exc_info()[1]
    text = f"Caught {type(exc).__name__} in DataLoader worker process {worker_id}.\nOriginal {traceback.format_exc()}"
    try:
        return dumps((type(exc), text))
    except Exception:
        return dumps((RuntimeError, text))


def raise_error(payload):
    """In the main process: raises the worker's exception as its own type with the worker's text."""
    exc_type, text = loads(payload)
    if exc_type is KeyError:
        text = _KeyErrorMessage(text)
    try:
        exc = exc_type(text)
    except Exception:  # a type whose constructor takes other arguments
        exc = RuntimeError(text)
    raise exc


# ---- the worker ----
class Exhausted(Exception):
    """An iterable dataset has no more batches (not StopIteration: a dataset may raise that)."""


class Blob:
    """The worker's arguments pickled with tensors as arrays (for start methods other than fork,
    which pickle the process arguments)."""

    def __init__(self, obj):
        self.data = dumps(obj)


def worker_loop(args, worker_id, num_workers, base_seed, index_queue, data_queue, parent_pid):
    """Serves (epoch, batch number, task) requests from ``index_queue`` until it reads None or
    the parent process is gone. A new epoch number restarts an iterable dataset's iterator."""
    global _info
    try:
        if isinstance(args, Blob):
            args = loads(args.data)
        dataset, fetcher, init_fn = args
        from fastnn import manual_seed, set_num_threads

        set_num_threads(1)  # one thread per worker
        seed = base_seed + worker_id  # as torch; NumPy's global RNG gets its own stream per worker
        _info = WorkerInfo(worker_id, num_workers, seed, dataset)
        manual_seed(seed)
        random.seed(seed)
        np.random.seed(np.random.SeedSequence([base_seed, worker_id]).generate_state(4))
        init_error = None
        if init_fn is not None:
            try:
                init_fn(worker_id)
            except Exception:
                init_error = error_payload(worker_id)
        epoch, exhausted = None, False
        while True:
            try:
                task = index_queue.get(timeout=_POLL_S)
            except queue.Empty:
                if os.getppid() != parent_pid:
                    break
                continue
            if task is None:
                break
            ep, idx, indices = task
            if ep != epoch:
                epoch, exhausted = ep, False
                fetcher.restart()
            if exhausted:
                continue  # the main process skips this worker's remaining requests
            if init_error is not None:
                data_queue.put((ep, idx, "error", init_error))
                continue
            try:
                data_queue.put((ep, idx, "data", dumps(fetcher(indices))))
            except Exhausted:
                exhausted = True
                data_queue.put((ep, idx, "stop", None))
            except Exception:
                data_queue.put((ep, idx, "error", error_payload(worker_id)))
    except KeyboardInterrupt:
        pass  # the main process gets the interrupt too and shuts the workers down
    data_queue.cancel_join_thread()  # results nobody will read must not keep this process alive
