"""Recurrent layers: one training step of a 2-layer LSTM, fastnn vs torch with the same weights and input.

python -m bench.rnn  (prints ratio = fastnn time / torch time at 1 and 2 threads)
"""

import numpy as np


def pairs(torch, fastnn):
    """[(name, fastnn_step, torch_step, target_ratio)]: each step is forward, backward, SGD step, zero_grad."""
    torch.manual_seed(0)
    tm = torch.nn.LSTM(256, 256, num_layers=2)
    fm = fastnn.nn.LSTM(256, 256, num_layers=2)
    fm.load_state_dict({k: fastnn.tensor(v.detach().numpy().copy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((64, 32, 256), dtype=np.float32)
    tx, fx = torch.from_numpy(x), fastnn.from_numpy(x)
    topt = torch.optim.SGD(tm.parameters(), lr=1e-3)
    fopt = fastnn.optim.SGD(fm.parameters(), lr=1e-3)

    def step(model, opt, inp):
        def run():
            out, _ = model(inp)
            out.pow(2).mean().backward()
            opt.step()
            opt.zero_grad()

        return run

    return [("lstm 2-layer h256 seq64 b32 train step", step(fm, fopt, fx), step(tm, topt, tx), 0.8)]


if __name__ == "__main__":
    from bench._timing import print_pairs

    print_pairs(pairs)
