# A CNN trained with its whole step under torch.compile (a scheduler changes the learning rate on the way),
# then a compiled model for inference; as a PyTorch user writes it.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.drop = nn.Dropout(0.0)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = self.drop(F.relu(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)


rng = np.random.default_rng(0)
n = 16
labels = rng.integers(0, 4, n)
images = 0.1 * rng.standard_normal((n, 1, 12, 12))
for i, q in enumerate(labels):
    r, c = divmod(int(q), 2)
    images[i, 0, r * 6 + 1 : r * 6 + 5, c * 6 + 1 : c * 6 + 5] += 1.0
inputs = torch.tensor(images, dtype=torch.float32)
targets = torch.from_numpy(labels)

torch.manual_seed(0)
net = Net()
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * 0.2, dtype=torch.float32))
optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=6, gamma=0.5)
criterion = nn.CrossEntropyLoss()


@torch.compile(backend="eager")
def train_step(x, y):
    optimizer.zero_grad()
    loss = criterion(net(x), y)
    loss.backward()
    optimizer.step()
    return loss


for step in range(18):
    loss = train_step(inputs[step % 2 :: 2], targets[step % 2 :: 2])
    scheduler.step()
    print(f"step {step} loss {loss.item()!r}")

net.eval()
predict = torch.compile(net, backend="eager")
with torch.no_grad():
    for step in (18, 19):  # the compiled model's loss on each half of the data, each half twice
        for _ in range(2):
            logits = predict(inputs[step % 2 :: 2])
        print(f"step {step} loss {criterion(logits, targets[step % 2 :: 2]).item()!r}")
