"""Sorting against PyTorch: sort, argsort, msort, topk, kthvalue, median. Layouts, dims, keepdim, dtypes,
ties (stable order; where torch leaves the index unspecified, the index must point at an equal value),
NaN (sorts as the largest), empty tensors, float64 gradchecks, errors and thread-count determinism."""

import math

import fastnn
import numpy as np
import pytest
from oracle import assert_close, check_op, gradcheck_op, layout_input, to_numpy, torch

LAYOUTS = ["contiguous", "transposed", "strided", "expanded"]


def L(x):
    return fastnn if isinstance(x, fastnn.Tensor) else torch


# (id, fn) for a (3, 4, 5) input of distinct values (along every sorted dim), so indices are unique
ROWS = [
    ("sort", lambda x: tuple(x.sort())),
    ("sort_dim0", lambda x: tuple(x.sort(0))),
    ("sort_desc", lambda x: tuple(x.sort(1, True))),
    ("sort_kw_stable", lambda x: tuple(x.sort(dim=-1, descending=True, stable=True))),
    ("sort_module", lambda x: tuple(L(x).sort(x, stable=True, dim=1))),
    ("argsort", lambda x: x.argsort()),
    ("argsort_desc", lambda x: x.argsort(1, True)),
    ("argsort_module", lambda x: L(x).argsort(x, dim=0, stable=True)),
    ("msort", lambda x: x.msort()),
    ("msort_module", lambda x: L(x).msort(x)),
    ("topk", lambda x: tuple(x.topk(2))),
    ("topk_smallest_dim", lambda x: tuple(x.topk(3, 1, False))),
    ("topk_dim0", lambda x: tuple(x.topk(1, dim=0, largest=True))),
    ("topk_all", lambda x: tuple(L(x).topk(x, 5, sorted=True))),
    ("topk_zero", lambda x: tuple(x.topk(0, 1))),
    ("kthvalue", lambda x: tuple(x.kthvalue(2))),
    ("kthvalue_dim_keepdim", lambda x: tuple(x.kthvalue(1, 0, True))),
    ("kthvalue_last", lambda x: tuple(L(x).kthvalue(x, 4, dim=1))),
    ("median_all", lambda x: x.median()),
    ("median_dim", lambda x: tuple(x.median(1))),
    ("median_even_keepdim", lambda x: tuple(x.median(1, keepdim=True))),
    ("median_module", lambda x: tuple(L(x).median(x, dim=-1))),
]
IDS = [r[0] for r in ROWS]


def _distinct(layout, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    arr, prep = layout_input(rng, (3, 4, 5), layout, dtype)
    arr = (rng.permutation(arr.size).reshape(arr.shape) / 7 - 4).astype(dtype)
    return arr, prep


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name,fn", ROWS, ids=IDS)
def test_rows(name, fn, layout):
    arr, prep = _distinct(layout)
    if layout == "expanded" and name in (
        "sort_dim0",
        "argsort_module",
        "msort",
        "msort_module",
        "topk_dim0",
        "kthvalue_dim_keepdim",
    ):
        pytest.skip("dim 0 of an expanded input is all ties: covered by the tie tests")
    check_op(fn, [arr], prep=prep)


@pytest.mark.parametrize("dtype", [np.float64, np.int64])
@pytest.mark.parametrize("name,fn", ROWS, ids=IDS)
def test_dtypes(name, fn, dtype):
    arr, _ = (
        _distinct("contiguous", dtype, seed=1)
        if dtype != np.int64
        else (np.random.default_rng(1).permutation(60).reshape(3, 4, 5).astype(np.int64) - 30, None)
    )
    check_op(fn, [arr])


def test_bool():
    arr = np.array([[True, False, True, False], [False, False, True, True]])
    for fn in (
        lambda x: tuple(x.sort(stable=True)),
        lambda x: tuple(x.sort(dim=1, descending=True, stable=True)),
        lambda x: x.argsort(stable=True),
        lambda x: x.msort(),
    ):
        check_op(fn, [arr])


def test_node_names_and_result_types():
    x = fastnn.randn(3, 4, requires_grad=True)
    assert x.sort().values.grad_fn.name() == "SortBackward0"
    assert x.msort().grad_fn.name() == "SortBackward0"
    assert x.topk(2).values.grad_fn.name() == "TopkBackward0"
    assert x.kthvalue(2).values.grad_fn.name() == "KthvalueBackward0"
    assert x.median().grad_fn.name() == "MedianBackward0"
    assert x.median(0).values.grad_fn.name() == "MedianBackward1"
    assert not x.argsort().requires_grad and x.argsort().dtype == fastnn.int64
    for r in (x.sort(), x.topk(1), x.kthvalue(1), x.median(1)):
        values, indices = r
        assert r.values is values and r.indices is indices and indices.dtype == fastnn.int64
        assert not indices.requires_grad


# ---------------------------------------------------------------------------------------------
# ties and NaN

TIES = np.array(
    [[3.0, 1.0, 2.0, 1.0, 3.0, 1.0], [0.0, np.nan, 5.0, -1.0, np.nan, 5.0], [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]], np.float32
)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: tuple(x.sort(stable=True)),
        lambda x: tuple(x.sort(dim=1, descending=True, stable=True)),
        lambda x: tuple(x.t().sort(dim=0, stable=True)),
        lambda x: tuple(x.t().sort(stable=True, dim=0, descending=True)),
        lambda x: x.argsort(stable=True),
        lambda x: x.argsort(dim=1, descending=True, stable=True),
        lambda x: x.msort(),
    ],
)
def test_stable_sort_with_ties_and_nan(fn):
    # stable: equal values keep their order (indices match torch exactly); NaN is the largest
    check_op(fn, [TIES])


