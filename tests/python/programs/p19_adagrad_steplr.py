# Adagrad with a StepLR schedule (gamma 0.5 every 5 epochs) on a two-output regression.
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


torch.manual_seed(0)
rng = np.random.default_rng(0)
X = torch.tensor(rng.uniform(-1, 1, (30, 3)), dtype=torch.float32)
W = torch.tensor([[1.0, -1.0], [2.0, 0.5], [-0.5, 1.5]])
Y = X @ W + 0.1

model = nn.Linear(3, 2)
init_weights(model)
optimizer = optim.Adagrad(model.parameters(), lr=0.3)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
for epoch in range(20):
    optimizer.zero_grad()
    loss = nn.MSELoss()(model(X), Y)
    loss.backward()
    optimizer.step()
    scheduler.step()
    print(f"step {epoch} loss {loss.item()!r}")
assert abs(optimizer.param_groups[0]["lr"] - 0.3 * 0.5**4) < 1e-9
