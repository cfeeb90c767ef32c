"""Reductions against PyTorch: sum/mean (dims, keepdim, dtype), max/min (whole and along a dim, with
indices), argmax/argmin; ties, NaNs, zero-size inputs, non-contiguous inputs and gradients."""

import fastnn
import numpy as np
import pytest
from oracle import check_op, gradcheck_op, layout_input, torch

LAYOUTS = ["contiguous", "transposed", "strided", "offset", "expanded"]

# (id, fn) for sum and mean; fn works on a tensor of either library
SUM_MEAN = []
for _red in ("sum", "mean"):
    SUM_MEAN += [
        (f"{_red}_all", lambda x, r=_red: getattr(x, r)()),
        (f"{_red}_dim0", lambda x, r=_red: getattr(x, r)(0)),
        (f"{_red}_dim1", lambda x, r=_red: getattr(x, r)(dim=1)),
        (f"{_red}_dim_neg", lambda x, r=_red: getattr(x, r)(-1)),
        (f"{_red}_dim_neg_keepdim", lambda x, r=_red: getattr(x, r)(-2, keepdim=True)),
        (f"{_red}_tuple", lambda x, r=_red: getattr(x, r)((0, 2))),
        (f"{_red}_tuple_neg_keepdim", lambda x, r=_red: getattr(x, r)((-1, 0), keepdim=True)),
        (f"{_red}_list", lambda x, r=_red: getattr(x, r)([1, 2])),
        (f"{_red}_all_dims", lambda x, r=_red: getattr(x, r)((0, 1, 2))),
        (f"{_red}_all_dims_keepdim", lambda x, r=_red: getattr(x, r)((0, 1, 2), keepdim=True)),
        (f"{_red}_module", lambda x, r=_red: getattr(fastnn if isinstance(x, fastnn.Tensor) else torch, r)(x, 1)),
        (f"{_red}_module_all", lambda x, r=_red: getattr(fastnn if isinstance(x, fastnn.Tensor) else torch, r)(x)),
        (f"{_red}_dtype_f64", lambda x, r=_red: getattr(x, r)(1, dtype=_dt(x, "float64"))),
        (f"{_red}_all_dtype_f64", lambda x, r=_red: getattr(x, r)(dtype=_dt(x, "float64"))),
    ]
SUM_MEAN += [("sum_dtype_f32_from_f64", lambda x: x.double().sum(0, dtype=_dt(x, "float32")))]
SUM_MEAN_IDS = [s[0] for s in SUM_MEAN]


def _dt(x, name):
    return getattr(fastnn if isinstance(x, fastnn.Tensor) else torch, name)


