# Data handed over through DLPack as interop code does it: NumPy batches into tensors without copies
# (torch.from_dlpack, torch.utils.dlpack), a weight round-tripped through a capsule, the loss read back by NumPy.
import numpy as np
import torch
import torch.nn as nn
import torch.utils.dlpack


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


torch.manual_seed(0)
rng = np.random.default_rng(0)
X_np = rng.standard_normal((128, 6)).astype(np.float32)
y_np = (np.sin(X_np[:, :3]).sum(1, keepdims=True) + 0.1 * X_np[:, 3:4]).astype(np.float32)

model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
init_weights(model)
with torch.no_grad():  # a weight out through a capsule and back: the same memory
    w = torch.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(model[0].weight))
    w.mul_(0.5)
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
criterion = nn.MSELoss()
for step in range(20):
    rows = slice(step % 4 * 32, step % 4 * 32 + 32)
    xb = torch.from_dlpack(X_np[rows])  # zero-copy view of the NumPy batch
    yb = torch.utils.dlpack.from_dlpack(y_np[rows])
    loss = criterion(model(xb), yb)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    value = float(np.from_dlpack(loss.detach()))  # NumPy reads the loss through DLPack
    print(f"step {step} loss {value!r}")
