# Regression with a train/validation split and early-stopping bookkeeping (best state_dict kept via deepcopy).
import copy

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
X = torch.tensor(rng.uniform(-2, 2, (60, 1)), dtype=torch.float32)
y = torch.sin(X) + 0.1 * torch.tensor(rng.standard_normal((60, 1)), dtype=torch.float32)
X_train, X_val = X[:45], X[45:]
y_train, y_val = y[:45], y[45:]

model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))
init_weights(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
criterion = nn.MSELoss()
best_val, best_state, patience, bad_epochs = float("inf"), None, 3, 0
for epoch in range(20):
    model.train()
    optimizer.zero_grad()
    loss = criterion(model(X_train), y_train)
    loss.backward()
    optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = criterion(model(X_val), y_val).item()
    print(f"step {epoch} loss {val_loss!r}")
    if val_loss < best_val - 1e-4:
        best_val, best_state, bad_epochs = val_loss, copy.deepcopy(model.state_dict()), 0
    else:
        bad_epochs += 1
        if bad_epochs >= patience:
            break
model.load_state_dict(best_state)
