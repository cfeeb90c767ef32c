"""fastnn.utils.data against torch.utils.data: datasets, DataLoader batching and lengths, collation,
random_split, seeded shuffling (reproducible, resumable) and the index_select fast path."""

import collections
import warnings

import numpy as np
import pytest

import fastnn
from fastnn.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    random_split,
)
from fastnn.utils.data import dataloader as dataloader_module

try:
    import torch
    import torch.utils.data as tdata
except ImportError:  # pragma: no cover - CI installs torch
    torch = tdata = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch (CPU, 2.13.0) is the test oracle")


def np_of(t):
    return t.detach().numpy().copy()


def assert_same_structure(ours, theirs):
    """ours (fastnn) and theirs (torch) are the same nest of containers with equal tensors and
    dtypes."""
    if torch is not None and isinstance(theirs, torch.Tensor):
        assert isinstance(ours, fastnn.Tensor), type(ours)
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(np_of(ours), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for k in theirs:
            assert_same_structure(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs), (type(ours), type(theirs))
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same_structure(a, b)
    else:
        assert ours == theirs and type(ours) is type(theirs)


def assert_batches_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert type(x) is type(y)
        assert len(x) == len(y)
        for u, v in zip(x, y):
            assert u.dtype == v.dtype and tuple(u.shape) == tuple(v.shape)
            np.testing.assert_array_equal(np_of(u), np_of(v))


def make_tensor_dataset(n=23, seed=0):
    rng = np.random.default_rng(seed)
    x = fastnn.from_numpy(rng.standard_normal((n, 3, 2)).astype(np.float32))
    y = fastnn.from_numpy(rng.integers(0, 10, n).astype(np.int64))
    w = fastnn.from_numpy(rng.standard_normal(n))  # float64, 1-D
    return TensorDataset(x, y, w)


class SlowTensorDataset(TensorDataset):
    """Same samples as TensorDataset, but an overridden __getitem__ keeps it off the fast path."""

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)


# ---------------------------------------------------------------------- datasets
def test_tensor_dataset_items_and_errors():
    ds = make_tensor_dataset(5)
    assert len(ds) == 5
    x, y, w = ds[3]
    np.testing.assert_array_equal(np_of(x), np_of(ds.tensors[0])[3])
    assert y.item() == np_of(ds.tensors[1])[3] and w.dtype == fastnn.float64
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(fastnn.zeros(3, 2), fastnn.zeros(4))
    with pytest.raises(TypeError, match="expected tensors"):
        TensorDataset(np.zeros(3))


def test_subset_and_concat():
    base = list(range(10, 20))
    sub = Subset(base, [7, 2, 2])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [17, 12, 12]
    cat = ConcatDataset([Subset(base, [0, 1]), Subset(base, [5, 6, 7])])
    assert len(cat) == 5 and [cat[i] for i in range(5)] == [10, 11, 15, 16, 17] and cat[-1] == 17
    cat2 = make_tensor_dataset(4) + make_tensor_dataset(3)
    assert isinstance(cat2, ConcatDataset) and len(cat2) == 7


# ---------------------------------------------------------------------- loader
@needs_torch
@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 64])
@pytest.mark.parametrize("batch_size", [1, 3, 8])
@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_batches_match_torch(n, batch_size, drop_last):
    arr = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    lab = np.arange(n, dtype=np.int64) % 5
    ours = DataLoader(
        TensorDataset(fastnn.from_numpy(arr), fastnn.from_numpy(lab)),
        batch_size=batch_size,
        drop_last=drop_last,
    )
    theirs = tdata.DataLoader(
        tdata.TensorDataset(torch.from_numpy(arr), torch.from_numpy(lab)),
        batch_size=batch_size,
        drop_last=drop_last,
    )
    assert len(ours) == len(theirs)
    got, want = list(ours), list(theirs)
    assert len(got) == len(want) == len(ours)
    for a, b in zip(got, want):
        assert_same_structure(a, b)


@needs_torch
def test_loader_over_python_dataset_matches_torch():
    class Items(Dataset):
        def __init__(self, lib):
            self.lib = lib

        def __len__(self):
            return 7

        def __getitem__(self, i):
            return {
                "img": np.full((2, 2), i, dtype=np.float32),
                "label": i % 3,
                "w": i / 2,
                "name": f"s{i}",
                "pair": (i, [True, i % 2 == 0]),
            }

    ours = list(DataLoader(Items(fastnn), batch_size=3))
    theirs = list(tdata.DataLoader(Items(torch), batch_size=3))
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        assert_same_structure(a, b)


