# Multiclass MLP on synthetic Gaussian blobs with CrossEntropyLoss and SGD(momentum, nesterov).
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


torch.manual_seed(0)
rng = np.random.default_rng(0)
centers = np.array([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
labels = np.repeat(np.arange(3), 20)
points = centers[labels] + 0.6 * rng.standard_normal((60, 2))
X = torch.tensor(points, dtype=torch.float32)
y = torch.tensor(labels, dtype=torch.long)

model = MLP()
init_weights(model)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
for step in range(20):
    optimizer.zero_grad()
    out = model(X)
    loss = criterion(out, y)
    loss.backward()
    optimizer.step()
    acc = (out.argmax(dim=1) == y).sum().item() / len(y)
    print(f"step {step} loss {loss.item()!r}")
