"""LeNet training on a busy machine: another process spins on CPU 0 (started and stopped here) while
fastnn trains at its default thread count, at 1 thread, and torch at its default; blocks interleaved.

The issue this guards against: with OpenMP's spinning teams, two threads ran 3-15x slower than one
when another process used a core. fastnn's own pool lets the caller take every chunk a descheduled
worker has not started, and idle workers sleep after a short spin."""

import contextlib
import os
import subprocess
import sys

BATCHES = (16, 64, 256)


@contextlib.contextmanager
def competing_process(cpu=0):
    """A CPU-bound Python process pinned to `cpu` (where the OS allows pinning) for the with-block."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        if hasattr(os, "sched_setaffinity") and cpu in os.sched_getaffinity(0):
            os.sched_setaffinity(hog.pid, {cpu})
        yield hog
    finally:
        hog.kill()
        hog.wait()


def with_threads(step, set_threads, n):
    """step, run at n threads (set on every call: the other closures change the process-wide count)."""

    def run():
        set_threads(n)
        return step()

    run.reset = step.reset
    return run


def closures(torch, fastnn, make_pair, batch):
    """{'default', 'one', 'torch'} -> LeNet training-step closures at batch `batch`, each with its own
    model from the same initial weights."""
    default = fastnn.get_num_threads()
    f_default, t_step = make_pair().train_steps(batch)
    f_one, _ = make_pair().train_steps(batch)
    return {
        "default": with_threads(f_default, fastnn.set_num_threads, default),
        "one": with_threads(f_one, fastnn.set_num_threads, 1),
        "torch": t_step,
    }
