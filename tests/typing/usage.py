"""A typed training script as users write one: mypy (tests/python/test_typing.py) checks it against fastnn's
annotations and python/fastnn/_C.pyi; each annotated assignment states the type mypy must see there."""

from __future__ import annotations

import fastnn
import fastnn.nn.functional as F
from fastnn import Tensor, nn
from fastnn.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, n_in: int, n_hidden: int, n_out: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_out)
        self.drop = nn.Dropout(0.1)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.drop(F.relu(self.fc1(x))))


fastnn.manual_seed(0)
x: Tensor = fastnn.randn(64, 4)
y: Tensor = (x.sum(dim=1) > 0).long()
model = Net(4, 16, 2)
out: Tensor = model(x)
shape: fastnn.Size = out.shape
rows: int = shape[0]
first: Tensor = x[0]
cols: Tensor = x[:, 1:3]
x[0, 0] = 1.5
mask: Tensor = x > 0.5
picked: Tensor = x[mask]
mean_value: float = x.mean().item()
loss_value: float | int | bool = (x * 2 + 1).pow(2).sum().item()
dt: fastnn.dtype = x.dtype
as_double: Tensor = x.to(fastnn.float64).double()

opt = fastnn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
sched = fastnn.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
criterion = nn.CrossEntropyLoss()
loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
n_batches: int = len(loader)
for xb, yb in loader:
    opt.zero_grad()
    loss: Tensor = criterion(model(xb), yb)
    loss.backward()
    opt.step()
sched.step()
lrs: list[float] = sched.get_last_lr()

model.eval()
with fastnn.no_grad():
    pred: Tensor = model(x).argmax(dim=1)
accuracy: float = (pred == y).float().mean().item()


@fastnn.no_grad()
def evaluate(m: Net, data: Tensor) -> Tensor:
    return F.softmax(m(data), dim=1)


probs: Tensor = evaluate(model, x)
state = model.state_dict()
model.load_state_dict(state)
opt.load_state_dict(opt.state_dict())
names: list[str] = [name for name, _ in model.named_parameters()]
grad: Tensor | None = model.fc1.weight.grad
if grad is not None:
    grad_norm: float = grad.norm().item()
same: Net = model.train()
adam = fastnn.optim.Adam(model.parameters(), lr=1e-3)
seq = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
z = seq(x)
