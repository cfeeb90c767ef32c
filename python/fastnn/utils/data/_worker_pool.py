"""The main process's side of DataLoader workers: starting and stopping worker processes, handing
out index batches and putting the results back in order.

Batch ``k`` of an epoch goes to the next worker round-robin (skipping workers whose iterable dataset
is exhausted) with at most ``prefetch_factor * num_workers`` batches in flight, and batches are
returned in the order of ``k``, so a map-style dataset gives the batches of ``num_workers=0``.
Every request and result carries the epoch number of the iterator that sent it: results of an
abandoned epoch are dropped, and a new epoch restarts a persistent worker's iterable dataset.
While waiting the main process checks every ``_POLL_S`` that the workers are alive, so a worker
that dies is an error, not a hang.
"""

import itertools
import multiprocessing
import os
import queue
import signal
import time
import weakref

from fastnn._errors import name_errors
from fastnn.utils.data._worker import Blob, loads, raise_error, worker_loop

_POLL_S = 0.1
_JOIN_S = 2.0  # how long shutdown waits for workers to finish before terminating them


def _shutdown(workers, index_queues, data_queue):
    for q in index_queues:
        try:
            q.put(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + _JOIN_S
    for p in workers:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in workers:
        if p.is_alive():
            p.terminate()
            p.join()
    for q in (*index_queues, data_queue):
        q.cancel_join_thread()
        q.close()


class WorkerPool:
    """``num_workers`` processes serving one DataLoader, each with its own request queue and one
    shared result queue. Shut down by ``shutdown()`` or when garbage-collected."""

    def __init__(self, loader, fetcher, base_seed):
        ctx = loader.multiprocessing_context or multiprocessing.get_context()
        args = (loader.dataset, fetcher, loader.worker_init_fn)
        if ctx.get_start_method() != "fork":
            args = Blob(args)  # other start methods pickle the arguments: tensors go as arrays
        self.data_queue = ctx.Queue()
        self.index_queues, self.workers = [], []
        self.epoch = 0
        self._finalizer = weakref.finalize(self, _shutdown, self.workers, self.index_queues, self.data_queue)
        n = loader.num_workers
        try:
            for w in range(n):
                q = ctx.Queue()
                p = ctx.Process(
                    target=worker_loop,
                    args=(args, w, n, base_seed, q, self.data_queue, os.getpid()),
                    daemon=True,
                )
                p.start()
                self.index_queues.append(q)
                self.workers.append(p)
        except BaseException:
            self.shutdown()
            raise

    @property
    def alive(self):
        return self._finalizer.alive

    def shutdown(self):
        self._finalizer()

    def check_workers(self):
        """Raises (after shutting the pool down) if a worker process has exited."""
        for w, p in enumerate(self.workers):
            code = p.exitcode
            if code is None:
                continue
            self.shutdown()
            if code < 0:
                how = f"was killed by signal: {signal.Signals(-code).name}"
            else:
                how = f"exited unexpectedly with exit code {code}"
            raise RuntimeError(f"DataLoader worker {w} (pid {p.pid}) {how}")


class MultiProcessIter:
    """One epoch over a DataLoader with workers. ``tasks``: the epoch's index batches (for an
    iterable dataset, an endless stream of None: each worker iterates its own copy)."""

    def __init__(self, loader, pool, tasks, owns_pool):
        self._loader, self._pool, self._tasks = loader, pool, tasks
        pool.epoch += 1
        self._epoch = pool.epoch
        self._timeout = loader.timeout
        n = loader.num_workers
        self._active = [True] * n
        self._cycle = itertools.cycle(range(n))
        self._sent = self._received = 0
        self._pending = {}  # batch number -> worker id while waiting, then (kind, payload)
        self._tasks_done = False
        self._finalizer = weakref.finalize(self, pool.shutdown) if owns_pool else None
        for _ in range(loader.prefetch_factor * n):
            self._send()

    def _send(self):
        if self._tasks_done or not any(self._active):
            return
        try:
            task = next(self._tasks)
        except StopIteration:
            self._tasks_done = True
            return
        w = next(w for w in self._cycle if self._active[w])
        self._pool.index_queues[w].put((self._epoch, self._sent, task))
        self._pending[self._sent] = w
        self._sent += 1

    def _get(self):
        start = time.monotonic()
        while True:
            try:
                return self._pool.data_queue.get(timeout=_POLL_S)
            except queue.Empty:
                pass
            self._pool.check_workers()
            if self._timeout > 0 and time.monotonic() - start >= self._timeout:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def __iter__(self):
        return self

    def __next__(self):
        if self._pool.epoch != self._epoch or not self._pool.alive:
            if self._received == self._sent and self._tasks_done:
                raise StopIteration
            raise RuntimeError(
                "DataLoader iterator is no longer usable: its workers were shut down or a newer "
                "iter() over the loader took over its persistent workers"
            )
        while True:
            # skip the requests of workers whose iterable dataset ran out
            while self._received < self._sent:
                entry = self._pending[self._received]
                if isinstance(entry, tuple) or self._active[entry]:
                    break
                del self._pending[self._received]
                self._received += 1
                self._send()
            if self._received == self._sent:
                self._tasks_done = True
                if self._finalizer is not None:
                    self._finalizer()
                raise StopIteration
            entry = self._pending[self._received]
            if isinstance(entry, tuple):
                del self._pending[self._received]
                self._received += 1
                self._send()
                kind, payload = entry
                if kind == "error":
                    raise_error(payload)
                return loads(payload)
            epoch, k, kind, payload = self._get()
            if epoch != self._epoch:
                continue  # a result of an abandoned epoch
            if kind == "stop":
                self._active[self._pending[k]] = False
            else:
                self._pending[k] = (kind, payload)

    def __len__(self):
        return len(self._loader)


name_errors(MultiProcessIter, ("__next__", "__len__"), owner="DataLoader")
