# A bag-of-words classifier (EmbeddingBag) and a 1-D signal autoencoder (Conv1d, pooling, interpolate, padding,
# ConvTranspose1d) trained together with Adam on cross_entropy + HuberLoss + KL divergence.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(0)
tokens = torch.tensor(rng.integers(0, 50, 60).tolist())
offsets = torch.tensor([0, 7, 15, 20, 31, 38, 44, 52])
labels = torch.tensor([0, 1, 2, 1, 0, 2, 1, 0])
signal = torch.tensor(np.sin(np.linspace(0, 6, 4 * 32)).reshape(4, 1, 32).tolist(), dtype=torch.float32)


def init_weights(model, scale=0.3):
    gen = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(gen.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.bag = nn.EmbeddingBag(50, 12, mode="mean")
        self.head = nn.Sequential(nn.Linear(12, 16), nn.PReLU(), nn.Linear(16, 3))
        self.enc = nn.Conv1d(1, 4, 3, padding=1)
        self.pool = nn.MaxPool1d(2)
        self.dec = nn.ConvTranspose1d(4, 1, 3)

    def forward(self, tokens, offsets, signal):
        logits = self.head(self.bag(tokens, offsets))
        h = self.pool(F.elu(self.enc(signal)))  # (4, 4, 16)
        h = F.interpolate(h, scale_factor=2, mode="linear", align_corners=False)  # (4, 4, 32)
        h = F.pad(h, (0, 0), mode="constant")[..., 1:-1]  # (4, 4, 30)
        return logits, self.dec(h)  # (4, 1, 32)


torch.manual_seed(0)
model = Model()
init_weights(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
huber, kl = nn.HuberLoss(delta=0.5), nn.KLDivLoss(reduction="batchmean")
target_dist = torch.full((8, 3), 1 / 3)
for step in range(20):
    logits, recon = model(tokens, offsets, signal)
    loss = F.cross_entropy(logits, labels) + huber(recon, signal) + 0.1 * kl(F.log_softmax(logits, dim=1), target_dist)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
