# Character-level LSTM language model: Embedding -> 2-layer LSTM (batch_first) -> Linear, cross_entropy, Adam,
# truncated backpropagation through time (the hidden state carried across chunks, detached), clip_grad_norm_.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

text = (
    "it was the best of times, it was the worst of times, it was the age of wisdom, "
    "it was the age of foolishness, it was the epoch of belief, it was the epoch of incredulity. "
)
chars = sorted(set(text))
stoi = {ch: i for i, ch in enumerate(chars)}
itos = {i: ch for ch, i in stoi.items()}
vocab = len(chars)


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class CharLSTM(nn.Module):
    def __init__(self, vocab_size, emb_dim, hidden_size, num_layers):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb_dim)
        self.lstm = nn.LSTM(emb_dim, hidden_size, num_layers=num_layers, batch_first=True, dropout=0.0)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, hidden=None):
        out, hidden = self.lstm(self.embed(x), hidden)
        return self.head(out), hidden


torch.manual_seed(0)
batch, seq_len = 4, 12
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
n = (len(data) - 1) // batch  # each batch row reads its own contiguous stretch of the text
xs = data[: n * batch].view(batch, n)
ys = data[1 : n * batch + 1].view(batch, n)

model = CharLSTM(vocab, 8, 16, 2)
init_weights(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
hidden = None
pos = 0
for step in range(20):
    if pos + seq_len > n:
        pos, hidden = 0, None
    x, y = xs[:, pos : pos + seq_len], ys[:, pos : pos + seq_len]
    pos += seq_len
    if hidden is not None:
        hidden = tuple(h.detach() for h in hidden)
    logits, hidden = model(x, hidden)
    loss = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")

assert hidden[0].shape == (2, batch, 16) and hidden[1].shape == (2, batch, 16)
model.eval()
with torch.no_grad():  # greedy continuation of a prompt, one character at a time
    idx = torch.tensor([[stoi[c] for c in "it was "]])
    logits, h = model(idx)
    out = []
    for _ in range(10):
        nxt = logits[:, -1].argmax(dim=-1, keepdim=True)
        out.append(itos[nxt.item()])
        logits, h = model(nxt, h)
assert len(out) == 10
