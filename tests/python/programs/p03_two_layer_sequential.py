# Two-layer network with nn.Sequential, MSELoss(reduction='sum') and optim.SGD.
import numpy as np
import torch
import torch.nn as nn


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


torch.manual_seed(0)
rng = np.random.default_rng(0)
x = torch.tensor(rng.standard_normal((16, 10)), dtype=torch.float32)
y = torch.tensor(rng.standard_normal((16, 3)), dtype=torch.float32)

model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))
init_weights(model)
loss_fn = nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
for t in range(20):
    loss = loss_fn(model(x), y)
    print(f"step {t} loss {loss.item()!r}")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
