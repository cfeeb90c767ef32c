# Data-parallel training set up as PyTorch users write it (DistributedDataParallel, DistributedSampler, a metric
# all-reduced over the ranks), run as a single rank without a launcher: the MPI backend where the library has it,
# else gloo over a local port.
import socket

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

if dist.is_mpi_available():
    dist.init_process_group("mpi")
else:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
rank, world = dist.get_rank(), dist.get_world_size()

rng = np.random.default_rng(5)
x = torch.tensor(rng.standard_normal((80, 6)), dtype=torch.float32)
y = torch.tensor(rng.integers(0, 3, 80))
model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * 0.4, dtype=torch.float32))
ddp = DDP(model)
opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
data = TensorDataset(x, y)
sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=False)
loader = DataLoader(data, batch_size=16, sampler=sampler)
step = 0
for epoch in range(4):  # 5 batches of 16 each: 20 steps
    sampler.set_epoch(epoch)
    for xb, yb in loader:
        opt.zero_grad()
        loss = F.cross_entropy(ddp(xb), yb)
        loss.backward()
        opt.step()
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss, op=dist.ReduceOp.SUM)
        print(f"step {step} loss {(mean_loss / world).item()!r}")
        step += 1
ranks = [None] * world
dist.all_gather_object(ranks, {"rank": rank, "steps": step})
assert ranks == [{"rank": 0, "steps": 20}]
dist.destroy_process_group()
