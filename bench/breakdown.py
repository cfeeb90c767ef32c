"""Per-op breakdown of the LeNet training step, fastnn vs torch (interleaved, same shapes and data).

    python -m bench.breakdown [--batch 64] [--threads 1] [--reps 9]

Each LeNet op runs alone on leaf inputs (requiring grad, except conv1's image) in two forms: forward
only (grad mode on, so the node is recorded) and forward + backward from a fixed grad_output; the
difference is the op's backward. Then the step's remaining pieces: loss, optimizer step, zero_grad,
and the whole step. Diagnostic only: no targets.
"""

import argparse
import os
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import _env


def ops(b):
    """name -> (input shape, input requires grad, fn(lib, F, x, params) , param shapes)"""
    return [
        ("conv1 1->6 5x5", (b, 1, 32, 32), False, lambda F, x, p: F.conv2d(x, p[0], p[1]), [(6, 1, 5, 5), (6,)]),
        ("relu (6x28x28)", (b, 6, 28, 28), True, lambda F, x, p: F.relu(x), []),
        ("max_pool2d (6x28x28)", (b, 6, 28, 28), True, lambda F, x, p: F.max_pool2d(x, 2), []),
        ("conv2 6->16 5x5", (b, 6, 14, 14), True, lambda F, x, p: F.conv2d(x, p[0], p[1]), [(16, 6, 5, 5), (16,)]),
        ("relu (16x10x10)", (b, 16, 10, 10), True, lambda F, x, p: F.relu(x), []),
        ("max_pool2d (16x10x10)", (b, 16, 10, 10), True, lambda F, x, p: F.max_pool2d(x, 2), []),
        ("flatten", (b, 16, 5, 5), True, lambda F, x, p: x.flatten(1), []),
        ("linear 400->120", (b, 400), True, lambda F, x, p: F.linear(x, p[0], p[1]), [(120, 400), (120,)]),
        ("relu (120)", (b, 120), True, lambda F, x, p: F.relu(x), []),
        ("linear 120->84", (b, 120), True, lambda F, x, p: F.linear(x, p[0], p[1]), [(84, 120), (84,)]),
        ("relu (84)", (b, 84), True, lambda F, x, p: F.relu(x), []),
        ("linear 84->10", (b, 84), True, lambda F, x, p: F.linear(x, p[0], p[1]), [(10, 84), (10,)]),
    ]


def build(lib, F, shape, x_grad, fn, pshapes, rng, out_shape):
    import numpy as np

    x_np = rng.standard_normal(shape, dtype=np.float32)
    ps_np = [rng.standard_normal(s, dtype=np.float32) * 0.1 for s in pshapes]
    g_np = rng.standard_normal(out_shape, dtype=np.float32)
    x = lib.tensor(x_np, requires_grad=True) if x_grad else lib.from_numpy(x_np)
    ps = [lib.tensor(p, requires_grad=True) for p in ps_np]
    g = lib.from_numpy(g_np)
    leaves = ([x] if x_grad else []) + ps

    def fwd():
        return fn(F, x, ps)

    def fwd_bwd():
        for t in leaves:
            t.grad = None
        fn(F, x, ps).backward(g)

    return fwd, fwd_bwd


def main(argv=None):
    _env.scrub_openblas_env()
    ap = argparse.ArgumentParser(prog="python -m bench.breakdown")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--block", type=float, default=0.05)
    a = ap.parse_args(argv)
    import numpy as np
    import torch
    import torch.nn.functional as TF

    fastnn = _env.import_fastnn()
    import fastnn.nn.functional as FF

    from bench._timing import interleaved, median
    from bench.lenet import Pair

    fastnn.set_num_threads(a.threads)
    torch.set_num_threads(a.threads)
    rows = []

    def timed(name, f, t):
        s = interleaved({"f": f, "t": t}, a.reps, a.block, settle_s=0.02 if a.threads > 1 else 0.0)
        rows.append((name, median(s["f"]), median(s["t"])))
        print(f"  {name:<34} fastnn {rows[-1][1] * 1e6:9.1f} us   torch {rows[-1][2] * 1e6:9.1f} us", file=sys.stderr)

    for name, shape, x_grad, fn, pshapes in ops(a.batch):
        with torch.no_grad():
            out_shape = tuple(fn(TF, torch.zeros(shape), [torch.zeros(s) for s in pshapes]).shape)
        ff, fb = build(fastnn, FF, shape, x_grad, fn, pshapes, np.random.default_rng(0), out_shape)
        tf, tb = build(torch, TF, shape, x_grad, fn, pshapes, np.random.default_rng(0), out_shape)
        timed(name + " fwd", ff, tf)
        timed(name + " fwd+bwd", fb, tb)

    pair = Pair(torch, fastnn)
    (fx, fy), (tx, ty) = pair.batch(a.batch)
    fl, tl = fastnn.randn(a.batch, 10, requires_grad=True), torch.randn(a.batch, 10, requires_grad=True)
    timed("cross_entropy fwd", lambda: FF.cross_entropy(fl, fy), lambda: TF.cross_entropy(tl, ty))

    def ce_fb(lib_l, F, y):
        def run():
            lib_l.grad = None
            F.cross_entropy(lib_l, y).backward()

        return run

    timed("cross_entropy fwd+bwd", ce_fb(fl, FF, fy), ce_fb(tl, TF, ty))
    timed("model forward + loss", lambda: FF.cross_entropy(pair.fm(fx), fy), lambda: TF.cross_entropy(pair.tm(tx), ty))

    def fb(model, F, x, y):
        def run():
            for p in model.parameters():
                p.grad = None
            F.cross_entropy(model(x), y).backward()

        return run

    timed("model forward + loss + backward", fb(pair.fm, FF, fx, fy), fb(pair.tm, TF, tx, ty))
    fb(pair.fm, FF, fx, fy)()
    fb(pair.tm, TF, tx, ty)()
    timed("optimizer.step (SGD momentum)", pair.fopt.step, pair.topt.step)

    def zg(opt, model, F, x, y):
        # zero_grad on populated grads: re-create them cheaply by reusing one backward's grads
        grads = [p.grad for p in model.parameters()]

        def run():
            for p, g in zip(model.parameters(), grads):
                p.grad = g
            opt.zero_grad()

        return run

    timed("optimizer.zero_grad (+ regrad)", zg(pair.fopt, pair.fm, FF, fx, fy), zg(pair.topt, pair.tm, TF, tx, ty))
    f_step, t_step = pair.train_steps(a.batch)
    timed("whole training step", f_step, t_step)

    print(
        f"\nLeNet step breakdown, batch {a.batch}, {a.threads} thread(s); medians of {a.reps} interleaved reps "
        f"(bwd = fwd+bwd minus fwd)"
    )
    print(f"{'piece':<36} {'fastnn us':>10} {'torch us':>10} {'ratio':>6}")
    prev = {}
    for name, f, t in rows:
        print(f"{name:<36} {f * 1e6:>10.1f} {t * 1e6:>10.1f} {f / t:>6.2f}")
        if name.endswith(" fwd"):
            prev[name[:-4]] = (f, t)
        elif name.endswith(" fwd+bwd"):
            base = name[:-8]
            pf, pt = prev[base]
            print(
                f"{'  ' + base + ' bwd':<36} {(f - pf) * 1e6:>10.1f} {(t - pt) * 1e6:>10.1f} "
                f"{(f - pf) / max(t - pt, 1e-12):>6.2f}"
            )


if __name__ == "__main__":
    main()
