# A custom autograd.Function (clamp with straight-through gradient) used inside a model.
import numpy as np
import torch
import torch.nn as nn


def init_weights(model, scale=0.4):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class StraightThroughClamp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, lo, hi):
        ctx.save_for_backward(input)
        return input.clamp(lo, hi)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output.clone(), None, None


class ClampNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 10)
        self.fc2 = nn.Linear(10, 1)

    def forward(self, x):
        h = StraightThroughClamp.apply(self.fc1(x), -0.5, 0.5)
        return self.fc2(h)


torch.manual_seed(0)
rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((24, 3)), dtype=torch.float32)
y = torch.tensor(rng.standard_normal((24, 1)), dtype=torch.float32)

model = ClampNet()
init_weights(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(20):
    optimizer.zero_grad()
    loss = ((model(X) - y) ** 2).mean()
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
