"""gather, scatter(_), scatter_add(_), index_add(_), take_along_dim and masked_select vs torch."""

import numpy as np
import pytest

import fastnn
from oracle import assert_close, check_op, gradcheck_op, layout_input, torch

# index arrays (NumPy) used by the rows; x has shape (3, 4) unless a row says otherwise
G0 = np.array([[0, 1, 2, 0], [2, 2, 0, 1]])  # along dim 0, shape (2, 4)
G1 = np.array([[3, 0], [1, 1], [0, 2]])  # along dim 1, shape (3, 2)
S0 = np.array([[0, 1, 2, 0], [1, 2, 0, 2]])  # scatter along dim 0: no repeats in a column
D0 = np.array([[0, 0, 0, 1], [0, 0, 2, 1], [0, 0, 1, 1]])  # repeats along dim 0 (for add)


def _i(L, a):
    return L.tensor(a)


ROWS = [  # (name, fn(L, x, y) where y has shape (3, 4) too, layouts apply to x)
    ("gather_dim0", lambda L, x, y: L.gather(x, 0, _i(L, G0))),
    ("gather_dim1", lambda L, x, y: x.gather(1, _i(L, G1))),
    ("gather_neg_dim", lambda L, x, y: x.gather(-1, _i(L, G1))),
    ("gather_repeats", lambda L, x, y: x.gather(0, _i(L, D0))),
    ("gather_smaller_index", lambda L, x, y: x.gather(1, _i(L, G1[:2, :1]))),
    ("gather_empty", lambda L, x, y: x.gather(1, _i(L, np.zeros((3, 0), np.int64)))),
    ("scatter_src", lambda L, x, y: L.scatter(x, 0, _i(L, S0), y[:2])),
    ("scatter_src_dim1", lambda L, x, y: x.scatter(1, _i(L, np.array([[3, 0], [1, 2], [0, 2]])), y[:, :2])),
    ("scatter_value", lambda L, x, y: x.scatter(0, _i(L, S0), 1.5) * y),
    ("scatter_value_kw", lambda L, x, y: L.scatter(x, 1, _i(L, G1), value=-2.0) + y),
    ("scatter_add", lambda L, x, y: L.scatter_add(x, 0, _i(L, D0), y)),
    ("scatter_add_dim1", lambda L, x, y: x.scatter_add(1, _i(L, G1), y[:, :2])),
    ("scatter_add_empty", lambda L, x, y: x.scatter_add(0, _i(L, np.zeros((0, 4), np.int64)), y[:0])),
    ("index_add", lambda L, x, y: L.index_add(x, 0, _i(L, np.array([2, 0, 2])), y)),
    ("index_add_alpha", lambda L, x, y: x.index_add(1, _i(L, np.array([3, 3])), y[:, :2], alpha=-1.5)),
    ("index_add_empty", lambda L, x, y: x.index_add(0, _i(L, np.zeros(0, np.int64)), y[:0])),
    ("take_along_dim0", lambda L, x, y: L.take_along_dim(x, _i(L, G0), 0)),
    ("take_along_dim1_broadcast", lambda L, x, y: x.take_along_dim(_i(L, np.array([[1, 3]])), dim=1)),
    # (torch flattens with view(-1): it refuses a non-contiguous input, fastnn copies)
    ("take_along_dim_none", lambda L, x, y: L.take_along_dim(x.contiguous(), _i(L, np.array([[0, 11], [7, 5]])))),
    ("take_along_argmax", lambda L, x, y: x.take_along_dim(y.argmax(1, keepdim=True), 1)),
    ("masked_select", lambda L, x, y: L.masked_select(x, y > 0)),
    ("masked_select_broadcast", lambda L, x, y: x.masked_select(L.tensor([True, False, True, True]))),
    ("masked_select_mask_wider", lambda L, x, y: x[0].masked_select(y > 0)),
    ("masked_select_none", lambda L, x, y: x.masked_select(L.zeros(3, 4, dtype=L.bool))),
]
IDS = [r[0] for r in ROWS]