def _points_at_equal_values(x_np, dim, values, indices, keepdim=True):
    v, i = to_numpy(values), to_numpy(indices)
    if not keepdim:
        v, i = np.expand_dims(v, dim), np.expand_dims(i, dim)
    picked = np.take_along_axis(x_np, i, axis=dim)
    np.testing.assert_array_equal(picked, v)  # NaN == NaN for assert_array_equal


@pytest.mark.parametrize(
    "name,fn,dim,keepdim",
    [
        ("topk", lambda x: x.topk(3), 1, True),
        ("topk_smallest", lambda x: x.topk(4, largest=False), 1, True),
        ("topk_dim0", lambda x: x.topk(2, 0), 0, True),
        ("topk_unsorted", lambda x: x.topk(2, sorted=False), 1, True),
        ("kthvalue", lambda x: x.kthvalue(3), 1, False),
        ("kthvalue_keepdim", lambda x: x.kthvalue(2, 1, True), 1, True),
        ("median", lambda x: x.median(1), 1, False),
        ("median_dim0", lambda x: x.median(0, keepdim=True), 0, True),
    ],
)
def test_ties_values_match_and_indices_point_at_equal_values(name, fn, dim, keepdim):
    ours, theirs = fn(fastnn.tensor(TIES)), fn(torch.tensor(TIES))
    values_o, values_t = ours.values, theirs.values
    if name == "topk_unsorted":  # torch leaves the order unspecified: compare as sets
        values_o, values_t = values_o.sort(1).values, values_t.sort(1).values
    assert_close(values_o, values_t)
    _points_at_equal_values(TIES, dim, ours.values, ours.indices, keepdim)


def test_tie_gradients_go_where_the_indices_point():
    # each picked element receives its value's gradient once, at the index returned
    x = fastnn.tensor(TIES, requires_grad=True)
    r = x.topk(3)
    r.values.sum().backward()
    expected = np.zeros_like(TIES)
    np.put_along_axis(expected, to_numpy(r.indices), 1.0, axis=1)
    np.testing.assert_array_equal(to_numpy(x.grad), expected)


def test_median_with_nan_is_nan():
    arr = np.array([[1.0, np.nan, 2.0, np.nan], [3.0, 1.0, 2.0, 0.0]], np.float32)
    check_op(lambda x: tuple(x.median(1)), [arr], grad=False)
    check_op(lambda x: x.median(), [arr], grad=False)
    check_op(lambda x: tuple(x.kthvalue(4, 1)), [arr], grad=False)
    check_op(lambda x: tuple(x.topk(2, 1)), [arr], grad=False)


def test_median_all_ties_share_the_gradient():
    check_op(lambda x: x.median(), [np.array([1.0, 2.0, 2.0, 2.0, 3.0], np.float32)])
    check_op(lambda x: x.median(), [np.array([[4.0, 1.0], [3.0, 2.0]], np.float32)])  # lower median


def test_infinities():
    arr = np.array([[math.inf, -math.inf, 0.0, 1.0], [-math.inf, 2.0, math.inf, -1.0]], np.float32)
    for fn in (
        lambda x: tuple(x.sort()),
        lambda x: tuple(x.sort(descending=True)),
        lambda x: tuple(x.topk(2)),
        lambda x: tuple(x.kthvalue(3)),
        lambda x: tuple(x.median(1)),
    ):
        check_op(fn, [arr])


# ---------------------------------------------------------------------------------------------
# empty and 0-d


EMPTY = [
    ("sort", (0,), lambda x: tuple(x.sort())),
    ("sort_rows", (3, 0), lambda x: tuple(x.sort(1))),
    ("sort_cols", (0, 3), lambda x: tuple(x.sort(1, True))),
    ("argsort", (0, 2), lambda x: x.argsort(0)),
    ("topk0", (0,), lambda x: tuple(x.topk(0))),
    ("topk_kept", (0, 3), lambda x: tuple(x.topk(2, 1))),
    ("kthvalue_kept", (0, 3), lambda x: tuple(x.kthvalue(1, 1))),
    ("median_kept", (2, 0), lambda x: tuple(x.median(0))),
    ("median_all", (0,), lambda x: x.median()),
    ("msort", (0, 2), lambda x: x.msort()),
]


