"""fastnn.distributed: torch.distributed's process-group API on MPI (mpi4py over the system's Open MPI).

    mpirun -n 2 python train.py          # in train.py: dist.init_process_group("mpi")

The launcher (mpirun) starts the ranks and tells each its rank and the world size. Collectives work in place
on contiguous fastnn tensors (a GPU tensor goes through host memory); reductions combine the ranks' values in
rank order, so a run gives the same bits every time whatever MPI's algorithms. A rank that raises ends the whole
job (MPI_Abort), and a collective that waits longer than the group's timeout raises instead of hanging.
"""

import datetime
import enum
import functools
import sys

import numpy as np

from fastnn import _C
from fastnn._dtype import bfloat16
from fastnn.distributed import _mpi


class ReduceOp(enum.Enum):
    """How all_reduce and reduce_scatter combine the ranks' tensors."""

    SUM = "SUM"
    AVG = "AVG"
    PRODUCT = "PRODUCT"
    MIN = "MIN"
    MAX = "MAX"


class Backend(str):
    """Backend names as torch spells them; fastnn has MPI."""

    MPI = "mpi"


class ProcessGroup:
    """A group of ranks: the default one (every rank of the MPI job) or one made by new_group, with its own
    communicator and communication thread."""

    def __init__(self, engine, desc="default_pg"):
        self._engine, self.desc = engine, desc

    def rank(self):
        return self._engine.rank

    def size(self):
        return self._engine.size

    def __repr__(self):
        return f"ProcessGroup(backend='mpi', ranks={self._engine.ranks})"


class _NonGroupMember:
    """What new_group returns on a rank outside the group: collectives given it do nothing, as torch's."""

    def __repr__(self):
        return "GroupMember.NON_GROUP_MEMBER"


class GroupMember:
    WORLD = None
    NON_GROUP_MEMBER = _NonGroupMember()


class _World:
    group = None  # the default ProcessGroup while initialized
    engine = None  # its _mpi.Engine
    subgroups = []  # the groups new_group made, closed with the default one
    excepthook = None  # sys.excepthook before init_process_group wrapped it


class group:  # noqa: N801  (torch's spelling: dist.group.WORLD)
    WORLD = None


_DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)
_NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."


def is_available():
    """True: the process-group API is there (init_process_group then needs mpi4py and an MPI library)."""
    return True


def is_mpi_available():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_gloo_available():
    return False


def is_nccl_available():
    return False


def is_initialized():
    return _World.group is not None


def _engine(op, group=None):
    """The engine of `group` (None: the default group)."""
    if _World.engine is None:
        raise ValueError(_NOT_INITIALIZED)
    if group is None:
        return _World.engine
    if not isinstance(group, ProcessGroup):
        raise ValueError(f"[{op}] group must be None, dist.group.WORLD or a group from new_group, got {group!r}")
    if group is not _World.group and group not in _World.subgroups:
        raise ValueError(f"[{op}] {group!r} was destroyed")
    return group._engine


