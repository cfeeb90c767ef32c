# TensorDataset + DataLoader(batch_size, shuffle=False) training loop over epochs; 4 epochs x 5 batches.
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


torch.manual_seed(0)
rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((50, 3)), dtype=torch.float32)
y = torch.tensor(rng.integers(0, 2, 50), dtype=torch.long)
dataset = TensorDataset(X, y)
loader = DataLoader(dataset, batch_size=10, shuffle=False)
assert len(loader) == 5

model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
init_weights(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-3)
criterion = nn.CrossEntropyLoss()
step = 0
for epoch in range(4):
    model.train()
    running_loss = 0.0
    for inputs, labels in loader:
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * inputs.size(0)
        print(f"step {step} loss {loss.item()!r}")
        step += 1
    epoch_loss = running_loss / len(dataset)
