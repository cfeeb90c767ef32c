"""The MPI engine under fastnn.distributed: one communication thread per process runs every collective (so
DistributedDataParallel's gradient reductions overlap the rest of the backward, and MPI is only ever called from
one thread), on byte buffers that are the tensors' own memory.

Reductions are deterministic whatever MPI's algorithms: MPI only moves bytes (alltoall, allgather), and every
element is combined here in rank order 0, 1, ..., N-1, so a run on N ranks gives the same bits every time.
The thread polls nonblocking requests itself instead of blocking in MPI (whose busy loop would take a core from
the training thread of the same rank): flat out while a thread waits for a result, with short sleeps otherwise.
"""

import ctypes
import queue
import threading
import time

import numpy as np

# element-wise combination of two arrays (into the first), per reduce op; AVG is SUM then a division
COMBINE = {
    "SUM": np.add,
    "AVG": np.add,
    "PRODUCT": np.multiply,
    "MIN": np.minimum,
    "MAX": np.maximum,
}


SPIN_S = 2e-5  # a request's first polls, before the communication thread sleeps between them


def _fine_timer_slack():
    """Lets this thread's short sleeps last microseconds, not Linux's default 50 us slack (no-op elsewhere)."""
    try:
        ctypes.CDLL(None).prctl(29, 1000)  # PR_SET_TIMERSLACK: 1 us
    except (OSError, AttributeError):
        pass


def _offsets(counts):
    """Where each of consecutive parts of these sizes starts."""
    return np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)


class Work:
    """A collective handed to the communication thread (torch's Work): wait() blocks until it has finished."""

    def __init__(self, name, fn, engine):
        self.name, self._fn, self._engine = name, fn, engine
        self._timeout, self._where = engine.timeout_s, f"rank {engine.rank} of {engine.size}"
        self._done = threading.Event()
        self._error = self.value = None  # value: what the collective returned (recv: the sender's rank)

    def _run(self):
        try:
            self.value = self._fn()
        except BaseException as e:  # handed to the waiting thread
            self._error = e
        self._done.set()

    def is_completed(self):
        return self._done.is_set()

    def is_success(self):
        return self._done.is_set() and self._error is None

    def exception(self):
        return self._error

    def wait(self, timeout=None):
        limit = self._timeout if timeout is None else _seconds(timeout)
        self._engine.waiting(+1)
        try:
            done = self._done.wait(limit)
        finally:
            self._engine.waiting(-1)
        if not done:
            message = (
                f"[{self.name}] {self._where} timed out after {limit:g} s waiting for the other ranks: a rank failed, "
                "stopped, or did not call the same collective (the process group cannot be used after this)"
            )
            self._engine.broken = message  # the communication thread is stuck in this collective
            raise RuntimeError(message)
        if self._error is not None:
            raise self._error
        return True


def _seconds(timeout):
    return timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)


