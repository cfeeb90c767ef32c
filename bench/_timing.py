"""Interleaved timing: each callable runs in blocks of n calls, blocks alternate between the
callables (ABAB..., with the order flipped every repetition), so machine noise hits all of them.

A callable may have a .reset() attribute: it is called (untimed) before each of its blocks.
A block's time / n is one sample; the result is the list of samples per callable (seconds per call).
Blocks run with the garbage collector off (as timeit does), after a collect. Objects alive when a
measurement starts are frozen out of the collector (gc.freeze), so that collect stays cheap with
torch's many module objects around (it took ~60 ms otherwise).
"""

import gc
import statistics
import time

perf = time.perf_counter


def _block(fn, n):
    reset = getattr(fn, "reset", None)
    if reset is not None:  # untimed: back to a fixed starting state
        reset()
    gc.collect()
    gc.disable()
    try:
        t0 = perf()
        for _ in range(n):
            fn()
        return perf() - t0
    finally:
        gc.enable()


def calibrate(fn, min_block_s, max_n=1_000_000):
    """Calls fn until warm, then returns n such that n calls take about min_block_s (n >= 1)."""
    fn()
    n = 1
    while True:
        dt = _block(fn, n)
        if dt >= min_block_s or n >= max_n:
            return n
        n = min(max_n, max(n * 2, int(n * min_block_s / max(dt, 1e-9) * 1.1) + 1))


def interleaved(fns, reps, min_block_s, warmup_blocks=1, settle_s=0.0):
    """fns: dict name -> callable.  Returns dict name -> list of per-call seconds (one per repetition).

    settle_s: sleep before a block that follows another callable's block. Idle OpenMP / OpenBLAS / fastnn
    worker threads keep spinning for a while after a parallel call (libgomp: a few ms; fastnn: 50 us; OpenBLAS:
    ~0.1 s), which at 2 threads on 2 cores steals a core from the next block of the *other* library."""
    names = list(fns)
    gc.collect()
    gc.freeze()
    last = [None]

    def run(k, n):
        if settle_s and last[0] not in (None, k):
            time.sleep(settle_s)
        last[0] = k
        return _block(fns[k], n)

    ns = {}
    for k in names:
        if settle_s and last[0] is not None:
            time.sleep(settle_s)
        ns[k] = calibrate(fns[k], min_block_s)
        last[0] = k
    for _ in range(warmup_blocks):
        for k in names:
            run(k, ns[k])
    samples = {k: [] for k in names}
    for r in range(reps):
        order = names if r % 2 == 0 else names[::-1]
        for k in order:
            samples[k].append(run(k, ns[k]) / ns[k])
    return samples


def median(xs):
    return statistics.median(xs)


def paired_ratio_spread(a, b):
    """Quartiles (25%, 75%) of the per-repetition ratios a[i]/b[i]; a rough noise band for the ratio."""
    ratios = sorted(x / y for x, y in zip(a, b))
    if len(ratios) < 4:
        return (ratios[0], ratios[-1])
    q = statistics.quantiles(ratios, n=4)
    return (q[0], q[2])


def print_pairs(pairs, threads=(1, 2), reps=7, min_block_s=0.05):
    """Runs a bench module's pairs(torch, fastnn) (name, fastnn step, torch step, target ratio) interleaved at each
    thread count and prints the medians and ratios: `python -m bench.<module>` (bench.run has them as 'sequence')."""
    import torch

    from bench import _env

    fastnn = _env.import_fastnn()
    for th in threads:
        fastnn.set_num_threads(th)
        torch.set_num_threads(th)
        for name, ours, theirs, target in pairs(torch, fastnn):
            s = interleaved({"fastnn": ours, "torch": theirs}, reps, min_block_s, settle_s=0.05 if th > 1 else 0.0)
            f, t = median(s["fastnn"]), median(s["torch"])
            print(
                f"{name} [{th} thread(s)]: fastnn {f * 1e3:.2f} ms, torch {t * 1e3:.2f} ms, ratio {f / t:.2f} "
                f"(target <= {target})",
                flush=True,
            )
