# Autoencoder: encoder/decoder MLPs reconstructing 16-d vectors that lie near a 3-d subspace.
import numpy as np
import torch
import torch.nn as nn


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))
        self.decoder = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 16), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


torch.manual_seed(0)
rng = np.random.default_rng(0)
basis = rng.standard_normal((3, 16))
codes = rng.standard_normal((40, 3))
data = 1.0 / (1.0 + np.exp(-(codes @ basis) * 0.5))
X = torch.tensor(data, dtype=torch.float32)

model = AutoEncoder()
init_weights(model)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
criterion = nn.MSELoss()
for step in range(20):
    recon = model(X)
    loss = criterion(recon, X)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
with torch.no_grad():
    z = model.encoder(X)
assert z.shape == (40, 3)
