# Tiny GAN on 1-D Gaussian data: generator and discriminator MLPs, alternating steps, BCELoss, detach() on fakes.
import numpy as np
import torch
import torch.nn as nn


def init_weights(model, scale=0.3, seed=1):
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


torch.manual_seed(0)
rng = np.random.default_rng(0)
latent, batch = 4, 16
G = nn.Sequential(nn.Linear(latent, 16), nn.LeakyReLU(0.2), nn.Linear(16, 2))
D = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Sigmoid())
init_weights(G)
init_weights(D, seed=2)
criterion = nn.BCELoss()
opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
real_label = torch.ones(batch, 1)
fake_label = torch.zeros(batch, 1)

for step in range(20):
    real = torch.tensor(rng.normal([2.0, -1.0], 0.5, (batch, 2)), dtype=torch.float32)
    z = torch.tensor(rng.standard_normal((batch, latent)), dtype=torch.float32)
    fake = G(z)

    opt_d.zero_grad()
    d_loss = criterion(D(real), real_label) + criterion(D(fake.detach()), fake_label)
    d_loss.backward()
    opt_d.step()

    opt_g.zero_grad()
    g_loss = criterion(D(fake), real_label)
    g_loss.backward()
    opt_g.step()
    print(f"step {step} loss {d_loss.item() + g_loss.item()!r}")
