# Fit sin(x) with a cubic polynomial: features x^1..x^3 built with pow broadcasting, a Linear(3, 1), Flatten(0, 1).
import math

import numpy as np
import torch


def init_weights(model, scale=0.2):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 200)
y = torch.sin(x)
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
init_weights(model)
loss_fn = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
for t in range(20):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    print(f"step {t} loss {loss.item()!r}")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
linear_layer = model[0]
_ = f"y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x"