def _members_only(fn):
    """A collective called with GroupMember.NON_GROUP_MEMBER does nothing and returns None (torch's behaviour)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs.get("group") is GroupMember.NON_GROUP_MEMBER or any(a is GroupMember.NON_GROUP_MEMBER for a in args):
            return None
        return fn(*args, **kwargs)

    return wrapper


def init_process_group(
    backend=None,
    init_method=None,
    timeout=None,
    world_size=-1,
    rank=-1,
    store=None,
    group_name="",  # deprecated and ignored by torch too
    pg_options=None,
    device_id=None,
):
    """Joins the MPI job's ranks into the default process group. rank and world_size, when given, must be what the
    launcher assigned; timeout (a timedelta, default 30 minutes) bounds every collective's wait."""
    op = "init_process_group"
    if _World.group is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(
            f"[{op}] backend {backend!r} is not available: fastnn.distributed runs on MPI (backend='mpi'), "
            "launched with mpirun"
        )
    if init_method not in (None, "env://"):
        raise ValueError(
            f"[{op}] init_method {init_method!r} is not used by the MPI backend: the MPI launcher (mpirun) connects "
            "the ranks; pass None or 'env://'"
        )
    for name, value in (("store", store), ("pg_options", pg_options), ("device_id", device_id)):
        if value is not None:
            raise ValueError(f"[{op}] {name} is not supported by the MPI backend (got {value!r})")
    if timeout is None:
        timeout = _DEFAULT_TIMEOUT
    if not isinstance(timeout, datetime.timedelta) or timeout.total_seconds() <= 0:
        raise TypeError(f"[{op}] timeout must be a positive datetime.timedelta, got {timeout!r}")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise RuntimeError(
            f"[{op}] the MPI backend needs mpi4py and an MPI library: apt-get install openmpi-bin libopenmpi-dev; "
            "pip install mpi4py"
        ) from None
    engine = _mpi.Engine(timeout.total_seconds())
    for name, given, actual in (("rank", rank, engine.rank), ("world_size", world_size, engine.size)):
        if given != -1 and given != actual:
            engine.close()
            raise ValueError(f"[{op}] {name}={given}, but the MPI launcher made this process {name} {actual}")
    _set_world(engine, ProcessGroup(engine))
    _World.excepthook = sys.excepthook
    sys.excepthook = _abort_on_error


def _abort_on_error(kind, value, tb):
    """An uncaught error on one rank ends every rank (the others would wait for it forever)."""
    _World.excepthook(kind, value, tb)
    engine = _World.engine
    if engine is not None and engine.size > 1:
        sys.stderr.write(
            f"fastnn.distributed: rank {engine.rank} of {engine.size} raised {kind.__name__}; aborting all ranks\n"
        )
        sys.stderr.flush()
        engine.abort(1)


def destroy_process_group(group=None):
    """Closes a group from new_group, or (None) every group: MPI itself stays initialized, and
    init_process_group may be called again."""
    engine = _engine("destroy_process_group", group)
    if group is not None and group is not _World.group:
        _World.subgroups.remove(group)
        engine.close()
        return
    try:
        while _World.subgroups:
            _World.subgroups.pop()._engine.close()
        engine.close()
    finally:
        sys.excepthook = _World.excepthook
        _set_world(None, None)


def _set_world(engine, process_group):
    _World.engine, _World.group = engine, process_group
    group.WORLD = GroupMember.WORLD = process_group


def new_group(
    ranks=None,
    timeout=None,
    backend=None,
    pg_options=None,
    use_local_synchronization=False,
    group_desc=None,
    device_id=None,
    sort_ranks=True,
):
    """A group of some of the ranks (every rank must call it, in the same order as the other collectives); on a
    rank outside it, GroupMember.NON_GROUP_MEMBER. src/dst arguments stay global ranks; group_src/group_dst and
    get_rank(group) count within the group."""
    op = "new_group"
    world = _engine(op)
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(f"[{op}] backend {backend!r} is not available: fastnn.distributed runs on MPI")
    for name, value in (("pg_options", pg_options), ("device_id", device_id)):
        if value is not None:
            raise ValueError(f"[{op}] {name} is not supported by the MPI backend (got {value!r})")
    if use_local_synchronization:
        raise ValueError(f"[{op}] MPI backend doesn't support use_local_synchronization=True")
    if timeout is not None and (not isinstance(timeout, datetime.timedelta) or timeout.total_seconds() <= 0):
        raise TypeError(f"[{op}] timeout must be a positive datetime.timedelta, got {timeout!r}")
    if ranks is not None and not isinstance(ranks, (list, tuple, range)):
        raise TypeError(f"[{op}] ranks must be a list of ranks, got {type(ranks).__name__}")
    ranks = list(range(world.size)) if ranks is None else list(ranks)
    for r in ranks:
        if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r < world.size:
            raise ValueError(f"[{op}] ranks must be ranks in [0, {world.size - 1}], got {r!r}")
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"[{op}] ranks list must not contain duplicate entries, got {ranks}")
    if sort_ranks:
        ranks = sorted(ranks)
    member = world.rank in ranks
    color = 0 if member else world.MPI.UNDEFINED
    key = ranks.index(world.rank) if member else 0
    comm = world.run(op, lambda: world.comm.Split(color, key), False)
    if not member:
        return GroupMember.NON_GROUP_MEMBER
    seconds = world.timeout_s if timeout is None else timeout.total_seconds()
    made = ProcessGroup(_mpi.Engine(seconds, comm, ranks), group_desc or f"group {ranks}")
    _World.subgroups.append(made)
    return made


