# OneCycleLR stepped after every batch, with SGD momentum.
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
X = torch.tensor(rng.standard_normal((40, 4)), dtype=torch.float32)
y = torch.tensor(rng.standard_normal((40, 1)), dtype=torch.float32)

model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
init_weights(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
epochs, steps_per_epoch = 5, 4
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=steps_per_epoch)
step = 0
for epoch in range(epochs):
    for b in range(steps_per_epoch):
        xb, yb = X[b * 10 : (b + 1) * 10], y[b * 10 : (b + 1) * 10]
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(xb), yb)
        loss.backward()
        optimizer.step()
        scheduler.step()
        print(f"step {step} loss {loss.item()!r}")
        step += 1