def _layout3(rng, layout, dtype=np.float32, shape=(3, 4, 5)):
    if layout == "transposed":  # permuted storage
        arr = rng.uniform(-2, 2, size=(shape[2], shape[0], shape[1])).astype(dtype)
        return arr, lambda lib, x: x.permute(1, 2, 0)
    return layout_input(rng, shape, layout, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name,fn", SUM_MEAN, ids=SUM_MEAN_IDS)
def test_sum_mean(name, fn, layout, dtype):
    rng = np.random.default_rng(0)
    arr, prep = _layout3(rng, layout, dtype)
    check_op(fn, [arr], prep=prep)


@pytest.mark.parametrize("shape", [(0, 3, 2), (3, 0, 2), (1, 1, 1), (2, 3, 0)], ids=str)
@pytest.mark.parametrize("name,fn", SUM_MEAN, ids=SUM_MEAN_IDS)
def test_sum_mean_zero_size_and_ones(name, fn, shape):
    # mean over no elements is nan, sum is 0
    arr = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    check_op(fn, [arr])


def test_sum_mean_0d():
    for fn in (
        lambda x: x.sum(),
        lambda x: x.mean(),
        lambda x: x.sum(0),
        lambda x: x.mean(-1, keepdim=True),
        lambda x: x.sum(dim=(), keepdim=True),
    ):
        check_op(fn, [np.array(2.5, dtype=np.float32)])


def test_sum_large_is_accurate():
    # a long reduction (several parallel chunks) stays within float32 tolerance of torch's
    arr = np.random.default_rng(2).uniform(0, 1, size=7 * 14_289).astype(np.float32)
    check_op(lambda x: x.sum(), [arr])
    check_op(lambda x: x.mean(), [arr])
    check_op(lambda x: x.view(7, -1).sum(1), [arr])
    check_op(lambda x: x.view(-1, 7).t().mean(1), [arr])


INT_SUM = [
    ("sum", lambda x: x.sum()),
    ("sum_dim", lambda x: x.sum(1)),
    ("sum_keepdim", lambda x: x.sum(0, keepdim=True)),
    ("sum_dtype_float", lambda x: x.sum(1, dtype=_dt(x, "float32"))),
    ("mean_dtype", lambda x: x.mean(dtype=_dt(x, "float64"))),
    ("mean_dim_dtype", lambda x: x.mean(0, dtype=_dt(x, "float32"))),
]


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
@pytest.mark.parametrize("name,fn", INT_SUM, ids=[i[0] for i in INT_SUM])
def test_sum_int_and_bool(name, fn, dtype):
    arr = np.array([[1, 0, 3], [-4, 5, 1]]).astype(dtype)
    check_op(fn, [arr])


def test_mean_of_int_needs_a_dtype():
    for lib in (fastnn, torch):
        with pytest.raises((TypeError, RuntimeError)):
            lib.tensor([1, 2]).mean()


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.sum(),
        lambda x: x.sum(1),
        lambda x: x.mean((0, 2)),
        lambda x: x.mean(-1, keepdim=True),
        lambda x: x.sum((0, 1), keepdim=True),
        lambda x: x.permute(2, 0, 1).sum(1),
        lambda x: x[:, ::2].mean(0),
        lambda x: x.sum(1, dtype=fastnn.float64),
    ],
)
def test_sum_mean_gradcheck(fn):
    gradcheck_op(fn, [np.random.default_rng(3).standard_normal((2, 3, 2))])


def test_sum_mean_bad_dims():
    for lib in (fastnn, torch):
        x = lib.zeros(2, 3)
        with pytest.raises(IndexError):
            x.sum(2)
        with pytest.raises(IndexError):
            x.mean(-3)
        with pytest.raises((ValueError, RuntimeError)):
            x.sum((0, 0))


# ---------------------------------------------------------------------------------------------
# max / min / argmax / argmin

EXT = []
for _ext in ("max", "min"):
    EXT += [
        (f"{_ext}_all", lambda x, e=_ext: getattr(x, e)()),
        (f"{_ext}_dim0", lambda x, e=_ext: tuple(getattr(x, e)(0))),
        (f"{_ext}_dim1", lambda x, e=_ext: tuple(getattr(x, e)(1))),
        (f"{_ext}_dim_neg_keepdim", lambda x, e=_ext: tuple(getattr(x, e)(-1, keepdim=True))),
        (f"{_ext}_dim_kw", lambda x, e=_ext: tuple(getattr(x, e)(dim=0, keepdim=True))),
        (
            f"{_ext}_module",
            lambda x, e=_ext: tuple(getattr(fastnn if isinstance(x, fastnn.Tensor) else torch, e)(x, 1)),
        ),
        (f"{_ext}_module_all", lambda x, e=_ext: getattr(fastnn if isinstance(x, fastnn.Tensor) else torch, e)(x)),
        (f"arg{_ext}_all", lambda x, e=_ext: getattr(x, "arg" + e)()),
        (f"arg{_ext}_dim0", lambda x, e=_ext: getattr(x, "arg" + e)(0)),
        (f"arg{_ext}_dim_neg_keepdim", lambda x, e=_ext: getattr(x, "arg" + e)(-1, keepdim=True)),
        (
            f"arg{_ext}_module",
            lambda x, e=_ext: getattr(fastnn if isinstance(x, fastnn.Tensor) else torch, "arg" + e)(x, dim=1),
        ),
        (f"arg{_ext}_all_keepdim", lambda x, e=_ext: getattr(x, "arg" + e)(keepdim=True)),
    ]
