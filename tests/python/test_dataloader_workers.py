"""DataLoader with worker processes: the same batches in the same order as num_workers=0, worker
seeding and get_worker_info, persistent workers, IterableDataset sharding (order checked against
torch), worker errors and deaths (errors, never hangs), timeouts, clean shutdown (no processes
left), and the argument checks."""

import collections
import gc
import multiprocessing
import os
import signal
import time

import numpy as np
import pytest

import fastnn
from fastnn.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info

pytestmark = pytest.mark.slow  # worker processes: seconds each to start and stop

try:
    import torch
    import torch.utils.data as tdata
except ImportError:  # pragma: no cover - CI installs torch
    torch = tdata = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch (CPU, 2.13.0) is the test oracle")


class _Hang(Exception):
    pass


@pytest.fixture(autouse=True)
def no_hang_no_leftovers():
    """Each test fails (instead of hanging) after 30 s, and must leave no worker process behind."""

    def alarm(*_):
        raise _Hang("test took over 30 s: a DataLoader hang")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(30)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    gc.collect()
    assert multiprocessing.active_children() == []


def np_of(t):
    return t.detach().numpy().copy()


def flat(batch):
    """A batch as nested Python values, tensors as (dtype, nested list)."""
    if isinstance(batch, fastnn.Tensor):
        return (str(batch.dtype), np_of(batch).tolist())
    if isinstance(batch, dict):
        return {k: flat(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return (type(batch).__name__, [flat(b) for b in batch])
    return batch


def epochs(loader, n=2):
    return [[flat(b) for b in loader] for _ in range(n)]


def gone(pid):
    """True when the process no longer exists at all (a zombie still has its /proc entry)."""
    return not os.path.exists(f"/proc/{pid}")


# ---------------------------------------------------------------------- datasets (module level: spawn pickles them)
Pair = collections.namedtuple("Pair", "a b")


class DictDataset(Dataset):
    def __len__(self):
        return 23

    def __getitem__(self, i):
        return {"x": fastnn.full((2,), float(i)), "y": i, "name": f"s{i}", "p": Pair(i, 0.5 * i)}


class WhoDataset(Dataset):
    """Each sample says which process made it and what that process's worker info and RNG say."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = get_worker_info()
        wid = -1 if info is None else info.id
        return {"i": i, "pid": os.getpid(), "wid": wid}


class Failing(Dataset):
    def __init__(self, bad, exc=ValueError):
        self.bad, self.exc = bad, exc

    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == self.bad:
            raise self.exc(f"sample {i} is broken")
        return i


class MyError(Exception):
    pass


class TwoArgError(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a} {b}")


class TwoArgFailing(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        raise TwoArgError("x", "y")


class Dying(Dataset):
    def __init__(self, how):
        self.how = how

    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 4:
            if self.how == "exit":
                os._exit(3)
            os.kill(os.getpid(), signal.SIGKILL)
        return i


class Slow(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            time.sleep(10)
        return i


def shard(n, info):
    """range(n) split between workers by their worker info (uneven shards)."""
    return iter(range(n) if info is None else range(info.id, n, info.num_workers))


class Shards(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return shard(self.n, get_worker_info())


if tdata is not None:

    class TorchShards(tdata.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return shard(self.n, tdata.get_worker_info())


class Whole(IterableDataset):
    def __iter__(self):
        return iter(range(5))


def sum_collate(batch):
    return {"sum": sum(batch), "items": list(batch)}


def record_init(worker_id):
    # visible through get_worker_info() in the same worker (the dataset reads it back)
    get_worker_info().dataset.inits.append(worker_id)


class InitSeen(Dataset):
    def __init__(self):
        self.inits = []

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return {"wid": get_worker_info().id, "inits": list(self.inits)}


def bad_init(worker_id):
    raise KeyError(f"no config for worker {worker_id}")


class Seeds(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = get_worker_info()
        return {"seed": info.seed, "draw": fastnn.rand(3), "np": float(np.random.rand())}


def tensor_dataset(n=37):
    return TensorDataset(fastnn.arange(3.0 * n).view(n, 3), fastnn.arange(n) * 7)


# ---------------------------------------------------------------------- same batches as in the main process
@pytest.mark.parametrize("num_workers", [1, 2, 3])
@pytest.mark.parametrize("drop_last", [False, True])
def test_tensor_dataset_same_batches_and_order(num_workers, drop_last):
    def run(workers):
        gen = fastnn.Generator().manual_seed(7)
        loader = DataLoader(
            tensor_dataset(), batch_size=5, shuffle=True, drop_last=drop_last, generator=gen, num_workers=workers
        )
        return epochs(loader), gen.get_state().tolist()

    assert run(num_workers) == run(0)  # batches, order, and the generator's state after 2 epochs


@pytest.mark.parametrize("num_workers", [3])
def test_python_dataset_dicts_and_custom_collate_same_as_in_process(num_workers):
    for kwargs in (
        dict(batch_size=4, shuffle=True),
        dict(batch_size=None),
        dict(batch_size=3, collate_fn=lambda b: [s["y"] for s in b]),
        dict(batch_sampler=[[5, 1], [0], [22, 3, 4]]),
    ):

        def run(workers):
            gen = fastnn.Generator().manual_seed(11)
            return epochs(DataLoader(DictDataset(), num_workers=workers, generator=gen, **kwargs))

        assert run(num_workers) == run(0), kwargs
    ours = next(iter(DataLoader(DictDataset(), batch_size=2, num_workers=2)))
    assert type(ours["p"]) is Pair and ours["name"] == ["s0", "s1"]
    assert ours["x"].dtype == fastnn.float32 and ours["y"].dtype == fastnn.int64


def test_batches_come_from_workers_round_robin():
    loader = DataLoader(WhoDataset(), batch_size=2, num_workers=3)
    batches = list(loader)
    assert [b["wid"].tolist() for b in batches] == [[k % 3] * 2 for k in range(6)]
    assert {p for b in batches for p in b["pid"].tolist()}.isdisjoint({os.getpid()})
    assert len(iter(loader)) == 6
    assert get_worker_info() is None  # in the main process


def test_spawn_context():
    # only fastnn's own objects (the test module would import torch in every child: slow)
    def run(**kwargs):
        gen = fastnn.Generator().manual_seed(3)
        return epochs(DataLoader(tensor_dataset(20), batch_size=6, shuffle=True, generator=gen, **kwargs), 1)

    assert run(num_workers=2, multiprocessing_context="spawn") == run()


# ---------------------------------------------------------------------- seeds, worker_init_fn
def test_worker_init_fn_once_per_worker_with_its_id():
    samples = list(DataLoader(InitSeen(), batch_size=None, num_workers=3, worker_init_fn=record_init))
    assert [(s["wid"], s["inits"]) for s in samples] == [(k % 3, [k % 3]) for k in range(8)]


def test_worker_seeds_from_the_loaders_generator():
    def run():
        gen = fastnn.Generator().manual_seed(5)
        return list(DataLoader(Seeds(), batch_size=None, num_workers=2, generator=gen))

    a, b = run(), run()
    seeds = [s["seed"] for s in a]
    assert seeds[1] == seeds[0] + 1 and seeds[2] == seeds[0] and seeds == [s["seed"] for s in b]
    # fastnn's RNG: per-worker streams, reproducible with the generator
    np.testing.assert_array_equal(np_of(a[0]["draw"]), np_of(b[0]["draw"]))
    assert not np.array_equal(np_of(a[0]["draw"]), np_of(a[1]["draw"]))
    fastnn.manual_seed(seeds[1])
    np.testing.assert_array_equal(np_of(a[1]["draw"]), np_of(fastnn.rand(3)))
    assert a[0]["np"] != a[1]["np"]  # NumPy's global RNG differs per worker too


def test_worker_init_fn_error_surfaces_as_its_type():
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process 0") as e:
        list(DataLoader(InitSeen(), batch_size=2, num_workers=1, worker_init_fn=bad_init))
    assert "no config for worker 0" in str(e.value) and "bad_init" in str(e.value)


# ---------------------------------------------------------------------- persistent workers, shutdown
def worker_pids(loader):
    return {p for b in loader for p in b["pid"].tolist()}


def test_persistent_workers_are_reused_and_stopped_with_the_loader():
    loader = DataLoader(WhoDataset(), batch_size=3, num_workers=2, persistent_workers=True)
    first = worker_pids(loader)
    assert len(first) == 2 and worker_pids(loader) == first
    it = iter(loader)
    next(it)  # abandon an epoch half-way: the next one starts clean
    assert [b["i"].tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    with pytest.raises(RuntimeError, match="no longer usable"):
        next(it)
    assert len(multiprocessing.active_children()) == 2
    del loader, it
    gc.collect()
    assert multiprocessing.active_children() == [] and all(gone(p) for p in first)


def test_workers_stop_after_each_epoch_without_persistence():
    loader = DataLoader(WhoDataset(), batch_size=3, num_workers=2)
    first = worker_pids(loader)
    assert multiprocessing.active_children() == [] and all(gone(p) for p in first)
    second = worker_pids(loader)
    assert first.isdisjoint(second)
    it = iter(loader)
    pids = set(next(it)["pid"].tolist())
    del it  # an abandoned iterator stops its workers
    gc.collect()
    assert multiprocessing.active_children() == [] and all(gone(p) for p in pids)


# ---------------------------------------------------------------------- IterableDataset
@needs_torch
@pytest.mark.parametrize("num_workers,batch_size,drop_last", [(2, 2, False), (3, 2, True), (3, None, False)])
def test_iterable_sharding_order_matches_torch(num_workers, batch_size, drop_last):
    ours = DataLoader(
        Shards(11), batch_size=batch_size, num_workers=num_workers, drop_last=drop_last, persistent_workers=True
    )
    theirs = tdata.DataLoader(TorchShards(11), batch_size=batch_size, num_workers=num_workers, drop_last=drop_last)
    expected = [b.tolist() if batch_size else b for b in theirs]
    for _ in range(2):  # persistent workers restart their iterators each epoch
        assert [b.tolist() if batch_size else b for b in ours] == expected


def test_iterable_without_sharding_is_repeated_per_worker():
    got = [b.tolist() for b in DataLoader(Whole(), batch_size=2, num_workers=2)]
    assert got == [[0, 1], [0, 1], [2, 3], [2, 3], [4], [4]]


# ---------------------------------------------------------------------- errors, deaths, timeouts
@pytest.mark.parametrize("exc", [ValueError, KeyError, IndexError, MyError])
def test_worker_exception_keeps_type_worker_id_and_traceback(exc):
    loader = DataLoader(Failing(5, exc), batch_size=2, num_workers=2)
    it = iter(loader)
    assert next(it).tolist() == [0, 1]
    assert next(it).tolist() == [2, 3]
    with pytest.raises(exc) as e:
        next(it)
    text = str(e.value)
    assert f"Caught {exc.__name__} in DataLoader worker process 0.\nOriginal Traceback" in text
    assert "sample 5 is broken" in text and "__getitem__" in text
    assert next(it).tolist() == [6, 7]  # the iterator goes on after a failed batch
    del it


def test_worker_exception_with_an_odd_constructor_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="Caught TwoArgError in DataLoader worker process 0"):
        list(DataLoader(TwoArgFailing(), num_workers=1))


@pytest.mark.parametrize(
    "how,message", [("exit", "exited unexpectedly with exit code 3"), ("kill", "was killed by signal: SIGKILL")]
)
def test_dead_worker_is_an_error_not_a_hang(how, message):
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=rf"DataLoader worker 0 \(pid \d+\) {message}"):
        list(DataLoader(Dying(how), batch_size=2, num_workers=2))
    assert time.monotonic() - start < 10  # generous for a loaded machine: a hang would take 30 s


def test_timeout():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.5 seconds"):
        list(DataLoader(Slow(), batch_size=None, num_workers=2, timeout=0.5))
    assert time.monotonic() - start < 10  # generous for a loaded machine: a hang would take 30 s
    assert list(DataLoader(Slow(), batch_size=None, num_workers=1, timeout=30, sampler=[0, 1, 3])) == [0, 1, 3]


def test_non_leaf_tensor_that_requires_grad_cannot_cross_processes():
    class Grad(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return fastnn.ones(2, requires_grad=True) * 2

    with pytest.raises(RuntimeError, match="autograd does not cross process boundaries"):
        list(DataLoader(Grad(), batch_size=2, num_workers=1))


# ---------------------------------------------------------------------- arguments
@needs_torch
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(prefetch_factor=2),
        dict(num_workers=1, prefetch_factor=-1),
        dict(persistent_workers=True),
        dict(multiprocessing_context="spawn"),
        dict(num_workers=1, multiprocessing_context="nope"),
    ],
)
def test_argument_errors_match_torch(kwargs):
    with pytest.raises(ValueError) as theirs:
        tdata.DataLoader(tdata.TensorDataset(torch.zeros(3)), **kwargs)
    with pytest.raises(ValueError) as ours:
        DataLoader(TensorDataset(fastnn.zeros(3)), **kwargs)
    assert str(ours.value) == f"[DataLoader] {theirs.value}"


@pytest.mark.parametrize(
    "kwargs,kind,match",
    [
        (dict(num_workers=1, prefetch_factor=0), ValueError, "prefetch_factor=0 would leave no batch"),
        (dict(num_workers=1, prefetch_factor=1.5), TypeError, "prefetch_factor option should be an integer"),
        (dict(num_workers=2.0), TypeError, "num_workers option should be an integer"),
        (dict(num_workers=2**40), ValueError, "more processes than this user may run"),
        (dict(num_workers=1, worker_init_fn=3), TypeError, "worker_init_fn should be a callable"),
        (dict(num_workers=1, multiprocessing_context=3), TypeError, "should be a valid context object"),
        (dict(generator=3), TypeError, "generator should be a fastnn.Generator"),
        (dict(timeout=float("nan")), ValueError, "timeout option should be non-negative"),
    ],
)
def test_argument_errors(kwargs, kind, match):
    with pytest.raises(kind, match=rf"^\[DataLoader\] .*{match}"):
        DataLoader(TensorDataset(fastnn.zeros(3)), **kwargs)


def test_prefetch_factor_default_and_pin_memory():
    assert DataLoader(TensorDataset(fastnn.zeros(3)), num_workers=2).prefetch_factor == 2
    assert DataLoader(TensorDataset(fastnn.zeros(3))).prefetch_factor is None
    ctx = multiprocessing.get_context("spawn")
    assert (
        DataLoader(TensorDataset(fastnn.zeros(3)), num_workers=1, multiprocessing_context=ctx).multiprocessing_context
        is ctx
    )
    loader = DataLoader(TensorDataset(fastnn.arange(4.0)), batch_size=2, pin_memory=True, num_workers=1)
    with pytest.warns(UserWarning, match="no accelerator is found"):
        got = [b[0].tolist() for b in loader]
    assert got == [[0.0, 1.0], [2.0, 3.0]]


def test_workers_exit_when_the_main_process_dies():
    import subprocess
    import sys

    script = (
        "import os, fastnn\n"
        "from fastnn.utils.data import DataLoader, TensorDataset\n"
        "loader = DataLoader(TensorDataset(fastnn.arange(8.0)), batch_size=2, num_workers=2, persistent_workers=True)\n"
        "next(iter(loader))\n"
        "print(' '.join(str(p.pid) for p in loader._pool.workers), flush=True)\n"
        "os._exit(0)  # no clean-up at all\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=25, env=env)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2, out.stderr

    def exited(pid):  # orphans belong to init now: a zombie there has exited too
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except FileNotFoundError:
            return True

    deadline = time.monotonic() + 10
    while not all(exited(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(exited(p) for p in pids)