def get_process_group_ranks(group):
    """The group's members as global ranks, in group order."""
    return list(_engine("get_process_group_ranks", group).ranks)


def get_global_rank(group, group_rank):
    ranks = _engine("get_global_rank", group).ranks
    if isinstance(group_rank, bool) or not isinstance(group_rank, int) or not 0 <= group_rank < len(ranks):
        raise ValueError(f"[get_global_rank] Group rank {group_rank!r} is not part of group {ranks}")
    return ranks[group_rank]


def get_group_rank(group, global_rank):
    ranks = _engine("get_group_rank", group).ranks
    if global_rank not in ranks:
        raise ValueError(f"[get_group_rank] Global rank {global_rank!r} is not part of group {ranks}")
    return ranks.index(global_rank)


def get_rank(group=None):
    """This process's rank in the group (-1 outside it)."""
    return -1 if group is GroupMember.NON_GROUP_MEMBER else _engine("get_rank", group).rank


def get_world_size(group=None):
    """The group's size (-1 on a rank outside it)."""
    return -1 if group is GroupMember.NON_GROUP_MEMBER else _engine("get_world_size", group).size


def get_backend(group=None):
    _engine("get_backend", group)
    return Backend.MPI


def _host_array(op, tensor, what="tensor"):
    """(1-D NumPy array over the tensor's bytes, a function that writes it back): the tensor's own memory on the
    CPU; a GPU tensor goes through a host copy."""
    if not isinstance(tensor, _C.Tensor):
        raise TypeError(f"[{op}] {what} must be a fastnn Tensor, got {type(tensor).__name__}")
    if not tensor.is_contiguous():
        raise ValueError(f"[{op}] {what} must be contiguous (shape {tuple(tensor.shape)})")
    if tensor.dtype == bfloat16:  # NumPy has no bfloat16 to view it as
        raise TypeError(f"[{op}] bfloat16 tensors are not supported by fastnn.distributed yet")
    t = tensor.detach()
    if t.is_cuda:
        host = t.cpu()
        return host.numpy().reshape(-1), lambda: t.copy_(host)
    return t.numpy().reshape(-1), lambda: None


def _op_name(op_name, op):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"[{op_name}] op must be a dist.ReduceOp, got {op!r}")
    return op.value


def _check_avg(op_name, op, arr):
    if op == "AVG" and arr.dtype.kind not in "fc":
        raise TypeError(f"[{op_name}] ReduceOp.AVG needs a floating-point tensor, got {arr.dtype}")


