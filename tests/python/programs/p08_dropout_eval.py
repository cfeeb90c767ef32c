# MLP with Dropout: masks are random, so training runs in eval mode (dropout off), as when fine-tuning a frozen-dropout model.
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
X = torch.tensor(rng.standard_normal((32, 6)), dtype=torch.float32)
y = torch.tensor(rng.integers(0, 4, 32), dtype=torch.long)

model = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Dropout(p=0.5), nn.Linear(12, 4))
init_weights(model)
model.train()
_ = model(X)  # a training-mode forward runs (random mask, not compared)
model.eval()
assert not model[2].training
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()
for step in range(20):
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
