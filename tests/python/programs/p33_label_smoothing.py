# Cross entropy with label smoothing (module and functional forms) and class weights.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


torch.manual_seed(0)
rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((30, 6)), dtype=torch.float32)
y = torch.tensor(rng.integers(0, 4, 30))

model = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 4))
init_weights(model)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
class_weights = torch.tensor([1.0, 2.0, 1.0, 0.5])
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for step in range(20):
    optimizer.zero_grad()
    logits = model(X)
    loss = criterion(logits, y) + 0.5 * F.cross_entropy(logits, y, weight=class_weights, label_smoothing=0.2)
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
