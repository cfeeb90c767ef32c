# Transformer text classifier: Embedding + learned positions -> nn.TransformerEncoder (batch_first, dropout 0) with a
# src_key_padding_mask built from padded sequences -> mean pooling over the real tokens -> Linear head, Adam.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PAD = 0


def init_weights(model, scale=0.2):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            value = rng.standard_normal(tuple(p.shape)) * scale
            if "norm" in name and name.endswith("weight"):  # LayerNorm gains start near 1, as LayerNorm's own do
                value += 1.0
            p.copy_(torch.tensor(value, dtype=torch.float32))


class TransformerClassifier(nn.Module):
    def __init__(self, vocab_size, max_len, d_model, nhead, num_layers, n_classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=PAD)
        self.pos = nn.Parameter(torch.zeros(1, max_len, d_model))
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=2 * d_model, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=num_layers)
        self.fc = nn.Linear(d_model, n_classes)

    def forward(self, tokens):
        pad_mask = tokens == PAD  # True where padded: not attended to
        x = self.embedding(tokens) + self.pos[:, : tokens.size(1)]
        h = self.encoder(x, src_key_padding_mask=pad_mask)
        keep = (tokens != PAD).unsqueeze(-1).float()
        pooled = (h * keep).sum(dim=1) / keep.sum(dim=1)  # mean over the real tokens only
        return self.fc(pooled)


torch.manual_seed(0)
rng = np.random.default_rng(0)
B, T, V = 16, 8, 12
lengths = rng.integers(3, T + 1, B)
tokens = np.zeros((B, T), dtype=np.int64)
for i, n in enumerate(lengths):
    tokens[i, :n] = rng.integers(1, V, n)
labels = np.array([int((row[row > 0] > V // 2).mean() > 0.5) for row in tokens])  # mostly large tokens?
x = torch.from_numpy(tokens)
y = torch.from_numpy(labels)

model = TransformerClassifier(V, T, d_model=16, nhead=2, num_layers=2, n_classes=2)
init_weights(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
model.train()
for step in range(20):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")

model.eval()
with torch.no_grad():
    accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
assert 0.0 <= accuracy <= 1.0
