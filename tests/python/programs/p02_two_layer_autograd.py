# Two-layer network with autograd and manual weight updates under torch.no_grad().
import numpy as np
import torch

torch.manual_seed(0)
rng = np.random.default_rng(0)
N, D_in, H, D_out = 16, 10, 8, 3
x = torch.tensor(rng.standard_normal((N, D_in)), dtype=torch.float32)
y = torch.tensor(rng.standard_normal((N, D_out)), dtype=torch.float32)

w_rng = np.random.default_rng(1)
w1 = torch.tensor(w_rng.standard_normal((D_in, H)) * 0.3, dtype=torch.float32, requires_grad=True)
w2 = torch.tensor(w_rng.standard_normal((H, D_out)) * 0.3, dtype=torch.float32, requires_grad=True)

learning_rate = 1e-2
for t in range(20):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    print(f"step {t} loss {loss.item()!r}")
    loss.backward()
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()
