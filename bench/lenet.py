"""The PyTorch tutorial's LeNet, built from either library's nn/F, with shared initial weights.

conv 1->6 5x5, maxpool 2, conv 6->16 5x5, maxpool 2, flatten, 400->120->84->10 with ReLU; input 1x32x32.
The model is the tests' (tests/python/models.py): one definition for both.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "python"))
from models import lenet  # noqa: E402

# Peak FP32 rate of one core of this machine (AMD EPYC, Zen 4, 2 cores, AVX-512), measured with
# bench/fma_peak.cpp (12 independent FMA chains): 117.4 GFLOP/s per core with zmm or ymm alike, i.e.
# 32 FLOP/cycle at ~3.7 GHz -- Zen 4 runs AVX-512 on two 256-bit FMA pipes. The 263 GFLOP/s per core
# figure once quoted for this machine would need 64 FLOP/cycle (full-width 512-bit FMA units, e.g.
# Zen 5 or Intel server cores); it is not reachable here (fastnn's and OpenBLAS's SGEMM top out at
# ~105-110 GFLOP/s per core = ~92% of 117.4). Override with --peak-gflops.
PEAK_GFLOPS_PER_CORE = 117.4


def lenet_flops(batch):
    """(forward, training-step) FLOPs of the convs and linears (2 per multiply-add).

    The training step counts forward + weight gradients + input gradients; conv1's input needs no
    gradient, so a step is 3x forward minus conv1's forward (close to the usual "3x forward")."""
    conv1 = 2 * 6 * (1 * 5 * 5) * 28 * 28
    conv2 = 2 * 16 * (6 * 5 * 5) * 10 * 10
    linears = 2 * (400 * 120 + 120 * 84 + 84 * 10)
    fwd = conv1 + conv2 + linears
    return fwd * batch, (3 * fwd - conv1) * batch


