# Gradient clipping with clip_grad_norm_ under RMSprop on a deliberately badly scaled regression.
import numpy as np
import torch
import torch.nn as nn


def init_weights(model, scale=0.5):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


torch.manual_seed(0)
rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((32, 5)) * 10, dtype=torch.float32)
y = torch.tensor(rng.standard_normal((32, 1)) * 10, dtype=torch.float32)

model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 1))
init_weights(model)
optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9)
for step in range(20):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(X), y)
    loss.backward()
    total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    assert float(total_norm) > 0
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
