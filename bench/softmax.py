"""Softmax and cross entropy over a language model's vocabulary against torch: (2048, 1000) float32 logits (2048
tokens, 1000 classes), forward + backward from a fixed output gradient; and the sum of those logits. No targets
(the issue set none): the rows show the row-reduction kernels (kernels/cpu/reduce) next to torch's.

PYTHONPATH=python python -m bench --cases sequence     # these rows come with the sequence case
"""

import numpy as np


def pairs(torch, fastnn):
    """[(name, fastnn step, torch step, target ratio or None)]"""
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2048, 1000), dtype=np.float32)
    grad = rng.standard_normal(logits.shape, dtype=np.float32)
    labels = rng.integers(0, 1000, 2048)

    def softmax(lib):
        x, g = lib.tensor(logits, requires_grad=True), lib.tensor(grad)

        def step():
            x.grad = None
            lib.softmax(x, 1).backward(g)

        return step

    def cross_entropy(lib):
        x, y = lib.tensor(logits, requires_grad=True), lib.tensor(labels)

        def step():
            x.grad = None
            lib.nn.functional.cross_entropy(x, y).backward()

        return step

    def total(lib):
        x = lib.tensor(logits)
        return lambda: x.sum()

    return [
        ("softmax fwd+bwd (2048x1000)", softmax(fastnn), softmax(torch), None),
        ("cross_entropy fwd+bwd (2048x1000)", cross_entropy(fastnn), cross_entropy(torch), None),
        ("sum (2048x1000)", total(fastnn), total(torch), None),
    ]
