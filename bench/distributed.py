"""Data-parallel LeNet training on Digits (1,437 training images, 1x32x32, global batch 64), in samples/s:
fastnn on 2 MPI ranks x 1 thread (DistributedDataParallel), fastnn on 1 process x 2 threads, and PyTorch DDP
(gloo) on 2 ranks x 1 thread, all started by mpirun on this machine.

    python -m bench.distributed [--reps 3] [--epochs 10]

Each configuration runs in its own processes, `reps` times, interleaved with the others; a run trains one
warm-up epoch and then `epochs` timed epochs (rank 0's wall time per epoch, every rank's samples counted).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time

if __package__ in (None, ""):  # python bench/distributed.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import _env

# (library, ranks, threads per rank)
CONFIGS = {"fastnn 2x1": ("fastnn", 2, 1), "fastnn 1x2": ("fastnn", 1, 2), "torch DDP 2x1": ("torch", 2, 1)}
GLOBAL_BATCH = 64


def lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip


def worker(lib_name, threads, epochs):
    """One rank: trains and, on rank 0, prints {'epoch_s': [...], 'samples': N} as JSON."""
    import importlib

    import numpy as np

    fastnn = _env.import_fastnn()
    rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", 0))
    world = int(os.environ.get("OMPI_COMM_WORLD_SIZE", 1))
    train = importlib.import_module("fastnn.datasets").Digits(train=True, seed=0)
    images = np.stack([train[i][0].numpy() for i in range(len(train))])
    labels = np.array([int(train[i][1]) for i in range(len(train))], dtype=np.int64)
    if lib_name == "fastnn":
        lib, dist = fastnn, fastnn.distributed
        if world > 1:
            dist.init_process_group("mpi")
    else:
        import torch as lib
        import torch.distributed as dist

        if world > 1:
            port = os.environ["BENCH_PORT"]
            dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    lib.set_num_threads(threads)
    lib.manual_seed(0)
    x, y = lib.tensor(images), lib.tensor(labels)
    model = lenet(lib.nn)
    if world > 1:
        model = lib.nn.parallel.DistributedDataParallel(model)
    opt = lib.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    sampler = lib.utils.data.DistributedSampler(range(len(labels)), world, rank, seed=0)
    batch = GLOBAL_BATCH // world
    times = []
    for epoch in range(epochs + 1):  # epoch 0 warms up
        sampler.set_epoch(epoch)
        order = lib.tensor(list(sampler))
        if world > 1:
            dist.barrier()
        t0 = time.perf_counter()
        for i in range(0, len(order), batch):
            b = order[i : i + batch]
            opt.zero_grad()
            lib.nn.functional.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
        times.append(time.perf_counter() - t0)  # the last step's gradient reduction waited for every rank
    if rank == 0:
        print(json.dumps({"epoch_s": times[1:], "samples": len(order) * world}))
    if world > 1:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_config(name, epochs):
    lib, ranks, threads = CONFIGS[name]
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", BENCH_PORT=str(_free_port()))
    env["OMP_NUM_THREADS"] = str(threads)
    cmd = [
        sys.executable,
        "-m",
        "bench.distributed",
        "--worker",
        lib,
        "--threads",
        str(threads),
        "--epochs",
        str(epochs),
    ]
    if ranks > 1:
        cmd = ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none", *cmd]
    # torch's gloo sometimes aborts in destroy_process_group after the run ("terminate called without an active
    # exception", seen 2026-12-05): such a run is started again, up to twice.
    for attempt in range(3):
        out = subprocess.run(cmd, env=env, cwd=_env.REPO, capture_output=True, text=True, timeout=600)
        if out.returncode == 0:
            break
        if attempt == 2:
            raise RuntimeError(f"{name}: {' '.join(cmd)} failed 3 times; the last:\n{out.stdout}\n{out.stderr}")
        env["BENCH_PORT"] = str(_free_port())
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return [t / result["samples"] for t in result["epoch_s"]]  # seconds per sample, per timed epoch


def measure(reps=3, epochs=10, log=print):
    """{config: [seconds per sample, one per timed epoch of every repetition]}, configurations interleaved."""
    if shutil.which("mpirun") is None:
        raise RuntimeError("bench.distributed needs Open MPI's mpirun (apt-get install openmpi-bin) and mpi4py")
    per_sample = {name: [] for name in CONFIGS}
    for rep in range(reps):
        for name in CONFIGS:
            per_sample[name] += run_config(name, epochs)
            log(f"  distributed rep {rep + 1}/{reps} {name}: {1 / min(per_sample[name]):,.0f} samples/s (best so far)")
    return per_sample


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.distributed", description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--worker", choices=["fastnn", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.threads, args.epochs)
    from bench._timing import median

    per_sample = measure(args.reps, args.epochs)
    base = median(per_sample["fastnn 2x1"])
    print(f"{'configuration':<16} {'samples/s':>10}  time ratio (fastnn 2x1 / this)")
    for name, times in per_sample.items():
        print(f"{name:<16} {1 / median(times):>10,.0f}  {base / median(times):.2f}")


if __name__ == "__main__":
    _env.scrub_openblas_env()
    main()
