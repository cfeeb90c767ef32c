"""Peak resident memory of one LeNet training epoch, one framework per subprocess.

Worker:  python -m bench.memory {fastnn|torch} THREADS [SAMPLES] [BATCH]
It imports only its framework (and numpy), records VmRSS after the imports as the baseline, resets
the kernel's peak-RSS mark (/proc/self/clear_refs "5"), trains the tutorial's LeNet (SGD momentum
0.9) for one epoch on random batches generated on the fly (so no dataset array sits in memory),
then reads VmHWM. Prints one JSON line.
"""

import json
import sys
import time


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def worker(framework, threads, samples=60000, batch=64):
    import resource

    import numpy as np

    from bench import _env
    from bench.lenet import lenet

    if framework == "fastnn":
        lib = _env.import_fastnn()
        import fastnn.nn.functional as F
    else:
        import torch as lib
        import torch.nn.functional as F
    lib.set_num_threads(threads)
    base = _env.proc_status_kb("VmRSS", "VmHWM")
    reset = _reset_peak()
    lib.manual_seed(0)
    model = lenet(lib)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for i in range(0, samples, batch):
        n = min(batch, samples - i)
        x = lib.from_numpy(rng.standard_normal((n, 1, 32, 32), dtype=np.float32))
        y = lib.from_numpy(rng.integers(0, 10, n, dtype=np.int64))
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    float(loss.item())
    elapsed = time.perf_counter() - t0
    end = _env.proc_status_kb("VmRSS", "VmHWM")
    baseline = base["VmRSS"] if reset else base["VmHWM"]
    print(
        json.dumps(
            {
                "framework": framework,
                "threads": threads,
                "samples": samples,
                "batch": batch,
                "baseline_kb": baseline,
                "peak_kb": end["VmHWM"],
                "delta_kb": end["VmHWM"] - baseline,
                "end_rss_kb": end["VmRSS"],
                "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "peak_reset": reset,
                "epoch_s": elapsed,
            }
        )
    )


def measure(framework, threads, samples=60000, batch=64, timeout=900):
    from bench import _env

    return _env.run_worker("bench.memory", framework, threads, samples, batch, timeout=timeout)


if __name__ == "__main__":
    a = sys.argv[1:]
    worker(a[0], int(a[1]), *(int(v) for v in a[2:4]))
