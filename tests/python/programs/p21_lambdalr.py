# LambdaLR warm-up schedule with Adam; a parameter group with its own lr.
import numpy as np
import torch
import torch.nn as nn


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(5, 10)
        self.head = nn.Linear(10, 1)

    def forward(self, x):
        return self.head(torch.tanh(self.body(x)))


torch.manual_seed(0)
rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((24, 5)), dtype=torch.float32)
y = torch.tensor(rng.standard_normal((24, 1)), dtype=torch.float32)

model = Model()
init_weights(model)
optimizer = torch.optim.Adam(
    [
        {"params": model.body.parameters()},
        {"params": model.head.parameters(), "lr": 0.02},
    ],
    lr=0.05,
)
warmup = 5
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda e: min(1.0, (e + 1) / warmup))
for step in range(20):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(X), y)
    loss.backward()
    optimizer.step()
    scheduler.step()
    print(f"step {step} loss {loss.item()!r}")
