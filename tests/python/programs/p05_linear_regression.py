# Linear regression with nn.Linear, nn.MSELoss and SGD on y = X @ w + b + noise.
import numpy as np
import torch
import torch.nn as nn


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class LinearRegression(nn.Module):
    def __init__(self, in_features):
        super().__init__()
        self.linear = nn.Linear(in_features, 1)

    def forward(self, x):
        return self.linear(x)


torch.manual_seed(0)
rng = np.random.default_rng(0)
X_np = rng.standard_normal((64, 4)).astype(np.float32)
y_np = (
    X_np @ np.array([1.5, -2.0, 0.5, 3.0], dtype=np.float32) + 0.7 + 0.1 * rng.standard_normal(64).astype(np.float32)
).reshape(-1, 1)
X, y = torch.from_numpy(X_np), torch.from_numpy(y_np)

model = LinearRegression(4)
init_weights(model)
criterion = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for epoch in range(20):
    outputs = model(X)
    loss = criterion(outputs, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"step {epoch} loss {loss.item()!r}")