EXT_IDS = [e[0] for e in EXT]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name,fn", EXT, ids=EXT_IDS)
def test_max_min_layouts(name, fn, layout):
    # distinct values: every library picks the same index
    rng = np.random.default_rng(4)
    arr, prep = layout_input(rng, (4, 5), layout, np.float32)
    if layout == "expanded":  # rows are copies: ties along dim 0, torch picks the first
        arr = rng.permutation(arr.size).reshape(arr.shape).astype(np.float32)
    else:
        arr = rng.permutation(arr.size).reshape(arr.shape).astype(np.float32) / 7
    check_op(fn, [arr], prep=prep)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("name,fn", EXT, ids=EXT_IDS)
def test_max_min_ties_first_index(name, fn, dtype):
    # many ties; torch returns the first index of the extreme, and whole-tensor max/min share the gradient
    arr = np.array([[1, 3, 3, 0], [2, 2, 0, 0], [3, 1, 3, 3]], dtype=dtype)
    check_op(fn, [arr])


EXT_VALUES = [e for e in EXT if not e[0].startswith("arg")]


@pytest.mark.parametrize("name,fn", EXT_VALUES, ids=[e[0] for e in EXT_VALUES])
def test_max_min_bool(name, fn):
    check_op(fn, [np.array([[True, False, True], [False, False, True]])])


def test_argmax_argmin_bool():
    # torch refuses bool input here; fastnn answers like it does for the same values as int64
    x = fastnn.tensor([[True, False, True], [False, False, True]])
    assert x.argmax(1).tolist() == [0, 2] and x.argmin(1).tolist() == [1, 0]
    assert x.argmax().item() == 0 and x.argmin().item() == 1


@pytest.mark.parametrize("name,fn", EXT, ids=EXT_IDS)
def test_max_min_nan(name, fn):
    # NaN is the extreme for both max and min (its first occurrence), values and gradients
    arr = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 5.0, -1.0, 0.0], [np.nan, 1.0, 2.0, 3.0]], dtype=np.float32)
    check_op(fn, [arr])


@pytest.mark.parametrize("name,fn", EXT, ids=EXT_IDS)
def test_max_min_infinities(name, fn):
    arr = np.array([[1.0, -np.inf, np.inf], [-np.inf, -np.inf, 0.0]], dtype=np.float64)
    check_op(fn, [arr])


EXT_DIM0 = [e for e in EXT if e[0].endswith(("dim0", "dim_kw"))]


@pytest.mark.parametrize("name,fn", EXT_DIM0, ids=[e[0] for e in EXT_DIM0])
def test_max_min_zero_size_kept_dim(name, fn):
    # reducing the non-empty dim 0 of a (3, 0)-shaped tensor (contiguous and transposed)
    check_op(fn, [np.zeros((3, 0), np.float32)])
    check_op(lambda x: fn(x.t()), [np.zeros((0, 3), np.float32)])


def test_max_min_zero_size_reduced_dim_is_an_error():
    for lib in (fastnn, torch):
        x = lib.zeros(0, 3)
        for bad in (
            lambda x: x.max(),
            lambda x: x.min(),
            lambda x: x.max(0),
            lambda x: x.argmax(),
            lambda x: x.argmin(0),
            lambda x: x.t().min(1),
            lambda x: x.t().argmax(-1, keepdim=True),
        ):
            with pytest.raises((IndexError, RuntimeError)):
                bad(x)


def test_max_min_0d():
    for fn in (
        lambda x: x.max(),
        lambda x: tuple(x.max(0)),
        lambda x: tuple(x.min(-1, keepdim=True)),
        lambda x: x.argmax(),
        lambda x: x.argmin(0),
    ):
        check_op(fn, [np.array(1.5, np.float32)])


