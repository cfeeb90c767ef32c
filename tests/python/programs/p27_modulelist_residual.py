# nn.ModuleList of residual blocks plus an nn.ModuleDict of heads chosen by name.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def init_weights(model, scale=0.2):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class ResidualBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.fc2 = nn.Linear(dim, dim)

    def forward(self, x):
        return F.relu(x + self.fc2(F.relu(self.fc1(x))))


class ResNetMLP(nn.Module):
    def __init__(self, dim=8, depth=3):
        super().__init__()
        self.stem = nn.Linear(4, dim)
        self.blocks = nn.ModuleList([ResidualBlock(dim) for _ in range(depth)])
        self.heads = nn.ModuleDict({"reg": nn.Linear(dim, 1), "cls": nn.Linear(dim, 3)})

    def forward(self, x):
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        return {name: head(h) for name, head in self.heads.items()}


torch.manual_seed(0)
rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((30, 4)), dtype=torch.float32)
y_reg = torch.tensor(rng.standard_normal((30, 1)), dtype=torch.float32)
y_cls = torch.tensor(rng.integers(0, 3, 30))

model = ResNetMLP()
init_weights(model)
assert len(model.blocks) == 3 and "cls" in model.heads
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
for step in range(20):
    out = model(X)
    loss = F.mse_loss(out["reg"], y_reg) + F.cross_entropy(out["cls"], y_cls)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
