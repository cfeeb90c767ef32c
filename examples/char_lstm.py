"""A character-level LSTM language model: it reads Shakespeare one character at a time and learns to write
something that looks like it.

    python examples/char_lstm.py            # on fastnn
    python examples/char_lstm.py --torch    # the same code on PyTorch, for comparison

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


class CharLSTM(nn.Module):
    def __init__(self, vocab_size, emb_dim=32, hidden_size=128, num_layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb_dim)
        self.lstm = nn.LSTM(emb_dim, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None):
        out, state = self.lstm(self.embed(x), state)
        return self.head(out), state


@torch.no_grad()
def sample(model, prompt, length=200, temperature=0.8):
    """Feeds the prompt, then draws one character at a time from the softmax of the last logits."""
    model.eval()
    generator = torch.Generator().manual_seed(0)
    logits, state = model(torch.tensor([[stoi[ch] for ch in prompt]]))
    out = prompt
    for _ in range(length):
        probs = F.softmax(logits[0, -1] / temperature, dim=-1)
        next_id = torch.multinomial(probs, 1, generator=generator)
        out += chars[next_id.item()]
        logits, state = model(next_id.view(1, 1), state)
    model.train()
    return out


torch.manual_seed(0)
model = CharLSTM(len(chars))
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
batch_size, seq_len = 32, 32
start = time.time()
for step in range(1, args.steps + 1):
    # A batch of random windows of the text; the targets are the same windows shifted by one character.
    ix = torch.randint(0, len(data) - seq_len - 1, (batch_size,))
    x = torch.stack([data[i : i + seq_len] for i in ix.tolist()])
    y = torch.stack([data[i + 1 : i + seq_len + 1] for i in ix.tolist()])
    logits, _ = model(x)
    loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    if step == 1 or step % 50 == 0 or step == args.steps:
        print(f"step {step:4d}  loss {loss.item():.4f}  ({time.time() - start:.1f} s)")
    if step == args.steps // 5:
        print("--- sample after", step, "steps ---\n" + sample(model, "MENENIUS:\n") + "\n---")
print(f"--- sample after {args.steps} steps ---\n" + sample(model, "MENENIUS:\n") + "\n---")
