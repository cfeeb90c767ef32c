# CNN text classifier: Embedding -> unsqueeze(1) -> Conv2d with kernel (k, emb_dim) -> max over time -> Linear.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class TextCNN(nn.Module):
    def __init__(self, vocab_size, emb_dim, n_filters, sizes, n_classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_dim, padding_idx=0)
        self.convs = nn.ModuleList([nn.Conv2d(1, n_filters, (k, emb_dim)) for k in sizes])
        self.fc = nn.Linear(n_filters * len(sizes), n_classes)

    def forward(self, text):
        x = self.embedding(text).unsqueeze(1)  # (B, 1, T, E)
        conved = [F.relu(conv(x)).squeeze(3) for conv in self.convs]  # (B, F, T-k+1)
        pooled = [c.max(dim=2)[0] for c in conved]  # (B, F)
        return self.fc(torch.cat(pooled, dim=1))


torch.manual_seed(0)
rng = np.random.default_rng(0)
B, T, V = 12, 9, 20
tokens = rng.integers(1, V, (B, T))
tokens[:, -2:] = 0  # padding
labels = (tokens[:, :3].sum(1) > 30).astype(np.int64)
text = torch.from_numpy(tokens)
y = torch.from_numpy(labels)

model = TextCNN(V, 6, 4, (2, 3), 2)
init_weights(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
criterion = nn.CrossEntropyLoss()
for step in range(20):
    optimizer.zero_grad()
    loss = criterion(model(text), y)
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
