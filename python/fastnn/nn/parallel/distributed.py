"""DistributedDataParallel: data-parallel training over fastnn.distributed's ranks, as torch's.

Each rank runs the whole model on its part of the batch. At construction rank 0's parameters and buffers are
broadcast to every rank. Parameters are grouped into buckets of about bucket_cap_mb in reverse order (the order
backward produces their gradients). During backward, a post-accumulate-grad hook on each parameter counts its
gradient in; when a bucket is complete, its gradients are copied into its flat buffer, which is all-reduced on the
communication thread while the backward goes on. When the backward ends (an autograd final callback) every bucket
is waited for and each gradient becomes the average over ranks.
"""

import contextlib
import weakref

import fastnn
from fastnn import _C
from fastnn import distributed as dist
from fastnn.nn.modules.module import Module

_FIRST_BUCKET_MB = 1.0  # torch's first bucket is small, so the first reduction starts early
_DEFAULT_BUCKET_MB = 25.0
_OP = "DistributedDataParallel"


class _Bucket:
    """Parameters whose gradients are reduced together, and the flat buffer they are reduced in."""

    def __init__(self, indices, params):
        self.indices = indices
        first = params[indices[0]]
        self.flat = fastnn.zeros(sum(params[i].numel() for i in indices), dtype=first.dtype, device=first.device)
        self.views, offset = [], 0
        for i in indices:
            n = params[i].numel()
            self.views.append(self.flat[offset : offset + n].view(params[i].shape))
            offset += n


