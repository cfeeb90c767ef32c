# A small GPT-style decoder: token + position embeddings, pre-norm blocks of causal self-attention
# (F.scaled_dot_product_attention with is_causal=True) and a GELU MLP, LayerNorm, the output head tied to the token
# embedding, AdamW; then sampling a few tokens with torch.multinomial from a seeded generator.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

text = "to be, or not to be, that is the question: whether 'tis nobler in the mind to suffer. "
chars = sorted(set(text))
stoi = {ch: i for i, ch in enumerate(chars)}
vocab = len(chars)


def init_weights(model, scale=0.2):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            value = rng.standard_normal(tuple(p.shape)) * scale
            if "norm" in name and name.endswith("weight"):  # LayerNorm gains start near 1, as LayerNorm's own do
                value += 1.0
            p.copy_(torch.tensor(value, dtype=torch.float32))


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_head):
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))


class Block(nn.Module):
    def __init__(self, d_model, n_head):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_head)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class GPT(nn.Module):
    def __init__(self, vocab_size, block_size, d_model, n_head, n_layer):
        super().__init__()
        self.block_size = block_size
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.pos_emb = nn.Embedding(block_size, d_model)
        self.blocks = nn.Sequential(*[Block(d_model, n_head) for _ in range(n_layer)])
        self.norm_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # weight tying

    def forward(self, idx, targets=None):
        T = idx.size(1)
        pos = torch.arange(T, dtype=torch.long)
        x = self.tok_emb(idx) + self.pos_emb(pos)
        logits = self.head(self.norm_f(self.blocks(x)))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, generator=None):
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.block_size :])
            probs = F.softmax(logits[:, -1, :], dim=-1)
            idx = torch.cat((idx, torch.multinomial(probs, num_samples=1, generator=generator)), dim=1)
        return idx


torch.manual_seed(0)
rng = np.random.default_rng(0)
block_size, batch = 16, 6
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
starts = rng.integers(0, len(data) - block_size - 1, (20, batch))

model = GPT(vocab, block_size, d_model=16, n_head=2, n_layer=2)
assert model.head.weight is model.tok_emb.weight and len(model.state_dict()) == len(list(model.parameters())) + 1
init_weights(model)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
model.train()
for step in range(20):
    xb = torch.stack([data[i : i + block_size] for i in starts[step]])
    yb = torch.stack([data[i + 1 : i + block_size + 1] for i in starts[step]])
    logits, loss = model(xb, yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")

model.eval()
g = torch.Generator().manual_seed(1234)
out = model.generate(torch.zeros((2, 1), dtype=torch.long), max_new_tokens=8, generator=g)
assert out.shape == (2, 9) and out.dtype == torch.long
assert 0 <= int(out.min()) and int(out.max()) < vocab
