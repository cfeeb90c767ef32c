# DataLoader shuffling reproduced across libraries: a SubsetRandomSampler-free loop over a NumPy permutation
# (a plain list of indices as the sampler) and a custom Dataset class.
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset


def init_weights(model, scale=0.3):
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * scale, dtype=torch.float32))


class PointsDataset(Dataset):
    def __init__(self, n):
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((n, 2)).astype(np.float32)
        self.y = (self.x[:, 0] * self.x[:, 1] > 0).astype(np.float32)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return torch.from_numpy(self.x[i]), torch.tensor(self.y[i])


torch.manual_seed(0)
dataset = PointsDataset(40)
order = np.random.default_rng(2).permutation(len(dataset)).tolist()
loader = DataLoader(dataset, batch_size=8, sampler=order)
model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
init_weights(model)
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
criterion = nn.BCEWithLogitsLoss()
step = 0
for epoch in range(4):
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = criterion(model(xb).squeeze(1), yb)
        loss.backward()
        optimizer.step()
        print(f"step {step} loss {loss.item()!r}")
        step += 1
