# Hooks: register_forward_hook collects activations; Tensor.register_hook scales a gradient on the way back.
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
X = torch.tensor(rng.standard_normal((20, 5)), dtype=torch.float32)
y = torch.tensor(rng.standard_normal((20, 1)), dtype=torch.float32)

model = nn.Sequential(nn.Linear(5, 10), nn.ReLU(), nn.Linear(10, 1))
init_weights(model)
activations = {}


def save_activation(name):
    def hook(module, inputs, output):
        activations[name] = output.detach()

    return hook


handle = model[1].register_forward_hook(save_activation("relu"))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(20):
    optimizer.zero_grad()
    hidden = model[0](X)
    hidden.register_hook(lambda grad: grad * 0.5)
    out = model[2](model[1](hidden))
    loss = nn.functional.mse_loss(out, y) + 0.01 * activations["relu"].mean()
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
handle.remove()
activations.clear()
model(X)
assert not activations
