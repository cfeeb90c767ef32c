"""Run by tests/python/test_distributed.py under mpirun: every collective against the values each rank can work
out for itself (each rank's input is a function of its rank). Prints 'ok' on success; any mismatch raises."""

import numpy as np

import fastnn as torch
import fastnn.distributed as dist
from fastnn.distributed import ReduceOp

dist.init_process_group("mpi")
rank, n = dist.get_rank(), dist.get_world_size()
assert dist.is_initialized() and dist.get_backend() == "mpi"


def rank_input(r, size, dtype):
    """Rank r's tensor: different on every rank, with float values whose sum depends on the order of addition."""
    g = torch.Generator().manual_seed(100 + r)
    if dtype in (torch.int64, torch.int32):
        return torch.randint(-50, 50, (size,), generator=g, dtype=dtype)
    return (torch.randn(size, generator=g, dtype=dtype) * 10.0**r).to(dtype)


def rank_order(op, arrays):
    """The reduction as fastnn.distributed promises it: element-wise, in rank order 0, 1, ..., n-1."""
    acc = arrays[0].copy()
    f = {"SUM": np.add, "AVG": np.add, "PRODUCT": np.multiply, "MIN": np.minimum, "MAX": np.maximum}[op.value]
    for a in arrays[1:]:
        f(acc, a, out=acc)
    if op == ReduceOp.AVG:
        acc = acc / n
    return acc


for dtype in (torch.float32, torch.float64, torch.int64, torch.int32):
    for size in (0, 1, n - 1, 7, 1000, 4099):
        for op in ReduceOp:
            if op == ReduceOp.AVG and dtype in (torch.int64, torch.int32):
                continue
            t = rank_input(rank, size, dtype)
            before = t.data_ptr()
            dist.all_reduce(t, op=op)
            want = rank_order(op, [rank_input(r, size, dtype).numpy() for r in range(n)])
            assert t.data_ptr() == before, "all_reduce must work in place"
            assert t.numpy().tobytes() == want.astype(t.numpy().dtype).tobytes(), (dtype, size, op, t, want)

# a non-trivial shape, and the asynchronous form
t = rank_input(rank, 24, torch.float32).reshape(2, 3, 4)
work = dist.all_reduce(t, async_op=True)
assert work.wait() is True and work.is_completed()
want = rank_order(ReduceOp.SUM, [rank_input(r, 24, torch.float32).numpy() for r in range(n)]).reshape(2, 3, 4)
assert np.array_equal(t.numpy(), want)

for src in range(n):
    t = rank_input(rank, 5, torch.float64)
    dist.broadcast(t, src=src)
    assert torch.equal(t, rank_input(src, 5, torch.float64))

outs = [torch.empty(2, 3, dtype=torch.int64) for _ in range(n)]
dist.all_gather(outs, torch.full((2, 3), rank * 10 + 1, dtype=torch.int64))
assert [o[0, 0].item() for o in outs] == [r * 10 + 1 for r in range(n)]

out = torch.empty(n * 3)
dist.all_gather_into_tensor(out, torch.arange(3.0) + rank)
assert out.tolist() == [float(i + r) for r in range(n) for i in range(3)]

for op in (ReduceOp.SUM, ReduceOp.MAX, ReduceOp.AVG):
    inputs = [rank_input(rank * n + j, 6, torch.float32) for j in range(n)]
    out = torch.empty(6)
    dist.reduce_scatter(out, inputs, op=op)
    want = rank_order(op, [rank_input(r * n + rank, 6, torch.float32).numpy() for r in range(n)])
    assert np.array_equal(out.numpy(), want.astype(np.float32)), (op, out, want)
    flat = torch.cat(inputs)
    out2 = torch.empty(6)
    dist.reduce_scatter_tensor(out2, flat, op=op)
    assert torch.equal(out, out2)

for dst in range(n):  # reduce: only dst's tensor changes
    t = rank_input(rank, 9, torch.float32)
    dist.reduce(t, dst=dst, op=ReduceOp.SUM)
    want = rank_order(ReduceOp.SUM, [rank_input(r, 9, torch.float32).numpy() for r in range(n)])
    mine = want if rank == dst else rank_input(rank, 9, torch.float32).numpy()
    assert t.numpy().tobytes() == mine.tobytes(), (dst, t, mine)