def test_max_min_namedtuple():
    x = fastnn.tensor([[1.0, 5.0], [7.0, 2.0]])
    r = x.max(1)
    assert r.values.tolist() == [5.0, 7.0] and r.indices.tolist() == [1, 0]
    values, indices = x.min(dim=0)
    assert values.tolist() == [1.0, 2.0] and indices.tolist() == [0, 1]
    assert indices.dtype == fastnn.int64 and not indices.requires_grad


def test_max_min_of_two_tensors_is_elementwise():
    # torch.max(a, b) is maximum(a, b) (more in test_ops_elementwise_more.py)
    a, b = np.array([[1.0, -2.0, 3.0]], np.float32), np.array([[0.5], [4.0]], np.float32)
    for fn in (lambda m, x, y: m.max(x, y), lambda m, x, y: x.min(y)):
        f, t = check_op(fn, [a, b], uses_module=True)
        assert f.grad_fn.name() == t.grad_fn.name()


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.max(),
        lambda x: x.min(),
        lambda x: x.max(1)[0],
        lambda x: x.min(0)[0],
        lambda x: x.max(-1, keepdim=True).values,
        lambda x: x.t().min(1).values,
        lambda x: x[:, ::2].max(0).values,
    ],
)
def test_max_min_gradcheck(fn):
    arr = np.random.default_rng(5).permutation(12).reshape(3, 4).astype(np.float64) * 0.37
    gradcheck_op(fn, [arr])


def test_argmax_not_differentiable():
    x = fastnn.tensor([1.0, 3.0], requires_grad=True)
    assert not x.argmax().requires_grad and x.argmax().dtype == fastnn.int64


LARGE_REDUCE = [
    ("sum_inner", lambda x: x.sum(-1)),
    ("sum_outer", lambda x: x.sum(0)),
    ("sum_mid_keepdim", lambda x: x.sum(1, keepdim=True)),
    ("sum_permuted", lambda x: x.permute(2, 0, 1).sum((1, 2))),
    ("mean_strided", lambda x: x[:, ::2].mean(1)),
    ("max_dim", lambda x: tuple(x.permute(1, 2, 0).max(2))),
    ("min_dim0", lambda x: tuple(x.transpose(0, 2).min(0))),
    ("argmax", lambda x: x.argmax(1)),
    ("max_all", lambda x: x.max()),
    ("sum_all", lambda x: x.sum()),
]


@pytest.mark.parametrize("name,fn", LARGE_REDUCE, ids=[r[0] for r in LARGE_REDUCE])
def test_large_reductions(name, fn):
    rng = np.random.default_rng(6)
    arr = rng.permutation(40 * 70 * 33).reshape(40, 70, 33).astype(np.float32) / 1000
    check_op(fn, [arr])


def test_reductions_independent_of_thread_count():
    arr = np.random.default_rng(7).standard_normal((300, 700)).astype(np.float32)
    results = []
    for n in (1, 2):
        fastnn.set_num_threads(n)
        x = fastnn.tensor(arr)
        results.append(
            [x.sum().item(), x.sum(0).numpy().copy(), x.t().mean(0).numpy().copy(), x.max(1)[1].numpy().copy()]
        )
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1:], results[1][1:]):
        np.testing.assert_array_equal(a, b)


def test_sum_dtype_converts_the_input_first():
    # torch converts each element to the dtype before summing: 1.5 + 1.5 summed as int64 is 2, not 3
    arr = np.array([[1.5, 1.5, -0.7], [2.9, -2.9, 0.2]], np.float32)
    for fn in (
        lambda x: x.sum(dtype=_dt(x, "int64")),
        lambda x: x.sum(1, dtype=_dt(x, "int64")),
        lambda x: x.t().sum(0, keepdim=True, dtype=_dt(x, "int64")),
    ):
        check_op(fn, [arr], grad=False)
    check_op(lambda x: x.double().sum(0, dtype=_dt(x, "float32")), [arr])
    # an integer result is not differentiable (torch refuses to record it; fastnn ends the graph)
    x = fastnn.tensor(arr, requires_grad=True)
    assert not x.sum(dtype=fastnn.int64).requires_grad and not x.sum(0, dtype=fastnn.int64).requires_grad


