"""fastnn vs PyTorch CPU (and NumPy's BLAS for GEMM), interleaved in one process, at equal thread counts.

    python -m bench                  # quick run (a few minutes), threads 1 and 2
    python bench/run.py --full       # more repetitions, 3 epochs per side, memory at every thread count
    python -m bench --threads 2 --cases lenet_train,gemm --json /tmp/r.json

Prints one table of medians and ratios (ratio = fastnn time / reference time: lower is faster; for
GEMM the reference is NumPy's matmul), PASS/MISS against the project's targets, the LeNet training
step's achieved GFLOP/s as a fraction of the machine's peak, and peak memory of a training epoch;
writes everything (with every sample) as JSON (default bench/results.json).
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time

if __package__ in (None, ""):  # python bench/run.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import _env

CASES = (
    "lenet_train",
    "lenet_infer",
    "lenet_epoch",
    "tiny",
    "conv",
    "gemm",
    "sequence",
    "convnets",
    "contended",
    "distributed",
    "memory",
)
# Modules under bench/ with pairs(torch, fastnn) -> [(name, fastnn_step, torch_step, target ratio)]: the sequence rows.
SEQUENCE_FAMILIES = ("normalization", "attention", "rnn", "softmax")
TRAIN_BATCHES = (1, 16, 64, 256)
NOISY_IQR = 0.15  # a row is flagged noisy when its per-repetition ratios' quartiles span > 15% of the ratio
INFER_BATCHES = (1, 64, 1024)
COMPILED_TRAIN_BATCHES = (1, 16, 64)  # fastnn.compile's replay vs torch eager
COMPILED_INFER_BATCHES = (1, 64)
MODES = {
    # reps: timed blocks per side; block_s: minimum block length; epoch_reps: epochs per side
    "quick": {"reps": 7, "block_s": 0.04, "epoch_reps": 1, "memory_all_threads": False},
    "full": {"reps": 15, "block_s": 0.1, "epoch_reps": 3, "memory_all_threads": True},
}


def target_train(batch):
    return ("<=", 0.33)  # at every batch (performance round 2; batch 1 had it first)


TARGETS = {
    "lenet_infer": {1: ("<=", 0.5), 64: ("<=", 0.5)},
    "compiled_train": {1: ("<=", 0.15)},  # performance round 2: whole-step capture and replay
    "compiled_infer": {1: ("<=", 0.2)},
    "tiny": ("<=", 0.5),
    "conv": {"3->32->64 3x3 p1 32x32": ("<=", 1.0)},
    "gemm_big": ("<=", 1 / 0.9),  # fastnn >= 0.9x NumPy's GFLOP/s
    "gemm_lenet": ("<", 1.0),  # faster than NumPy
    "memory": ("<=", 1.0),
    "contended": ("<=", 1.0),  # fastnn at its default threads vs fastnn at 1 thread, and vs torch at its default
}


def fmt_time(s):
    if s < 1e-3:
        return f"{s * 1e6:.2f} us"
    if s < 1:
        return f"{s * 1e3:.3f} ms"
    return f"{s:.2f} s"


def fmt_target(t):
    if t is None:
        return ""
    op, v = t
    sym = "≤" if op == "<=" else "<"
    return f"{sym}{v:.2f}"


def meets(ratio, t):
    op, v = t
    return ratio <= v if op == "<=" else ratio < v


def cpu_busy(interval=1.0):
    """Fraction of all CPUs busy over `interval` seconds (from /proc/stat), or None."""

    def read():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]
        return sum(v), idle

    try:
        t0, i0 = read()
        time.sleep(interval)
        t1, i1 = read()
        return 1.0 - (i1 - i0) / max(1, t1 - t0)
    except OSError:
        return None


def load_snapshot():
    busy = cpu_busy(1.0)
    return {
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "cpu_busy_1s": None if busy is None else round(busy, 3),
        "time": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def wait_idle(max_s, threshold=0.15):
    """Wait (up to max_s) until the CPUs are < threshold busy over 2 s; returns the last busy fraction."""
    deadline = time.time() + max_s
    while True:
        busy = cpu_busy(2.0)
        if busy is None or busy < threshold or time.time() >= deadline:
            return busy
        log(f"waiting for an idle machine: CPUs {busy:.0%} busy, load {os.getloadavg()[0]:.2f}")
        time.sleep(5)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.mode = MODES["full" if args.full else "quick"]
        if args.reps:
            self.mode = dict(self.mode, reps=args.reps)
        self.rows, self.memory, self.checks = [], [], {}

    # ---- rows ----
    def add(self, group, case, threads, fs, rs, target=None, ref="torch", flops=None, stat="median"):
        from bench._timing import median, paired_ratio_spread

        f, r = (min(fs), min(rs)) if stat == "best" else (median(fs), median(rs))
        ratio = f / r
        best = {"fastnn_best_s": min(fs), "ref_best_s": min(rs)}
        lo, hi = paired_ratio_spread(fs, rs)
        row = {
            "group": group,
            "case": case,
            "threads": threads,
            "ref": ref,
            "fastnn_s": f,
            "ref_s": r,
            "ratio": ratio,
            "stat": stat,
            "ratio_iqr": [lo, hi],
            "target": list(target) if target else None,
            "status": "" if target is None else ("PASS" if meets(ratio, target) else "MISS"),
            "noisy": (hi - lo) > NOISY_IQR * ratio,
            **best,
            "fastnn_samples_s": fs,
            "ref_samples_s": rs,
        }
        if flops:
            row["flops"] = flops
            row["fastnn_gflops"], row["ref_gflops"] = flops / f * 1e-9, flops / r * 1e-9
        self.rows.append(row)
        log(
            f"  {group:<12} {case:<28} t={threads}  fastnn {self._val(row, 'fastnn')}  {ref} {self._val(row, 'ref')}"
            f"  ratio {ratio:.3f} {row['status']}"
        )

    @staticmethod
    def _val(row, side):
        if row["group"] == "gemm":
            return f"{row[side + '_gflops']:.1f} GF/s"
        return fmt_time(row[side + "_s"])

    def timed(self, fns, settle_s=None):
        from bench._timing import interleaved

        if settle_s is None:  # the other library's idle threads spin for a while after its block
            settle_s = self.args.settle if self.threads > 1 else 0.0
        s = interleaved({"fastnn": fns[0], "ref": fns[1]}, self.mode["reps"], self.mode["block_s"], settle_s=settle_s)
        return s["fastnn"], s["ref"]

    # ---- cases ----
    def pair(self):
        """A fresh torch/fastnn LeNet pair: every case starts from the same initial weights."""
        from bench.lenet import Pair

        return Pair(self.torch, self.fastnn)

    def check_finite(self, pair, case):
        if not pair.finite():
            log(f"  warning: {case}: parameters became non-finite during timing")
            self.checks.setdefault("non_finite", []).append(case)

    def lenet_train(self, th):
        from bench.lenet import lenet_flops

        rows = [(False, b, f"train step batch {b}", target_train(b)) for b in TRAIN_BATCHES]
        rows += [  # fastnn.compile's replay against torch eager
            (True, b, f"compiled step batch {b}", TARGETS["compiled_train"].get(b)) for b in COMPILED_TRAIN_BATCHES
        ]
        for compiled, b, case, target in rows:
            pair = self.pair()
            fs, rs = self.timed(pair.train_steps(b, compiled=compiled))
            self.check_finite(pair, f"{case} t{th}")
            self.add("lenet_train", case, th, fs, rs, target, flops=lenet_flops(b)[1])

    def lenet_infer(self, th):
        from bench.lenet import lenet_flops

        pair = self.pair()
        rows = [(False, b, f"inference batch {b}", TARGETS["lenet_infer"].get(b)) for b in INFER_BATCHES]
        rows += [
            (True, b, f"compiled inference batch {b}", TARGETS["compiled_infer"].get(b)) for b in COMPILED_INFER_BATCHES
        ]
        for compiled, b, case, target in rows:
            fs, rs = self.timed(pair.infer(b, compiled=compiled))
            self.add("lenet_infer", case, th, fs, rs, target, flops=lenet_flops(b)[0])

    def lenet_epoch(self, th):
        from bench._timing import _block
        from bench.lenet import epoch_fns

        pair = self.pair()
        f, t = epoch_fns(pair)
        fs, rs = [], []
        f.reset, t.reset = (lambda: pair.reset("fastnn")), (lambda: pair.reset("torch"))  # each epoch from init
        for r in range(self.mode["epoch_reps"]):
            for side in ("f", "t") if r % 2 == 0 else ("t", "f"):
                time.sleep(self.args.settle if th > 1 else 0.0)
                (fs if side == "f" else rs).append(_block(f if side == "f" else t, 1))
        self.check_finite(pair, f"epoch t{th}")
        self.add("lenet_epoch", "epoch 60000 (random) b64", th, fs, rs)

    def tiny(self, th):
        from bench import micro

        fs, rs = self.timed(micro.tiny_add(self.torch, self.fastnn))
        self.add("tiny", "a + b (1 element)", th, fs, rs, TARGETS["tiny"])
        fs, rs = self.timed(micro.tiny_fwd_bwd(self.torch, self.fastnn))
        self.add("tiny", "(w*x+b).sum().backward()", th, fs, rs, TARGETS["tiny"])

    def conv(self, th):
        from bench import micro

        for name in micro.CONV_CASES:
            fs, rs = self.timed(micro.conv_fwd_bwd(self.torch, self.fastnn, name))
            self.add("conv", name, th, fs, rs, TARGETS["conv"].get(name))

    def gemm(self, th):
        from bench import gemm

        for shapes, key in ((gemm.SQUARES + gemm.TRANSPOSED, "gemm_big"), (gemm.LENET, "gemm_lenet")):
            for m, n, k, ta, tb, label in shapes:
                errs = self.checks.setdefault("gemm_max_abs_diff_vs_numpy", {})
                if label not in errs:
                    errs[label] = gemm.check(self.fastnn, m, n, k, ta, tb)
                target = TARGETS[key] if (key == "gemm_lenet" or m >= 1024) else None
                # OpenBLAS's idle worker threads spin for ~0.1 s after a threaded call (and it threads
                # shapes as small as LeNet's fc1); let them sleep before fastnn's block
                settle = self.args.settle_blas if th > 1 else 0.0
                fs, rs = self.timed(gemm.gemm_fns(self.fastnn, m, n, k, ta, tb), settle_s=settle)
                self.add(
                    "gemm",
                    f"{label} ({m},{n},{k})" if key == "gemm_lenet" else label,
                    th,
                    fs,
                    rs,
                    target,
                    ref="numpy",
                    flops=2 * m * n * k,
                )

    def sequence(self, th):
        """LayerNorm, attention, transformer-encoder and LSTM training steps, softmax and cross entropy over a 1000-word
        vocabulary, with identical weights and inputs."""
        import importlib

        for family in SEQUENCE_FAMILIES:
            for name, ours, theirs, target in importlib.import_module(f"bench.{family}").pairs(self.torch, self.fastnn):
                fs, rs = self.timed((ours, theirs))
                self.add("sequence", name, th, fs, rs, ("<=", target) if target else None)

    def convnets(self, th):
        """ResNet-18 (32x32, batch 64) training step and VGG's first block (224x224, batch 8) forward + backward,
        each framework in its own process (time and peak RSS); rows for time, and for memory in self.memory."""
        from bench import convnets

        for name, target in convnets.TARGETS.items():
            res = {}
            for fw in ("fastnn", "torch"):
                log(f"  convnets: {name}, {fw}, {th} thread(s), own subprocess ...")
                res[fw] = convnets.measure(fw, name, th)
            f, t = res["fastnn"], res["torch"]
            self.add("convnets", name, th, f["step_samples_s"], t["step_samples_s"], ("<=", target))
            ratio = f["delta_kb"] / t["delta_kb"]
            self.memory.append(
                {
                    "case": f"{name} peak RSS above baseline",
                    "threads": th,
                    "fastnn": f,
                    "torch": t,
                    "ratio": ratio,
                    "target": list(TARGETS["memory"]),
                    "status": "PASS" if meets(ratio, TARGETS["memory"]) else "MISS",
                }
            )
            log(
                f"  {name} memory t={th}: fastnn +{f['delta_kb'] / 1024:.1f} MiB, torch +{t['delta_kb'] / 1024:.1f} MiB"
            )

    def contended(self):
        """LeNet training with another process spinning on CPU 0: fastnn at its default thread count
        against fastnn at 1 thread and against torch at its default (each library's own choice)."""
        from bench import contended
        from bench._timing import interleaved

        fastnn, torch = self.default_threads  # each library's own choice (the run loop changed them)
        self.fastnn.set_num_threads(fastnn)
        self.torch.set_num_threads(torch)
        reps = max(self.mode["reps"], 11)  # the scheduler's noise is larger here
        log(f"== contended: fastnn {fastnn} thread(s) (default) and 1, torch {torch} (default); CPU 0 busy")
        with contended.competing_process():
            for b in contended.BATCHES:
                fns = contended.closures(self.torch, self.fastnn, self.pair, b)
                s = interleaved(fns, reps, self.mode["block_s"] * 2, settle_s=self.args.settle)
                case = f"train step batch {b}"
                self.add(
                    "contended", f"{case} vs 1 thread", fastnn, s["default"], s["one"], TARGETS["contended"], "1 thread"
                )
                self.add("contended", f"{case} vs torch", fastnn, s["default"], s["torch"], TARGETS["contended"])

    def distributed(self):
        """LeNet epochs on Digits, data-parallel: fastnn on 2 MPI ranks x 1 thread against PyTorch DDP (gloo) 2 x 1
        and against fastnn in 1 process x 2 threads (bench/distributed.py; seconds per sample, each its own run)."""
        from bench import distributed

        log("== distributed: LeNet on Digits, global batch 64, each configuration started by mpirun")
        s = distributed.measure(reps=max(3, self.mode["reps"] // 2), log=log)
        case = "LeNet Digits epoch, 2 ranks x 1 thread"
        self.add("distributed", f"{case} vs torch DDP 2x1", 2, s["fastnn 2x1"], s["torch DDP 2x1"])
        self.add("distributed", f"{case} vs 1 process x 2 thr", 2, s["fastnn 2x1"], s["fastnn 1x2"], ref="1x2")

    def run_memory(self, threads):
        from bench import memory

        ths = threads if self.mode["memory_all_threads"] else [max(threads)]
        for th in ths:
            res = {}
            for fw in ("fastnn", "torch"):
                log(f"  memory: one training epoch, {fw}, {th} thread(s), own subprocess ...")
                res[fw] = memory.measure(fw, th)
            ratio = res["fastnn"]["delta_kb"] / res["torch"]["delta_kb"]
            t = TARGETS["memory"]
            self.memory.append(
                {
                    "threads": th,
                    "fastnn": res["fastnn"],
                    "torch": res["torch"],
                    "ratio": ratio,
                    "target": list(t),
                    "status": "PASS" if meets(ratio, t) else "MISS",
                }
            )
            log(
                f"  memory t={th}: fastnn +{res['fastnn']['delta_kb'] / 1024:.1f} MiB, torch "
                f"+{res['torch']['delta_kb'] / 1024:.1f} MiB, ratio {ratio:.2f}"
            )

    def run(self):
        import numpy  # noqa: F401  (after the scrub: NumPy's OpenBLAS picks its own kernel)
        import torch

        self.torch, self.fastnn = torch, _env.import_fastnn()
        self.default_threads = (self.fastnn.get_num_threads(), torch.get_num_threads())
        from bench import gemm

        cases = self.args.cases
        self.meta = self.collect_meta()
        self.print_header()
        if self.args.wait_idle:
            wait_idle(self.args.wait_idle)
        self.meta["load_start"] = load_snapshot()
        log(f"load at start: {self.meta['load_start']}")
        t_start = time.perf_counter()
        for th in self.args.threads:
            self.threads = th
            self.fastnn.set_num_threads(th)
            torch.set_num_threads(th)
            log(f"== {th} thread(s): fastnn {self.fastnn.get_num_threads()}, torch {torch.get_num_threads()}")
            with gemm.blas_limits(th):
                self.meta.setdefault("blas_during_run", {})[th] = gemm.blas_info()
                if {"lenet_train", "lenet_infer", "lenet_epoch"} & set(cases):
                    self.checks.setdefault("lenet_max_loss_diff_3_steps", self.pair().check())
                for case in (
                    "lenet_train",
                    "lenet_infer",
                    "tiny",
                    "conv",
                    "gemm",
                    "sequence",
                    "convnets",
                    "lenet_epoch",
                ):
                    if case in cases:
                        t0 = time.perf_counter()
                        getattr(self, case)(th)
                        self.meta.setdefault("case_wall_s", {})[f"{case}@{th}"] = round(time.perf_counter() - t0, 1)
                        log(f"  ({case}, {th} thread(s): {time.perf_counter() - t0:.1f} s)")
        if "contended" in cases:
            t0 = time.perf_counter()
            self.contended()
            self.meta.setdefault("case_wall_s", {})["contended"] = round(time.perf_counter() - t0, 1)
        if "distributed" in cases:
            t0 = time.perf_counter()
            self.distributed()
            self.meta.setdefault("case_wall_s", {})["distributed"] = round(time.perf_counter() - t0, 1)
        if "memory" in cases:
            self.run_memory(self.args.threads)
        self.meta["load_end"] = load_snapshot()
        self.meta["bench_wall_s"] = round(time.perf_counter() - t_start, 1)
        log(f"load at end: {self.meta['load_end']}")
        self.print_tables()
        self.write_json()

    # ---- metadata / output ----
    def collect_meta(self):
        import numpy

        from bench import gemm
        from bench.lenet import PEAK_GFLOPS_PER_CORE

        flags = _env.cpu_flags()
        return {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join([os.path.basename(sys.executable)] + list(getattr(sys, "orig_argv", sys.argv)[1:])),
            "mode": "full" if self.args.full else "quick",
            "config": self.mode,
            "threads": self.args.threads,
            "cpu": _env.cpu_model(),
            "cores": os.cpu_count(),
            "os": _env.os_name(),
            "isa": [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl") if f in flags],
            "peak_gflops_per_core": self.args.peak_gflops or PEAK_GFLOPS_PER_CORE,
            "python": platform.python_version(),
            "torch": self.torch.__version__,
            "numpy": numpy.__version__,
            "fastnn": getattr(self.fastnn, "__version__", "?"),
            "fastnn_path": os.path.dirname(self.fastnn.__file__),
            "blas": gemm.blas_info(),
            "openblas_env_removed": _env.scrubbed_vars(),
            "env": _env.relevant_env(),
        }

    def print_header(self):
        m = self.meta
        print(f"fastnn benchmark ({m['mode']}) — {m['date']}")
        print(f"machine: {m['cpu']}, {m['cores']} cores, {', '.join(m['isa'])}; {m['os']}")
        print(
            f"python {m['python']}, fastnn {m['fastnn']} ({m['fastnn_path']}), torch {m['torch']}, numpy {m['numpy']}"
        )
        for b in m["blas"]:
            if "error" in b:
                print(f"numpy BLAS: unknown ({b['error']}: its kernel and thread count are not checked)")
                continue
            print(
                f"numpy BLAS: {b.get('internal_api')} {b.get('version')}, core type {b.get('architecture')}, "
                f"{b.get('threading_layer')} ({os.path.basename(b.get('filepath') or '')})"
            )
        removed = m["openblas_env_removed"]
        print(
            "OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: "
            + (
                "removed for this run (were " + ", ".join(f"{k}={v}" for k, v in removed.items()) + ")"
                if removed
                else "not set"
            )
        )
        if m["env"]:
            print("env: " + " ".join(f"{k}={v}" for k, v in sorted(m["env"].items())))
        sys.stdout.flush()

    def print_tables(self):
        m = self.meta
        PEAK_GFLOPS_PER_CORE = m["peak_gflops_per_core"]
        out = []
        p = out.append
        p("")
        p(
            f"load: start {m['load_start']['loadavg']} (CPUs {m['load_start']['cpu_busy_1s']:.0%} busy), "
            f"end {m['load_end']['loadavg']} (CPUs {m['load_end']['cpu_busy_1s']:.0%} busy); "
            f"{m['bench_wall_s']} s; medians of {self.mode['reps']} interleaved repetitions"
        )
        p("ratio = fastnn time / reference time (lower is faster); [IQR] = quartiles of the per-repetition ratios")
        hdr = f"{'case':<40} {'thr':>3}  {'fastnn':>12}  {'reference':>19}  {'ratio':>6}  {'[IQR]':<13} {'target':>6}  status"
        p(hdr)
        p("-" * len(hdr))
        group = None
        for r in sorted(self.rows, key=lambda r: (CASES.index(r["group"]), self._order(r), r["threads"])):
            if r["group"] != group:
                group = r["group"]
                p(
                    f"[{group}]"
                    + {
                        "gemm": "  (reference: numpy.matmul; GFLOP/s from the median times)",
                        "contended": "  (CPU 0 busy with another process; fastnn at its default threads against "
                        "fastnn at 1 thread and torch at its default)",
                        "distributed": "  (time per sample; reference: torch DDP over gloo, or fastnn in one process)",
                    }.get(group, "  (reference: torch; medians)")
                )
            lo, hi = r["ratio_iqr"]
            ref = f"{r['ref']} {self._val(r, 'ref')}"
            status = r["status"] + ("*" if r["noisy"] else "")
            p(
                f"{r['case']:<40} {r['threads']:>3}  {self._val(r, 'fastnn'):>12}  {ref:>19}  {r['ratio']:>6.3f}  "
                f"[{lo:.2f}-{hi:.2f}]{'':<2} {fmt_target(tuple(r['target']) if r['target'] else None):>6}  {status}"
            )
        train = [r for r in self.rows if r["group"] == "lenet_train"]
        if train:
            p("")
            p(
                f"LeNet training step, achieved GFLOP/s (convs + linears, fwd + bwd) vs peak FP32 "
                f"{PEAK_GFLOPS_PER_CORE:.0f} GFLOP/s per core x threads"
            )
            p(f"{'case':<40} {'thr':>3}  {'fastnn':>18}  {'torch':>18}")
            for r in sorted(train, key=lambda r: (self._order(r), r["threads"])):
                peak = PEAK_GFLOPS_PER_CORE * r["threads"]
                p(
                    f"{r['case']:<40} {r['threads']:>3}  {r['fastnn_gflops']:>7.1f} GF/s {r['fastnn_gflops'] / peak:>6.1%}"
                    f"  {r['ref_gflops']:>7.1f} GF/s {r['ref_gflops'] / peak:>6.1%}"
                )
        if self.memory:
            p("")
            p(
                "Peak RSS, each framework in its own process: VmHWM minus VmRSS after imports (LeNet: one training "
                "epoch, 60000 random samples, batch 64; convnets: their timed steps)"
            )
            p(f"{'':<40} {'thr':>3}  {'fastnn':>12}  {'torch':>12}  {'ratio':>6}  {'target':>6}  status")
            for r in self.memory:
                f, t = r["fastnn"], r["torch"]
                p(
                    f"{r.get('case', 'LeNet epoch peak RSS above baseline'):<40} {r['threads']:>3}  "
                    f"{f['delta_kb'] / 1024:>8.1f} MiB  {t['delta_kb'] / 1024:>8.1f} MiB  {r['ratio']:>6.2f}  "
                    f"{fmt_target(tuple(r['target'])):>6}  {r['status']}"
                )
                if "peak_kb" in f:
                    p(
                        f"{'  (absolute peak; baseline after imports)':<40} {'':>3}  {f['peak_kb'] / 1024:>8.1f} MiB  "
                        f"{t['peak_kb'] / 1024:>8.1f} MiB  (baselines {f['baseline_kb'] / 1024:.1f} / "
                        f"{t['baseline_kb'] / 1024:.1f} MiB)"
                    )
        statuses = [r["status"] for r in self.rows + self.memory if r["status"]]
        if statuses:
            p("")
            p(f"targets: {statuses.count('PASS')} PASS, {statuses.count('MISS')} MISS")
        noisy = [r for r in self.rows if r["noisy"]]
        if noisy:
            p(
                f"* {len(noisy)} noisy row(s): per-repetition ratios spread over > {NOISY_IQR:.0%} of the ratio "
                "(other load on the machine?); rerun those cases when it is idle"
            )
        busy = [m[k]["cpu_busy_1s"] for k in ("load_start", "load_end") if m[k]["cpu_busy_1s"] is not None]
        if busy and max(busy) > 0.2:
            p(
                f"warning: the CPUs were {max(busy):.0%} busy with other work at the start or end of this run "
                "(see --wait-idle)"
            )
        checks = []
        if "lenet_max_loss_diff_3_steps" in self.checks:
            checks.append(
                f"LeNet |loss fastnn - torch| over 3 steps from shared weights "
                f"{self.checks['lenet_max_loss_diff_3_steps']:.2g}"
            )
        gemm_err = self.checks.get("gemm_max_abs_diff_vs_numpy")
        if gemm_err:
            checks.append(f"GEMM max |fastnn - numpy| {max(gemm_err.values()):.2g}")
        if self.checks.get("non_finite"):
            checks.append("NON-FINITE parameters after: " + ", ".join(self.checks["non_finite"]))
        if checks:
            p("checks: " + "; ".join(checks))
        print("\n".join(out))

    @staticmethod
    def _order(r):
        import re

        nums = [int(x) for x in re.findall(r"\d+", r["case"])]
        if r["group"] in ("conv", "gemm", "sequence", "convnets"):
            return 0
        return nums[0] if nums else 0

    def write_json(self):
        path = self.args.json
        data = {"meta": self.meta, "rows": self.rows, "memory": self.memory, "checks": self.checks}
        with open(path, "w") as f:
            json.dump(data, f, indent=1)
        print(f"wrote {path}")


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="short run (default): 7 repetitions, 1 epoch per side")
    g.add_argument("--full", action="store_true", help="15 repetitions, 3 epochs per side, memory at each thread count")
    ap.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="cuda: LeNet on a GPU against torch's CUDA instead (bench/cuda.py; the other options do not apply)",
    )
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--cases", default="all", help="comma-separated subset of: " + ", ".join(CASES) + " (default all)")
    ap.add_argument("--json", default=str(_env.REPO / "bench" / "results.json"), help="where to write the JSON results")
    ap.add_argument("--reps", type=int, default=0, help="override the number of timed repetitions per side")
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to SECONDS for the CPUs to be < 15%% busy",
    )
    ap.add_argument(
        "--peak-gflops",
        type=float,
        default=0,
        metavar="GFLOPS",
        help="peak FP32 GFLOP/s per core for the efficiency table (default: bench.lenet.PEAK_GFLOPS_PER_CORE)",
    )
    ap.add_argument(
        "--settle",
        type=float,
        default=0.02,
        metavar="SECONDS",
        help="at >1 thread, pause before switching library so the other one's idle threads stop "
        "spinning (default 0.02)",
    )
    ap.add_argument(
        "--settle-blas",
        type=float,
        default=0.2,
        metavar="SECONDS",
        help="the same before/after NumPy's threaded GEMMs: OpenBLAS's threads spin ~0.1 s (default 0.2)",
    )
    args = ap.parse_args(argv)
    args.threads = [int(t) for t in args.threads.split(",") if t.strip()]
    if args.cases == "all":
        args.cases = list(CASES)
    else:
        args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
        bad = [c for c in args.cases if c not in CASES]
        if bad:
            ap.error(f"unknown case(s) {bad}; choose from {', '.join(CASES)}")
    return args


def main(argv=None):
    _env.scrub_openblas_env()  # may re-exec this process; must run before numpy is imported
    args = parse_args(argv)
    if args.device == "cuda":
        from bench import cuda

        cuda.main(reps=args.reps or 7)
        return
    Bench(args).run()


if __name__ == "__main__":
    main()
