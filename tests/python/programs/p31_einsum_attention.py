# Bilinear attention written with einsum: scores = einsum('bqd,de,bke->bqk'), softmax, weighted values.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class BilinearAttention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.W = nn.Parameter(torch.empty(dim, dim))
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, 1)

    def forward(self, q, k):
        scores = torch.einsum("bqd,de,bke->bqk", q, self.W, k) / q.shape[-1] ** 0.5
        attn = F.softmax(scores, dim=-1)
        ctx = torch.einsum("bqk,bkd->bqd", attn, self.value(k))
        return self.out(ctx).squeeze(-1)


torch.manual_seed(0)
rng = np.random.default_rng(0)
q = torch.tensor(rng.standard_normal((6, 3, 4)), dtype=torch.float32)
k = torch.tensor(rng.standard_normal((6, 5, 4)), dtype=torch.float32)
target = torch.tensor(rng.standard_normal((6, 3)), dtype=torch.float32)

model = BilinearAttention(4)
init_weights(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
for step in range(20):
    optimizer.zero_grad()
    loss = F.mse_loss(model(q, k), target)
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
