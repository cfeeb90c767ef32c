# Multi-output regression trained on L1Loss + SmoothL1Loss (beta) with RMSprop(momentum).
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
X = torch.tensor(rng.standard_normal((36, 4)), dtype=torch.float32)
Y = torch.tensor(
    np.stack([np.sin(X.numpy()[:, 0]), X.numpy()[:, 1] * X.numpy()[:, 2], np.abs(X.numpy()[:, 3])], 1),
    dtype=torch.float32,
)

model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
init_weights(model)
l1 = nn.L1Loss()
smooth = nn.SmoothL1Loss(beta=0.5)
optimizer = torch.optim.RMSprop(model.parameters(), lr=5e-3, momentum=0.5)
for step in range(20):
    pred = model(X)
    loss = l1(pred[:, 0], Y[:, 0]) + smooth(pred[:, 1:], Y[:, 1:])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
