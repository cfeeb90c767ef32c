# Old-style code: torch.autograd.Variable, torch.FloatTensor / torch.Tensor / torch.LongTensor constructors, .data updates.
import numpy as np
import torch
from torch.autograd import Variable

torch.manual_seed(0)
rng = np.random.default_rng(0)
x_np = rng.standard_normal((16, 3)).astype(np.float32)
y_np = rng.integers(0, 2, 16)
x = Variable(torch.FloatTensor(x_np))
y = Variable(torch.LongTensor(y_np))

w_rng = np.random.default_rng(1)
W = Variable(torch.Tensor(w_rng.standard_normal((3, 2)).astype(np.float32).tolist()) * 0.3, requires_grad=True)
b = Variable(torch.zeros(2), requires_grad=True)
buf = torch.FloatTensor(3, 2).zero_()
assert buf.shape == (3, 2)
for step in range(20):
    logits = x.mm(W) + b
    loss = torch.nn.functional.cross_entropy(logits, y)
    loss.backward()
    W.data -= 0.5 * W.grad.data
    b.data -= 0.5 * b.grad.data
    W.grad.data.zero_()
    b.grad.data.zero_()
    print(f"step {step} loss {loss.data.item()!r}")