@_members_only
def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Every rank's tensor becomes the reduction of all ranks' tensors (combined in rank order)."""
    engine = _engine("all_reduce", group)
    reduce_op = _op_name("all_reduce", op)
    arr, write_back = _host_array("all_reduce", tensor)
    _check_avg("all_reduce", reduce_op, arr)

    def run():
        engine.allreduce(arr, reduce_op)
        if reduce_op == "AVG":
            np.divide(arr, engine.size, out=arr)
        write_back()

    return engine.run("all_reduce", run, async_op)


@_members_only
def broadcast(tensor, src, group=None, async_op=False, group_src=None):
    """Every rank's tensor becomes rank src's."""
    engine = _engine("broadcast", group)
    src = _rank_arg("broadcast", engine, "src", src, group_src)
    arr, write_back = _host_array("broadcast", tensor)

    def run():
        engine.broadcast(arr.view(np.uint8), src)
        write_back()

    return engine.run("broadcast", run, async_op)


def _check_same(op, tensors, ref, what):
    for i, t in enumerate(tensors):
        if not isinstance(t, _C.Tensor):
            raise TypeError(f"[{op}] {what}[{i}] must be a fastnn Tensor, got {type(t).__name__}")
        if t.dtype != ref.dtype or tuple(t.shape) != tuple(ref.shape):
            raise ValueError(
                f"[{op}] {what}[{i}] has dtype {t.dtype} and shape {tuple(t.shape)}; expected {ref.dtype} and "
                f"{tuple(ref.shape)}"
            )


def _tensor_list(op, tensors, what, size):
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"[{op}] {what} must be a list of tensors, got {type(tensors).__name__}")
    if len(tensors) != size:
        raise ValueError(f"[{op}] {what} must have one tensor per rank: {size}, got {len(tensors)}")


@_members_only
def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[r] <- rank r's tensor, on every rank."""
    engine = _engine("all_gather", group)
    _tensor_list("all_gather", tensor_list, "tensor_list", engine.size)
    arr, _ = _host_array("all_gather", tensor)
    _check_same("all_gather", tensor_list, tensor, "tensor_list")
    outs = [_host_array("all_gather", t, f"tensor_list[{i}]") for i, t in enumerate(tensor_list)]
    gathered = np.empty((engine.size, arr.size), dtype=arr.dtype)

    def run():
        engine.allgather(arr.view(np.uint8), gathered.view(np.uint8).reshape(-1))
        for (out, write_back), row in zip(outs, gathered):
            out[...] = row
            write_back()

    return engine.run("all_gather", run, async_op)


def _check_slices(op, engine, whole, part):
    """whole = (array, tensor, name) must hold world_size times part's elements, of part's dtype."""
    (w, w_tensor, w_name), (p, p_tensor, p_name) = whole, part
    if w.dtype != p.dtype or w.size != p.size * engine.size:
        raise ValueError(
            f"[{op}] {w_name} must have world_size ({engine.size}) times the {p_name}'s {p.size} elements of "
            f"{p_tensor.dtype}; got {w.size} of {w_tensor.dtype}"
        )


@_members_only
def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """output_tensor (world_size times input_tensor's elements) <- every rank's input_tensor, in rank order."""
    engine = _engine("all_gather_into_tensor", group)
    arr, _ = _host_array("all_gather_into_tensor", input_tensor, "input_tensor")
    out, write_back = _host_array("all_gather_into_tensor", output_tensor, "output_tensor")
    _check_slices("all_gather_into_tensor", engine, (out, output_tensor, "output_tensor"), (arr, input_tensor, "input"))

    def run():
        engine.allgather(arr.view(np.uint8), out.view(np.uint8))
        write_back()

    return engine.run("all_gather_into_tensor", run, async_op)


@_members_only
def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """output <- the reduction over ranks of their input_list[rank] (combined in rank order)."""
    engine = _engine("reduce_scatter", group)
    reduce_op = _op_name("reduce_scatter", op)
    _tensor_list("reduce_scatter", input_list, "input_list", engine.size)
    out, write_back = _host_array("reduce_scatter", output, "output")
    _check_same("reduce_scatter", input_list, output, "input_list")
    _check_avg("reduce_scatter", reduce_op, out)
    send = np.concatenate([_host_array("reduce_scatter", t, f"input_list[{i}]")[0] for i, t in enumerate(input_list)])
    return _reduce_scatter_run(engine, "reduce_scatter", send, out, write_back, reduce_op, async_op)