@needs_torch
@pytest.mark.parametrize(
    "batch",
    [
        [True, False],
        [(1, 2.0, "a"), (3, 4.0, "b")],
        [[1, 2], [3, 4]],
        [np.float32(1.5), np.float32(2.0)],
        [np.arange(3, dtype=np.int64), np.arange(3, dtype=np.int64)],
        [
            {"a": 1.0, "b": [np.zeros(2, np.float64), 3]},
            {"a": 2.0, "b": [np.ones(2, np.float64), 4]},
        ],
        ["x", "y"],
    ],
)
def test_default_collate_matches_torch(batch):
    assert_same_structure(default_collate(batch), tdata.default_collate(batch))


@needs_torch
def test_default_collate_tensors_and_namedtuple():
    P = collections.namedtuple("P", "x y")
    ours = default_collate([P(fastnn.tensor([1.0, 2.0]), 3), P(fastnn.tensor([4.0, 5.0]), 6)])
    theirs = tdata.default_collate([P(torch.tensor([1.0, 2.0]), 3), P(torch.tensor([4.0, 5.0]), 6)])
    assert isinstance(ours, P)
    assert_same_structure(tuple(ours), tuple(theirs))
    assert_same_structure(default_convert((np.arange(2), 3)), tdata.default_convert((np.arange(2), 3)))


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1], [1, 2]])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors, numpy arrays, numbers"):
        default_collate([None, None])


def test_batch_size_none_and_batch_sampler():
    ds = make_tensor_dataset(5)
    items = list(DataLoader(ds, batch_size=None))
    assert len(items) == 5 and items[2][0].shape == (3, 2)
    np.testing.assert_array_equal(np_of(items[2][0]), np_of(ds.tensors[0])[2])
    loader = DataLoader(ds, batch_sampler=[[4, 0], [1, 2, 3]])
    got = list(loader)
    assert len(loader) == 2 and [tuple(b[1].shape) for b in got] == [(2,), (3,)]
    np.testing.assert_array_equal(np_of(got[0][1]), np_of(ds.tensors[1])[[4, 0]])


@needs_torch
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(sampler=[0, 1], shuffle=True),
        dict(batch_sampler=[[0]], batch_size=2),
        dict(batch_sampler=[[0]], drop_last=True),
        dict(batch_size=None, drop_last=True),
        dict(num_workers=-1),
    ],
)
def test_loader_argument_errors_match_torch(kwargs):
    with pytest.raises(ValueError) as theirs:
        tdata.DataLoader(tdata.TensorDataset(torch.zeros(3)), **kwargs)
    with pytest.raises(ValueError) as ours:
        DataLoader(TensorDataset(fastnn.zeros(3)), **kwargs)
    assert str(ours.value) == f"[DataLoader] {theirs.value}"  # torch's text after the class that raised it


def test_iterable_dataset():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    batches = list(DataLoader(Stream(), batch_size=3))
    assert [np_of(b).tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(DataLoader(Stream(), batch_size=3)) == 3 and len(DataLoader(Stream(), batch_size=3, drop_last=True)) == 2
    assert [np_of(b).tolist() for b in DataLoader(Stream(), batch_size=3, drop_last=True)] == [
        [0, 1, 2],
        [3, 4, 5],
    ]
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(), shuffle=True)


