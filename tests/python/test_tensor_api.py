"""The Tensor and package surface against PyTorch: repr, Size, dtypes, identity, conversions, seeds, deepcopy."""

import copy
import pickle

import numpy as np
import pytest

import fastnn
from oracle import torch

LIBS = (fastnn, torch)


def same_repr(make, text=repr):
    """text(make(fastnn)) equals torch's after renaming torch. to fastnn."""
    ours = text(make(fastnn))
    theirs = text(make(torch)).replace("torch.", "fastnn.")
    assert ours == theirs, f"\n--- torch ---\n{theirs}\n--- fastnn ---\n{ours}"
    return ours


# ---------------------------------------------------------------------------------------------
# repr / str

REPRS = [
    ("leaf_requires_grad", lambda m: m.tensor([1.0, 2.0], requires_grad=True)),
    ("mul", lambda m: m.tensor([1.0, 2.0], requires_grad=True) * 2),
    ("sum_0d", lambda m: m.tensor([1.0, 2.0], requires_grad=True).sum()),
    ("t_2d", lambda m: m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True).t()),
    ("float64_leaf", lambda m: m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)),
    ("float64_exp", lambda m: m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True).exp()),
    ("scalar_leaf", lambda m: m.tensor(3.0, requires_grad=True)),
    ("empty_leaf", lambda m: m.zeros(0, 3, requires_grad=True)),
    ("empty_grad_fn", lambda m: m.zeros(0, 3, requires_grad=True) * 2),
    ("no_grad_result", lambda m: m.tensor([1.0, 2.0]) * 2),
    ("detached", lambda m: (m.tensor([1.0, 2.0], requires_grad=True) * 2).detach()),
    ("int", lambda m: m.tensor([1, 2])),
    ("bool", lambda m: m.tensor([True, False])),
    ("matmul_3x4", lambda m: m.ones(3, 2, requires_grad=True) @ m.ones(2, 4)),
    ("mean_keepdim", lambda m: m.ones(2, 3, requires_grad=True).mean(1, keepdim=True)),
    ("softmax", lambda m: m.tensor([[1.0, 2.0, 3.0]], requires_grad=True).softmax(1)),
    ("large_summarized", lambda m: m.arange(2000.0).requires_grad_() * 1),
    ("nonfinite", lambda m: m.tensor([float("nan"), float("inf"), -1.5], requires_grad=True)),
    ("relu_", lambda m: (m.tensor([-1.0, 2.0], requires_grad=True) * 1).relu_()),
    ("select", lambda m: m.tensor([[1.0, 2.0]], requires_grad=True)[0]),
]


@pytest.mark.parametrize("name, make", REPRS, ids=[r[0] for r in REPRS])
def test_repr_and_str_match_torch(name, make):
    same_repr(make, repr)
    same_repr(make, str)


