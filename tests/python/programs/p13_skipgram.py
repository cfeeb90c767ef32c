# Skip-gram with negative sampling: two Embedding tables, dot products, logsigmoid; negatives drawn with NumPy.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

corpus = "we like small models we like fast code small code is fast code we test models".split()
vocab = sorted(set(corpus))
w2i = {w: i for i, w in enumerate(vocab)}
ids = [w2i[w] for w in corpus]
pairs = [(ids[i], ids[j]) for i in range(len(ids)) for j in (i - 2, i - 1, i + 1, i + 2) if 0 <= j < len(ids)]


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class SkipGram(nn.Module):
    def __init__(self, vocab_size, dim):
        super().__init__()
        self.in_embed = nn.Embedding(vocab_size, dim)
        self.out_embed = nn.Embedding(vocab_size, dim)

    def forward(self, center, context, negatives):
        v = self.in_embed(center)  # (B, D)
        u = self.out_embed(context)  # (B, D)
        n = self.out_embed(negatives)  # (B, K, D)
        pos = F.logsigmoid((v * u).sum(dim=1))
        neg = F.logsigmoid(-torch.bmm(n, v.unsqueeze(2)).squeeze(2)).sum(dim=1)
        return -(pos + neg).mean()


torch.manual_seed(0)
rng = np.random.default_rng(0)
model = SkipGram(len(vocab), 8)
init_weights(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
centers = torch.tensor([c for c, _ in pairs])
contexts = torch.tensor([o for _, o in pairs])
for step in range(20):
    negatives = torch.from_numpy(rng.integers(0, len(vocab), (len(pairs), 3)))
    loss = model(centers, contexts, negatives)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")

with torch.no_grad():
    emb = F.normalize(model.in_embed.weight, dim=1)
    sims = emb @ emb[w2i["fast"]]
    nearest = sims.topk(3).indices.tolist()