@pytest.mark.parametrize("name,shape,fn", EMPTY, ids=[e[0] for e in EMPTY])
def test_empty(name, shape, fn):
    check_op(fn, [np.zeros(shape, np.float32)])


def test_0d():
    for fn in (
        lambda x: tuple(x.sort()),
        lambda x: x.argsort(),
        lambda x: tuple(x.topk(1)),
        lambda x: tuple(x.kthvalue(1)),
        lambda x: tuple(x.kthvalue(1, 0, True)),
        lambda x: tuple(x.median(0)),
        lambda x: x.median(),
        lambda x: x.msort() if isinstance(x, fastnn.Tensor) else x.reshape(1).msort()[0],
    ):
        check_op(fn, [np.array(2.5, np.float32)])


# ---------------------------------------------------------------------------------------------
# gradchecks and errors

GRADCHECK = [
    lambda x: x.sort().values,
    lambda x: x.sort(0, True).values,
    lambda x: x.t().sort(1).values,
    lambda x: x.msort(),
    lambda x: x.topk(2).values,
    lambda x: x.topk(2, 0, False).values,
    lambda x: x.kthvalue(2).values,
    lambda x: x.kthvalue(3, 0, True).values,
    lambda x: x.median(),
    lambda x: x.median(1).values,
    lambda x: x.t().median(1, keepdim=True).values,
]


@pytest.mark.parametrize("i", range(len(GRADCHECK)))
def test_gradcheck(i):
    arr = np.random.default_rng(3).permutation(12).reshape(3, 4) * 0.37 - 2.0
    gradcheck_op(GRADCHECK[i], [arr])


ERRORS = [
    ("topk_k_too_big", lambda lib: lib.ones(3).topk(4), IndexError, r"\[topk\] selected index k out of range"),
    ("topk_k_negative", lambda lib: lib.ones(3).topk(-1), IndexError, r"\[topk\] selected index k out of range"),
    (
        "kthvalue_k0",
        lambda lib: lib.ones(3).kthvalue(0),
        IndexError,
        r"\[kthvalue\] selected number k out of range for dimension 0",
    ),
    (
        "kthvalue_k_too_big",
        lambda lib: lib.ones(2, 3).kthvalue(4),
        IndexError,
        r"\[kthvalue\] selected number k out of range for dimension 1",
    ),
    (
        "kthvalue_empty",
        lambda lib: lib.ones(0).kthvalue(1),
        IndexError,
        r"\[kthvalue\] Expected reduction dim 0 to have non-zero size",
    ),
    (
        "median_empty_dim",
        lambda lib: lib.ones(0, 2).median(0),
        IndexError,
        r"\[median\] Expected reduction dim 0 to have non-zero size",
    ),
    ("sort_bad_dim", lambda lib: lib.ones(2, 3).sort(2), IndexError, r"\[sort\] dimension 2 out of range"),
    ("argsort_bad_dim", lambda lib: lib.ones(2).argsort(-2), IndexError, r"\[argsort\] dimension -2 out of range"),
    ("topk_bad_dim", lambda lib: lib.ones(2).topk(1, 1), IndexError, r"\[topk\] dimension 1 out of range"),
    ("median_bad_dim", lambda lib: lib.ones(2).median(3), IndexError, r"\[median\] dimension 3 out of range"),
    ("topk_float_k", lambda lib: lib.ones(2).topk(1.5), TypeError, r"topk"),
    ("sort_float_dim", lambda lib: lib.ones(2).sort(0.5), TypeError, r"sort"),
    ("sort_stable_positional", lambda lib: lib.ones(2).sort(0, True, True), TypeError, r"sort"),
]


@pytest.mark.parametrize("name,fn,exc,msg", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(fastnn)
    with pytest.raises(Exception):  # noqa: B017  (torch refuses it too)
        fn(torch)


def test_independent_of_thread_count():
    arr = np.random.default_rng(9).integers(0, 50, size=(400, 300)).astype(np.float32)  # many ties
    before = fastnn.get_num_threads()
    results = []
    try:
        for n in (1, 2):
            fastnn.set_num_threads(n)
            x = fastnn.tensor(arr)
            outs = [x.sort(1), x.sort(0, True), x.topk(7, 1), x.kthvalue(100, 0), x.median(1)]
            results.append([to_numpy(t) for r in outs for t in r] + [to_numpy(x.argsort(1))])
    finally:
        fastnn.set_num_threads(before)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
