"""Attention against torch: F.scaled_dot_product_attention forward + backward on (32, 4, 64, 32) float32 q, k, v,
and a training step of a 4-layer nn.TransformerEncoder (d_model 128, 4 heads, feed-forward 512, batch_first) on a
(32, 64, 128) input.

    python -m bench.attention     # ratios fastnn / torch at 1 and 2 threads
"""

import numpy as np


def _sdpa_step(lib, q, k, v, g):
    leaves = [lib.tensor(a, requires_grad=True) for a in (q, k, v)]
    grad = lib.tensor(g)
    sdpa = lib.nn.functional.scaled_dot_product_attention

    def step():
        for leaf in leaves:
            leaf.grad = None
        sdpa(*leaves).backward(grad)

    return step


def _encoder_step(lib, state, x):
    layer = lib.nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0.0, batch_first=True)
    model = lib.nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
    model.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
    opt = lib.optim.SGD(model.parameters(), lr=1e-3)
    xs = lib.tensor(x)

    def step():
        loss = model(xs).pow(2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()

    return step


def pairs(torch, fastnn):
    """[(name, fastnn step, torch step, target ratio)] on identical fixed inputs and weights."""
    rng = np.random.default_rng(0)
    q, k, v, g = (rng.standard_normal((32, 4, 64, 32), dtype=np.float32) for _ in range(4))
    torch.manual_seed(0)
    ref = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0.0, batch_first=True), 4
    )
    state = {k: t.detach().numpy().copy() for k, t in ref.state_dict().items()}
    x = rng.standard_normal((32, 64, 128), dtype=np.float32)
    return [
        ("sdpa fwd+bwd b32 h4 L64 d32", _sdpa_step(fastnn, q, k, v, g), _sdpa_step(torch, q, k, v, g), 0.8),
        (
            "transformer encoder 4 layers d128 h4 seq64 b32 train step",
            _encoder_step(fastnn, state, x),
            _encoder_step(torch, state, x),
            0.8,
        ),
    ]


if __name__ == "__main__":
    from bench._timing import print_pairs

    print_pairs(pairs)