class Pair:
    """A torch LeNet and a fastnn LeNet with the same weights, each with SGD(momentum=0.9), on `device` ('cpu', or
    'cuda' for bench/cuda.py: models, batches and optimizer state live on the GPU)."""

    def __init__(self, torch, fastnn, seed=0, lr=0.01, momentum=0.9, device="cpu"):
        import fastnn.nn.functional as FF
        import torch.nn.functional as TF

        self.torch, self.fastnn = torch, fastnn
        self.TF, self.FF = TF, FF
        torch.manual_seed(seed)
        self.tm = lenet(torch)
        self.fm = lenet(fastnn)
        self._t_init = {k: v.detach().clone() for k, v in self.tm.state_dict().items()}
        self._f_init = {k: fastnn.tensor(v.numpy()) for k, v in self._t_init.items()}
        self.fm.load_state_dict(self._f_init)
        self.device = device
        self.tm.to(device)
        self.fm.to(device)
        self.topt = torch.optim.SGD(self.tm.parameters(), lr=lr, momentum=momentum)
        self.fopt = fastnn.optim.SGD(self.fm.parameters(), lr=lr, momentum=momentum)

    def batch(self, n, seed=1):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((n, 1, 32, 32), dtype=np.float32)
        y = rng.integers(0, 10, n, dtype=np.int64)
        d = self.device
        return (self.fastnn.from_numpy(x).to(d), self.fastnn.from_numpy(y).to(d)), (
            self.torch.from_numpy(x).to(d),
            self.torch.from_numpy(y).to(d),
        )

    def train_steps(self, n, batches=8, compiled=False):
        """(fastnn_step, torch_step) closures; each call trains on the next of `batches` fixed random
        batches of size n. compiled: fastnn's step goes through fastnn.compile (captured on the second call
        after each reset: the reset gives the optimizer new state tensors).

        Each closure has a .reset() (the timer calls it, untimed, before every block) that puts its
        model, optimizer and batch sequence back to the start: a long run of steps at a fixed lr on a
        few random batches drifts chaotically (fastnn and torch part ways after ~150 steps at batch
        1, float rounding differing), and the cost of a step depends on where it drifts (e.g. dead
        ReLUs change the pooling kernel's branches), so every block replays the same trajectory."""
        data = [self.batch(n, seed=1 + i) for i in range(batches)]
        f_data = [d[0] for d in data]
        t_data = [d[1] for d in data]
        fm, fopt, fce = self.fm, self.fopt, self.FF.cross_entropy
        tm, topt, tce = self.tm, self.topt, self.TF.cross_entropy
        pos = {"f": 0, "t": 0}

        def f_body(x, y):
            fopt.zero_grad()
            loss = fce(fm(x), y)
            loss.backward()
            fopt.step()
            return loss

        f_run = self.fastnn.compile(f_body) if compiled else f_body

        def f_step():
            x, y = f_data[pos["f"] % batches]
            pos["f"] += 1
            return f_run(x, y)

        def t_step():
            x, y = t_data[pos["t"] % batches]
            pos["t"] += 1
            topt.zero_grad()
            loss = tce(tm(x), y)
            loss.backward()
            topt.step()
            return loss

        def f_reset():
            self.reset("fastnn", keep_state=compiled)
            pos["f"] = 0

        def t_reset():
            self.reset("torch")
            pos["t"] = 0

        f_step.reset, t_step.reset = f_reset, t_reset
        return f_step, t_step

    def reset(self, side, keep_state=False):
        """Back to the initial weights with fresh optimizer state (no momentum buffers), as built. keep_state:
        fastnn's momentum buffers zeroed in place instead (the same next steps: SGD's first step sets the buffer
        to the gradient), and its gradients left to the step's zero_grad, so a compiled step keeps its graph."""
        if side == "fastnn" and keep_state:
            self.fm.load_state_dict(self._f_init)
            for s in self.fopt.state.values():
                s["momentum_buffer"].zero_()
        elif side == "fastnn":
            self.fm.load_state_dict(self._f_init)
            self.fopt.zero_grad()
            self.fopt.state.clear()
        else:
            self.tm.load_state_dict(self._t_init)
            self.topt.zero_grad()
            self.topt.state.clear()

    def infer(self, n, compiled=False):
        (fx, _), (tx, _) = self.batch(n)
        fm, tm, f_no_grad, t_no_grad = self.fm, self.tm, self.fastnn.no_grad, self.torch.no_grad
        if compiled:
            fm = self.fastnn.compile(fm)

        def f_fwd():
            with f_no_grad():
                return fm(fx)

        def t_fwd():
            with t_no_grad():
                return tm(tx)

        return f_fwd, t_fwd

    def check(self, steps=3, n=16):
        """Max |loss difference| over a few training steps from the shared weights (a sanity check;
        trains this pair's models, so make a fresh Pair for timing)."""
        f_step, t_step = self.train_steps(n)
        return max(abs(float(f_step().item()) - float(t_step().item())) for _ in range(steps))

    def finite(self):
        """Whether both models' parameters are still finite (training at a fixed lr may diverge)."""
        return all(
            bool(np.isfinite(p.detach().cpu().numpy()).all()) for m in (self.fm, self.tm) for p in m.parameters()
        )


def epoch_fns(pair, samples=60000, batch=64, seed=2):
    """Whole-epoch closures over `samples` random images (pre-generated, same data on both sides;
    sequential slices of one array, as a DataLoader without shuffling or workers would give)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, 1, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, samples, dtype=np.int64)
    fx, fy = pair.fastnn.from_numpy(x).to(pair.device), pair.fastnn.from_numpy(y).to(pair.device)
    tx, ty = pair.torch.from_numpy(x).to(pair.device), pair.torch.from_numpy(y).to(pair.device)
    starts = range(0, samples, batch)
    fm, fopt, fce = pair.fm, pair.fopt, pair.FF.cross_entropy
    tm, topt, tce = pair.tm, pair.topt, pair.TF.cross_entropy

    def f_epoch():
        for i in starts:
            fopt.zero_grad()
            loss = fce(fm(fx[i : i + batch]), fy[i : i + batch])
            loss.backward()
            fopt.step()

    def t_epoch():
        for i in starts:
            topt.zero_grad()
            loss = tce(tm(tx[i : i + batch]), ty[i : i + batch])
            loss.backward()
            topt.step()

    return f_epoch, t_epoch
