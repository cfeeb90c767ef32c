# log_softmax + nll_loss (the classic MNIST-example pairing), with softmax probabilities for a confidence check.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 20)
        self.fc2 = nn.Linear(20, 4)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


torch.manual_seed(0)
rng = np.random.default_rng(0)
data = torch.tensor(rng.standard_normal((32, 10)), dtype=torch.float32)
target = torch.tensor(rng.integers(0, 4, 32))

model = Net()
init_weights(model)
optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
for step in range(20):
    model.train()
    optimizer.zero_grad()
    output = model(data)
    loss = F.nll_loss(output, target)
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
model.eval()
with torch.no_grad():
    output = model(data)
    test_loss = F.nll_loss(output, target, reduction="sum").item()
    pred = output.argmax(dim=1, keepdim=True)
    correct = pred.eq(target.view_as(pred)).sum().item()
    probs = F.softmax(output.exp(), dim=1)
assert 0 <= correct <= 32
