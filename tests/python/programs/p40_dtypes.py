# Dtypes as scripts use them: float64 as the default dtype for training, boolean masks combined with & and ~,
# int32 indices, then the trained model cast to bfloat16 and float16 for inference (to save memory).
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(0)
x = torch.tensor(rng.standard_normal((64, 6)).tolist())  # Python floats take the default dtype
assert x.dtype == torch.float64
y = (x[:, 0] * x[:, 1] > 0).long()
keep = (x[:, 2] > -1.5) & ~(x[:, 3] > 1.5)  # drop outliers
order = torch.arange(int(keep.sum()) - 1, -1, -1, dtype=torch.int32)  # the kept samples, last first
xs, ys = x[keep][order], y[keep][order]


def init_weights(model, scale=0.5):
    gen = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(gen.standard_normal(tuple(p.shape)) * scale))


model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 2))
assert model[0].weight.dtype == torch.float64
init_weights(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
for step in range(20):
    loss = F.cross_entropy(model(xs), ys)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")

with torch.no_grad():
    full = F.cross_entropy(model(xs), ys).item()
    for low in (torch.bfloat16, torch.float16):
        model.to(low)
        assert model[0].weight.dtype == low
        out = model(xs.to(low))
        assert out.dtype == low
        approx = F.cross_entropy(out.float(), ys).item()
        assert abs(approx - full) < 0.05 * max(1.0, full), (low, approx, full)
        model.to(torch.float64)
torch.set_default_dtype(torch.float32)