# ---------------------------------------------------------------------- fast path
def count_gathers(monkeypatch):
    calls = []
    real = dataloader_module.index_select

    def spy(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(dataloader_module, "index_select", spy)
    return calls


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
def test_fast_path_equals_slow_path(monkeypatch, shuffle, drop_last):
    fast_ds = make_tensor_dataset(23)
    slow_ds = SlowTensorDataset(*fast_ds.tensors)
    calls = count_gathers(monkeypatch)
    fast = list(
        DataLoader(
            fast_ds,
            batch_size=5,
            shuffle=shuffle,
            drop_last=drop_last,
            generator=fastnn.Generator().manual_seed(3),
        )
    )
    assert len(calls) == 3 * len(fast) > 0  # one gather per tensor per batch: the fast path ran
    n_calls = len(calls)
    slow = list(
        DataLoader(
            slow_ds,
            batch_size=5,
            shuffle=shuffle,
            drop_last=drop_last,
            generator=fastnn.Generator().manual_seed(3),
        )
    )
    assert len(calls) == n_calls  # ... and the slow path did not use it
    custom = list(
        DataLoader(
            fast_ds,
            batch_size=5,
            shuffle=shuffle,
            drop_last=drop_last,
            collate_fn=lambda b: default_collate(b),
            generator=fastnn.Generator().manual_seed(3),
        )
    )
    assert len(calls) == n_calls  # a custom collate_fn turns the fast path off
    assert_batches_equal(fast, slow)
    assert_batches_equal(fast, custom)


def test_fast_path_through_subsets_and_samplers(monkeypatch):
    ds = make_tensor_dataset(30)
    train, _ = random_split(ds, [0.6, 0.4], generator=fastnn.Generator().manual_seed(0))
    inner = Subset(train, [5, 0, 17, 3, 3, 9])
    slow_inner = Subset(Subset(SlowTensorDataset(*ds.tensors), train.indices), inner.indices)
    calls = count_gathers(monkeypatch)
    fast = list(DataLoader(inner, batch_size=4))
    assert calls
    assert_batches_equal(fast, list(DataLoader(slow_inner, batch_size=4)))
    sampler_kw = dict(sampler=SubsetRandomSampler([1, 4, 2, 0], generator=fastnn.Generator().manual_seed(1)))
    fast = list(DataLoader(ds, batch_size=3, **sampler_kw))
    sampler_kw = dict(sampler=SubsetRandomSampler([1, 4, 2, 0], generator=fastnn.Generator().manual_seed(1)))
    assert_batches_equal(fast, list(DataLoader(SlowTensorDataset(*ds.tensors), batch_size=3, **sampler_kw)))


def test_fast_path_negative_indices_fall_back():
    ds = make_tensor_dataset(6)
    got = list(DataLoader(ds, batch_sampler=[[-1, 0]]))
    np.testing.assert_array_equal(np_of(got[0][1]), np_of(ds.tensors[1])[[5, 0]])
    with pytest.raises(IndexError):
        list(DataLoader(ds, batch_sampler=[[0, 6]]))


# ---------------------------------------------------------------------- shuffling
def epoch_orders(loader, epochs):
    return [np.concatenate([np_of(b[1]) for b in loader]).tolist() for _ in range(epochs)]


def index_dataset(n):
    return TensorDataset(fastnn.arange(n), fastnn.arange(n))


def test_shuffle_with_generator_is_reproducible_and_varies_per_epoch():
    n = 50
    a = epoch_orders(
        DataLoader(
            index_dataset(n),
            batch_size=8,
            shuffle=True,
            generator=fastnn.Generator().manual_seed(7),
        ),
        3,
    )
    b = epoch_orders(
        DataLoader(
            index_dataset(n),
            batch_size=8,
            shuffle=True,
            generator=fastnn.Generator().manual_seed(7),
        ),
        3,
    )
    c = epoch_orders(
        DataLoader(
            index_dataset(n),
            batch_size=8,
            shuffle=True,
            generator=fastnn.Generator().manual_seed(8),
        ),
        1,
    )
    assert a == b
    assert all(sorted(order) == list(range(n)) for order in a)
    assert a[0] != a[1] != a[2] and a[0] != list(range(n)) and c[0] != a[0]


def test_shuffle_without_generator_follows_manual_seed():
    def run():
        fastnn.manual_seed(1234)
        return epoch_orders(DataLoader(index_dataset(40), batch_size=16, shuffle=True), 2)

    first, second = run(), run()
    assert first == second and first[0] != first[1]
    assert sorted(first[0]) == list(range(40))
    fastnn.manual_seed(99)
    assert epoch_orders(DataLoader(index_dataset(40), batch_size=16, shuffle=True), 1)[0] != first[0]


def test_resume_epoch_order_from_checkpointed_generator_state(tmp_path):
    def loader(gen):
        return DataLoader(index_dataset(33), batch_size=4, shuffle=True, generator=gen)

    full = epoch_orders(loader(fastnn.Generator().manual_seed(5)), 4)
    gen = fastnn.Generator().manual_seed(5)
    first = epoch_orders(loader(gen), 2)
    fastnn.save({"epoch": 2, "data_rng": gen.get_state()}, tmp_path / "ck.safetensors")
    del gen
    ck = fastnn.load(tmp_path / "ck.safetensors")
    resumed = fastnn.Generator().manual_seed(0).set_state(ck["data_rng"])
    rest = epoch_orders(loader(resumed), 2)
    assert first + rest == full


def test_generator_api():
    g = fastnn.Generator()
    assert g.manual_seed(3) is g and g.initial_seed() == 3
    state = g.get_state()
    p1 = fastnn.randperm(10, generator=g).tolist()
    assert fastnn.randperm(10, generator=g).tolist() != p1
    g.set_state(state)
    assert fastnn.randperm(10, generator=g).tolist() == p1
    big = fastnn.Generator().manual_seed(2**64 - 1)
    assert big.initial_seed() == 2**64 - 1
    assert fastnn.Generator().set_state(big.get_state()).initial_seed() == 2**64 - 1
    assert fastnn.Generator().manual_seed(-1).initial_seed() == 2**64 - 1
    with pytest.raises(TypeError, match="expected the int64 tensor of shape"):
        g.set_state(fastnn.zeros(2))
    with pytest.raises(ValueError, match="seed must be within"):
        g.manual_seed(2**64)
    with pytest.raises(TypeError, match="seed must be an int"):
        g.manual_seed(1.5)


def test_samplers():
    ds = list(range(10))
    assert list(SequentialSampler(ds)) == list(range(10))
    perm = list(RandomSampler(ds, generator=fastnn.Generator().manual_seed(0)))
    assert sorted(perm) == list(range(10)) and perm != list(range(10))
    more = list(RandomSampler(ds, num_samples=25, generator=fastnn.Generator().manual_seed(0)))
    assert len(more) == 25 and sorted(more[:20]) == sorted(list(range(10)) * 2)
    rep = list(RandomSampler(ds, replacement=True, num_samples=100, generator=fastnn.Generator().manual_seed(0)))
    assert len(rep) == 100 and min(rep) >= 0 and max(rep) <= 9 and len(set(rep)) < 10 + 1
    weighted = list(WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200, generator=fastnn.Generator().manual_seed(0)))
    assert set(weighted) == {1, 3} and weighted.count(3) > weighted.count(1)
    assert list(BatchSampler(SequentialSampler(ds), 4, drop_last=False)) == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
    ]
    assert list(BatchSampler(range(10), 4, drop_last=True)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(BatchSampler(ds, 4, False)) == 3 and len(BatchSampler(ds, 4, True)) == 2
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(ds, 0, False)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler([])


def test_overridden_sampler_iter_is_respected():
    class Reversed(SequentialSampler):
        def __iter__(self):
            return iter(range(len(self.data_source) - 1, -1, -1))

    ds = index_dataset(7)
    got = np.concatenate([np_of(b[0]) for b in DataLoader(ds, batch_size=3, sampler=Reversed(ds))])
    assert got.tolist() == [6, 5, 4, 3, 2, 1, 0]


# ---------------------------------------------------------------------- random_split
@needs_torch
@pytest.mark.parametrize(
    "n, lengths",
    [
        (10, [0.3, 0.7]),
        (11, [0.5, 0.5]),
        (30, [0.3, 0.3, 0.4]),
        (7, [0.1, 0.1, 0.8]),
        (1797, [0.8, 0.2]),
        (5, [1 / 3, 1 / 3, 1 / 3]),
        (10, [3, 7]),
        (4, [0, 4]),
    ],
)
def test_random_split_lengths_match_torch(n, lengths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = tdata.random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
        ours = random_split(range(n), lengths, generator=fastnn.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    flat = [i for s in ours for i in (s[j] for j in range(len(s)))]
    assert sorted(flat) == list(range(n))  # disjoint and complete


def test_random_split_reproducible_and_errors():
    a = random_split(range(20), [5, 15], generator=fastnn.Generator().manual_seed(1))
    b = random_split(range(20), [5, 15], generator=fastnn.Generator().manual_seed(1))
    c = random_split(range(20), [5, 15], generator=fastnn.Generator().manual_seed(2))
    assert a[0].indices == b[0].indices and a[1].indices == b[1].indices and a[0].indices != c[0].indices
    fastnn.manual_seed(0)
    d = random_split(range(20), [10, 10])
    fastnn.manual_seed(0)
    assert random_split(range(20), [10, 10])[0].indices == d[0].indices
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset!"):
        random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(range(10), [1.5, -0.5])
    with pytest.warns(UserWarning, match="Length of split at index 0 is 0"):
        random_split(range(3), [0.0, 1.0])