def _name(t):
    if t.grad_fn is None:
        return None
    return type(t.grad_fn).__name__ if isinstance(t, torch.Tensor) else t.grad_fn.name()


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided", "expanded"])
@pytest.mark.parametrize("name,fn", ROWS, ids=IDS)
def test_ops(name, fn, layout):
    rng = np.random.default_rng(0)
    arr, prep = layout_input(rng, (3, 4), layout, np.float32)
    y = rng.standard_normal((3, 4)).astype(np.float32)
    f, t = check_op(fn, [arr, y], prep=[prep, None], uses_module=True)
    assert _name(f) == _name(t)


@pytest.mark.parametrize("name,fn", ROWS, ids=IDS)
def test_ops_int64(name, fn):
    rng = np.random.default_rng(1)
    x, y = rng.integers(-5, 5, (3, 4)), rng.integers(-5, 5, (3, 4))
    if "value" in name or "alpha" in name:
        return  # float numbers into int64 tensors: covered in test_numbers_into_integer_tensors
    check_op(fn, [x, y], uses_module=True, grad=False)


GRAD_NAMES = [
    (lambda L, x, s: x.gather(0, L.tensor(G0)), "GatherBackward0"),
    (lambda L, x, s: x.scatter(0, L.tensor(S0), s[:2]), "ScatterBackward0"),
    (lambda L, x, s: x.scatter(0, L.tensor(S0), 2.0), "ScatterBackward1"),
    (lambda L, x, s: x.scatter_add(0, L.tensor(D0), s), "ScatterAddBackward0"),
    (lambda L, x, s: x.index_add(0, L.tensor([1, 1, 0]), s), "IndexAddBackward0"),
    (lambda L, x, s: x.masked_select(s > 0), "MaskedSelectBackward0"),
    (lambda L, x, s: (x * 1).scatter_(0, L.tensor(S0), s[:2]), "ScatterBackward0"),
    (lambda L, x, s: (x * 1).scatter_(0, L.tensor(S0), value=3.0), "ScatterBackward1"),
    (lambda L, x, s: (x * 1).scatter_add_(0, L.tensor(D0), s), "ScatterAddBackward0"),
    (lambda L, x, s: (x * 1).index_add_(1, L.tensor([0, 0, 3, 3]), s, alpha=2), "IndexAddBackward0"),
]


@pytest.mark.parametrize("k", range(len(GRAD_NAMES)))
def test_inplace_and_grad_fn_names(k):
    fn, name = GRAD_NAMES[k]
    rng = np.random.default_rng(2)
    f, t = check_op(fn, [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))], uses_module=True)
    assert _name(f) == _name(t) == name


def test_inplace_returns_self_and_bumps_version():
    for L in (fastnn, torch):
        x = L.zeros(3, 4)
        for call in (
            lambda: x.scatter_(0, L.tensor(S0), L.ones(2, 4)),
            lambda: x.scatter_(1, L.tensor(G1), 2.0),
            lambda: x.scatter_add_(0, L.tensor(D0), L.ones(3, 4)),
            lambda: x.index_add_(0, L.tensor([2, 2]), L.ones(2, 4)),
        ):
            v = x._version
            assert call() is x and x._version > v
        w = L.zeros(3, 4, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            w.scatter_add_(0, L.tensor(D0), L.ones(3, 4))


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch deprecates reduce= with a src tensor
def test_reduce():
    rng = np.random.default_rng(3)
    x, s = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)
    for reduce in ("add", "multiply"):
        for fn in (
            lambda L, a, b: a.scatter(0, L.tensor(D0), b, reduce=reduce),
            lambda L, a, b: a.scatter(1, L.tensor(G1), 2.5, reduce=reduce),
            lambda L, a, b: (a * 1).scatter_(0, L.tensor(D0), b, reduce=reduce),
        ):
            check_op(fn, [x, s], uses_module=True, grad=False)
    check_op(
        lambda L, a: a.scatter(0, L.tensor([[0, 0]]), L.tensor([[2, 3]]), reduce="multiply"),
        [np.ones((2, 2), np.int64)],
        uses_module=True,
        grad=False,
    )
    a = fastnn.ones(3, requires_grad=True)
    y = a.scatter(0, fastnn.tensor([0]), fastnn.ones(1), reduce="add")
    assert y.grad_fn.name() == "NotImplemented"
    with pytest.raises(RuntimeError, match=r"\[scatter\] the derivative of scatter with reduce= is not implemented"):
        y.sum().backward()


