# Sequence-to-sequence with attention on a toy task (reverse a digit sequence): a bidirectional nn.GRU encoder,
# an nn.GRUCell decoder with additive (Bahdanau) attention over the encoder outputs, teacher forcing, Adam.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SOS, VOCAB = 10, 11  # digits 0-9, then the start-of-sequence token


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class Encoder(nn.Module):
    def __init__(self, vocab_size, emb_dim, hidden_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.rnn = nn.GRU(emb_dim, hidden_size, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden_size, hidden_size)

    def forward(self, src):
        outputs, hidden = self.rnn(self.embedding(src))  # (B, T, 2H), (2, B, H)
        hidden = torch.tanh(self.fc(torch.cat((hidden[-2], hidden[-1]), dim=1)))
        return outputs, hidden


class Attention(nn.Module):
    def __init__(self, enc_dim, dec_dim, attn_dim):
        super().__init__()
        self.W_enc = nn.Linear(enc_dim, attn_dim, bias=False)
        self.W_dec = nn.Linear(dec_dim, attn_dim)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def forward(self, dec_hidden, enc_outputs):
        energy = torch.tanh(self.W_enc(enc_outputs) + self.W_dec(dec_hidden).unsqueeze(1))  # (B, T, A)
        weights = F.softmax(self.v(energy).squeeze(2), dim=1)  # (B, T)
        return torch.bmm(weights.unsqueeze(1), enc_outputs).squeeze(1), weights  # (B, 2H)


class Decoder(nn.Module):
    def __init__(self, vocab_size, emb_dim, hidden_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.attention = Attention(2 * hidden_size, hidden_size, hidden_size)
        self.cell = nn.GRUCell(emb_dim + 2 * hidden_size, hidden_size)
        self.out = nn.Linear(3 * hidden_size, vocab_size)

    def forward(self, token, hidden, enc_outputs):
        context, weights = self.attention(hidden, enc_outputs)
        hidden = self.cell(torch.cat((self.embedding(token), context), dim=1), hidden)
        return self.out(torch.cat((hidden, context), dim=1)), hidden, weights


class Seq2Seq(nn.Module):
    def __init__(self, vocab_size, emb_dim, hidden_size):
        super().__init__()
        self.encoder = Encoder(vocab_size, emb_dim, hidden_size)
        self.decoder = Decoder(vocab_size, emb_dim, hidden_size)

    def forward(self, src, trg):
        """Teacher forcing: the decoder reads the true previous token at every step."""
        enc_outputs, hidden = self.encoder(src)
        token = torch.full((src.size(0),), SOS, dtype=torch.long)
        logits = []
        for t in range(trg.size(1)):
            step_logits, hidden, _ = self.decoder(token, hidden, enc_outputs)
            logits.append(step_logits)
            token = trg[:, t]
        return torch.stack(logits, dim=1)  # (B, T, V)

    @torch.no_grad()
    def greedy(self, src, length):
        enc_outputs, hidden = self.encoder(src)
        token = torch.full((src.size(0),), SOS, dtype=torch.long)
        out = []
        for _ in range(length):
            step_logits, hidden, _ = self.decoder(token, hidden, enc_outputs)
            token = step_logits.argmax(dim=1)
            out.append(token)
        return torch.stack(out, dim=1)


torch.manual_seed(0)
rng = np.random.default_rng(0)
src = torch.from_numpy(rng.integers(0, 10, (16, 6)))
trg = torch.flip(src, dims=[1])

model = Seq2Seq(VOCAB, 8, 16)
init_weights(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
criterion = nn.CrossEntropyLoss()
for step in range(20):
    model.train()
    optimizer.zero_grad()
    logits = model(src, trg)
    loss = criterion(logits.reshape(-1, VOCAB), trg.reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")

model.eval()
pred = model.greedy(src, trg.size(1))
assert pred.shape == trg.shape
accuracy = (pred == trg).float().mean().item()
assert 0.0 <= accuracy <= 1.0
