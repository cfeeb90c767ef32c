"""More reductions and scans against PyTorch: any/all, prod, var/std (+ _mean), logsumexp, norm and
torch.linalg norms, amax/amin, count_nonzero, cumsum/cumprod/cummax/cummin. Layouts, dims (int,
negative, tuple, None), keepdim, dtypes, empty tensors, kinks (ties, zeros, zero vectors), float64
gradchecks, errors (type and message) and thread-count determinism."""

import math
import warnings

import fastnn
import numpy as np
import pytest
from oracle import assert_close, check_op, gradcheck_op, layout_input, torch

LAYOUTS = ["contiguous", "transposed", "strided", "expanded"]
INF = math.inf


def L(x):
    """The library of tensor x (fastnn or torch)."""
    return fastnn if isinstance(x, fastnn.Tensor) else torch


def f64(x):
    return L(x).float64


# (id, fn) for a float (3, 4, 5) input
FLOAT_ROWS = [
    ("prod_all", lambda x: x.prod()),
    ("prod_dim", lambda x: x.prod(1)),
    ("prod_neg_keepdim", lambda x: x.prod(-1, keepdim=True)),
    ("prod_module", lambda x: L(x).prod(x, 0)),
    ("prod_dtype", lambda x: x.prod(1, dtype=f64(x))),
    ("var_all", lambda x: x.var()),
    ("var_dim", lambda x: x.var(1)),
    ("var_tuple", lambda x: x.var((0, 2))),
    ("var_list_neg_keepdim", lambda x: x.var([-1, 0], keepdim=True)),
    ("var_unbiased_pos", lambda x: x.var(1, False)),
    ("var_unbiased_pos_keepdim", lambda x: x.var(2, True, True)),
    ("var_legacy_unbiased", lambda x: x.var(False)),
    ("var_correction0", lambda x: x.var(dim=(0, 1), correction=0)),
    ("var_correction_float", lambda x: x.var(2, correction=2.5, keepdim=True)),
    ("var_module", lambda x: L(x).var(x, 1, unbiased=False)),
    ("std_all", lambda x: x.std()),
    ("std_dim", lambda x: x.std(0)),
    ("std_tuple_keepdim", lambda x: x.std((1, 2), keepdim=True)),
    ("std_unbiased_false", lambda x: x.std(-1, unbiased=False)),
    ("std_correction", lambda x: x.std(dim=1, correction=0)),
    ("std_module", lambda x: L(x).std(x)),
    ("var_mean_dim", lambda x: L(x).var_mean(x, 1)),
    ("var_mean_all", lambda x: L(x).var_mean(x)),
    ("var_mean_tuple_c0_keepdim", lambda x: L(x).var_mean(x, (0, 2), correction=0, keepdim=True)),
    ("std_mean_all", lambda x: L(x).std_mean(x)),
    ("std_mean_neg", lambda x: L(x).std_mean(x, -1, unbiased=False)),
    ("logsumexp_dim", lambda x: x.logsumexp(1)),
    ("logsumexp_neg_keepdim", lambda x: x.logsumexp(-1, keepdim=True)),
    ("logsumexp_tuple", lambda x: x.logsumexp((0, 2))),
    ("logsumexp_module", lambda x: L(x).logsumexp(x, dim=0)),
    ("norm_default", lambda x: x.norm()),
    ("norm_1", lambda x: x.norm(1)),
    ("norm_inf", lambda x: x.norm(INF)),
    ("norm_neg_inf", lambda x: x.norm(-INF)),
    ("norm_0", lambda x: x.norm(0)),
    ("norm_3", lambda x: x.norm(3)),
    ("norm_half", lambda x: x.norm(0.5)),
    ("norm_neg1", lambda x: x.norm(-1, dim=2)),
    ("norm_2_dim", lambda x: x.norm(2, dim=1)),
    ("norm_1_tuple_keepdim", lambda x: x.norm(p=1, dim=(0, 2), keepdim=True)),
    ("norm_fro_dims", lambda x: x.norm("fro", dim=(1, 2))),
    ("norm_dim_only", lambda x: x.norm(dim=-1)),
    ("norm_2_5_keepdim", lambda x: x.norm(2.5, 1, True)),
    ("norm_module", lambda x: L(x).norm(x, 1.5, 0)),
    ("norm_dtype", lambda x: x.norm(p=2, dim=1, dtype=f64(x))),
    ("vector_norm", lambda x: L(x).linalg.vector_norm(x)),
    ("vector_norm_3_tuple", lambda x: L(x).linalg.vector_norm(x, 3, dim=(0, 1))),
    ("vector_norm_inf_keepdim", lambda x: L(x).linalg.vector_norm(x, ord=INF, dim=2, keepdim=True)),
    ("vector_norm_dtype", lambda x: L(x).linalg.vector_norm(x, 1, dim=0, dtype=f64(x))),
    ("linalg_norm", lambda x: L(x).linalg.norm(x)),
    ("linalg_norm_dim", lambda x: L(x).linalg.norm(x, dim=1)),
    ("linalg_norm_ord_dim", lambda x: L(x).linalg.norm(x, 4, dim=-1, keepdim=True)),
    ("linalg_norm_fro_2d", lambda x: L(x).linalg.norm(x[0], "fro")),
    ("linalg_norm_1_2d", lambda x: L(x).linalg.norm(x[0], 1)),
    ("linalg_norm_neg1_2d", lambda x: L(x).linalg.norm(x[1], -1)),
    ("linalg_norm_inf_2d", lambda x: L(x).linalg.norm(x[2], INF)),
    ("linalg_norm_neg_inf_2d", lambda x: L(x).linalg.norm(x[0], -INF)),
    ("linalg_norm_1d_ord", lambda x: L(x).linalg.norm(x[0, 0], 3)),
    ("linalg_norm_matrix_dims", lambda x: L(x).linalg.norm(x, 1, dim=(0, 2))),
    ("linalg_norm_fro_dims_keepdim", lambda x: L(x).linalg.norm(x, "fro", dim=(2, 0), keepdim=True)),
    ("matrix_norm", lambda x: L(x).linalg.matrix_norm(x)),
    ("matrix_norm_inf_keepdim", lambda x: L(x).linalg.matrix_norm(x, ord=INF, keepdim=True)),
    ("amax_all", lambda x: x.amax()),
    ("amax_dim", lambda x: x.amax(1)),
    ("amax_tuple", lambda x: x.amax((0, 2))),
    ("amax_neg_keepdim", lambda x: x.amax(-1, keepdim=True)),
    ("amax_module", lambda x: L(x).amax(x, dim=0)),
    ("amin_all", lambda x: x.amin()),
    ("amin_dim", lambda x: x.amin(1)),
    ("amin_tuple_keepdim", lambda x: x.amin((1, 2), True)),
    ("count_nonzero", lambda x: (x > 0).count_nonzero()),
    ("count_nonzero_dim", lambda x: L(x).count_nonzero(x.gt(0), dim=1)),
    ("count_nonzero_tuple", lambda x: x.relu().count_nonzero((0, 2))),
    ("any_all_dims", lambda x: (x > 1.5).any()),
    ("any_dim", lambda x: x.gt(1.0).any(1)),
    ("any_float", lambda x: x.relu().any(2, keepdim=True)),
    ("all_tuple_keepdim", lambda x: x.gt(-1.5).all(dim=(0, 2), keepdim=True)),
    ("all_module", lambda x: L(x).all(x.gt(-1.5), 1)),
    ("all_float", lambda x: x.relu().all()),
    ("cumsum_dim", lambda x: x.cumsum(1)),
    ("cumsum_neg", lambda x: x.cumsum(-1)),
    ("cumsum_module_dtype", lambda x: L(x).cumsum(x, 0, dtype=f64(x))),
    ("cumprod_dim", lambda x: x.cumprod(2)),
    ("cumprod_first", lambda x: L(x).cumprod(x, dim=0)),
    ("cummax", lambda x: tuple(x.cummax(1))),
    ("cummin", lambda x: tuple(L(x).cummin(x, -1))),
]
FLOAT_IDS = [r[0] for r in FLOAT_ROWS]


