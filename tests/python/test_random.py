"""Random numbers: one counter-based generator type (fastnn.Generator, fastnn.default_generator) behind
every draw, and the random ops torch users call (rand/randn/randint/randperm, normal, bernoulli,
multinomial, the in-place fills, the *_like factories, nn.init, samplers).

fastnn's streams differ from torch's (another generator), so values are checked by distribution
(moments over large samples, frequencies) and by reproducibility (same seed and counter -> same bits,
at any thread count); shapes, dtypes, autograd nodes and errors are checked against torch.
"""

import copy
import math
import pickle
import time

import fastnn
import numpy as np
import pytest
from fastnn.utils.data import RandomSampler, SubsetRandomSampler, WeightedRandomSampler, random_split
from oracle import to_numpy

torch = pytest.importorskip("torch", reason="PyTorch (CPU, 2.13.0) is the test oracle")


def gen(seed):
    return fastnn.Generator().manual_seed(seed)


def bits(t):
    return t.numpy().tobytes()


# Every draw, as (name, lambda lib, generator: tensor); `lib` is fastnn (torch where the row is also run
# on torch to compare shape and dtype). Sizes exceed a parallel chunk (32768), so threads split them.
N = 70_001
DRAWS = [
    ("rand", lambda lib, g: lib.rand(N, generator=g)),
    ("rand64", lambda lib, g: lib.rand(3, N // 3, dtype=lib.float64, generator=g)),
    ("randn", lambda lib, g: lib.randn(N, generator=g)),
    ("randint", lambda lib, g: lib.randint(-5, 1000, (N,), generator=g)),
    ("randint_float", lambda lib, g: lib.randint(0, 7, (N,), dtype=lib.float32, generator=g)),
    ("randperm", lambda lib, g: lib.randperm(N, generator=g)),
    ("randperm_float", lambda lib, g: lib.randperm(1000, dtype=lib.float64, generator=g)),
    ("normal_size", lambda lib, g: lib.normal(2.0, 3.0, size=(N,), generator=g)),
    ("normal_tensor_mean", lambda lib, g: lib.normal(lib.arange(N, dtype=lib.float32), 0.5, generator=g)),
    ("normal_tensor_std", lambda lib, g: lib.normal(1.0, lib.ones(N, dtype=lib.float64), generator=g)),
    ("normal_tensors", lambda lib, g: lib.normal(lib.zeros(7, 1), lib.ones(N // 7), generator=g)),
    ("bernoulli", lambda lib, g: lib.bernoulli(lib.full((N,), 0.3), generator=g)),
    ("bernoulli_p", lambda lib, g: lib.bernoulli(lib.zeros(N, dtype=lib.float64), 0.7, generator=g)),
    ("multinomial", lambda lib, g: lib.multinomial(lib.arange(1, 101, dtype=lib.float32), 60, generator=g)),
    ("multinomial_rows", lambda lib, g: lib.multinomial(lib.ones(700, 100), 50, generator=g)),
    ("multinomial_repl", lambda lib, g: lib.multinomial(lib.ones(3, 10), N // 3, True, generator=g)),
    ("uniform_", lambda lib, g: lib.empty(N).uniform_(-2, 5, generator=g)),
    ("normal_", lambda lib, g: lib.empty(N, dtype=lib.float64).normal_(1, 2, generator=g)),
    ("exponential_", lambda lib, g: lib.empty(N).exponential_(2.0, generator=g)),
    ("random_", lambda lib, g: lib.empty(N, dtype=lib.int64).random_(3, 9, generator=g)),
    ("bernoulli_", lambda lib, g: lib.empty(N).bernoulli_(0.25, generator=g)),
    ("bernoulli_tensor", lambda lib, g: lib.empty(N, 2).bernoulli_(lib.tensor([0.2, 0.9]), generator=g)),
    ("rand_like", lambda lib, g: lib.rand_like(lib.zeros(N, dtype=lib.float64), generator=g)),
    ("randn_like", lambda lib, g: lib.randn_like(lib.zeros(N), generator=g)),
    ("randint_like", lambda lib, g: lib.randint_like(lib.zeros(N), 3, 8, generator=g)),
]
DRAW_IDS = [d[0] for d in DRAWS]


@pytest.mark.parametrize("name,draw", DRAWS, ids=DRAW_IDS)
def test_draw_shape_and_dtype_match_torch(name, draw):
    ours, theirs = draw(fastnn, gen(0)), draw(torch, torch.Generator().manual_seed(0))
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert not ours.requires_grad


@pytest.mark.parametrize("name,draw", DRAWS, ids=DRAW_IDS)
def test_draw_reproducible_at_any_thread_count(name, draw):
    results = []
    for threads in (1, 2, 1):
        fastnn.set_num_threads(threads)
        g = gen(123)
        results.append((bits(draw(fastnn, g)), bits(draw(fastnn, g))))
    assert results[0] == results[1] == results[2]
    assert results[0][0] != results[0][1]  # the generator advances
    assert bits(draw(fastnn, gen(124))) != results[0][0]


@pytest.mark.parametrize("name,draw", DRAWS, ids=DRAW_IDS)
def test_draw_from_global_generator_follows_manual_seed(name, draw):
    fastnn.manual_seed(5)
    a = bits(draw(fastnn, None))
    fastnn.manual_seed(5)
    assert bits(draw(fastnn, None)) == a
    # the global generator is the same kind of generator: the same seed gives the same draw
    assert bits(draw(fastnn, gen(5))) == a


@pytest.mark.parametrize("name,draw", DRAWS, ids=DRAW_IDS)
def test_generator_draw_leaves_the_global_stream_alone(name, draw):
    fastnn.manual_seed(9)
    expected = fastnn.rand(5).tolist()
    fastnn.manual_seed(9)
    draw(fastnn, gen(1))
    assert fastnn.rand(5).tolist() == expected
    assert fastnn.default_generator.get_state().tolist() == [9, 5]


# ---------------------------------------------------------------------- Generator objects


def test_one_generator_type():
    assert type(fastnn.default_generator) is fastnn.Generator
    assert fastnn.random.default_generator is fastnn.default_generator
    g = fastnn.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed() == 67280421310721
    assert g.manual_seed(3) is g and g.initial_seed() == 3 and str(g.device) == "cpu"
    assert fastnn.manual_seed(4) is fastnn.default_generator and fastnn.initial_seed() == 4
    assert fastnn.random.manual_seed(8) is fastnn.default_generator and fastnn.random.initial_seed() == 8


def test_state_round_trip_and_counter():
    g = gen(11)
    state = g.get_state()
    assert state.dtype == fastnn.int64 and state.tolist() == [11, 0]
    a = fastnn.randn(10, generator=g)  # a normal takes two counters
    assert g.get_state().tolist() == [11, 20]
    b = fastnn.randn(10, generator=g)
    assert g.set_state(state) is g
    assert bits(fastnn.randn(10, generator=g)) == bits(a) and bits(fastnn.randn(10, generator=g)) == bits(b)
    # a state goes through a checkpoint and back
    other = fastnn.Generator().set_state(fastnn.tensor(g.get_state().tolist()))
    assert bits(fastnn.rand(7, generator=other)) == bits(fastnn.rand(7, generator=g))
    big = gen(2**64 - 1)
    assert big.get_state().tolist() == [-1, 0]
    assert fastnn.Generator().set_state(big.get_state()).initial_seed() == 2**64 - 1
    assert gen(-1).initial_seed() == 2**64 - 1 and gen(-(2**63)).initial_seed() == 2**63
    # a strided state tensor reads its two elements
    assert fastnn.Generator().set_state(fastnn.tensor([[5, 0], [7, 0]]).t()[0]).get_state().tolist() == [5, 7]


def test_global_rng_state_and_fork_rng():
    fastnn.manual_seed(21)
    fastnn.rand(3)
    state = fastnn.get_rng_state()
    a = fastnn.rand(4).tolist()
    fastnn.set_rng_state(state)
    assert fastnn.rand(4).tolist() == a
    fastnn.set_rng_state(state)
    with fastnn.random.fork_rng():
        inside = fastnn.rand(4).tolist()
        fastnn.manual_seed(0)
        fastnn.rand(100)
    assert inside == a and fastnn.rand(4).tolist() == a
    with fastnn.random.fork_rng(enabled=False):
        fastnn.rand(4)
    assert fastnn.get_rng_state().tolist() == [21, 11]
    with (
        pytest.raises(RuntimeError, match=r"\[fork_rng\] fastnn's generators are CPU-only"),
        fastnn.random.fork_rng(device_type="cuda"),
    ):
        pass


def test_seed_from_entropy():
    g = fastnn.Generator()
    s = g.seed()
    assert isinstance(s, int) and 0 <= s < 2**64 and g.initial_seed() == s and g.get_state().tolist()[1] == 0
    assert fastnn.Generator().seed() != s
    s = fastnn.seed()
    assert fastnn.initial_seed() == s and fastnn.random.seed() != s


def test_generator_pickle_and_deepcopy():
    g = gen(17)
    fastnn.rand(5, generator=g)
    for clone in (pickle.loads(pickle.dumps(g)), copy.deepcopy(g)):
        assert clone is not g and clone.get_state().tolist() == [17, 5]
        assert bits(fastnn.rand(3, generator=clone)) == bits(fastnn.rand(3, generator=copy.deepcopy(g)))


def test_generator_errors():
    g = fastnn.Generator()
    with pytest.raises(
        ValueError,
        match=r"\[Generator.manual_seed\] seed must be within \[-2\*\*63, 2\*\*64\), "
        r"got 18446744073709551616",
    ):
        g.manual_seed(2**64)
    with pytest.raises(ValueError, match=r"seed must be within"):
        g.manual_seed(-(2**63) - 1)
    with pytest.raises(TypeError, match=r"\[Generator.manual_seed\] seed must be an int, got float"):
        g.manual_seed(1.5)
    with pytest.raises(TypeError, match=r"\[manual_seed\] seed must be an int, got bool"):
        fastnn.manual_seed(True)
    with pytest.raises(
        TypeError,
        match=r"\[Generator.set_state\] expected the int64 tensor of shape \(2,\) "
        r"returned by get_state\(\), got float32",
    ):
        g.set_state(fastnn.zeros(2))
    with pytest.raises(TypeError, match=r"got list"):
        g.set_state([1, 2])
    with pytest.raises(ValueError, match=r"\[set_rng_state\] expected the int64 tensor .* got shape \(3,\)"):
        fastnn.set_rng_state(fastnn.zeros(3, dtype=fastnn.int64))
    with pytest.raises(ValueError, match=r"invalid state: negative draw count -4"):
        g.set_state(fastnn.tensor([1, -4]))
    with pytest.raises(RuntimeError, match=r"\[Generator\] device 'cuda' is not available"):
        fastnn.Generator("cuda")
    assert g.initial_seed() == 67280421310721  # failed calls changed nothing


@pytest.mark.parametrize("name,draw", DRAWS, ids=DRAW_IDS)
def test_generator_argument_must_be_a_generator(name, draw):
    with pytest.raises(TypeError, match=r"generator must be a fastnn.Generator, got int"):
        draw(fastnn, 3)
    with pytest.raises(TypeError, match=r"generator must be a fastnn.Generator, got Generator"):
        draw(fastnn, torch.Generator())


# ---------------------------------------------------------------------- distributions


def moments(t):
    a = to_numpy(t).astype(np.float64)
    return a, a.mean(), a.std()


def test_uniform_and_normal_moments():
    g = gen(0)
    for dtype in (fastnn.float32, fastnn.float64):
        a, m, s = moments(fastnn.empty(200_000, dtype=dtype).uniform_(-2, 3, generator=g))
        assert a.min() >= -2 and a.max() < 3 and abs(m - 0.5) < 0.02 and abs(s - 5 / math.sqrt(12)) < 0.01
        a, m, s = moments(fastnn.empty(200_000, dtype=dtype).normal_(1.5, 0.25, generator=g))
        assert abs(m - 1.5) < 0.003 and abs(s - 0.25) < 0.003
        assert abs(((a - 1.5) / 0.25 > 1.96).mean() - 0.025) < 0.003  # tails
        a, m, s = moments(fastnn.normal(-1.0, 2.0, size=(200_000,), dtype=dtype, generator=g))
        assert abs(m + 1) < 0.02 and abs(s - 2) < 0.02
    assert fastnn.empty(5).uniform_(2, 2).tolist() == [2.0] * 5
    assert fastnn.empty(5).normal_(3, 0).tolist() == [3.0] * 5


def test_normal_with_tensor_mean_and_std():
    g = gen(1)
    mean = fastnn.tensor([[-10.0], [0.0], [10.0]])
    std = fastnn.tensor([0.5, 1.0, 2.0, 4.0])
    x = fastnn.normal(mean.view(3, 1, 1).expand(3, 50_000, 4), std, generator=g)  # a strided mean
    a = to_numpy(x)
    assert a.shape == (3, 50_000, 4)
    np.testing.assert_allclose(a.mean(axis=1), np.broadcast_to([[-10.0], [0.0], [10.0]], (3, 4)), atol=0.05)
    np.testing.assert_allclose(a.std(axis=1), np.broadcast_to([0.5, 1.0, 2.0, 4.0], (3, 4)), rtol=0.02)
    b = to_numpy(fastnn.normal(fastnn.full((100_000,), 3.0, dtype=fastnn.float64), 0.5, generator=g))
    assert b.dtype == np.float64 and abs(b.mean() - 3) < 0.01 and abs(b.std() - 0.5) < 0.01
    c = to_numpy(fastnn.normal(-2.0, fastnn.full((100_000,), 3.0), generator=g))
    assert c.dtype == np.float32 and abs(c.mean() + 2) < 0.05 and abs(c.std() - 3) < 0.05


def test_normal_dtype_follows_mean_as_in_torch():
    for lib in (fastnn, torch):
        assert lib.normal(lib.zeros(3), lib.ones(3, dtype=lib.float64)).dtype == lib.float32
        assert lib.normal(lib.zeros(3, dtype=lib.float64), lib.ones(3)).dtype == lib.float64
        assert lib.normal(lib.zeros(3, dtype=lib.float64), lib.ones(3, dtype=lib.int64)).dtype == lib.float64
        assert lib.normal(2, 3, size=(2,)).dtype == lib.float32
        assert tuple(lib.normal(lib.zeros(0), 2.0).shape) == (0,)
        assert tuple(lib.normal(lib.tensor(0.0), 1.0).shape) == ()


def test_exponential_and_integers():
    g = gen(2)
    a, m, s = moments(fastnn.empty(200_000, dtype=fastnn.float64).exponential_(4.0, generator=g))
    assert a.min() >= 0 and abs(m - 0.25) < 0.003 and abs(s - 0.25) < 0.003
    assert abs((a > 0.25 * math.log(2)).mean() - 0.5) < 0.005  # the median
    for dtype in (fastnn.int64, fastnn.float32, fastnn.float64):
        r = to_numpy(fastnn.empty(60_000, dtype=dtype).random_(-3, 3, generator=g))
        counts = np.array([(r == v).sum() for v in range(-3, 3)])
        assert counts.sum() == r.size and (np.abs(counts / r.size - 1 / 6) < 0.01).all()
        r = to_numpy(fastnn.empty(60_000, dtype=dtype).random_(4, generator=g))
        assert set(np.unique(r).tolist()) == {0, 1, 2, 3}
    big = to_numpy(fastnn.empty(10_000, dtype=fastnn.int64).random_(generator=g))
    assert big.min() >= 0 and big.max() > 2**62  # [0, 2**63 - 1]
    f = to_numpy(fastnn.empty(10_000).random_(generator=g))
    assert f.min() >= 0 and f.max() <= 2**24 and f.max() > 2**23 and (f == np.round(f)).all()
    from_only = to_numpy(fastnn.empty(10_000, dtype=fastnn.int64).random_(2**62, None, generator=g))
    assert from_only.min() >= 2**62
    assert set(to_numpy(fastnn.empty(1000, dtype=fastnn.bool).random_(generator=g)).tolist()) == {False, True}
    r = to_numpy(fastnn.randint(-(2**63), 2**63 - 1, (10_000,), generator=g))
    assert r.min() < -(2**61) and r.max() > 2**61
    assert set(to_numpy(fastnn.randint(0, 2, (1000,), dtype=fastnn.bool, generator=g)).tolist()) == {False, True}


def test_bernoulli():
    g = gen(3)
    p = fastnn.tensor([0.0, 0.1, 0.5, 0.9, 1.0], dtype=fastnn.float64)
    x = to_numpy(fastnn.bernoulli(p.expand(40_000, 5), generator=g))
    assert x.dtype == np.float64 and set(np.unique(x).tolist()) <= {0.0, 1.0}
    np.testing.assert_allclose(x.mean(axis=0), [0, 0.1, 0.5, 0.9, 1], atol=0.01)
    assert x[:, 0].max() == 0 and x[:, 4].min() == 1
    for dtype in (fastnn.float32, fastnn.int64, fastnn.bool):
        y = to_numpy(fastnn.empty(100_000, dtype=dtype).bernoulli_(0.3, generator=g)).astype(np.float64)
        assert abs(y.mean() - 0.3) < 0.01
        y = to_numpy(fastnn.zeros(50_000, 2, dtype=dtype).bernoulli_(fastnn.tensor([0.2, 0.8]), generator=g))
        np.testing.assert_allclose(y.astype(np.float64).mean(axis=0), [0.2, 0.8], atol=0.01)
    z = to_numpy(fastnn.full((100_000,), 0.5).bernoulli(0.05, generator=g))
    assert abs(z.mean() - 0.05) < 0.005
    z = to_numpy(fastnn.full((100_000,), 0.25).bernoulli(generator=g))
    assert abs(z.mean() - 0.25) < 0.01


def test_randperm():
    g = gen(4)
    for n in (0, 1, 2, 5, 100_000):
        p = to_numpy(fastnn.randperm(n, generator=g))
        assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(n))
    # every position is uniform: the first element of many small permutations
    firsts = [fastnn.randperm(4, generator=g)[0].item() for _ in range(4000)]
    assert all(abs(firsts.count(v) / 4000 - 0.25) < 0.03 for v in range(4))
    f = to_numpy(fastnn.randperm(50, dtype=fastnn.float32, generator=g))
    assert sorted(f.tolist()) == list(range(50))
    assert fastnn.randperm(5, dtype=fastnn.float32, requires_grad=True).requires_grad


def test_multinomial_frequencies():
    g = gen(5)
    w = fastnn.tensor([1.0, 0.0, 3.0, 6.0])  # unnormalised weights
    draws = to_numpy(fastnn.multinomial(w, 100_000, True, generator=g))
    freq = np.bincount(draws, minlength=4) / draws.size
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.3, 0.6], atol=0.006)
    assert freq[1] == 0
    rows = fastnn.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 2.0]], dtype=fastnn.float64)
    r = to_numpy(fastnn.multinomial(rows, 2000, replacement=True, generator=g))
    assert r.shape == (2, 2000) and set(r[0].tolist()) == {0, 1} and set(r[1].tolist()) == {2}
    # without replacement: distinct, zero weights last, the first pick follows the weights
    firsts = []
    for _ in range(3000):
        s = fastnn.multinomial(w, 3, generator=g).tolist()
        assert len(set(s)) == 3 and 1 not in s
        firsts.append(s[0])
    np.testing.assert_allclose(np.bincount(firsts, minlength=4) / 3000, [0.1, 0, 0.3, 0.6], atol=0.03)
    assert sorted(fastnn.multinomial(w, 4, generator=g).tolist()[:3]) == [0, 2, 3]  # zero weight only at the end
    many = to_numpy(fastnn.multinomial(fastnn.rand(50, 1000, generator=g) + 0.01, 1000, generator=g))
    assert all(sorted(row) == list(range(1000)) for row in many.tolist())
    assert tuple(fastnn.multinomial(fastnn.ones(0, 3), 2).shape) == (0, 2)


def test_multinomial_second_pick_without_replacement():
    # weights 1, 2, 3: P(second = 0) = P(1 then 0) + P(2 then 0) = 2/6 * 1/4 + 3/6 * 1/3 = 1/12 + 1/6
    g = gen(6)
    seconds = to_numpy(fastnn.multinomial(fastnn.tensor([1.0, 2.0, 3.0]).expand(60_000, 3), 2, generator=g))[:, 1]
    p0 = 2 / 6 * 1 / 4 + 3 / 6 * 1 / 3
    p1 = 1 / 6 * 2 / 5 + 3 / 6 * 2 / 3
    np.testing.assert_allclose(np.bincount(seconds, minlength=3) / 60_000, [p0, p1, 1 - p0 - p1], atol=0.01)


def test_fills_are_laid_out_by_logical_index():
    """A fill gives element i (row-major over the tensor's shape) the same value whatever the memory
    layout, so a transposed destination holds what a contiguous one would."""
    fills = [
        lambda t, g: t.uniform_(generator=g),
        lambda t, g: t.normal_(generator=g),
        lambda t, g: t.exponential_(generator=g),
        lambda t, g: t.random_(10, generator=g),
        lambda t, g: t.bernoulli_(0.5, generator=g),
        lambda t, g: t.bernoulli_(fastnn.full((4,), 0.3), generator=g),
    ]
    for fill in fills:
        dense = fill(fastnn.empty(6, 4), gen(8))
        strided = fastnn.zeros(4, 6).t()
        assert fill(strided, gen(8)) is strided and not strided.is_contiguous()
        assert bits(strided.contiguous()) == bits(dense)
    base = fastnn.zeros(4, 10)
    base[:, ::3].uniform_(1, 2, generator=gen(9))
    a = to_numpy(base)
    assert (a[:, ::3] >= 1).all() and (np.delete(a, [0, 3, 6, 9], axis=1) == 0).all()
    assert bits(base[:, ::3].contiguous()) == bits(fastnn.empty(4, 4).uniform_(1, 2, generator=gen(9)))


def test_empty_and_0d():
    for lib in (fastnn, torch):
        assert tuple(lib.empty(0, 3).uniform_().shape) == (0, 3)
        assert tuple(lib.bernoulli(lib.zeros(0)).shape) == (0,)
        assert lib.empty(()).normal_().dim() == 0
        assert tuple(lib.randperm(0).shape) == (0,)
    g = gen(1)
    fastnn.empty(0).uniform_(generator=g)
    assert g.get_state().tolist() == [1, 0]


# ---------------------------------------------------------------------- autograd


INPLACE_NODES = [
    ("uniform_", lambda x: x.uniform_()),
    ("normal_", lambda x: x.normal_()),
    ("exponential_", lambda x: x.exponential_()),
    ("random_from_to", lambda x: x.random_(1, 5)),
    ("random_to", lambda x: x.random_(5)),
    ("random_", lambda x: x.random_()),
    ("bernoulli_float", lambda x: x.bernoulli_(0.5)),
]


@pytest.mark.parametrize("name,fill", INPLACE_NODES, ids=[r[0] for r in INPLACE_NODES])
def test_inplace_fill_autograd_matches_torch(name, fill):
    grads, names = [], []
    for lib in (fastnn, torch):
        a = lib.ones(3, requires_grad=True)
        x = a * 2
        y = fill(x)
        assert y is x
        names.append(type(y.grad_fn).__name__ if lib is torch else y.grad_fn.name())
        (y * 3).sum().backward()
        grads.append(to_numpy(a.grad))
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            fill(lib.ones(3, requires_grad=True))
    assert names[0] == names[1]
    np.testing.assert_array_equal(grads[0], grads[1])
    np.testing.assert_array_equal(grads[0], np.zeros(3, np.float32))


def test_bernoulli_tensor_p_and_normal_autograd_match_torch():
    cases = [
        lambda lib, a, b: (lib.zeros(3) * a).bernoulli_(b / 4),
        lambda lib, a, b: lib.bernoulli(a / 4),
        lambda lib, a, b: lib.normal(a, 1.0),
        lambda lib, a, b: lib.normal(0.0, b),
        lambda lib, a, b: lib.normal(a.view(3, 1), b),
    ]
    for case in cases:
        seen = []
        for lib in (fastnn, torch):
            a, b = lib.ones(3, requires_grad=True), lib.full((3,), 2.0, requires_grad=True)
            y = case(lib, a, b)
            seen.append(type(y.grad_fn).__name__ if lib is torch else y.grad_fn.name())
            y.sum().backward()
            for leaf in (a, b):
                if leaf.grad is not None:
                    assert not to_numpy(leaf.grad).any()
        assert seen[0] == seen[1]
    with fastnn.no_grad():
        assert fastnn.normal(fastnn.ones(2, requires_grad=True), 1.0).grad_fn is None
    x = fastnn.full((3,), 0.5, requires_grad=True)
    for out in (x.bernoulli(0.3), fastnn.multinomial(x, 2), fastnn.rand_like(x)):
        assert not out.requires_grad  # not differentiable


def test_inplace_fill_on_a_view_rebases_its_base():
    a = fastnn.ones(2, 3, requires_grad=True)
    b = a * 1
    b[0].uniform_()
    b.sum().backward()
    np.testing.assert_array_equal(to_numpy(a.grad), [[0, 0, 0], [1, 1, 1]])


# ---------------------------------------------------------------------- errors


ERRORS = [
    (
        "uniform_int",
        lambda lib: lib.zeros(3, dtype=lib.int64).uniform_(),
        TypeError,
        NotImplementedError,
        r"(\[uniform_\] expected a floating-point tensor, got int64)|(not implemented for 'Long')",
    ),
    (
        "uniform_range",
        lambda lib: lib.zeros(3).uniform_(1, 0),
        ValueError,
        RuntimeError,
        r"uniform_ expects to return a \[from, to\) range, but found from=1 > to=0",
    ),
    (
        "uniform_inf",
        lambda lib: lib.zeros(3).uniform_(0, float("inf")),
        ValueError,
        RuntimeError,
        r"to is out of bounds for float",
    ),
    (
        "uniform_nan",
        lambda lib: lib.zeros(3).uniform_(float("nan"), 1),
        ValueError,
        RuntimeError,
        r"from is out of bounds for float",
    ),
    (
        "uniform_width",
        lambda lib: lib.zeros(3).uniform_(-3e38, 3e38),
        ValueError,
        RuntimeError,
        r"uniform_ expects to-from <= .* but found to=3e\+38 and from=-3e\+38",
    ),
    (
        "uniform_type",
        lambda lib: lib.zeros(3).uniform_("a"),
        TypeError,
        TypeError,
        r"'?from'? (\(position 1\) )?must be",
    ),
    (
        "normal_std",
        lambda lib: lib.zeros(3).normal_(0, -1),
        ValueError,
        RuntimeError,
        r"normal expects std >= 0.0, but found std -1",
    ),
    (
        "normal_std_nan",
        lambda lib: lib.zeros(3).normal_(0, float("nan")),
        ValueError,
        RuntimeError,
        r"normal expects std >= 0.0, but found std nan",
    ),
    (
        "normal_int",
        lambda lib: lib.zeros(3, dtype=lib.int64).normal_(),
        TypeError,
        NotImplementedError,
        r"(\[normal_\] expected a floating-point tensor, got int64)|(not implemented for 'Long')",
    ),
    (
        "normal_fn_std",
        lambda lib: lib.normal(lib.zeros(3), -1.0),
        ValueError,
        RuntimeError,
        r"normal expects std >= 0.0, but found std -1",
    ),
    (
        "normal_fn_std_tensor",
        lambda lib: lib.normal(lib.zeros(3), -lib.ones(3)),
        ValueError,
        RuntimeError,
        r"normal expects all elements of std >= 0.0",
    ),
    (
        "normal_fn_shapes",
        lambda lib: lib.normal(lib.zeros(5), lib.ones(3)),
        ValueError,
        RuntimeError,
        r"(shapes \(5,\) and \(3,\) cannot be broadcast)|(size of tensor a \(5\) must match)",
    ),
    (
        "normal_fn_int_mean",
        lambda lib: lib.normal(lib.zeros(3, dtype=lib.int64), 1.0),
        TypeError,
        NotImplementedError,
        r"(\[normal\] expected a floating-point mean, got int64)|(not implemented for 'Long')",
    ),
    ("normal_fn_no_size", lambda lib: lib.normal(0.0, 1.0), TypeError, TypeError, r"normal"),
    (
        "normal_fn_size_with_tensor",
        lambda lib: lib.normal(lib.zeros(2), 1.0, size=(2,)),
        TypeError,
        TypeError,
        r"normal",
    ),
    (
        "exponential_lambda",
        lambda lib: lib.zeros(3).exponential_(0),
        ValueError,
        RuntimeError,
        r"exponential_ expects lambda > 0.0, but found lambda=0",
    ),
    (
        "exponential_int",
        lambda lib: lib.zeros(3, dtype=lib.int64).exponential_(),
        TypeError,
        RuntimeError,
        (
            r"Exponential distribution is a continuous probability distribution. dtype must be a floating point but you "
            r"specified (int64|Long)"
        ),
    ),
    (
        "random_order",
        lambda lib: lib.zeros(3).random_(5, 2),
        ValueError,
        RuntimeError,
        r"random_ expects 'from' to be less than 'to', but got from=5 >= to=2",
    ),
    (
        "random_bool",
        lambda lib: lib.zeros(3, dtype=lib.bool).random_(0, 3),
        ValueError,
        RuntimeError,
        r"to - 1 is out of bounds for bool",
    ),
    ("random_float_arg", lambda lib: lib.zeros(3).random_(2.5), TypeError, TypeError, r"random_"),
    (
        "randint_bool",
        lambda lib: lib.randint(0, 5, (3,), dtype=lib.bool),
        ValueError,
        RuntimeError,
        r"to - 1 is out of bounds for bool",
    ),
    (
        "randint_order",
        lambda lib: lib.randint(5, 2, (3,)),
        ValueError,
        RuntimeError,
        r"(expected low < high, got low=5, high=2)|(from=5 >= to=2)",
    ),
    (
        "rand_int",
        lambda lib: lib.rand(3, dtype=lib.int64),
        TypeError,
        NotImplementedError,
        r"(\[rand\] expected a floating-point tensor, got int64)|(not implemented for 'Long')",
    ),
    (
        "rand_like_int",
        lambda lib: lib.rand_like(lib.zeros(3, dtype=lib.int64)),
        TypeError,
        NotImplementedError,
        r"(\[rand\] expected a floating-point tensor, got int64)|(not implemented for 'Long')",
    ),
    (
        "randperm_negative",
        lambda lib: lib.randperm(-1),
        ValueError,
        RuntimeError,
        r"(\[randperm\] n must be non-negative, got -1)|(negative dimension -1)",
    ),
    (
        "randperm_bool",
        lambda lib: lib.randperm(3, dtype=lib.bool),
        TypeError,
        NotImplementedError,
        r"randperm.*(bool|Bool)",
    ),
    (
        "randperm_float_big",
        lambda lib: lib.randperm(2**24 + 2, dtype=lib.float32),
        ValueError,
        RuntimeError,
        r"n cannot be greater than 2\^24\+1 for Float type.",
    ),
    (
        "randperm_requires_grad",
        lambda lib: lib.randperm(3, requires_grad=True),
        RuntimeError,
        RuntimeError,
        r"Only Tensors of floating point",
    ),
    (
        "bernoulli_p",
        lambda lib: lib.zeros(3).bernoulli_(1.2),
        ValueError,
        RuntimeError,
        r"bernoulli_ expects p to be in \[0, 1\], but got p=1.2",
    ),
    (
        "bernoulli_p_tensor",
        lambda lib: lib.zeros(3).bernoulli_(lib.full((3,), 1.2)),
        ValueError,
        RuntimeError,
        r"Expected p_in >= 0 && p_in <= 1 to be true, but got false",
    ),
    (
        "bernoulli_p_nan",
        lambda lib: lib.bernoulli(lib.full((3,), float("nan"))),
        ValueError,
        RuntimeError,
        r"Expected p_in >= 0 && p_in <= 1 to be true, but got false",
    ),
    (
        "bernoulli_int",
        lambda lib: lib.bernoulli(lib.ones(3, dtype=lib.int64)),
        TypeError,
        NotImplementedError,
        r"bernoulli",
    ),
    (
        "bernoulli_p_shape",
        lambda lib: lib.zeros(3).bernoulli_(lib.ones(2, 3)),
        ValueError,
        RuntimeError,
        r"(bernoulli_\] probabilities of shape \(2, 3\) cannot be broadcast to the shape \(3,\))|(number of sizes)",
    ),
    (
        "uniform_expanded",
        lambda lib: lib.zeros(1).expand(3).uniform_(),
        RuntimeError,
        RuntimeError,
        r"more than one element of the written-to tensor refers to a single memory location",
    ),
    (
        "multinomial_negative",
        lambda lib: lib.multinomial(lib.tensor([1.0, -2.0]), 1),
        ValueError,
        RuntimeError,
        r"probability tensor contains either `inf`, `nan` or element < 0",
    ),
    (
        "multinomial_inf",
        lambda lib: lib.multinomial(lib.tensor([1.0, float("inf")]), 1),
        ValueError,
        RuntimeError,
        r"probability tensor contains either `inf`, `nan` or element < 0",
    ),
    (
        "multinomial_nan",
        lambda lib: lib.multinomial(lib.tensor([[1.0, 1.0], [float("nan"), 1.0]]), 1),
        ValueError,
        RuntimeError,
        r"probability tensor contains either `inf`, `nan` or element < 0",
    ),
    (
        "multinomial_zero_row",
        lambda lib: lib.multinomial(lib.tensor([[1.0, 1.0], [0.0, 0.0]]), 1, True),
        ValueError,
        RuntimeError,
        r"invalid multinomial distribution \(sum of probabilities <= 0\)",
    ),
    (
        "multinomial_too_many",
        lambda lib: lib.multinomial(lib.tensor([1.0, 2.0]), 3),
        ValueError,
        RuntimeError,
        r"cannot sample n_sample > prob_dist.size\(-1\) samples without replacement",
    ),
    (
        "multinomial_zero_samples",
        lambda lib: lib.multinomial(lib.tensor([1.0, 2.0]), 0),
        ValueError,
        RuntimeError,
        r"cannot sample n_sample <= 0 samples",
    ),
    (
        "multinomial_3d",
        lambda lib: lib.multinomial(lib.ones(2, 2, 2), 1),
        ValueError,
        RuntimeError,
        r"prob_dist must be 1 or 2 dim",
    ),
    (
        "multinomial_0d",
        lambda lib: lib.multinomial(lib.tensor(1.0), 1),
        ValueError,
        RuntimeError,
        r"prob_dist must be 1 or 2 dim",
    ),
    (
        "multinomial_int",
        lambda lib: lib.multinomial(lib.tensor([1, 2]), 1),
        TypeError,
        RuntimeError,
        r"multinomial only supports floating-point dtypes for input, got: (int64|Long)",
    ),
    (
        "multinomial_replacement_int",
        lambda lib: lib.multinomial(lib.ones(3), 1, replacement=1),
        TypeError,
        TypeError,
        r"replacement'? must be",
    ),
    (
        "multinomial_categories",
        lambda lib: lib.multinomial(lib.ones(2**24 + 1), 1),
        ValueError,
        RuntimeError,
        r"number of categories cannot exceed 2\^24",
    ),
]


@pytest.mark.parametrize("name,fn,ours,theirs,regex", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_torch(name, fn, ours, theirs, regex):
    with pytest.raises(theirs, match=regex):
        fn(torch)
    fastnn.manual_seed(0)
    with pytest.raises(ours, match=regex) as info:
        fn(fastnn)
    op = name.split("_")[0]
    assert f"[{op}" in str(info.value) or op in str(info.value), info.value
    if "requires_grad" not in name:  # (refused after the draw, as in torch)
        assert fastnn.get_rng_state().tolist() == [0, 0]  # a refused draw takes no counters


# ---------------------------------------------------------------------- nn.init


def test_init_functions_draw_through_the_random_ops():
    init = fastnn.nn.init
    w = fastnn.empty(30, 40)
    cases = [
        (lambda g: init.uniform_(w, -1, 2, generator=g), lambda g: fastnn.empty(30, 40).uniform_(-1, 2, generator=g)),
        (lambda g: init.normal_(w, 1, 3, generator=g), lambda g: fastnn.empty(30, 40).normal_(1, 3, generator=g)),
        (
            lambda g: init.xavier_uniform_(w, generator=g),
            lambda g: fastnn.empty(30, 40).uniform_(-math.sqrt(6 / 70), math.sqrt(6 / 70), generator=g),
        ),
        (
            lambda g: init.kaiming_normal_(w, generator=g),
            lambda g: fastnn.empty(30, 40).normal_(0, math.sqrt(2) / math.sqrt(40), generator=g),
        ),
    ]
    for ours, expected in cases:
        assert bits(ours(gen(3))) == bits(expected(gen(3)))
        fastnn.manual_seed(3)
        assert bits(ours(None)) == bits(expected(gen(3)))  # no generator: the global one


def test_trunc_normal():
    init = fastnn.nn.init
    w = fastnn.empty(200_000, dtype=fastnn.float64)
    init.trunc_normal_(w, mean=0.5, std=2.0, a=-1.0, b=3.0, generator=gen(0))
    ref = torch.empty(200_000, dtype=torch.float64)
    torch.nn.init.trunc_normal_(ref, mean=0.5, std=2.0, a=-1.0, b=3.0, generator=torch.Generator().manual_seed(0))
    a, r = to_numpy(w), to_numpy(ref)
    assert a.min() >= -1 and a.max() <= 3 and a.min() < -0.999 and a.max() > 2.999
    assert abs(a.mean() - r.mean()) < 0.02 and abs(a.std() - r.std()) < 0.02
    np.testing.assert_allclose(
        np.histogram(a, bins=8, range=(-1, 3))[0] / a.size,
        np.histogram(r, bins=8, range=(-1, 3))[0] / r.size,
        atol=0.006,
    )
    x = fastnn.empty(1000)
    assert init.trunc_normal_(x, std=0.02) is x and abs(x).max().item() < 0.1
    assert bits(init.trunc_normal_(fastnn.empty(50), generator=gen(4))) == bits(
        init.trunc_normal_(fastnn.empty(50), generator=gen(4))
    )
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        assert init.trunc_normal_(fastnn.empty(5), mean=3, std=0, a=-1, b=1).tolist() == [1.0] * 5
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        init.trunc_normal_(fastnn.empty(5), mean=5.0)
    with pytest.raises(TypeError, match=r"\[trunc_normal_\] expected a floating-point tensor, got int64"):
        init.trunc_normal_(fastnn.empty(5, dtype=fastnn.int64))


# ---------------------------------------------------------------------- samplers and the data pipeline


def test_random_sampler_with_huge_num_samples_is_lazy():
    for replacement in (True, False):
        before = fastnn._C._allocator_in_use_bytes()
        start = time.perf_counter()
        it = iter(RandomSampler(range(10), replacement=replacement, num_samples=10**10, generator=gen(0)))
        first = [next(it) for _ in range(100)]
        assert time.perf_counter() - start < 2.0  # drawing all 10**10 up front took minutes and 74 GiB
        assert fastnn._C._allocator_in_use_bytes() - before < 1 << 20
        assert all(0 <= i < 10 for i in first)
    # with replacement: chunks of 32 from the generator, as one long draw would give
    it = iter(RandomSampler(range(7), replacement=True, num_samples=10**10, generator=gen(1)))
    assert [next(it) for _ in range(100)] == fastnn.randint(0, 7, (100,), generator=gen(1)).tolist()
    assert len(list(RandomSampler(range(7), replacement=True, num_samples=70, generator=gen(1)))) == 70


def test_samplers_draw_from_the_generator():
    ds = list(range(12))
    assert list(RandomSampler(ds, generator=gen(2))) == fastnn.randperm(12, generator=gen(2)).tolist()
    g = gen(2)
    two_epochs = fastnn.randperm(12, generator=g).tolist() + fastnn.randperm(12, generator=g).tolist()
    assert list(RandomSampler(ds, num_samples=20, generator=gen(2))) == two_epochs[:20]
    idx = [5, 1, 9, 3]
    order = fastnn.randperm(4, generator=gen(3)).tolist()
    assert list(SubsetRandomSampler(idx, generator=gen(3))) == [idx[i] for i in order]
    w = [0.5, 0.0, 2.0, 1.0]
    assert (
        list(WeightedRandomSampler(w, 30, generator=gen(4)))
        == fastnn.multinomial(fastnn.tensor(w, dtype=fastnn.float64), 30, True, generator=gen(4)).tolist()
    )
    assert sorted(WeightedRandomSampler(w, 3, replacement=False, generator=gen(4))) == [0, 2, 3]
    split = random_split(range(12), [4, 8], generator=gen(5))
    assert split[0].indices + split[1].indices == fastnn.randperm(12, generator=gen(5)).tolist()
    # without a generator: the global one (the sampler's own generator is seeded from it)
    fastnn.manual_seed(6)
    a = list(RandomSampler(ds))
    fastnn.manual_seed(6)
    assert list(RandomSampler(ds)) == a and fastnn.get_rng_state().tolist() == [6, 1]


def test_loader_fast_path_and_lazy_path_give_the_same_order():
    from fastnn.utils.data import DataLoader, TensorDataset

    ds = TensorDataset(fastnn.arange(30))
    fast = [b[0].tolist() for b in DataLoader(ds, batch_size=7, shuffle=True, generator=gen(7))]
    g = gen(7)
    fastnn.empty((), dtype=fastnn.int64).random_(generator=g)  # the loader draws its workers' base seed first, as torch
    sampler = RandomSampler(ds, generator=g)
    slow = [list(b) for b in zip(*[iter(list(sampler))] * 7)]
    assert [x for b in fast for x in b][:28] == [x for b in slow for x in b]
    rep = DataLoader(ds, batch_size=8, sampler=RandomSampler(ds, replacement=True, num_samples=20, generator=gen(8)))
    assert [x for b in rep for x in b[0].tolist()] == fastnn.randint(0, 30, (20,), generator=gen(8)).tolist()