def test_repr_of_function_output():
    for m in LIBS:

        class Twice(m.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

    def make(m):
        class Twice(m.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        return Twice.apply(m.tensor([1.0, 2.0], requires_grad=True))

    assert same_repr(make) == "tensor([2., 4.], grad_fn=<TwiceBackward>)"


def test_parameter_repr():
    assert same_repr(lambda m: m.nn.Parameter(m.ones(2))) == (
        "Parameter containing:\ntensor([1., 1.], requires_grad=True)"
    )
    same_repr(lambda m: m.nn.Parameter(m.ones(2), requires_grad=False))
    same_repr(lambda m: m.nn.Parameter(m.ones(2, 2, dtype=m.float64)))
    same_repr(lambda m: m.nn.Parameter())
    # an op on a Parameter is a plain tensor with history
    same_repr(lambda m: m.nn.Parameter(m.ones(2)) * 2)


def test_parameter_basics():
    data = fastnn.ones(2)
    p = fastnn.nn.Parameter(data)
    assert type(p).__name__ == "Parameter" and isinstance(p, fastnn.Tensor)
    assert p.is_leaf and p.requires_grad and p.data_ptr() == data.data_ptr()
    assert not fastnn.nn.Parameter(data, requires_grad=False).requires_grad
    (p * 3).sum().backward()
    assert p.grad.tolist() == [3.0, 3.0] and type(p.grad) is fastnn.Tensor


# ---------------------------------------------------------------------------------------------
# Size


def test_size_repr_slicing_and_numel():
    s = fastnn.ones(2, 3, 4).shape
    assert type(s) is fastnn.Size and isinstance(s, tuple)
    assert repr(s) == str(s) == "fastnn.Size([2, 3, 4])"
    assert repr(s[1:]) == "fastnn.Size([3, 4])" and type(s[1:]) is fastnn.Size
    assert repr(s[::-1]) == "fastnn.Size([4, 3, 2])"
    assert s[-1] == 4 and type(s[0]) is int
    assert s == (2, 3, 4) and s == torch.Size([2, 3, 4]) and hash(s) == hash((2, 3, 4))
    assert (s.numel(), fastnn.Size([]).numel(), fastnn.Size([0, 3]).numel()) == (24, 1, 0)
    assert repr(fastnn.Size([])) == "fastnn.Size([])"
    assert fastnn.ones(2, 3).size() == (2, 3) and fastnn.ones(2, 3).size(-1) == 3
    assert repr(fastnn.ones(()).shape) == "fastnn.Size([])"
    assert len(s) == 3 and list(s) == [2, 3, 4]


def test_size_arithmetic_keeps_the_type_like_torch():
    for m in LIBS:
        s = m.Size([2, 3])
        for r in (s + (4,), (1,) + s, s + m.Size([5]), s * 2, 2 * s, s[:1]):
            assert type(r) is m.Size, (m.__name__, r)
        assert s + (4,) == (2, 3, 4) and (1,) + s == (1, 2, 3) and s * 2 == (2, 3, 2, 3)


def test_size_construction():
    assert fastnn.Size((2, 3)) == (2, 3)
    assert fastnn.Size([fastnn.tensor(3), np.int64(2)]) == (3, 2)
    assert type(fastnn.Size([np.int64(2)])[0]) is int
    for bad, kind in ((2.5, "float"), ("a", "str"), (None, "NoneType")):
        with pytest.raises(TypeError, match=rf"fastnn.Size\(\) takes an iterable of 'int' \(item 1 is '{kind}'\)"):
            fastnn.Size([1, bad])
    assert fastnn.zeros(fastnn.Size([2, 1])).shape == (2, 1)
    assert fastnn.ones(2).view(fastnn.Size([1, 2])).shape == (1, 2)
    assert pickle.loads(pickle.dumps(fastnn.Size([2, 3]))) == fastnn.Size([2, 3])
    assert type(copy.deepcopy(fastnn.Size([2]))) is fastnn.Size


# ---------------------------------------------------------------------------------------------
# dtypes


def test_dtype_reprs_and_aliases():
    names = ["float32", "float64", "int64", "bool"]
    for n in names:
        d = getattr(fastnn, n)
        assert repr(d) == str(d) == f"fastnn.{n}" == repr(getattr(torch, n)).replace("torch.", "fastnn.")
        assert isinstance(d, fastnn.dtype)
    assert fastnn.float is fastnn.float32 and fastnn.double is fastnn.float64 and fastnn.long is fastnn.int64
    assert [getattr(fastnn, n).is_floating_point for n in names] == [True, True, False, False]
    assert [getattr(fastnn, n).itemsize for n in names] == [getattr(torch, n).itemsize for n in names] == [4, 8, 8, 1]
    assert fastnn.float32 == fastnn.float32 and fastnn.float32 != fastnn.float64
    assert len({fastnn.float32, fastnn.float32, fastnn.float64}) == 2


def test_float32_is_the_default():
    assert fastnn.get_default_dtype() is fastnn.float32 and torch.get_default_dtype() == torch.float32
    made = [
        fastnn.ones(2),
        fastnn.zeros(2),
        fastnn.empty(2),
        fastnn.rand(2),
        fastnn.randn(2),
        fastnn.tensor([1.5]),
        fastnn.tensor(1.5),
        fastnn.arange(3.0),
        fastnn.full((1,), 1.5),
        fastnn.eye(2),
        fastnn.ones(2) / 2,
        fastnn.tensor([1, 2]) / 2,
        fastnn.tensor([1, 2]) * 1.5,
        fastnn.nn.Linear(2, 2).weight,
    ]
    assert [t.dtype for t in made] == [fastnn.float32] * len(made)
    ints = [
        fastnn.tensor([1]),
        fastnn.arange(3),
        fastnn.randint(0, 3, (2,)),
        fastnn.full((1,), 2),
        fastnn.tensor([1, 2]) * 2,
        fastnn.ones(2).argmax(),
    ]
    assert [t.dtype for t in ints] == [fastnn.int64] * len(ints)
    assert fastnn.tensor(True).dtype is fastnn.bool and (fastnn.ones(2) > 0).dtype is fastnn.bool
    assert fastnn.tensor(np.zeros(2)).dtype is fastnn.float64  # NumPy arrays keep their dtype
    assert fastnn.from_numpy(np.zeros(2, np.float32)).dtype is fastnn.float32
    assert (fastnn.ones(2) + fastnn.ones(2, dtype=fastnn.float64)).dtype is fastnn.float64


# ---------------------------------------------------------------------------------------------
# identity, hashing, leaves


def test_is_leaf():
    for m in LIBS:
        x = m.ones(2, requires_grad=True)
        assert (
            x.is_leaf,
            (x * 2).is_leaf,
            x.detach().is_leaf,
            m.ones(2).is_leaf,
            (m.ones(2) * 2).is_leaf,
            x[0].is_leaf,
        ) == (True, False, True, True, True, False)


def test_tensors_hash_by_identity_and_work_as_dict_keys():
    a, b = fastnn.ones(2), fastnn.ones(2)
    d = {a: "a", b: "b"}
    assert len(d) == 2 and d[a] == "a" and d[b] == "b"
    assert hash(a) == hash(a) and hash(a) != hash(b)
    assert a in {a} and b not in {a}
    p = fastnn.nn.Parameter(fastnn.ones(2))
    assert {p: 1}[p] == 1


def test_same_cpp_tensor_is_the_same_python_object():
    x = fastnn.ones(3, requires_grad=True)
    (x * 2).sum().backward()
    assert x.grad is x.grad
    y = x * 2
    assert y.grad_fn.next_functions[0][0].variable is x
    assert x.view(3) is not x and x.detach() is not x
    assert x.requires_grad_() is x
    assert x.grad.zero_() is x.grad


# ---------------------------------------------------------------------------------------------
# iteration, len, conversions


def test_iteration_and_len():
    for m in LIBS:
        x = m.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        rows = list(x)
        assert len(x) == 3 and len(rows) == 3
        assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
        assert [type(v.item()) for v in m.tensor([1, 2])] == [int, int]
        assert len(m.ones(0, 2)) == 0 and list(m.ones(0)) == []
        with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
            len(m.tensor(1.0))
        with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
            iter(m.tensor(1.0))
    rows = list(fastnn.tensor([1.0, 2.0], requires_grad=True))
    assert all(r.requires_grad and not r.is_leaf for r in rows)
    assert 2 in fastnn.tensor([1, 2]) and 3 not in fastnn.tensor([1, 2])


def test_bool_float_int_conversions():
    for m in LIBS:
        assert (bool(m.tensor(0.0)), bool(m.tensor([2])), bool(m.tensor(True)), bool(m.tensor([[0.5]]))) == (
            False,
            True,
            True,
            True,
        )
        assert (float(m.tensor(2.5)), float(m.tensor([3])), float(m.tensor(True))) == (2.5, 3.0, 1.0)
        assert (int(m.tensor(2.7)), int(m.tensor(-2.7)), int(m.tensor([3]))) == (2, -2, 3)
        assert [10, 20, 30][m.tensor(1)] == 20
        assert m.tensor(2.5).item() == 2.5 and type(m.tensor(7).item()) is int and m.tensor(True).item() is True
        assert f"{m.tensor(2.5):.2f}" == "2.50"
        with pytest.raises(ValueError, match="cannot convert float NaN to integer"):
            int(m.tensor(float("nan")))
        with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
            bool(m.ones(2))
    assert float(fastnn.tensor(np.float64(0.1))) == 0.1
    assert float(fastnn.tensor(0.1)) == float(np.float32(0.1))
    assert fastnn.tensor([[1.0, 2.0]]).tolist() == [[1.0, 2.0]]


@pytest.mark.filterwarnings("error::DeprecationWarning")
def test_int_of_bool_tensor():
    assert int(fastnn.tensor(True)) == 1 and int(torch.tensor(True)) == 1


def test_tensor_with_float64_dtype_keeps_python_float_precision():
    assert float(fastnn.tensor(0.1, dtype=fastnn.float64)) == 0.1
    assert fastnn.tensor([0.1, 1e-40], dtype=fastnn.float64).tolist() == [0.1, 1e-40]


def test_tensor_api_misc():
    x = fastnn.ones(2, 3)
    assert (x.dim(), x.ndim, fastnn.tensor(1.0).dim()) == (2, 2, 0)
    assert (x.numel(), fastnn.tensor(1.0).numel(), fastnn.ones(0, 3).numel()) == (6, 1, 0)
    assert repr(x.device) == "device(type='cpu')" and not x.is_cuda
    assert x.is_floating_point() and not fastnn.ones(1, dtype=fastnn.int64).is_floating_point()
    assert x.element_size() == 4 and x.stride() == (3, 1) and x.t().stride() == (1, 3)
    assert x.is_contiguous() and not x.t().is_contiguous()


# ---------------------------------------------------------------------------------------------
# threads and seeds


def test_num_threads():
    start = fastnn.get_num_threads()
    assert start >= 1
    fastnn.set_num_threads(2)
    assert fastnn.get_num_threads() == 2
    fastnn.set_num_threads(1)
    assert fastnn.get_num_threads() == 1
    with pytest.raises(ValueError, match=r"\[set_num_threads\] expected a positive number of threads, got -3"):
        fastnn.set_num_threads(-3)
    assert fastnn.get_num_threads() == 1


@pytest.mark.parametrize(
    "draw",
    [
        lambda: fastnn.randn(50),
        lambda: fastnn.rand(4, 5),
        lambda: fastnn.randint(0, 1000, (50,)),
        lambda: fastnn.randn(3, dtype=fastnn.float64),
        lambda: fastnn.empty(20).uniform_(-1, 1),
        lambda: fastnn.empty(20).normal_(2.0, 3.0),
    ],
    ids=["randn", "rand", "randint", "randn_f64", "uniform_", "normal_"],
)
def test_manual_seed_reproducibility(draw):
    fastnn.manual_seed(1234)
    a = draw()
    b = draw()  # the stream moves on
    fastnn.manual_seed(1234)
    a2 = draw()
    b2 = draw()
    fastnn.manual_seed(4321)
    c = draw()
    assert a.tolist() == a2.tolist() and b.tolist() == b2.tolist()
    assert a.tolist() != b.tolist() and a.tolist() != c.tolist()
    assert fastnn.initial_seed() == 4321


def test_random_values_are_plausible():
    fastnn.manual_seed(0)
    n = fastnn.randn(20000).numpy()
    u = fastnn.rand(20000).numpy()
    r = fastnn.randint(3, 7, (20000,)).numpy()
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    assert set(np.unique(r)) == {3, 4, 5, 6}


def test_manual_seed_independent_of_threads():
    fastnn.set_num_threads(1)
    fastnn.manual_seed(7)
    a = fastnn.randn(100_000).numpy()
    fastnn.set_num_threads(2)
    fastnn.manual_seed(7)
    b = fastnn.randn(100_000).numpy()
    assert np.array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# deepcopy


def test_deepcopy_of_tensors():
    for m in LIBS:
        x = m.tensor([1.0, 2.0], requires_grad=True)
        (x * 3).sum().backward()
        y = copy.deepcopy(x)
        assert y is not x and y.data_ptr() != x.data_ptr()
        assert repr(y).replace("torch.", "fastnn.") == "tensor([1., 2.], requires_grad=True)"
        assert y.is_leaf and y.requires_grad and y.grad.tolist() == [3.0, 3.0] and y.grad is not x.grad
        with m.no_grad():
            y.add_(1)
        assert x.tolist() == [1.0, 2.0]
        i = copy.deepcopy(m.tensor([1, 2]))
        assert i.dtype == m.int64 and i.tolist() == [1, 2]


def test_deepcopy_of_parameters_and_memo():
    for m in LIBS:
        p = m.nn.Parameter(m.ones(2))
        q = copy.deepcopy(p)
        assert type(q) is m.nn.Parameter and q.requires_grad and q.data_ptr() != p.data_ptr()
        assert repr(q) == repr(p)
        assert not copy.deepcopy(m.nn.Parameter(m.ones(2), requires_grad=False)).requires_grad
        x = m.ones(2)
        a, b = copy.deepcopy([x, x])
        assert a is b
        lin = m.nn.Linear(2, 3)
        lin2 = copy.deepcopy(lin)
        assert lin2.weight is not lin.weight and lin2.weight.tolist() == lin.weight.tolist()
        assert type(lin2.weight) is m.nn.Parameter


def test_deepcopy_of_non_leaf_is_refused():
    with pytest.raises(RuntimeError, match="Only Tensors created explicitly by the user"):
        copy.deepcopy(fastnn.ones(2, requires_grad=True) * 2)


def test_deepcopy_keeps_storage_sharing():
    x = fastnn.arange(4.0)
    for pair in ([x, x[1:]], [x[1:], x]):
        a, b = copy.deepcopy(pair)
        assert abs(b.data_ptr() - a.data_ptr()) == 4 and a.data_ptr() != x.data_ptr()
    a, b = copy.deepcopy([x[::2], x.view(2, 2).t()])  # two views of one base: one copy of it behind both
    assert a.tolist() == [0.0, 2.0] and b.tolist() == [[0.0, 2.0], [1.0, 3.0]] and a.data_ptr() == b.data_ptr()
    a.add_(10)
    assert b.tolist() == [[10.0, 12.0], [1.0, 3.0]] and x.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_shallow_copy():
    # as torch: a new leaf sharing the memory, with requires_grad, class and attributes kept
    x = fastnn.tensor([1.0, 2.0], requires_grad=True)
    x.tag = "w"
    y = copy.copy(x * 2)
    assert y.tolist() == [2.0, 4.0] and y.is_leaf and y.requires_grad
    y = copy.copy(x)
    assert y is not x and y.data_ptr() == x.data_ptr() and y.tag == "w" and y.requires_grad
    p = fastnn.nn.Parameter(fastnn.ones(2))
    q = copy.copy(p)
    assert type(q) is fastnn.nn.Parameter and q.data_ptr() == p.data_ptr()


def test_setting_python_attributes_on_a_tensor():
    x = fastnn.ones(2)
    x.tag = "weights"
    assert x.tag == "weights"
    y = copy.deepcopy(x)
    assert y.tag == "weights" and y.__dict__ is not x.__dict__
