# MLP with BatchNorm1d in training mode (batch statistics, running stats updated), then an eval-mode check.
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
X = torch.tensor(rng.standard_normal((32, 5)) * 3 + 1, dtype=torch.float32)
y = torch.tensor(rng.standard_normal((32, 1)), dtype=torch.float32)

model = nn.Sequential(nn.Linear(5, 10), nn.BatchNorm1d(10), nn.ReLU(), nn.Linear(10, 1))
init_weights(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
model.train()
for step in range(20):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(X), y)
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
model.eval()
with torch.no_grad():
    val = model(X)
assert val.shape == (32, 1)
assert model[1].num_batches_tracked.item() == 20
