# Train, save the state_dict (and optimizer state) to a temp file, reload into fresh objects, keep training.
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


def make_model():
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))


torch.manual_seed(0)
rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((20, 4)), dtype=torch.float32)
Y = torch.tensor(rng.standard_normal((20, 2)), dtype=torch.float32)

model = make_model()
init_weights(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
loss_fn = nn.MSELoss()
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "checkpoint.pt")
    for step in range(20):
        if step == 10:
            torch.save({"model": model.state_dict(), "optim": optimizer.state_dict(), "step": step}, path)
            checkpoint = torch.load(path)
            model = make_model()
            model.load_state_dict(checkpoint["model"])
            optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
            optimizer.load_state_dict(checkpoint["optim"])
            assert checkpoint["step"] == 10
        optimizer.zero_grad()
        loss = loss_fn(model(X), Y)
        loss.backward()
        optimizer.step()
        print(f"step {step} loss {loss.item()!r}")
    weights_path = os.path.join(tmp, "weights.pth")
    torch.save(model.state_dict(), weights_path)
    clone = make_model()
    clone.load_state_dict(torch.load(weights_path))
    clone.eval()
    with torch.no_grad():
        assert torch.allclose(clone(X), model(X))
