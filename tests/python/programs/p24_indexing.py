# Indexing idioms inside a training loop: logits[arange, y], boolean masks, where, masked_fill, gather, topk,
# argmax accuracy, chunk/split/cat/stack.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


torch.manual_seed(0)
rng = np.random.default_rng(0)
n, classes = 30, 5
X = torch.tensor(rng.standard_normal((n, 8)), dtype=torch.float32)
y = torch.tensor(rng.integers(0, classes, n))
valid = torch.from_numpy(rng.random(n) > 0.2)

model = nn.Linear(8, classes)
init_weights(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
for step in range(20):
    logits = model(X)
    log_probs = F.log_softmax(logits, dim=1)
    picked = log_probs[torch.arange(n), y]  # advanced indexing
    picked_too = log_probs.gather(1, y.unsqueeze(1)).squeeze(1)  # same values via gather
    nll = -picked[valid].mean()  # boolean mask
    weights = torch.where(y == 0, torch.full_like(picked_too, 2.0), torch.ones_like(picked_too))
    masked = logits.masked_fill(F.one_hot(y, classes).bool(), 0.0)
    margin = masked.max(dim=1).values
    first, second = torch.chunk(margin, 2)
    a, b, c = torch.split(picked_too, [10, 10, 10])
    extra = torch.cat([first, second]).abs().mean() + torch.stack([a, b, c]).mean(0).neg().mean()
    loss = nll + 0.01 * (weights * -picked_too).mean() + 0.01 * extra
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    top2 = logits.topk(2, dim=1).indices
    top2_acc = (top2 == y.unsqueeze(1)).any(dim=1).float().mean()
    acc = (logits.argmax(1) == y).float().mean()
    print(f"step {step} loss {loss.item()!r}")
