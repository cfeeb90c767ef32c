# Small CNN (Conv2d + MaxPool2d) classifying synthetic 1x12x12 images (bright square in one of four quadrants).
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def init_weights(model, scale=0.2):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(4, 8, 3)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))  # 4x6x6
        x = self.pool(F.relu(self.conv2(x)))  # 8x2x2
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


torch.manual_seed(0)
rng = np.random.default_rng(0)
n = 24
labels = rng.integers(0, 4, n)
images = 0.1 * rng.standard_normal((n, 1, 12, 12))
for i, q in enumerate(labels):
    r, c = divmod(int(q), 2)
    images[i, 0, r * 6 + 1 : r * 6 + 5, c * 6 + 1 : c * 6 + 5] += 1.0
inputs = torch.tensor(images, dtype=torch.float32)
targets = torch.from_numpy(labels)

net = Net()
init_weights(net)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
for step in range(20):
    optimizer.zero_grad()
    outputs = net(inputs)
    loss = criterion(outputs, targets)
    loss.backward()
    optimizer.step()
    print(f"step {step} loss {loss.item()!r}")
_, predicted = torch.max(outputs.data, 1)
correct = (predicted == targets).sum().item()
