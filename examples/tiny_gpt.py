"""A tiny GPT: a decoder-only transformer that reads Shakespeare one character at a time and learns to write
something that looks like it.

    python examples/tiny_gpt.py            # on fastnn
    python examples/tiny_gpt.py --torch    # the same code on PyTorch, for comparison

The text, examples/data/shakespeare.txt, is the opening of William Shakespeare's *Coriolanus* (public domain):
the first 40 KB of the "tiny shakespeare" corpus of Andrej Karpathy's char-rnn (data/tinyshakespeare/input.txt).
"""

import argparse
import os
import time

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=600, help="training steps (default 600)")
parser.add_argument("--torch", action="store_true", help="run on PyTorch instead of fastnn")
args = parser.parse_args()

if args.torch:
    import torch
else:
    import fastnn as torch
nn, F = torch.nn, torch.nn.functional

# The data: the text as a tensor of character ids.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "shakespeare.txt")) as f:
    text = f.read()
chars = sorted(set(text))
stoi = {ch: i for i, ch in enumerate(chars)}
data = torch.tensor([stoi[ch] for ch in text], dtype=torch.long)


class CausalSelfAttention(nn.Module):
    """Every position attends to itself and the positions before it, in n_head heads."""

    def __init__(self, d_model, n_head):
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, n_head, T, head_dim)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


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
    def __init__(self, vocab_size, block_size=32, d_model=64, n_head=4, n_layer=2):
        super().__init__()
        self.block_size = block_size
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.pos_emb = nn.Embedding(block_size, d_model)
        self.blocks = nn.Sequential(*[Block(d_model, n_head) for _ in range(n_layer)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # the output layer shares the token embedding's weights
        nn.init.normal_(self.tok_emb.weight, std=0.02)  # small embeddings, so that the first logits are small too
        nn.init.normal_(self.pos_emb.weight, std=0.02)

    def forward(self, idx):
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(idx.size(1)))
        return self.head(self.norm(self.blocks(x)))


@torch.no_grad()
def sample(model, prompt, length=200, temperature=0.8):
    """Draws one character at a time from the softmax of the logits at the last position."""
    model.eval()
    generator = torch.Generator().manual_seed(0)
    idx = torch.tensor([[stoi[ch] for ch in prompt]])
    for _ in range(length):
        logits = model(idx[:, -model.block_size :])
        probs = F.softmax(logits[0, -1] / temperature, dim=-1)
        idx = torch.cat((idx, torch.multinomial(probs, 1, generator=generator).view(1, 1)), dim=1)
    model.train()
    return "".join(chars[i] for i in idx[0].tolist())


torch.manual_seed(0)
model = GPT(len(chars))
optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.01)
batch_size, block_size = 32, model.block_size
start = time.time()
for step in range(1, args.steps + 1):
    # A batch of random windows of the text; the targets are the same windows shifted by one character.
    ix = torch.randint(0, len(data) - block_size - 1, (batch_size,))
    x = torch.stack([data[i : i + block_size] for i in ix.tolist()])
    y = torch.stack([data[i + 1 : i + block_size + 1] for i in ix.tolist()])
    loss = F.cross_entropy(model(x).reshape(-1, len(chars)), y.reshape(-1))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if step == 1 or step % 50 == 0 or step == args.steps:
        print(f"step {step:4d}  loss {loss.item():.4f}  ({time.time() - start:.1f} s)")
    if step == args.steps // 5:
        print("--- sample after", step, "steps ---\n" + sample(model, "MENENIUS:\n") + "\n---")
print(f"--- sample after {args.steps} steps ---\n" + sample(model, "MENENIUS:\n") + "\n---")
