# Logistic regression with BCEWithLogitsLoss and Adam; accuracy from thresholded logits.
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
X_np = rng.standard_normal((80, 2))
y_np = (X_np[:, 0] + 0.5 * X_np[:, 1] > 0).astype(np.float32)
X = torch.tensor(X_np, dtype=torch.float32)
y = torch.tensor(y_np).unsqueeze(1)

model = nn.Linear(2, 1)
init_weights(model)
criterion = nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
for step in range(20):
    logits = model(X)
    loss = criterion(logits, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")

with torch.no_grad():
    preds = (torch.sigmoid(model(X)) > 0.5).float()
    accuracy = (preds == y).float().mean().item()
assert 0.0 <= accuracy <= 1.0