def _input(layout, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    arr, prep = layout_input(rng, (3, 4, 5), layout, dtype)
    if layout == "expanded":  # distinct values along every row but the broadcast one
        arr = (rng.permutation(arr.size).reshape(arr.shape) / arr.size * 4 - 2).astype(dtype)
    return arr, prep


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name,fn", FLOAT_ROWS, ids=FLOAT_IDS)
def test_float_rows(name, fn, layout):
    arr, prep = _input(layout)
    check_op(fn, [arr], prep=prep, rtol=2e-4)


@pytest.mark.parametrize("name,fn", FLOAT_ROWS, ids=FLOAT_IDS)
def test_float64_rows(name, fn):
    arr, _ = _input("contiguous", np.float64, seed=1)
    check_op(fn, [arr])


def test_node_names():
    x = fastnn.randn(3, 4, requires_grad=True)
    names = {
        "ProdBackward0": x.prod(),
        "ProdBackward1": x.prod(1),
        "VarBackward0": x.var(1),
        "StdBackward0": x.std(),
        "VarMeanBackward0": fastnn.var_mean(x)[1],
        "StdMeanBackward0": fastnn.std_mean(x, 0)[0],
        "LogsumexpBackward0": x.logsumexp(0),
        "LinalgVectorNormBackward0": x.norm(1, dim=0),
        "AmaxBackward0": x.amax(1),
        "AminBackward0": x.amin(),
        "CumsumBackward0": x.cumsum(0),
        "CumprodBackward0": x.cumprod(1),
        "CummaxBackward0": x.cummax(1).values,
        "CumminBackward0": x.cummin(0)[0],
    }
    for name, t in names.items():
        assert t.grad_fn.name() == name
    assert fastnn.linalg.vector_norm(x).grad_fn.name() == "LinalgVectorNormBackward0"
    assert fastnn.linalg.norm(x, 1).grad_fn.name() == "AmaxBackward0"  # as torch: a max of column sums
    vm = fastnn.var_mean(x, 1)
    assert isinstance(vm, tuple) and vm[0].grad_fn is vm[1].grad_fn
    r = x.cummax(0)
    assert r.indices.dtype == fastnn.int64 and not r.indices.requires_grad


# ---------------------------------------------------------------------------------------------
# integer and bool inputs

INT_ROWS = [
    ("prod", lambda x: x.prod()),
    ("prod_dim", lambda x: x.prod(0)),
    ("prod_dtype", lambda x: x.prod(1, dtype=f64(x))),
    ("any", lambda x: x.any()),
    ("any_dim", lambda x: x.any(1)),
    ("all", lambda x: x.all()),
    ("all_dim_keepdim", lambda x: x.all(0, keepdim=True)),
    ("any_empty_tuple", lambda x: x.any(())),
    ("amax", lambda x: x.amax()),
    ("amin_dim", lambda x: x.amin(1)),
    ("count_nonzero", lambda x: x.count_nonzero()),
    ("count_nonzero_dim", lambda x: x.count_nonzero(0)),
    ("cumsum", lambda x: x.cumsum(1)),
    ("cumsum_dtype", lambda x: x.cumsum(0, dtype=f64(x))),
    ("cumprod", lambda x: x.cumprod(1)),
    ("cummax", lambda x: tuple(x.cummax(1))),
    ("cummin", lambda x: tuple(x.cummin(0))),
    ("logsumexp", lambda x: x.logsumexp(1)),
]


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
@pytest.mark.parametrize("name,fn", INT_ROWS, ids=[r[0] for r in INT_ROWS])
def test_int_and_bool(name, fn, dtype):
    if dtype == np.bool_ and name in ("amax", "amin_dim", "cummax", "cummin"):
        arr = np.array([[True, False, True], [False, False, True]])
    else:
        arr = np.array([[1, 0, 3], [-4, 5, 1]]).astype(dtype)
    check_op(fn, [arr])


def test_int_prod_wraps_like_torch():
    arr = np.array([2**40, 2**30, 3], dtype=np.int64)
    check_op(lambda x: x.prod(), [arr])
    check_op(lambda x: x.cumprod(0), [arr])
    check_op(lambda x: x.cumsum(0), [np.array([2**62, 2**62, 2**62], dtype=np.int64)])


# ---------------------------------------------------------------------------------------------
# empty tensors and single elements


def _both_warn_or_not(fn, arr, warns):
    for lib in (fastnn, torch):
        x = lib.tensor(arr)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            fn(x)
        msgs = [str(i.message) for i in w if issubclass(i.category, UserWarning)]
        assert any("degrees of freedom is <= 0" in m for m in msgs) == warns, (lib.__name__, msgs)


EMPTY_ROWS = [
    ("prod", (0,), lambda x: x.prod()),
    ("prod_dim0", (0, 3), lambda x: x.prod(0)),
    ("prod_dim1", (0, 3), lambda x: x.prod(1)),
    ("any", (0,), lambda x: x.any()),
    ("all", (0,), lambda x: x.all()),
    ("any_dim", (2, 0), lambda x: x.any(1)),
    ("all_dim", (2, 0), lambda x: x.all(0)),
    ("logsumexp", (0,), lambda x: x.logsumexp(0)),
    ("logsumexp_dim", (2, 0), lambda x: x.logsumexp(1)),
    ("logsumexp_kept", (0, 2), lambda x: x.logsumexp(1)),
    ("norm", (0,), lambda x: x.norm()),
    ("norm_1_dim", (2, 0), lambda x: x.norm(1, dim=1)),
    ("norm_inf_kept", (0, 3), lambda x: x.norm(INF, dim=1)),
    ("norm_neg_inf_kept", (0, 3), lambda x: x.norm(-INF, 1)),
    ("amax_kept", (0, 3), lambda x: x.amax(1)),
    ("count_nonzero", (0, 3), lambda x: x.count_nonzero(0)),
    ("cumsum", (0, 3), lambda x: x.cumsum(0)),
    ("cumprod", (2, 0), lambda x: x.cumprod(1)),
    ("cummax", (2, 0), lambda x: tuple(x.cummax(1))),
    ("cummin", (0, 2), lambda x: tuple(x.cummin(1))),
    ("var_empty_dim", (2, 0), lambda x: x.var(1, unbiased=False)),
]


@pytest.mark.parametrize("name,shape,fn", EMPTY_ROWS, ids=[r[0] for r in EMPTY_ROWS])
def test_empty(name, shape, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(fn, [np.zeros(shape, np.float32)])


@pytest.mark.parametrize(
    "fn,arr",
    [
        (lambda x: x.var(), [1.5]),
        (lambda x: x.std(), [1.5]),
        (lambda x: x.var(1), [[1.0], [2.0]]),
        (lambda x: x.std(0, keepdim=True), [[1.0, 2.0]]),
        (lambda x: x.var(correction=2), [1.0, 2.0]),
        (lambda x: x.var(), []),
        (lambda x: L(x).var_mean(x), [3.0]),
        (lambda x: L(x).std_mean(x, 0), [[1.0, 2.0]]),
    ],
)
def test_var_without_degrees_of_freedom(fn, arr):
    # nan (0/0) or inf, and a warning, as torch (whose gradients here are a division by zero: not compared)
    arr = np.array(arr, np.float32)
    _both_warn_or_not(fn, arr, True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(fn, [arr], grad=False)


def test_var_with_degrees_of_freedom_does_not_warn():
    _both_warn_or_not(lambda x: x.var(), np.ones(3, np.float32), False)
    _both_warn_or_not(lambda x: x.std(1, correction=0), np.ones((2, 1), np.float32), False)


def test_0d():
    for fn in (
        lambda x: x.prod(),
        lambda x: x.prod(0),
        lambda x: x.any(),
        lambda x: x.var(correction=0),
        lambda x: x.logsumexp(0),
        lambda x: x.norm(),
        lambda x: x.norm(1, dim=0),
        lambda x: x.amax(),
        lambda x: x.amin(0),
        lambda x: x.cumsum(0),
        lambda x: x.cumprod(-1),
        lambda x: tuple(x.cummax(0)),
        lambda x: x.count_nonzero(),
    ):
        check_op(fn, [np.array(-2.5, np.float32)])


# ---------------------------------------------------------------------------------------------
# kinks: ties, zeros, infinities, nan


def test_amax_amin_ties_share_the_gradient():
    arr = np.array([[1, 3, 3, 0], [2, 2, 2, 0], [0, 1, 0, 0]], np.float32)
    for fn in (
        lambda x: x.amax(),
        lambda x: x.amax(1),
        lambda x: x.amin(0),
        lambda x: x.amin((0, 1), keepdim=True),
        lambda x: x.t().amax(0),
        lambda x: x.norm(INF, dim=1),
        lambda x: (-x).norm(INF),
        lambda x: x.norm(-INF, dim=0),
    ):
        check_op(fn, [arr])


@pytest.mark.parametrize(
    "arr", [[2.0, 0.0, 3.0, 4.0], [0.0, 5.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [1.5, -2.0, 0.5, 3.0]]
)
def test_prod_and_cumprod_with_zeros(arr):
    a = np.array(arr, np.float64)
    for fn in (
        lambda x: x.prod(),
        lambda x: x.prod(0),
        lambda x: x.cumprod(0),
        lambda x: x.view(2, 2).prod(1),
        lambda x: x.view(2, 2).cumprod(0),
        lambda x: x.view(2, 2).t().cumprod(1),
    ):
        check_op(fn, [a])
        gradcheck_op(fn, [a])


@pytest.mark.parametrize("p", [0, 1, 2, 3, 0.5, 1.5, INF, -INF, -1, "fro"])
def test_norm_of_zero_vectors_and_zero_entries(p):
    arr = np.array([[0.0, 0.0, 0.0], [0.0, 2.0, -2.0], [1.0, -3.0, 0.0]], np.float32)
    check_op(lambda x: x.norm(p, dim=1), [arr])
    check_op(lambda x: x.norm(p, dim=1, keepdim=True), [arr])
    check_op(lambda x: x[0].norm(p), [arr])


def test_logsumexp_infinities_and_nan():
    arr = np.array([[-INF, -INF, -INF], [1.0, 2.0, 3.0], [INF, 1.0, 0.0], [np.nan, 1.0, 0.0], [-INF, 0.0, 1000.0]])
    check_op(lambda x: x.logsumexp(1), [arr.astype(np.float32)])
    check_op(lambda x: x.logsumexp(1, keepdim=True), [arr])


def test_logsumexp_is_stable():
    arr = np.array([[1000.0, 1000.0], [-1000.0, -1000.0]], np.float32)
    check_op(lambda x: x.logsumexp(1), [arr])


def test_nan_propagates():
    arr = np.array([[1.0, np.nan, 3.0], [2.0, 5.0, -1.0]], np.float32)
    for fn in (
        lambda x: x.amax(1),
        lambda x: x.amin(),
        lambda x: x.norm(INF, dim=1),
        lambda x: x.norm(dim=1),
        lambda x: x.var(1),
        lambda x: x.prod(1),
        lambda x: x.cumsum(1),
        lambda x: x.any(1),
        lambda x: x.all(1),
        lambda x: x.count_nonzero(1),
    ):
        check_op(fn, [arr], grad=False)


def test_cummax_cummin_ties_and_nan():
    # the index of the last equal value; NaN sticks, its index moving to each later NaN
    arr = np.array([1.0, 3.0, 3.0, 2.0, np.nan, 5.0, np.nan, 0.0], np.float32)
    for fn in (lambda x: tuple(x.cummax(0)), lambda x: tuple(x.cummin(0))):
        check_op(fn, [arr], grad=False)
    check_op(lambda x: tuple(x.cummax(0)), [np.array([1.0, 3.0, 3.0, 2.0, 3.0])])
    check_op(lambda x: tuple(x.cummin(0)), [np.array([3.0, 1.0, 1.0, 2.0, 1.0])])


def test_mean_of_integers_is_refused():
    x = fastnn.tensor([1, 2])
    with pytest.raises(TypeError, match=r"\[mean\] could not infer output dtype"):
        x.mean()
    with pytest.raises(TypeError, match=r"\[mean\] could not infer output dtype"):
        fastnn.mean(fastnn.tensor([1.0, 2.0]), dtype=fastnn.int64)
    with pytest.raises(RuntimeError, match="could not infer output dtype"):
        torch.tensor([1, 2]).mean()


# ---------------------------------------------------------------------------------------------
# gradchecks (float64) for every new node

GRADCHECK = [
    lambda x: x.prod(),
    lambda x: x.prod(1),
    lambda x: x.t().prod(0, keepdim=True),
    lambda x: x.var(),
    lambda x: x.var(1, correction=0),
    lambda x: x.t().var(1, keepdim=True),
    lambda x: x.std(),
    lambda x: x.std(0),
    lambda x: fastnn.var_mean(x, 1),
    lambda x: fastnn.var_mean(x),
    lambda x: fastnn.std_mean(x, 0, keepdim=True),
    lambda x: fastnn.std_mean(x),
    lambda x: x.logsumexp(1),
    lambda x: x.logsumexp((0, 1)),
    lambda x: x.norm(),
    lambda x: x.norm(1, dim=1),
    lambda x: x.norm(3, dim=0),
    lambda x: x.norm(0.5),
    lambda x: x.norm(INF, dim=1),
    lambda x: x.norm(-INF),
    lambda x: x.norm(-1.5, dim=1),
    lambda x: x.norm(0, dim=1),
    lambda x: x.amax(),
    lambda x: x.amax(0),
    lambda x: x.amin(1, keepdim=True),
    lambda x: x.cumsum(0),
    lambda x: x.cumsum(1, dtype=fastnn.float64),
    lambda x: x.cumprod(1),
    lambda x: x.t().cumprod(1),
    lambda x: x.cummax(1).values,
    lambda x: x.cummin(0).values,
    lambda x: fastnn.linalg.norm(x, 1),
    lambda x: fastnn.linalg.norm(x, -INF),
    lambda x: fastnn.linalg.vector_norm(x, 2.5),
    lambda x: x.prod(dtype=fastnn.float64),
]


@pytest.mark.parametrize("i", range(len(GRADCHECK)))
def test_gradcheck(i):
    arr = np.random.default_rng(3).permutation(12).reshape(3, 4) * 0.37 - 2.0  # distinct, no zeros
    gradcheck_op(GRADCHECK[i], [arr])


# ---------------------------------------------------------------------------------------------
# errors: type and message (torch refuses the same calls)

ERRORS = [
    ("var_int", lambda lib: lib.tensor([1, 2]).var(), TypeError, r"\[var\] std and var only support floating point"),
    ("std_bool", lambda lib: lib.tensor([True]).std(), TypeError, r"\[std\] std and var only support floating point"),
    (
        "norm_int",
        lambda lib: lib.tensor([1, 2]).norm(),
        TypeError,
        r"\[linalg.vector_norm\] Expected a floating point or complex tensor as input. Got int64",
    ),
    (
        "vector_norm_int",
        lambda lib: lib.linalg.vector_norm(lib.tensor([1, 2])),
        TypeError,
        r"\[linalg.vector_norm\] Expected",
    ),
    (
        "amax_empty_dim",
        lambda lib: lib.zeros(0, 3).amax(0),
        IndexError,
        r"\[amax\] Expected reduction dim 0 to have non-zero size",
    ),
    ("amin_empty_all", lambda lib: lib.zeros(0).amin(), IndexError, r"\[amin\] Expected reduction dim to be specified"),
    ("max_empty", lambda lib: lib.zeros(0).max(), IndexError, r"\[max\]"),
    (
        "norm_inf_empty",
        lambda lib: lib.zeros(0, 3).norm(INF),
        IndexError,
        r"cannot compute the inf norm on an empty tensor because the operation does not have an identity",
    ),
    (
        "norm_neg_empty_dim",
        lambda lib: lib.zeros(0, 3).norm(-1, dim=0),
        IndexError,
        r"cannot compute the -1(\.0)? norm on the dimension 0",
    ),
    ("logsumexp_dim", lambda lib: lib.zeros(2, 3).logsumexp(2), IndexError, r"\[logsumexp\] dimension 2 out of range"),
    ("logsumexp_no_dim", lambda lib: lib.zeros(2).logsumexp(), TypeError, r"logsumexp"),
    ("var_dup_dims", lambda lib: lib.zeros(2, 3).var((0, 0)), ValueError, r"\[var\] dim 0 appears multiple times"),
    ("var_unbiased_and_correction", lambda lib: lib.zeros(3).var(0, True, correction=1), TypeError, r"var"),
    ("prod_tuple_dim", lambda lib: lib.zeros(2, 3).prod((0, 1)), TypeError, r"prod"),
    ("prod_bad_dim", lambda lib: lib.zeros(2, 3).prod(3), IndexError, r"\[prod\] dimension 3 out of range"),
    ("cumsum_no_dim", lambda lib: lib.zeros(2).cumsum(), TypeError, r"cumsum"),
    ("cumsum_bad_dim", lambda lib: lib.zeros(2).cumsum(1), IndexError, r"\[cumsum\] dimension 1 out of range"),
    ("cumprod_bad_dim", lambda lib: lib.zeros(2, 2).cumprod(-3), IndexError, r"\[cumprod\] dimension -3 out of range"),
    ("cummax_bad_dim", lambda lib: lib.zeros(2).cummax(2), IndexError, r"\[cummax\] dimension 2 out of range"),
    ("norm_nuc_vector", lambda lib: lib.norm(lib.ones(2), "nuc", 0), ValueError, r"nuc"),
    ("norm_bad_order", lambda lib: lib.norm(lib.ones(2, 2), "abc"), ValueError, r"Order abc not supported"),
    (
        "linalg_norm_3d_ord",
        lambda lib: lib.linalg.norm(lib.ones(2, 3, 4), 2),
        ValueError,
        r"\[linalg.norm\] If dim is not specified but ord is, the input must be 1D or 2D. Got 3D.",
    ),
    (
        "matrix_norm_1d",
        lambda lib: lib.linalg.matrix_norm(lib.ones(3)),
        ValueError,
        r"\[linalg.matrix_norm\] The input tensor A must have at least 2 dimensions.",
    ),
    ("matrix_norm_bad_order", lambda lib: lib.linalg.norm(lib.ones(2, 3), 3), ValueError, r"Order 3 not supported"),
    ("count_nonzero_bad_dim", lambda lib: lib.ones(2).count_nonzero(1), IndexError, r"\[count_nonzero\] dimension 1"),
    ("any_bad_dim", lambda lib: lib.ones(2).any(-2), IndexError, r"\[any\] dimension -2 out of range"),
]


@pytest.mark.parametrize("name,fn,exc,msg", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, fn, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(fastnn)
    with pytest.raises(Exception):  # noqa: B017  (torch refuses it too, with its own exception types)
        fn(torch)


@pytest.mark.parametrize(
    "fn",
    [lambda: fastnn.linalg.norm(fastnn.ones(3, 3), 2), lambda: fastnn.linalg.matrix_norm(fastnn.ones(3, 3), "nuc")],
)
def test_norms_needing_singular_values_are_not_implemented(fn):
    with pytest.raises(NotImplementedError, match=r"\[linalg.matrix_norm\] the (spectral|nuclear) norm"):
        fn()


# ---------------------------------------------------------------------------------------------
# determinism: long rows give the same bits at 1 and 2 threads


def test_independent_of_thread_count():
    arr = np.random.default_rng(7).standard_normal(150_003).astype(np.float32)
    fns = [
        lambda x: x.var(),
        lambda x: x.std(correction=0),
        lambda x: fastnn.var_mean(x)[0],
        lambda x: x.logsumexp(0),
        lambda x: x.cumsum(0),
        lambda x: x.norm(),
        lambda x: x.norm(3),
        lambda x: x.view(3, -1).var(1),
        lambda x: x.view(-1, 3).logsumexp(0),
        lambda x: x.view(-1, 3).cumsum(0),
        lambda x: x.view(-1, 3).t().norm(dim=1),
        lambda x: x.view(3, -1).prod(1),
        lambda x: x.amax(),
    ]
    before = fastnn.get_num_threads()
    results = []
    try:
        for n in (1, 2):
            fastnn.set_num_threads(n)
            x = fastnn.tensor(arr, requires_grad=True)
            outs = [fn(x) for fn in fns]
            grads = [fastnn.autograd.grad([o.sum()], [x])[0].numpy().copy() for o in outs[:4]]
            results.append([o.detach().numpy().copy() for o in outs] + grads)
    finally:
        fastnn.set_num_threads(before)
    for a, b in zip(*results):
        assert a.tobytes() == b.tobytes()
    # and the long reductions agree with torch
    t = torch.tensor(arr.astype(np.float64))
    assert_close(fastnn.tensor(arr).var().double(), t.var().float().double(), rtol=1e-5)
    assert_close(fastnn.tensor(arr).logsumexp(0).double(), t.logsumexp(0).float().double(), rtol=1e-5)
