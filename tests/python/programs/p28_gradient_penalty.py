# WGAN-GP style gradient penalty: autograd.grad(create_graph=True) through Linear/Tanh/ReLU/Sigmoid, norm via
# .pow(2).sum(1).sqrt(); interpolation weights from NumPy.
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
critic = nn.Sequential(nn.Linear(3, 12), nn.Tanh(), nn.Linear(12, 12), nn.ReLU(), nn.Linear(12, 1), nn.Sigmoid())
init_weights(critic)
optimizer = torch.optim.Adam(critic.parameters(), lr=1e-2, betas=(0.0, 0.9))
real = torch.tensor(rng.normal(1.0, 0.3, (16, 3)), dtype=torch.float32)
fake = torch.tensor(rng.normal(-1.0, 0.3, (16, 3)), dtype=torch.float32)
for step in range(20):
    alpha = torch.tensor(rng.random((16, 1)), dtype=torch.float32)
    interp = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    score = critic(interp)
    grads = torch.autograd.grad(
        outputs=score, inputs=interp, grad_outputs=torch.ones_like(score), create_graph=True, retain_graph=True
    )[0]
    penalty = ((grads.pow(2).sum(1).sqrt() - 1) ** 2).mean()
    loss = critic(fake).mean() - critic(real).mean() + 10.0 * penalty
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
