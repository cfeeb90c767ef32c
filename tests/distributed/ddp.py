"""Run by tests/python/test_distributed.py under mpirun: DistributedDataParallel against a single process that
sees every rank's data. Prints 'digest <hex>' (rank 0's parameters after training, to compare runs) and 'ok'."""

import hashlib

import fastnn as torch
import fastnn.distributed as dist
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.nn.parallel import DistributedDataParallel as DDP
from fastnn.train import LeNet

dist.init_process_group("mpi")
rank, n = dist.get_rank(), dist.get_world_size()
B, STEPS = 8, 20
g = torch.Generator().manual_seed(0)
X = torch.randn(STEPS, n * B, 1, 32, 32, generator=g)
Y = torch.randint(0, 10, (STEPS, n * B), generator=g)
mine = slice(rank * B, (rank + 1) * B)


def max_rel(a_params, b_params):
    return max(((a - b).abs().max() / b.abs().max()).item() for a, b in zip(a_params, b_params))


def train(bucket_view):
    torch.manual_seed(rank)  # a different initialisation on every rank: DDP starts from rank 0's
    net = LeNet()
    ddp = DDP(net, bucket_cap_mb=0.05, gradient_as_bucket_view=bucket_view)  # small buckets: several reductions
    assert len(ddp._buckets) > 1
    opt = torch.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)
    for s in range(STEPS):
        opt.zero_grad()
        F.cross_entropy(ddp(X[s, mine]), Y[s, mine]).backward()
        opt.step()
    return net


net = train(bucket_view=False)
torch.manual_seed(0)
ref = LeNet()
opt = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
for s in range(STEPS):
    opt.zero_grad()
    F.cross_entropy(ref(X[s]), Y[s]).backward()
    opt.step()
rel = max_rel(net.parameters(), ref.parameters())
assert rel <= 1e-6, f"{n} ranks x batch {B} vs one process at batch {n * B}: max relative difference {rel}"
flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
every = [torch.empty_like(flat) for _ in range(n)]
dist.all_gather(every, flat)
assert all(torch.equal(every[0], e) for e in every), "the ranks' parameters differ"
as_view = train(bucket_view=True)
assert all(torch.equal(a, b) for a, b in zip(net.parameters(), as_view.parameters())), "gradient_as_bucket_view"
if rank == 0:
    print("digest", hashlib.sha256(flat.numpy().tobytes()).hexdigest())

# no_sync: micro-batches accumulate locally; the next synced backward averages the sums
torch.manual_seed(1)
net = LeNet()
ddp = DDP(net)
with ddp.no_sync():
    F.cross_entropy(ddp(X[0, mine]), Y[0, mine]).backward()
F.cross_entropy(ddp(X[1, mine]), Y[1, mine]).backward()
torch.manual_seed(1)
ref = LeNet()
for r in range(n):
    rows = slice(r * B, (r + 1) * B)
    (F.cross_entropy(ref(X[0, rows]), Y[0, rows]) + F.cross_entropy(ref(X[1, rows]), Y[1, rows])).backward()
rel = max_rel([p.grad for p in net.parameters()], [p.grad / n for p in ref.parameters()])
assert rel <= 1e-6, f"no_sync: {rel}"


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.a, self.b, self.never = nn.Linear(4, 4), nn.Linear(4, 1), nn.Linear(4, 1), nn.Linear(4, 1)

    def forward(self, x, head):
        return (self.a if head == 0 else self.b)(self.body(x))


x = torch.randn(n, 3, 4, generator=g)
torch.manual_seed(2)
model = TwoHeads()
ddp = DDP(model)
try:  # without find_unused_parameters an unused parameter is a clear error, on every rank
    ddp(x[rank], 0).sum().backward()
    raise AssertionError("an unused parameter was not reported")
except RuntimeError as e:
    assert "did not receive a gradient in this backward" in str(e) and "never.weight, never.bias" in str(e), e
del ddp  # its hooks go with it
model.zero_grad()
ddp = DDP(model, find_unused_parameters=True)
ddp(x[rank], rank % 2).sum().backward()  # rank 0 uses head a, rank 1 head b
torch.manual_seed(2)
ref = TwoHeads()
for r in range(n):
    ref(x[r], r % 2).sum().backward()
for (name, p), q in zip(model.named_parameters(), ref.parameters()):
    if name.startswith("never") or (n == 1 and name.startswith("b.")):
        assert p.grad is None, f"{name}: unused on every rank, its .grad must stay None"
    else:
        assert max_rel([p.grad], [q.grad / n]) <= 1e-6, (name, p.grad, q.grad / n)

# a backward that raises half-way (after some gradients were reduced) leaves DDP ready for the next step
torch.manual_seed(3)
model = TwoHeads()
# a bucket per parameter: a.* are reduced before body's gradient fails
ddp = DDP(model, bucket_cap_mb=1e-5, find_unused_parameters=True)


def boom(grad):
    raise ValueError("boom")


handle = model.body.register_forward_hook(lambda m, i, out: out.register_hook(boom) and None)
try:
    ddp(x[rank], 0).sum().backward()
    raise AssertionError("the hook did not raise")
except ValueError as e:
    assert "boom" in str(e)
assert ddp._in_backward and ddp._next > 0  # reductions were under way when it failed
handle.remove()
model.zero_grad()
ddp(x[rank], 0).sum().backward()
torch.manual_seed(3)
ref = TwoHeads()
for r in range(n):
    ref(x[r], 0).sum().backward()
assert max_rel([model.body.weight.grad], [ref.body.weight.grad / n]) <= 1e-6 and model.b.weight.grad is None

# buffers: every forward with grad enabled starts from rank 0's
bn = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
ddp = DDP(bn).eval()
bn[1].running_mean.fill_(float(rank))
ddp(x[rank])
assert bn[1].running_mean.tolist() == [0.0] * 4
# DDP over a subgroup: ranks 0 and 1 average between themselves
pair = dist.new_group([0, 1] if n > 1 else [0])
if rank < 2:
    torch.manual_seed(rank)
    lin = nn.Linear(2, 1)
    ddp = DDP(lin, process_group=pair)
    ddp(torch.ones(1, 2) * (rank + 1)).sum().backward()
    assert lin.weight.grad.tolist() == [[1.5, 1.5] if n > 1 else [1.0, 1.0]], lin.weight.grad
else:
    assert pair is dist.GroupMember.NON_GROUP_MEMBER
dist.destroy_process_group()
print(f"ok rank {rank}")