def test_numbers_into_integer_tensors():
    for fn in (
        lambda L: L.zeros(3, dtype=L.int64).scatter(0, L.tensor([1]), 2.7),
        lambda L: L.zeros(3, dtype=L.int64).index_add(0, L.tensor([0, 0]), L.ones(2, dtype=L.int64), alpha=2.5),
        lambda L: L.zeros(3, dtype=L.bool).index_add(0, L.tensor([1, 1]), L.ones(2, dtype=L.bool), alpha=2),
        lambda L: L.zeros(3, dtype=L.bool).scatter(0, L.tensor([2]), True),
        lambda L: L.ones(3, dtype=L.bool).scatter_add(0, L.tensor([2, 2]), L.tensor([True, False])),
    ):
        assert_close(fn(fastnn), fn(torch))


def test_zero_dim_inputs():
    for fn in (
        lambda L: L.gather(L.tensor(3.0), 0, L.tensor(0)),
        lambda L: L.gather(L.tensor(3.0), 0, L.tensor([0])),
        lambda L: L.gather(L.zeros(3), 0, L.tensor(2)),
        lambda L: L.index_add(L.tensor(1.0), 0, L.tensor([0]), L.tensor(2.0)),
        lambda L: L.index_add(L.zeros(3, 2), 0, L.tensor(1), L.ones(1, 2)),
        lambda L: L.scatter(L.tensor(1.0), 0, L.tensor(0), L.tensor(2.0)),
        lambda L: L.masked_select(L.tensor(1.0), L.tensor(True)),
        lambda L: L.take_along_dim(L.tensor(1.0), L.tensor(0)),
        lambda L: L.gather(L.zeros(3, 0), 0, L.zeros(2, 0, dtype=L.int64)),
    ):
        assert_close(fn(fastnn), fn(torch))


def test_gradchecks():
    rng = np.random.default_rng(4)
    x, s = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    g0, s0, d0, g1 = (fastnn.tensor(a) for a in (G0, S0, D0, G1))
    gradcheck_op(lambda a: a.gather(0, d0), [x])
    gradcheck_op(lambda a: a.t().gather(1, g0.t()), [x])
    gradcheck_op(lambda a, b: a.scatter(0, s0, b[:2]), [x, s])
    gradcheck_op(
        lambda a, b: a.scatter(1, fastnn.tensor([[3, 0], [1, 2], [0, 2]]), b), [x, s]
    )  # src larger than the index
    gradcheck_op(lambda a: a.scatter(0, s0, 1.5), [x])
    gradcheck_op(lambda a, b: a.scatter_add(0, d0, b), [x, s])
    gradcheck_op(lambda a, b: (a * 1).scatter_add_(1, g1, b[:, :2]), [x, s])
    gradcheck_op(lambda a, b: a.index_add(0, fastnn.tensor([2, 2, 0]), b, alpha=0.5), [x, s])
    gradcheck_op(lambda a, b: (a * 1).index_add_(1, fastnn.tensor([3, 0, 3, 3]), b), [x, s])
    gradcheck_op(lambda a, b: a.masked_select(b > 0), [x, s])
    gradcheck_op(lambda a: a[0].masked_select(fastnn.tensor([[True, False, True, True], [False] * 4])), [x])
    gradcheck_op(lambda a: a.take_along_dim(fastnn.tensor([[0, 2]]), 1), [x])
    gradcheck_op(lambda a: fastnn.take_along_dim(a, fastnn.tensor([3, 11, 3])), [x])


