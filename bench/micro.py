"""Per-call overhead (tiny op, tiny forward+backward) and conv2d forward+backward closures."""

import numpy as np


def tiny_add(torch, fastnn):
    fa, fb = fastnn.tensor([1.5]), fastnn.tensor([2.5])
    ta, tb = torch.tensor([1.5]), torch.tensor([2.5])
    return (lambda: fa + fb), (lambda: ta + tb)


def tiny_fwd_bwd(torch, fastnn):
    """(w * x + b).sum().backward() on 1-element tensors, w and b requiring grad (grads reset each call)."""
    fw, fb, fx = (
        fastnn.tensor([0.5], requires_grad=True),
        fastnn.tensor([0.1], requires_grad=True),
        fastnn.tensor([3.0]),
    )
    tw, tb, tx = torch.tensor([0.5], requires_grad=True), torch.tensor([0.1], requires_grad=True), torch.tensor([3.0])

    def f():
        fw.grad = None
        fb.grad = None
        (fw * fx + fb).sum().backward()

    def t():
        tw.grad = None
        tb.grad = None
        (tw * tx + tb).sum().backward()

    return f, t


# name -> (input shape, [(c_in, c_out, kernel, padding), ...] applied in sequence, input requires grad)
CONV_CASES = {
    "lenet conv1 1->6 5x5 32x32": ((64, 1, 32, 32), [(1, 6, 5, 0)], False),
    "lenet conv2 6->16 5x5 14x14": ((64, 6, 14, 14), [(6, 16, 5, 0)], True),
    "3->32->64 3x3 p1 32x32": ((64, 3, 32, 32), [(3, 32, 3, 1), (32, 64, 3, 1)], False),
    "  3->32 3x3 p1 32x32": ((64, 3, 32, 32), [(3, 32, 3, 1)], False),
    "  32->64 3x3 p1 32x32": ((64, 32, 32, 32), [(32, 64, 3, 1)], True),
}


def conv_fwd_bwd(torch, fastnn, name, seed=0):
    """Forward through the layers, backward from a fixed random grad_output; grads reset each call."""
    shape, layers, x_grad = CONV_CASES[name]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape, dtype=np.float32)
    params = []
    h = shape[2]
    for ci, co, k, p in layers:
        bound = 1.0 / np.sqrt(ci * k * k)
        params.append(
            (
                rng.uniform(-bound, bound, (co, ci, k, k)).astype(np.float32),
                rng.uniform(-bound, bound, co).astype(np.float32),
                p,
            )
        )
        h = h + 2 * p - k + 1
    g = rng.standard_normal((shape[0], layers[-1][1], h, h), dtype=np.float32)

    def build(lib, F):
        xs = lib.tensor(x, requires_grad=x_grad) if x_grad else lib.from_numpy(x)
        ps = [(lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True), p) for w, b, p in params]
        grad = lib.from_numpy(g)
        leaves = [xs] * x_grad + [t for w, b, _ in ps for t in (w, b)]
        conv2d = F.conv2d

        def run():
            for leaf in leaves:
                leaf.grad = None
            y = xs
            for w, b, p in ps:
                y = conv2d(y, w, b, padding=p)
            y.backward(grad)

        return run

    import fastnn.nn.functional as FF
    import torch.nn.functional as TF

    return build(fastnn, FF), build(torch, TF)