# Rows long enough for the vectorised row kernels (kernels/cpu/reduce): blocks of 512, the 32-value body, the tail,
# several 16,384-value chunks for a whole-tensor sum; NaN and infinities in some rows; float32 and float64.
LONG_ROWS = [
    ("sum_all", lambda x: x.sum()),
    ("sum_rows", lambda x: x.sum(1)),
    ("mean_rows", lambda x: x.mean(-1)),
    ("sum_dim0", lambda x: x.sum(0)),
    ("amax_rows", lambda x: x.amax(1)),
    ("amin_dim0", lambda x: x.amin(0)),
    ("max_rows", lambda x: x.max(1)),
    ("softmax", lambda x: x.softmax(1)),
    ("log_softmax_dim0", lambda x: x.log_softmax(0)),
    ("norm", lambda x: x.norm()),
    ("var_rows", lambda x: x.var(1)),
    ("logsumexp_rows", lambda x: x.logsumexp(1)),
    ("logsumexp_dim0", lambda x: x.logsumexp(0)),
    ("cross_entropy", lambda x: lib(x).nn.functional.cross_entropy(x, lib(x).tensor(np.arange(x.shape[0]) % 7))),
]


def lib(x):
    return fastnn if isinstance(x, fastnn.Tensor) else torch


@pytest.mark.parametrize("name,fn", LONG_ROWS, ids=[n for n, _ in LONG_ROWS])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cols", [31, 33, 530, 1100, 40000])
def test_long_rows_match_torch(name, fn, dtype, cols):
    rows = 3 if cols == 40000 else 37
    arr = np.random.default_rng(cols).standard_normal((rows, cols)).astype(dtype)
    check_op(fn, [arr])
    special = arr.copy()
    special[1, cols // 2] = np.nan
    special[2, 3] = np.inf
    special[2, cols - 1] = -np.inf
    check_op(fn, [special], grad=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_long_row_products_match_torch(dtype):
    # eight interleaved partial products and a tail: rows of 7 to 1037 values, a zero, NaN and inf among them
    rng = np.random.default_rng(8)
    for cols in (7, 8, 9, 1037):
        if dtype == np.int64:
            arr = rng.integers(-5, 6, (5, cols)).astype(np.int64)  # wraps around int64, as torch
        else:
            arr = rng.uniform(0.9, 1.1, (5, cols)).astype(dtype)
            arr[1, cols // 2], arr[2, -1], arr[3, 0] = 0, np.nan, np.inf
        check_op(lambda x: x.prod(1), [arr], grad=False)
        if dtype != np.int64:
            check_op(lambda x: x.prod(1), [np.abs(arr[4:]) + 0.5])  # with gradients


@pytest.mark.parametrize(
    "shape,dims",
    [
        ((32, 33, 130), 1),
        ((4, 5, 6, 40), (1, 2)),
        ((3, 70, 17), -2),
        ((2, 9, 3, 4), 1),
        ((50, 20), 0),
        ((7, 1, 20), 1),
        ((6, 8, 2), 1),
    ],
)
@pytest.mark.parametrize("keepdim", [False, True])
def test_sums_over_middle_dims_match_torch(shape, dims, keepdim):
    # a block of middle dims of a contiguous input is summed in place as (outer, reduced, inner) columns
    arr = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32)
    check_op(lambda x: x.sum(dims, keepdim=keepdim), [arr])
    check_op(lambda x: x.mean(dims, keepdim=keepdim), [arr])
    check_op(lambda x: x.double().sum(dims), [arr])
    ints = (arr * 10).astype(np.int64)
    check_op(lambda x: x.sum(dims, keepdim=keepdim), [ints], grad=False)