def _tensors_in(value, out):
    """The tensors in a forward's output (nested tuples, lists and dicts)."""
    if isinstance(value, _C.Tensor):
        out.append(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _tensors_in(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _tensors_in(v, out)
    return out


def _reached_leaves(outputs):
    """ids of the leaf tensors the outputs' autograd graph reaches."""
    seen, leaves = {}, set()  # seen keeps the node wrappers alive, so that their ids are not reused
    stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
    leaves.update(id(t) for t in outputs if t.grad_fn is None and t.requires_grad)
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen[id(node)] = node
        if node.name() == "AccumulateGrad":
            leaves.add(id(node.variable))
        stack.extend(fn for fn, _ in node.next_functions)
    return leaves


class DistributedDataParallel(Module):
    """Wraps `module` (reachable as .module; state_dict keys 'module.*') so that backward averages the gradients
    over the ranks of fastnn.distributed's process group."""

    def __init__(
        self,
        module,
        device_ids=None,
        output_device=None,
        dim=0,
        broadcast_buffers=True,
        init_sync=True,
        process_group=None,
        bucket_cap_mb=None,
        find_unused_parameters=False,
        check_reduction=False,
        gradient_as_bucket_view=False,
        static_graph=False,
        delay_all_reduce_named_params=None,
        param_to_hook_all_reduce=None,
        mixed_precision=None,
        device_mesh=None,
        skip_all_reduce_unused_params=False,
    ):
        super().__init__()
        if not dist.is_initialized():
            raise ValueError(dist._NOT_INITIALIZED)
        if not isinstance(module, Module):
            raise TypeError(f"[{_OP}] module must be a fastnn.nn.Module, got {type(module).__name__}")
        unsupported = {
            "delay_all_reduce_named_params": delay_all_reduce_named_params,
            "param_to_hook_all_reduce": param_to_hook_all_reduce,
            "mixed_precision": mixed_precision,
            "device_mesh": device_mesh,
        }
        for name, value in unsupported.items():
            if value is not None:
                raise ValueError(f"[{_OP}] {name} is not supported by fastnn (got {value!r})")
        for name, value in (
            ("check_reduction", check_reduction),
            ("skip_all_reduce_unused_params", skip_all_reduce_unused_params),
        ):
            if value:
                raise ValueError(f"[{_OP}] {name}=True is not supported by fastnn")
        if process_group is dist.GroupMember.NON_GROUP_MEMBER:
            raise ValueError(f"[{_OP}] this rank is not in process_group")
        dist._engine(_OP, process_group)  # a group of this job's (None: every rank)
        if dim != 0:
            raise ValueError(f"[{_OP}] dim must be 0 (each rank's inputs are its own batch), got {dim!r}")
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any parameter that requires a "
                "gradient."
            )
        devices = {p.device for _, p in module.named_parameters()}
        if len(devices) > 1:
            raise ValueError(f"[{_OP}] the module's parameters must be on one device, got {sorted(map(str, devices))}")
        device = next(iter(devices))
        for name, ids in (("device_ids", device_ids), ("output_device", output_device)):
            if ids is None:
                continue
            wanted = ids if name == "device_ids" else [ids]
            if device.type != "cuda" or not isinstance(wanted, (list, tuple)) or len(wanted) != 1:
                raise ValueError(
                    f"[{_OP}] {name} only works with a module on one GPU (its parameters' device); got {name}={ids!r} "
                    f"and parameters on {device}"
                )
            asked = fastnn.device("cuda", wanted[0]) if isinstance(wanted[0], int) else fastnn.device(wanted[0])
            if asked != device:
                raise ValueError(f"[{_OP}] {name}={ids!r} is not the module's device {device}")
        if bucket_cap_mb is None:
            bucket_cap_mb = _DEFAULT_BUCKET_MB
        if isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, (int, float)) or not bucket_cap_mb > 0:
            raise ValueError(f"[{_OP}] bucket_cap_mb must be a positive number, got {bucket_cap_mb!r}")

        self.module = module
        self.device_ids = [device.index or 0] if device_ids else None  # torch's: None for a CPU module
        self.output_device = self.device_ids[0] if device_ids else None
        self.dim = dim
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.static_graph = bool(static_graph)  # the reducer below works for a static graph as it is
        self.bucket_bytes_cap = int(bucket_cap_mb * 1024 * 1024)
        self.require_backward_grad_sync = True
        self._names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self.process_group = process_group
        self._world = dist.get_world_size(process_group)
        if init_sync:
            self._check_same_model()
            with fastnn.no_grad():
                for t in list(module.parameters()) + list(module.buffers()):
                    dist.broadcast(t, None, group=process_group, group_src=0)
        self._buckets, self._slot = self._make_buckets(bucket_cap_mb)
        self._in_backward = False
        self._unused = frozenset()  # parameters the last forward did not reach (with find_unused_parameters)
        self._hooks = [p.register_post_accumulate_grad_hook(self._make_hook(i)) for i, p in enumerate(self._params)]

    def _check_same_model(self):
        mine = fastnn.tensor([len(self._params), sum(p.numel() for p in self._params)], dtype=fastnn.int64)
        everyone = [fastnn.empty(2, dtype=fastnn.int64) for _ in range(self._world)]
        dist.all_gather(everyone, mine, group=self.process_group)
        for r, theirs in enumerate(everyone):
            if theirs.tolist() != mine.tolist():
                raise RuntimeError(
                    f"[{_OP}] DDP expects the same model on every rank: rank {dist.get_rank(self.process_group)} has "
                    f"{mine[0].item()} parameters ({mine[1].item()} elements), rank {r} has {theirs[0].item()} "
                    f"({theirs[1].item()} elements)"
                )

    def _make_buckets(self, cap_mb):
        """Buckets in reverse parameter order (the order backward produces gradients), one dtype each; the first
        is capped at 1 MB as torch's."""
        buckets, current, size, cap = [], [], 0, min(_FIRST_BUCKET_MB, cap_mb) * 1024 * 1024
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            nbytes = p.numel() * p.element_size()
            if current and (size + nbytes > cap or p.dtype != self._params[current[0]].dtype):
                buckets.append(_Bucket(current, self._params))
                current, size, cap = [], 0, self.bucket_bytes_cap
            current.append(i)
            size += nbytes
        buckets.append(_Bucket(current, self._params))
        slot = {}
        for b, bucket in enumerate(buckets):
            for k, i in enumerate(bucket.indices):
                slot[i] = (b, k)
        return buckets, slot

    def _make_hook(self, i):
        ref = weakref.ref(self)  # the parameters must not keep a discarded wrapper alive

        def hook(param):
            ddp = ref()
            if ddp is not None:
                ddp._grad_ready(i)

        return hook

    def __del__(self):
        for handle in getattr(self, "_hooks", ()):
            handle.remove()

    def forward(self, *inputs, **kwargs):
        if self._in_backward:  # the last backward raised before it ended: its reductions are dropped
            for work in self._works:
                work.wait()
            self._in_backward = False
        grad_on = fastnn.is_grad_enabled()
        if grad_on and self.broadcast_buffers and self._world > 1:
            with fastnn.no_grad():
                for buf in self.module.buffers():
                    dist.broadcast(buf, None, group=self.process_group, group_src=0)
        outputs = self.module(*inputs, **kwargs)
        if self.find_unused_parameters and grad_on and self.require_backward_grad_sync:
            reached = _reached_leaves(_tensors_in(outputs, []))
            self._unused = frozenset(i for i, p in enumerate(self._params) if id(p) not in reached)
        return outputs

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside accumulate gradients locally; the first backward after it averages them."""
        old, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # -- the reducer

    def _start_backward(self):
        self._in_backward = True
        self._left = [len(b.indices) for b in self._buckets]
        self._next, self._works, self._arrived = 0, [], set(self._unused)
        _C._queue_callback(self._finish_backward)
        for i in self._unused:  # a parameter this rank did not use contributes zeros
            self._mark_ready(self._slot[i][0])

    def _grad_ready(self, i):
        if not self.require_backward_grad_sync:
            return
        if not self._in_backward:
            self._start_backward()
        if i in self._arrived:
            raise RuntimeError(
                f"[{_OP}] Expected to mark a variable ready only once: parameter {self._names[i]} got a second "
                "gradient in this backward (or was found unused in the forward and then received one)"
            )
        self._arrived.add(i)
        self._mark_ready(self._slot[i][0])

    def _mark_ready(self, b):
        self._left[b] -= 1
        # buckets are reduced in bucket order on every rank, whatever order their gradients arrive in
        while self._next < len(self._buckets) and self._left[self._next] == 0:
            bucket = self._buckets[self._next]
            self._fill(bucket)
            self._works.append(
                dist.all_reduce(bucket.flat, op=dist.ReduceOp.AVG, group=self.process_group, async_op=True)
            )
            self._next += 1

    def _fill(self, bucket):
        """Copies the bucket's gradients into its flat buffer (zeros for a parameter this rank did not use)."""
        for i, view in zip(bucket.indices, bucket.views):
            grad = self._params[i].grad
            if i in self._unused:
                view.zero_()
            elif grad.data_ptr() != view.data_ptr():  # with gradient_as_bucket_view .grad may be the view already
                view.copy_(grad)

    def _finish_backward(self):
        self._in_backward = False
        for work in self._works:
            work.wait()
        if self._next < len(self._buckets):
            missing = [name for i, name in enumerate(self._names) if i not in self._arrived]
            raise RuntimeError(
                f"[{_OP}] Expected to have finished reduction: parameters that did not receive a gradient in this "
                f"backward on rank {dist.get_rank(self.process_group)}: {', '.join(missing)}. If the forward does not use them, pass "
                "find_unused_parameters=True to DistributedDataParallel; make sure every forward output takes part "
                "in the loss."
            )
        used = None
        if self.find_unused_parameters:
            used = fastnn.tensor([int(i not in self._unused) for i in range(len(self._params))], dtype=fastnn.int64)
            dist.all_reduce(used, op=dist.ReduceOp.MAX, group=self.process_group)
            used = used.tolist()
        with fastnn.no_grad():
            for bucket in self._buckets:
                for i, view in zip(bucket.indices, bucket.views):
                    p = self._params[i]
                    if used is not None and not used[i]:
                        continue  # unused on every rank: its .grad stays as it was
                    if self.gradient_as_bucket_view or p.grad is None:
                        p.grad = view if self.gradient_as_bucket_view else view.clone()
                    else:
                        p.grad.copy_(view)
        self._unused = frozenset()
