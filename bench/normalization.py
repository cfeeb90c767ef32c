"""Normalisation against torch: nn.LayerNorm(128) forward + backward on a (32, 64, 128) float32 input.

PYTHONPATH=python python bench/normalization.py     # ratios fastnn / torch at 1 and 2 threads
"""

import os
import sys

import numpy as np


def pairs(torch, fastnn):
    """[(name, fastnn step, torch step, target ratio)]: each step is forward + backward from a fixed
    output gradient, with the input's and parameters' gradients reset first."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 64, 128), dtype=np.float32)
    w = (1 + 0.1 * rng.standard_normal(128)).astype(np.float32)
    b = (0.1 * rng.standard_normal(128)).astype(np.float32)
    g = rng.standard_normal(x.shape, dtype=np.float32)

    def build(lib):
        xs = lib.tensor(x, requires_grad=True)
        layer = lib.nn.LayerNorm(128)
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(w))
            layer.bias.copy_(lib.tensor(b))
        grad = lib.tensor(g)
        leaves = [xs, layer.weight, layer.bias]

        def step():
            for leaf in leaves:
                leaf.grad = None
            layer(xs).backward(grad)

        return step

    return [("layernorm fwd+bwd (32x64x128)", build(fastnn), build(torch), 0.7)]


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import fastnn
    import torch

    from bench._timing import interleaved, median

    for threads in (1, 2):
        fastnn.set_num_threads(threads)
        torch.set_num_threads(threads)
        for name, ours, theirs, target in pairs(torch, fastnn):
            t = interleaved({"fastnn": ours, "torch": theirs}, reps=7, min_block_s=0.05, settle_s=0.05)
            f_s, t_s = median(t["fastnn"]), median(t["torch"])
            print(
                f"{name} threads={threads}: fastnn {f_s * 1e6:.0f} us, torch {t_s * 1e6:.0f} us, "
                f"ratio {f_s / t_s:.2f} (target {target})"
            )
