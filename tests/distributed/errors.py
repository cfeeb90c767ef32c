"""Run by tests/python/test_distributed.py as a single process (an MPI singleton, no launcher): the mistakes
users make get clear errors naming the op and the numbers. Prints 'ok'."""

import datetime
import re

import fastnn as torch
import fastnn.distributed as dist
import fastnn.nn as nn
from fastnn.nn.parallel import DistributedDataParallel as DDP


def raises(kind, pattern, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except kind as e:
        assert re.search(pattern, str(e)), f"{fn.__name__}: {e!r} does not match {pattern!r}"
        return
    raise AssertionError(f"{fn.__name__}{args} did not raise {kind.__name__}")


raises(ValueError, "rank=3, but the MPI launcher made this process rank 0", dist.init_process_group, "mpi", rank=3)
raises(ValueError, "world_size=2, but .* world_size 1", dist.init_process_group, world_size=2)
raises(TypeError, "timeout must be a positive datetime.timedelta", dist.init_process_group, timeout=5)
assert not dist.is_initialized()
dist.init_process_group(timeout=datetime.timedelta(seconds=60))
raises(ValueError, "initialize the default process group twice", dist.init_process_group)
assert dist.get_rank() == 0 and dist.get_world_size() == 1

raises(
    ValueError, r"\[all_reduce\] tensor must be contiguous \(shape \(3, 2\)\)", dist.all_reduce, torch.ones(2, 3).t()
)
raises(TypeError, r"\[all_reduce\] tensor must be a fastnn Tensor, got list", dist.all_reduce, [1.0])
raises(
    TypeError,
    r"ReduceOp.AVG needs a floating-point tensor, got int64",
    dist.all_reduce,
    torch.ones(2, dtype=torch.int64),
    op=dist.ReduceOp.AVG,
)
raises(TypeError, r"op must be a dist.ReduceOp", dist.all_reduce, torch.ones(2), op="sum")
raises(TypeError, "bfloat16", dist.all_reduce, torch.ones(2, dtype=torch.bfloat16))
raises(ValueError, r"\[broadcast\] src must be a rank in \[0, 0\], got 1", dist.broadcast, torch.ones(2), 1)
raises(
    ValueError,
    r"\[all_gather\] tensor_list must have one tensor per rank: 1, got 2",
    dist.all_gather,
    [torch.ones(2)] * 2,
    torch.ones(2),
)
raises(
    ValueError,
    r"tensor_list\[0\] has dtype fastnn.float64 and shape \(2,\)",
    dist.all_gather,
    [torch.ones(2, dtype=torch.float64)],
    torch.ones(2),
)
raises(
    ValueError,
    r"output_tensor must have world_size \(1\) times",
    dist.all_gather_into_tensor,
    torch.ones(3),
    torch.ones(2),
)
raises(ValueError, r"input must have world_size \(1\) times", dist.reduce_scatter_tensor, torch.ones(3), torch.ones(2))
raises(
    ValueError,
    "group must be None, dist.group.WORLD or a group from new_group",
    dist.all_reduce,
    torch.ones(2),
    group="x",
)
raises(ValueError, "device_ids is for NCCL", dist.barrier, device_ids=[0])
raises(
    ValueError,
    r"\[send\] Invalid dst rank 0: should not be the same as the rank of the current process",
    dist.send,
    torch.ones(1),
    0,
)
raises(ValueError, r"\[reduce\] dst must be a rank in \[0, 0\], got 2", dist.reduce, torch.ones(1), 2)
raises(ValueError, r"\[gather\] gather_list must have one tensor per rank: 1, got 0", dist.gather, torch.ones(1), [])
raises(
    ValueError,
    r"\[all_gather_object\] object_list must have one entry per rank: 1, got 2",
    dist.all_gather_object,
    [None, None],
    1,
)
raises(ValueError, r"\[broadcast_object_list\] device is for NCCL", dist.broadcast_object_list, [1], device="cuda")
raises(ValueError, "ranks list must not contain duplicate entries", dist.new_group, [0, 0])
raises(ValueError, r"\[new_group\] ranks must be ranks in \[0, 0\], got 5", dist.new_group, [5])
raises(ValueError, "doesn't support use_local_synchronization=True", dist.new_group, use_local_synchronization=True)
solo = dist.new_group([0])
assert dist.get_process_group_ranks(solo) == [0] and "ranks=[0]" in repr(solo)
dist.destroy_process_group(solo)
raises(
    ValueError,
    r"\[all_reduce\] ProcessGroup\(backend='mpi', ranks=\[0\]\) was destroyed",
    dist.all_reduce,
    torch.ones(1),
    group=solo,
)
t = torch.ones(2)
dist.reduce(t, 0, op=dist.ReduceOp.AVG)
assert t.tolist() == [1.0, 1.0]

model = nn.Linear(2, 2)
raises(ValueError, "device_ids only works with a module on one GPU", DDP, model, device_ids=[0])
raises(ValueError, "mixed_precision is not supported", DDP, model, mixed_precision=object())
raises(ValueError, "bucket_cap_mb must be a positive number, got 0", DDP, model, bucket_cap_mb=0)
raises(ValueError, "dim must be 0", DDP, model, dim=1)
raises(RuntimeError, "doesn't have any parameter that requires a gradient", DDP, nn.ReLU())
raises(TypeError, "module must be a fastnn.nn.Module", DDP, lambda x: x)

ddp = DDP(model)
assert list(ddp.state_dict()) == ["module.weight", "module.bias"]
assert ddp.device_ids is None and ddp.output_device is None and ddp.module is model  # torch's for a CPU module
assert repr(ddp) == "DistributedDataParallel(\n  (module): Linear(in_features=2, out_features=2, bias=True)\n)"
x = torch.randn(4, 2)
ddp(x).sum().backward()
ref = nn.Linear(2, 2)
ref.load_state_dict(model.state_dict())
ref(x).sum().backward()
assert torch.equal(model.weight.grad, ref.weight.grad)  # one rank: the average is the gradient itself
dist.destroy_process_group()
raises(ValueError, "Default process group has not been initialized", dist.get_rank)
print("ok")
