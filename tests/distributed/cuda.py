"""Run by tests/python/test_cuda_nn.py under mpirun on a CUDA build (or the emulator): collectives on GPU
tensors (through host memory) and DistributedDataParallel of a module on the GPU. Prints 'ok'."""

import fastnn as torch
import fastnn.distributed as dist
import fastnn.nn as nn

dist.init_process_group("mpi")
rank, n = dist.get_rank(), dist.get_world_size()
x = (torch.arange(6.0) * (rank + 1)).cuda()
dist.all_reduce(x)
assert x.is_cuda and x.cpu().tolist() == [i * n * (n + 1) / 2 for i in range(6)]
y = torch.full((3,), float(rank), device="cuda")
dist.broadcast(y, src=n - 1)
assert y.cpu().tolist() == [float(n - 1)] * 3

torch.manual_seed(rank)  # DDP starts every rank from rank 0's weights
model = nn.Linear(3, 2).cuda()
ddp = nn.parallel.DistributedDataParallel(model, device_ids=[model.weight.device.index or 0])
ddp(torch.ones(4, 3, device="cuda") * (rank + 1)).sum().backward()
mean = 4 * (n + 1) / 2  # d/dW of sum(W x + b) over 4 rows of (rank + 1), averaged over the ranks
assert model.weight.grad.is_cuda and model.weight.grad.cpu().tolist() == [[mean] * 3] * 2
assert model.bias.grad.cpu().tolist() == [4.0, 4.0]
print(f"ok rank {rank}")