def test_scatter_src_larger_than_index_gradient():
    # torch refuses this backward (its src gradient has the index's shape); fastnn pads it with zeros
    x = fastnn.zeros(3, 4, requires_grad=True)
    s = fastnn.ones(3, 5, requires_grad=True)
    x.scatter(0, fastnn.tensor([[0, 1], [2, 0]]), s).sum().backward()
    expected = np.zeros((3, 5), np.float32)
    expected[:2, :2] = 1
    assert np.array_equal(s.grad.numpy(), expected)


def test_accumulation_is_deterministic_across_threads():
    rng = np.random.default_rng(5)
    src = fastnn.tensor(rng.standard_normal((4000, 300)).astype(np.float32) * 1e3)
    index = fastnn.tensor(rng.integers(0, 7, (4000, 300)))
    rows = fastnn.tensor(rng.integers(0, 7, 4000))
    before = fastnn.get_num_threads()
    outs = []
    try:
        for threads in (1, 2):
            fastnn.set_num_threads(threads)
            x = fastnn.zeros(7, 300, requires_grad=True)
            y = x.gather(0, index)
            y.backward(src)
            outs.append(
                (
                    fastnn.zeros(7, 300).scatter_add(0, index, src).numpy().copy(),
                    fastnn.zeros(7, 300).index_add(0, rows, src).numpy().copy(),
                    x.grad.numpy().copy(),
                )
            )
    finally:
        fastnn.set_num_threads(before)
    for p, q in zip(*outs):
        assert np.array_equal(p.view(np.uint32), q.view(np.uint32))


