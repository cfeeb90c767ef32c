# AdamW with weight decay and a CosineAnnealingLR schedule stepped once per epoch.
import numpy as np
import torch
import torch.nn as nn
from torch.optim.lr_scheduler import CosineAnnealingLR


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


torch.manual_seed(0)
rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((40, 6)), dtype=torch.float32)
y = torch.tensor(rng.integers(0, 3, 40))

model = nn.Sequential(nn.Linear(6, 12), nn.GELU(), nn.Linear(12, 3))
init_weights(model)
optimizer = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.1)
scheduler = CosineAnnealingLR(optimizer, T_max=20, eta_min=1e-3)
for epoch in range(20):
    optimizer.zero_grad()
    loss = nn.CrossEntropyLoss()(model(X), y)
    loss.backward()
    optimizer.step()
    scheduler.step()
    print(f"step {epoch} loss {loss.item()!r}")
assert abs(scheduler.get_last_lr()[0] - 1e-3) < 1e-6
