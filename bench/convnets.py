"""Larger convnets, one framework and model per subprocess: step time and peak resident memory.

Worker:  python -m bench.convnets {fastnn|torch} {resnet18|vgg_block} THREADS
- resnet18: ResNet-18 (CIFAR variant) training step (forward, cross-entropy, backward, SGD momentum) at batch 64
  on 32x32 inputs;
- vgg_block: VGG's first block forward + backward (of the output's sum) at batch 8 on 224x224 inputs.
Measures the median of a few steps after a warm-up one, and the peak RSS above the baseline after imports and
model building (VmHWM after /proc/self/clear_refs). Prints one JSON line.
"""

import json
import sys
import time

MODELS = {"resnet18": (64, (3, 32, 32)), "vgg_block": (8, (3, 224, 224))}
TARGETS = {"resnet18": 1.0, "vgg_block": 1.2}  # time ratio fastnn / torch; memory: at most torch's


def worker(framework, model_name, threads, steps=5):
    import statistics

    import numpy as np

    from bench import _env
    from bench.lenet import lenet  # noqa: F401  (puts tests/python on the path)
    from bench.memory import _reset_peak
    from models import resnet18_cifar, vgg_block

    lib = _env.import_fastnn() if framework == "fastnn" else __import__("torch")
    lib.set_num_threads(threads)
    lib.manual_seed(0)
    batch, shape = MODELS[model_name]
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal((batch, *shape), dtype=np.float32))
    if model_name == "resnet18":
        model = resnet18_cifar(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        y = lib.from_numpy(rng.integers(0, 10, batch, dtype=np.int64))

        def step():
            opt.zero_grad()
            lib.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    else:
        model = vgg_block(lib)

        def step():
            model.zero_grad()
            model(x).sum().backward()

    base = _env.proc_status_kb("VmRSS", "VmHWM")
    reset = _reset_peak()
    step()  # warm-up (the caching allocator fills here; it counts in the peak)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    end = _env.proc_status_kb("VmHWM")
    baseline = base["VmRSS"] if reset else base["VmHWM"]
    print(
        json.dumps(
            {
                "framework": framework,
                "model": model_name,
                "threads": threads,
                "step_s": statistics.median(times),
                "step_samples_s": times,
                "delta_kb": end["VmHWM"] - baseline,
                "peak_reset": reset,
            }
        )
    )


def measure(framework, model_name, threads, timeout=900):
    from bench import _env

    return _env.run_worker("bench.convnets", framework, model_name, threads, timeout=timeout)


if __name__ == "__main__":
    worker(sys.argv[1], sys.argv[2], int(sys.argv[3]))