ERRORS = [
    (
        lambda x: x.gather(0, fastnn.tensor([[5, 0, 0, 0]])),
        IndexError,
        "[gather] index 5 is out of bounds for dimension 0 with size 3",
    ),
    (
        lambda x: x.gather(0, fastnn.tensor([[-1, 0, 0, 0]])),
        IndexError,
        "index -1 is out of bounds for dimension 0 with size 3",
    ),
    (lambda x: x.gather(0, fastnn.tensor([[0.0]])), TypeError, "Expected dtype int64 for index"),
    (
        lambda x: x.gather(0, fastnn.tensor([0])),
        ValueError,
        "Index tensor must have the same number of dimensions as input tensor",
    ),
    (
        lambda x: x.gather(0, fastnn.zeros(2, 5, dtype=fastnn.int64)),
        ValueError,
        "Size does not match at dimension 1 expected index [2, 5] to be no larger than self [3, 4] apart from dimension 0",
    ),
    (lambda x: x.gather(2, fastnn.tensor([[0]])), IndexError, "dimension 2 out of range"),
    (lambda x: x.gather(0, fastnn.tensor([[0]]), sparse_grad=True), ValueError, "sparse_grad=True"),
    (
        lambda x: x.scatter(0, fastnn.tensor([[7]]), fastnn.ones(1, 1)),
        IndexError,
        "[scatter] index 7 is out of bounds for dimension 0 with size 3",
    ),
    (
        lambda x: x.scatter(0, fastnn.tensor([[0, 1, 2, 0]] * 2), fastnn.ones(1, 4)),
        ValueError,
        "Expected index [2, 4] to be no larger than self [3, 4] apart from dimension 0 and to be no larger size than src [1, 4]",
    ),
    (
        lambda x: x.scatter(0, fastnn.tensor([[0]]), fastnn.ones(1, 1, dtype=fastnn.float64)),
        TypeError,
        "Expected self.dtype to be equal to src.dtype",
    ),
    (
        lambda x: x.scatter(0, fastnn.tensor([[0]]), fastnn.ones(1, 1), reduce="mean"),
        ValueError,
        "reduce argument must be either add or multiply",
    ),
    (lambda x: x.scatter(0, fastnn.tensor([[0]])), TypeError, "expected exactly one of src"),
    (lambda x: x.scatter(0, fastnn.tensor([[0]]), "a"), TypeError, "src must be a Tensor or a number"),
    (lambda x: x.scatter(0, fastnn.tensor([[0]]), value=fastnn.ones(1, 1)), TypeError, "value must be a number"),
    (
        lambda x: x.scatter_add(0, fastnn.tensor([[0, 1, 2, 0]] * 2), fastnn.ones(1, 4)),
        ValueError,
        "[scatter_add] Expected index [2, 4] to be no larger than self [3, 4]",
    ),
    (
        lambda x: x.scatter_add_(0, fastnn.tensor([[3]]), fastnn.ones(1, 1)),
        IndexError,
        "[scatter_add_] index 3 is out of bounds",
    ),
    (
        lambda x: x.index_add(0, fastnn.tensor([0]), fastnn.ones(2, 4)),
        ValueError,
        "Number of indices (1) should be equal to source.size(dim): (2), for dim: 0",
    ),
    (
        lambda x: x.index_add(0, fastnn.tensor([0, 5]), fastnn.ones(2, 4)),
        IndexError,
        "index 5 is out of bounds for dimension 0 with size 3",
    ),
    (
        lambda x: x.index_add(0, fastnn.tensor([[0, 1]]), fastnn.ones(2, 4)),
        IndexError,
        "Index is supposed to be a vector, but got dim: 2",
    ),
    (
        lambda x: x.index_add(0, fastnn.tensor([0.0, 1.0]), fastnn.ones(2, 4)),
        TypeError,
        "Expected dtype int64 for index",
    ),
    (
        lambda x: x.index_add(0, fastnn.tensor([0, 1]), fastnn.ones(2, 4, dtype=fastnn.float64)),
        TypeError,
        "self (float32) and source (float64) must have the same scalar type",
    ),
    (
        lambda x: x.index_add(0, fastnn.tensor([0, 1]), fastnn.ones(2, 5)),
        ValueError,
        "source tensor shape must match self tensor shape, excluding the specified dimension. Got self.shape = [3, 4] source.shape = [2, 5]",
    ),
    (lambda x: x.index_add(0, fastnn.tensor([0]), fastnn.ones(1, 4), alpha="a"), TypeError, "alpha must be a number"),
    (
        lambda x: x.take_along_dim(fastnn.tensor([0]), 1),
        ValueError,
        "input and indices should have the same number of dimensions, but got 2 dimensions for input, and 1 dimensions for indices",
    ),
    (lambda x: x.take_along_dim(fastnn.tensor([[0.0]]), 1), TypeError, "dtype of indices should be int64"),
    (lambda x: x.take_along_dim(fastnn.tensor([[0], [1]]), 1), ValueError, ""),
    (
        lambda x: x.take_along_dim(fastnn.tensor([12])),
        IndexError,
        "index 12 is out of bounds for dimension 0 with size 12",
    ),
    (
        lambda x: x.take_along_dim(fastnn.tensor([-1])),
        IndexError,
        "index -1 is out of bounds for dimension 0 with size 12",
    ),
    (
        lambda x: fastnn.tensor(1.0).take_along_dim(fastnn.tensor(0), 0),
        IndexError,
        "Dimension specified as 0 but tensor has no dimensions",
    ),
    (lambda x: x.masked_select(fastnn.tensor([1, 0, 1, 1])), TypeError, "[masked_select] expected BoolTensor for mask"),
    (lambda x: x.masked_select(fastnn.ones(2, 4, dtype=fastnn.bool)), ValueError, ""),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors(k):
    fn, exc, fragment = ERRORS[k]
    with pytest.raises(exc) as info:
        fn(fastnn.zeros(3, 4))
    assert fragment in str(info.value)
