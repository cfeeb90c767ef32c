# Device-agnostic code: torch.device, .to(device) on the model and on every batch.
import numpy as np
import torch
import torch.nn as nn


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
device = torch.device("cpu")
torch.manual_seed(0)
rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((32, 4)), dtype=torch.float32)
y = torch.tensor(rng.standard_normal((32, 2)), dtype=torch.float32)

model = nn.Sequential(nn.Linear(4, 8), nn.SiLU(), nn.Linear(8, 2)).to(device)
init_weights(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(20):
    inputs, targets = X.to(device), y.to(device)
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(inputs), targets)
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.cpu().item()!r}")
assert next(model.parameters()).device == device
out = model(torch.zeros(1, 4, device=device))
assert out.device.type == "cpu"