class Engine:
    """A group's communicator and the thread that runs its collectives in submission order."""

    def __init__(self, timeout_s, comm=None, ranks=None):
        """comm: the group's communicator (default: a duplicate of MPI.COMM_WORLD); ranks: its members' global
        ranks, in group order."""
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup() if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.ranks = list(range(self.size)) if ranks is None else list(ranks)
        self.timeout_s = timeout_s
        self.broken = None  # why the group cannot be used any more (a collective timed out)
        self.waiters = 0  # threads blocked in Work.wait (the communication thread then polls without sleeping)
        self._waiters_lock = threading.Lock()
        self._scratch = np.empty(0, dtype=np.uint8)  # reduce_chunks' receive buffer, reused
        self._wake = threading.Event()  # set while waiters > 0: ends the communication thread's sleep between polls
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="fastnn-distributed", daemon=True)
        self._thread.start()

    def _loop(self):
        _fine_timer_slack()
        while True:
            work = self._queue.get()
            if work is None:
                return
            work._run()

    def submit(self, name, fn):
        if self.broken:
            raise RuntimeError(f"[{name}] the process group cannot be used: {self.broken}")
        work = Work(name, fn, self)
        self._queue.put(work)
        return work

    def run(self, name, fn, async_op):
        """The Work when async_op, else fn's result once it ran (None for the tensor collectives)."""
        work = self.submit(name, fn)
        if async_op:
            return work
        work.wait()
        return work.value

    def close(self):
        """Ends the communication thread after the collectives queued before; a thread stuck in a collective
        that timed out is left behind (it is a daemon)."""
        self._queue.put(None)
        if self.broken:
            return
        self._thread.join(self.timeout_s)
        if self._thread.is_alive():
            self.broken = f"destroy_process_group: collectives still running after {self.timeout_s:g} s"
            raise RuntimeError(f"[destroy_process_group] collectives still running after {self.timeout_s:g} s")
        self.comm.Free()

    def abort(self, code=1):
        self.MPI.COMM_WORLD.Abort(code)

    # -- on the communication thread: each call below blocks until its requests completed

    def waiting(self, change):
        with self._waiters_lock:
            self.waiters += change
            if self.waiters:
                self._wake.set()
            else:
                self._wake.clear()

    def complete(self, request, status=None):
        """Polls flat out while a thread waits for a result (it has nothing else to do) and for the first
        SPIN_S; otherwise (gradient reductions overlapping the backward) sleeps between polls, backing off, so as
        not to take the training thread's core; a thread starting to wait ends the sleep."""
        spin_until = time.perf_counter() + SPIN_S
        delay = 5e-6
        while not request.Test(status):
            if self.waiters or time.perf_counter() < spin_until:
                continue
            self._wake.wait(delay)
            delay = min(delay * 2, 1e-4)

    def barrier(self):
        self.complete(self.comm.Ibarrier())

    def broadcast(self, buf, src):
        self.complete(self.comm.Ibcast([buf, self.MPI.BYTE], root=src))

    def gather(self, send, recv, root):
        """recv (on root: N * len(send) bytes) <- every rank's send, in rank order."""
        self.complete(
            self.comm.Igather([send, self.MPI.BYTE], [recv, self.MPI.BYTE] if recv is not None else None, root)
        )

    def scatter(self, send, recv, root):
        """recv <- the rank-th of N equal parts of root's send."""
        self.complete(
            self.comm.Iscatter([send, self.MPI.BYTE] if send is not None else None, [recv, self.MPI.BYTE], root)
        )

    def gatherv(self, send, recv, counts, root):
        """On root, recv <- every rank's send bytes (counts[r] from rank r), in rank order."""
        spec = [recv, (counts, _offsets(counts)), self.MPI.BYTE] if recv is not None else None
        self.complete(self.comm.Igatherv([send, self.MPI.BYTE], spec, root))

    def scatterv(self, send, recv, counts, root):
        """recv <- counts[rank] bytes of root's send, the parts in rank order."""
        spec = [send, (counts, _offsets(counts)), self.MPI.BYTE] if send is not None else None
        self.complete(self.comm.Iscatterv(spec, [recv, self.MPI.BYTE], root))

    def allgatherv(self, send, recv, counts):
        """recv <- every rank's send bytes (counts[r] from rank r), in rank order, on every rank."""
        self.complete(self.comm.Iallgatherv([send, self.MPI.BYTE], [recv, (counts, _offsets(counts)), self.MPI.BYTE]))

    def send(self, buf, dst, tag):
        self.complete(self.comm.Isend([buf, self.MPI.BYTE], dst, tag))

    def recv(self, buf, src, tag):
        """Receives into buf from src (None: any rank); returns the sender's rank."""
        status = self.MPI.Status()
        source = self.MPI.ANY_SOURCE if src is None else src
        request = self.comm.Irecv([buf, self.MPI.BYTE], source, tag)
        self.complete(request, status)
        return status.Get_source()

    def allgather(self, send, recv):
        """recv (N * len(send) bytes) <- every rank's send, in rank order."""
        self.complete(self.comm.Iallgather([send, self.MPI.BYTE], [recv, self.MPI.BYTE]))

    def reduce_chunks(self, send, counts, op):
        """Rank r gets, reduced in rank order, the r-th of the chunks (sizes `counts`, in elements) of every rank's
        `send`; returns this rank's reduced chunk (in the scratch buffer: valid until the next collective)."""
        n, item, me = self.size, send.itemsize, self.rank
        displs = _offsets(counts)
        recv = self.scratch(n * counts[me] * item).view(send.dtype).reshape(n, counts[me])
        self.complete(
            self.comm.Ialltoallv(
                [send.view(np.uint8), (np.asarray(counts) * item, displs * item), self.MPI.BYTE],
                [recv.view(np.uint8), ([counts[me] * item] * n, np.arange(n) * counts[me] * item), self.MPI.BYTE],
            )
        )
        acc = recv[0]
        for r in range(1, n):
            COMBINE[op](acc, recv[r], out=acc)
        return acc

    def scratch(self, nbytes):
        """A reused buffer of at least nbytes (fresh large allocations cost a page fault per 4 KiB touched);
        valid until the next call."""
        if self._scratch.size < nbytes:
            self._scratch = np.empty(max(nbytes, 2 * self._scratch.size), dtype=np.uint8)
        return self._scratch[:nbytes]

    def allreduce(self, buf, op):
        """buf (1-D) <- the element-wise reduction of every rank's buf, combined in rank order."""
        n = self.size
        counts = [len(buf) // n + (r < len(buf) % n) for r in range(n)]
        mine = self.reduce_chunks(buf, counts, op)
        displs = _offsets(counts) * buf.itemsize
        self.complete(
            self.comm.Iallgatherv(
                [mine.view(np.uint8), self.MPI.BYTE],
                [buf.view(np.uint8), (np.asarray(counts) * buf.itemsize, displs), self.MPI.BYTE],
            )
        )