dst = n - 1
parts = [torch.empty(2, 2) for _ in range(n)] if rank == dst else None
dist.gather(torch.full((2, 2), float(rank)), parts, dst=dst)
if rank == dst:
    assert [p[1, 1].item() for p in parts] == [float(r) for r in range(n)]
mine = torch.empty(3, dtype=torch.int64)
parts = [torch.full((3,), 7 * r, dtype=torch.int64) for r in range(n)] if rank == 0 else None
dist.scatter(mine, parts, src=0)
assert mine.tolist() == [7 * rank] * 3

if n > 1:  # point to point: a ring, then any-source receives on rank 0
    right, left = (rank + 1) % n, (rank - 1) % n
    got = torch.empty(4)
    if rank % 2 == 0:
        dist.send(torch.full((4,), float(rank)), dst=right, tag=5)
        assert dist.recv(got, src=left, tag=5) == left
    else:
        work = dist.irecv(got, src=left, tag=5)
        dist.isend(torch.full((4,), float(rank)), dst=right, tag=5).wait()
        work.wait()
    assert got.tolist() == [float(left)] * 4
    if rank == 0:
        senders = sorted(dist.recv(got, tag=9) for _ in range(n - 1))
        assert senders == list(range(1, n))
    else:
        dist.send(torch.full((4,), float(rank)), dst=0, tag=9)

# objects (pickled; tensors travel as arrays)
mine = {"rank": rank, "name": "r" * rank, "t": torch.full((2,), float(rank))}
everyone = [None] * n
dist.all_gather_object(everyone, mine)
assert [o["name"] for o in everyone] == ["r" * r for r in range(n)]
assert all(torch.equal(o["t"], torch.full((2,), float(r))) for r, o in enumerate(everyone))
objects = [{"seed": 42}, [1, 2, 3], None] if rank == n - 1 else [None, None, None]
dist.broadcast_object_list(objects, src=n - 1)
assert objects == [{"seed": 42}, [1, 2, 3], None]
gathered = [None] * n if rank == 0 else None
dist.gather_object(("from", rank), gathered, dst=0)
if rank == 0:
    assert gathered == [("from", r) for r in range(n)]
out = [None]
dist.scatter_object_list(out, [f"part {r}" * (r + 1) for r in range(n)] if rank == 0 else None, src=0)
assert out == [f"part {rank}" * (rank + 1)]

# subgroups: made by every rank; src/dst stay global ranks, group_src/get_rank(group) count within the group
evens = [r for r in range(n) if r % 2 == 0]
g = dist.new_group(evens)
backwards = dist.new_group(list(reversed(range(n))), sort_ranks=False)
assert dist.get_rank(backwards) == n - 1 - rank and dist.get_global_rank(backwards, 0) == n - 1
if rank in evens:
    assert dist.get_rank(g) == evens.index(rank) and dist.get_world_size(g) == len(evens)
    assert dist.get_process_group_ranks(g) == evens and dist.get_group_rank(g, evens[-1]) == len(evens) - 1
    t = torch.tensor([float(rank)])
    dist.all_reduce(t, group=g)
    assert t.item() == float(sum(evens))
    t = torch.tensor([float(rank)])
    dist.broadcast(t, src=evens[-1], group=g)
    assert t.item() == float(evens[-1])
    t = torch.tensor([float(rank)])
    dist.broadcast(t, None, group=g, group_src=0)
    assert t.item() == 0.0
    dist.destroy_process_group(g)
else:
    assert g is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(g) == -1 and dist.get_world_size(g) == -1
    assert dist.all_reduce(torch.ones(1), group=g) is None  # a no-op outside the group, as torch's
t = torch.tensor([float(rank)])
dist.all_reduce(t, group=backwards, op=ReduceOp.MAX)
assert t.item() == float(n - 1)
if n > 1:
    sender = dist.recv(t, src=n - 1, group=backwards) if rank == 0 else None
    if rank == n - 1:
        dist.send(torch.tensor([5.0]), dst=0, group=backwards)
    assert rank != 0 or (sender == n - 1 and t.item() == 5.0)  # recv names the sender by its global rank

dist.barrier()
dist.barrier(async_op=True).wait()
dist.destroy_process_group()
assert not dist.is_initialized()
dist.init_process_group("mpi", rank=rank, world_size=n)  # a second group after destroy, with matching numbers
t = torch.ones(3)
dist.all_reduce(t)
assert t.tolist() == [float(n)] * 3
print(f"ok rank {rank}")