@_members_only
def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):
    """output <- the reduction over ranks of the rank-th of world_size equal slices of their input."""
    engine = _engine("reduce_scatter_tensor", group)
    reduce_op = _op_name("reduce_scatter_tensor", op)
    out, write_back = _host_array("reduce_scatter_tensor", output, "output")
    send, _ = _host_array("reduce_scatter_tensor", input, "input")
    _check_slices("reduce_scatter_tensor", engine, (send, input, "input"), (out, output, "output"))
    _check_avg("reduce_scatter_tensor", reduce_op, out)
    return _reduce_scatter_run(engine, "reduce_scatter_tensor", send, out, write_back, reduce_op, async_op)


def _reduce_scatter_run(engine, name, send, out, write_back, reduce_op, async_op):
    def run():
        out[...] = engine.reduce_chunks(send, [out.size] * engine.size, reduce_op)
        if reduce_op == "AVG":
            np.divide(out, engine.size, out=out)
        write_back()

    return engine.run(name, run, async_op)


def _rank_arg(op, engine, name, value, alias=None, default=None):
    """The group rank that dst/src (a global rank) or group_dst/group_src (alias: a rank within the group; default,
    when both are None) name."""
    if alias is not None or value is None:
        value = alias if alias is not None else default
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < engine.size:
            raise ValueError(f"[{op}] group_{name} must be a rank in [0, {engine.size - 1}], got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value not in engine.ranks:
        where = f"[0, {engine.size - 1}]" if engine.ranks == list(range(engine.size)) else f"the group {engine.ranks}"
        raise ValueError(f"[{op}] {name} must be a rank in {where}, got {value!r}")
    return engine.ranks.index(value)


@_members_only
def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Rank dst's tensor becomes the reduction of every rank's (combined in rank order); the others' are unchanged."""
    engine = _engine("reduce", group)
    dst = _rank_arg("reduce", engine, "dst", dst, group_dst)
    reduce_op = _op_name("reduce", op)
    arr, write_back = _host_array("reduce", tensor)
    _check_avg("reduce", reduce_op, arr)
    work = arr.copy()

    def run():
        engine.allreduce(work, reduce_op)
        if engine.rank != dst:
            return
        if reduce_op == "AVG":
            np.divide(work, engine.size, out=work)
        np.copyto(arr, work)
        write_back()

    return engine.run("reduce", run, async_op)


def _root_list(op, engine, root, tensors, name, like, role):
    """The host arrays of the root's list of one tensor per rank, like `like`; None on the other ranks, which must
    pass no list."""
    if engine.rank != root:
        if tensors:
            raise ValueError(
                f"[{op}] Argument ``{name}`` must NOT be specified on non-{role} ranks (rank {engine.rank})"
            )
        return None
    _tensor_list(op, tensors, name, engine.size)
    _check_same(op, tensors, like, name)
    return [_host_array(op, t, f"{name}[{i}]") for i, t in enumerate(tensors)]


@_members_only
def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """On rank dst, gather_list[r] <- rank r's tensor (the other ranks pass no list)."""
    engine = _engine("gather", group)
    dst = _rank_arg("gather", engine, "dst", dst, group_dst, default=0)
    arr, _ = _host_array("gather", tensor)
    outs = _root_list("gather", engine, dst, gather_list, "gather_list", tensor, "destination")
    gathered = None if outs is None else np.empty((engine.size, arr.size), dtype=arr.dtype)

    def run():
        engine.gather(arr.view(np.uint8), None if gathered is None else gathered.view(np.uint8).reshape(-1), dst)
        for (out, write_back), row in zip(outs or (), gathered if gathered is not None else ()):
            out[...] = row
            write_back()

    return engine.run("gather", run, async_op)


@_members_only
def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """tensor <- rank src's scatter_list[rank] (the other ranks pass no list)."""
    engine = _engine("scatter", group)
    src = _rank_arg("scatter", engine, "src", src, group_src, default=0)
    out, write_back = _host_array("scatter", tensor)
    parts = _root_list("scatter", engine, src, scatter_list, "scatter_list", tensor, "source")
    send = None if parts is None else np.concatenate([part for part, _ in parts])

    def run():
        engine.scatter(None if send is None else send.view(np.uint8), out.view(np.uint8), src)
        write_back()

    return engine.run("scatter", run, async_op)


def _peer(op, engine, name, value, alias):
    peer = _rank_arg(op, engine, name, value, alias)
    if peer == engine.rank:
        raise ValueError(
            f"[{op}] Invalid {name} rank {peer}: should not be the same as the rank of the current process"
        )
    return peer


def _send(op, tensor, dst, group, tag, group_dst):
    engine = _engine(op, group)
    dst = _peer(op, engine, "dst", dst, group_dst)
    arr, _ = _host_array(op, tensor)
    return engine.run(op, lambda: engine.send(arr.view(np.uint8), dst, tag), async_op=True)


def _recv(op, tensor, src, group, tag, group_src):
    engine = _engine(op, group)
    src = None if src is None and group_src is None else _peer(op, engine, "src", src, group_src)
    arr, write_back = _host_array(op, tensor)

    def run():
        sender = engine.recv(arr.view(np.uint8), src, tag)
        write_back()
        return engine.ranks[sender]  # as a global rank

    return engine.run(op, run, async_op=True)


@_members_only
def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Sends tensor to rank dst; returns a Work (wait() until the data has left this buffer)."""
    return _send("isend", tensor, dst, group, tag, group_dst)


@_members_only
def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receives into tensor from rank src (None: any rank); returns a Work."""
    return _recv("irecv", tensor, src, group, tag, group_src)


@_members_only
def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Sends tensor to rank dst, which receives it with recv."""
    _send("send", tensor, dst, group, tag, group_dst).wait()


@_members_only
def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receives into tensor from rank src (None: any rank); returns the sender's rank."""
    work = _recv("recv", tensor, src, group, tag, group_src)
    work.wait()
    return work.value


# -- objects: pickled (tensors as NumPy arrays, as the DataLoader sends them between processes); only for
# the ranks of one job, which trust each other: never unpickle bytes from elsewhere.


def _pickled(obj):
    from fastnn.utils.data._worker import dumps

    return np.frombuffer(dumps(obj), dtype=np.uint8)


def _unpickled(data):
    from fastnn.utils.data._worker import loads

    return loads(data.tobytes())


def _check_object_list(op, objects, name, size=None):
    if not isinstance(objects, list):
        raise TypeError(f"[{op}] {name} must be a list, got {type(objects).__name__}")
    if size is not None and len(objects) != size:
        raise ValueError(f"[{op}] {name} must have one entry per rank: {size}, got {len(objects)}")


def _split(data, sizes):
    ends = np.cumsum(sizes)
    return [data[end - size : end] for size, end in zip(sizes, ends)]


@_members_only
def all_gather_object(object_list, obj, group=None):
    """object_list[r] <- rank r's obj (picklable; tensors go as arrays), on every rank."""
    engine = _engine("all_gather_object", group)
    _check_object_list("all_gather_object", object_list, "object_list", engine.size)
    data = _pickled(obj)

    def run():
        sizes = np.empty(engine.size, dtype=np.int64)
        engine.allgather(np.array([data.size], dtype=np.int64).view(np.uint8), sizes.view(np.uint8))
        everyone = np.empty(int(sizes.sum()), dtype=np.uint8)
        engine.allgatherv(data, everyone, sizes)
        return _split(everyone, sizes)

    object_list[:] = [_unpickled(part) for part in engine.run("all_gather_object", run, False)]


@_members_only
def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Every rank's object_list (the same length everywhere) <- rank src's objects."""
    engine = _engine("broadcast_object_list", group)
    src = _rank_arg("broadcast_object_list", engine, "src", src, group_src, default=0)
    if device is not None and str(device) != "cpu":
        raise ValueError(f"[broadcast_object_list] device is for NCCL; MPI sends host memory (got {device!r})")
    _check_object_list("broadcast_object_list", object_list, "object_list")
    data = _pickled(object_list) if engine.rank == src else None

    def run():
        size = np.array([0 if data is None else data.size], dtype=np.int64)
        engine.broadcast(size.view(np.uint8), src)
        buf = data if data is not None else np.empty(int(size[0]), dtype=np.uint8)
        engine.broadcast(buf, src)
        return buf

    received = engine.run("broadcast_object_list", run, False)
    if engine.rank != src:
        objects = _unpickled(received)
        if len(objects) != len(object_list):
            raise ValueError(
                f"[broadcast_object_list] rank {src} sent {len(objects)} objects; this rank's list has "
                f"{len(object_list)}"
            )
        object_list[:] = objects


@_members_only
def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    """On rank dst, object_gather_list[r] <- rank r's obj (the other ranks pass None)."""
    engine = _engine("gather_object", group)
    dst = _rank_arg("gather_object", engine, "dst", dst, group_dst, default=0)
    if engine.rank == dst:
        _check_object_list("gather_object", object_gather_list, "object_gather_list", engine.size)
    elif object_gather_list is not None:
        raise ValueError(
            f"[gather_object] Argument ``object_gather_list`` must NOT be specified on non-destination ranks "
            f"(rank {engine.rank})"
        )
    data = _pickled(obj)

    def run():
        sizes = np.empty(engine.size, dtype=np.int64) if engine.rank == dst else None
        size = np.array([data.size], dtype=np.int64)
        engine.gather(size.view(np.uint8), None if sizes is None else sizes.view(np.uint8), dst)
        everyone = None if sizes is None else np.empty(int(sizes.sum()), dtype=np.uint8)
        engine.gatherv(data, everyone, sizes, dst)
        return None if sizes is None else _split(everyone, sizes)

    parts = engine.run("gather_object", run, False)
    if parts is not None:
        object_gather_list[:] = [_unpickled(part) for part in parts]


@_members_only
def scatter_object_list(
    scatter_object_output_list, scatter_object_input_list=None, src=None, group=None, group_src=None
):
    """scatter_object_output_list[0] <- rank src's scatter_object_input_list[rank]."""
    op = "scatter_object_list"
    engine = _engine(op, group)
    src = _rank_arg(op, engine, "src", src, group_src, default=0)
    _check_object_list(op, scatter_object_output_list, "scatter_object_output_list")
    if not scatter_object_output_list:
        raise ValueError(f"[{op}] Expected argument scatter_object_output_list to be a list of size at least 1.")
    parts = None
    if engine.rank == src:
        _check_object_list(op, scatter_object_input_list, "scatter_object_input_list", engine.size)
        parts = [_pickled(obj) for obj in scatter_object_input_list]

    def run():
        size = np.empty(1, dtype=np.int64)
        sizes = None if parts is None else np.array([p.size for p in parts], dtype=np.int64)
        engine.scatter(None if sizes is None else sizes.view(np.uint8), size.view(np.uint8), src)
        mine = np.empty(int(size[0]), dtype=np.uint8)
        engine.scatterv(None if parts is None else np.concatenate(parts), mine, sizes, src)
        return mine

    scatter_object_output_list[0] = _unpickled(engine.run(op, run, False))


@_members_only
def barrier(group=None, async_op=False, device_ids=None):
    """Returns when every rank has reached it."""
    engine = _engine("barrier", group)
    if device_ids is not None:
        raise ValueError(f"[barrier] device_ids is for NCCL's GPUs; the MPI backend takes None, got {device_ids!r}")
    return engine.run("barrier", engine.barrier, async_op)
