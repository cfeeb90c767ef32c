"""Matrix products against PyTorch: mm, addmm (beta/alpha), bmm, matmul over 1-D/2-D/3-D/broadcast
batch shapes, t(); non-contiguous operands, zero-size dims and float64 gradchecks."""

import fastnn
import numpy as np
import pytest
from oracle import check_op, gradcheck_op, torch


def _operand(rng, shape, layout, dtype=np.float32):
    """(array, prep) for a matrix operand of logical `shape` in a layout (last two dims)."""
    shape = tuple(shape)
    if layout == "contiguous":
        return rng.standard_normal(shape).astype(dtype), None
    if layout == "transposed":
        return rng.standard_normal(shape[:-2] + (shape[-1], shape[-2])).astype(dtype), lambda lib, x: x.transpose(
            -1, -2
        )
    if layout == "strided":
        return rng.standard_normal(shape[:-1] + (2 * shape[-1],)).astype(dtype), lambda lib, x: x[..., 1::2]
    if layout == "rows_strided":
        return rng.standard_normal(shape[:-2] + (2 * shape[-2], shape[-1])).astype(dtype), lambda lib, x: x[..., ::2, :]
    if layout == "expanded_batch":
        return rng.standard_normal((1,) + shape[1:]).astype(dtype), lambda lib, x: x.expand(*shape)
    raise ValueError(layout)


MM_LAYOUTS = ["contiguous", "transposed", "strided", "rows_strided"]
MM_SHAPES = [(3, 4, 5), (1, 1, 1), (7, 16, 9), (33, 65, 17), (5, 1, 3), (1, 8, 1)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lb", MM_LAYOUTS)
@pytest.mark.parametrize("la", MM_LAYOUTS)
@pytest.mark.parametrize("nkm", MM_SHAPES, ids=str)
def test_mm(nkm, la, lb, dtype):
    n, k, m = nkm
    rng = np.random.default_rng(n * 100 + k)
    a, pa = _operand(rng, (n, k), la, dtype)
    b, pb = _operand(rng, (k, m), lb, dtype)
    check_op(lambda x, y: x.mm(y), [a, b], prep=[pa, pb])


@pytest.mark.parametrize("nkm", [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0)], ids=str)
def test_mm_zero_size(nkm):
    n, k, m = nkm
    rng = np.random.default_rng(0)
    check_op(
        lambda x, y: x.mm(y),
        [rng.standard_normal((n, k)).astype(np.float32), rng.standard_normal((k, m)).astype(np.float32)],
    )
    check_op(
        lambda x, y: x @ y,
        [rng.standard_normal((2, n, k)).astype(np.float32), rng.standard_normal((2, k, m)).astype(np.float32)],
    )


def test_mm_module_and_operator():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((4, 2)).astype(np.float32)]
    check_op(lambda m, x, y: m.mm(x, y), arrays, uses_module=True)
    check_op(lambda m, x, y: m.matmul(x, y), arrays, uses_module=True)
    check_op(lambda x, y: x @ y, arrays)
    check_op(lambda x, y: x.matmul(y), arrays)


@pytest.mark.parametrize("la,lb", [("contiguous", "contiguous"), ("transposed", "strided"), ("strided", "transposed")])
def test_mm_gradcheck(la, lb):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 4) if la != "transposed" else (4, 3))
    b = rng.standard_normal((4, 2) if lb != "transposed" else (2, 4))
    if lb == "strided":
        b = rng.standard_normal((4, 4))
    if la == "strided":
        a = rng.standard_normal((3, 8))
    views = {"contiguous": lambda x: x, "transposed": lambda x: x.t(), "strided": lambda x: x[:, ::2]}
    gradcheck_op(lambda x, y: views[la](x).mm(views[lb](y)), [a, b])


def test_mm_errors():
    for lib in (fastnn, torch):
        with pytest.raises((ValueError, RuntimeError)):
            lib.mm(lib.ones(2, 3), lib.ones(2, 3))
        with pytest.raises((ValueError, RuntimeError)):
            lib.mm(lib.ones(3), lib.ones(3, 2))
    with pytest.raises(TypeError):
        fastnn.mm(fastnn.ones(2, 2), fastnn.ones(2, 2, dtype=fastnn.float64))


# ---------------------------------------------------------------------------------------------
# addmm

ADDMM = [(1.0, 1.0), (0.5, 1.0), (1.0, 2.0), (-1.5, 0.25), (0.0, 1.0), (0.0, 3.0), (2.0, 0.0)]
BIAS_SHAPES = [(3, 5), (5,), (1, 5), (3, 1), (), (1,)]


@pytest.mark.parametrize("bias_shape", BIAS_SHAPES, ids=str)
@pytest.mark.parametrize("beta,alpha", ADDMM, ids=str)
def test_addmm(beta, alpha, bias_shape):
    rng = np.random.default_rng(3)
    arrays = [
        rng.standard_normal(bias_shape).astype(np.float32),
        rng.standard_normal((3, 4)).astype(np.float32),
        rng.standard_normal((4, 5)).astype(np.float32),
    ]
    check_op(lambda c, x, y: c.addmm(x, y, beta=beta, alpha=alpha), arrays)
    check_op(lambda m, c, x, y: m.addmm(c, x, y, beta=beta, alpha=alpha), arrays, uses_module=True)


@pytest.mark.parametrize("bias_layout", ["vector", "row", "strided", "scalar_column"])
@pytest.mark.parametrize("mkn", [(150, 600, 140), (64, 37, 33), (7, 40, 1), (300, 128, 384)], ids=str)
def test_addmm_bias_epilogue(mkn, bias_layout):
    # beta = alpha = 1 with a bias per column: the GEMM adds it in its epilogue (packed, dot and tiny paths)
    m, k, n = mkn
    rng = np.random.default_rng(m + n)
    shape = {"vector": (n,), "row": (1, n), "strided": (2 * n,), "scalar_column": (m, 1)}[bias_layout]
    prep = (lambda lib, c: c[::2]) if bias_layout == "strided" else None
    arrays = [
        rng.standard_normal(shape).astype(np.float32),
        rng.standard_normal((m, k)).astype(np.float32),
        rng.standard_normal((k, n)).astype(np.float32),
    ]
    check_op(lambda c, x, y: c.addmm(x, y), arrays, prep=[prep, None, None])
    check_op(lambda c, x, y: c.addmm(x, y.t().contiguous().t()), arrays, prep=[prep, None, None])


@pytest.mark.parametrize("shape", [(4, 5, 16), (2, 3, 4, 16), (0, 5, 16), (3, 0, 16)], ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_folds_batch_dims(shape, bias):
    # F.linear on 3-D+ input: with a bias, one addmm over the folded rows (ViewBackward0 over AddmmBackward0, as torch)
    rng = np.random.default_rng(len(shape))
    arrays = [rng.standard_normal(shape).astype(np.float32), rng.standard_normal((8, 16)).astype(np.float32)]
    if bias:
        arrays.append(rng.standard_normal(8).astype(np.float32))
    check_op(lambda lib, *args: lib.nn.functional.linear(*args), arrays, uses_module=True)
    if bias:
        names = []
        for lib in (fastnn, torch):
            node = lib.nn.functional.linear(*(lib.tensor(a, requires_grad=True) for a in arrays)).grad_fn
            names.append((node.name(), node.next_functions[0][0].name()))
        assert names[0] == names[1] == ("ViewBackward0", "AddmmBackward0")


@pytest.mark.parametrize("beta,alpha", ADDMM, ids=str)
def test_addmm_noncontiguous(beta, alpha):
    rng = np.random.default_rng(4)
    arrays = [
        rng.standard_normal((5, 3)).astype(np.float32),
        rng.standard_normal((4, 3)).astype(np.float32),
        rng.standard_normal((4, 10)).astype(np.float32),
    ]
    preps = [lambda lib, c: c.t(), lambda lib, x: x.t(), lambda lib, y: y[:, ::2]]
    check_op(lambda c, x, y: c.addmm(x, y, beta=beta, alpha=alpha), arrays, prep=preps)
    # an expanded bias
    arrays[0] = rng.standard_normal((1, 5)).astype(np.float32)
    check_op(
        lambda c, x, y: c.expand(3, 5).addmm(x, y, beta=beta, alpha=alpha), arrays, prep=[None, preps[1], preps[2]]
    )


@pytest.mark.parametrize("beta,alpha", [(0.0, 1.0), (0.0, 2.0)], ids=str)
def test_addmm_beta_zero_ignores_nan_bias(beta, alpha):
    rng = np.random.default_rng(5)
    bias = np.full((3, 2), np.nan, np.float32)
    bias[0, 0] = np.inf
    check_op(
        lambda c, x, y: c.addmm(x, y, beta=beta, alpha=alpha),
        [bias, rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((4, 2)).astype(np.float32)],
    )


def test_addmm_zero_size():
    rng = np.random.default_rng(6)
    check_op(
        lambda c, x, y: c.addmm(x, y, beta=0.5, alpha=2),
        [
            rng.standard_normal((3,)).astype(np.float32),
            np.zeros((0, 4), np.float32),
            rng.standard_normal((4, 3)).astype(np.float32),
        ],
    )
    check_op(
        lambda c, x, y: c.addmm(x, y, beta=0.5),
        [rng.standard_normal((2, 3)).astype(np.float32), np.zeros((2, 0), np.float32), np.zeros((0, 3), np.float32)],
    )


def test_addmm_does_not_modify_bias():
    bias = fastnn.ones(2, 2)
    fastnn.addmm(bias, fastnn.ones(2, 3), fastnn.ones(3, 2))
    assert bias.tolist() == [[1.0, 1.0], [1.0, 1.0]]


@pytest.mark.parametrize("beta,alpha", ADDMM, ids=str)
def test_addmm_gradcheck(beta, alpha):
    rng = np.random.default_rng(7)
    gradcheck_op(
        lambda c, x, y: c.addmm(x.t(), y, beta=beta, alpha=alpha),
        [rng.standard_normal((2,)), rng.standard_normal((3, 4)), rng.standard_normal((3, 2))],
    )


def test_addmm_errors():
    for lib in (fastnn, torch):
        with pytest.raises((ValueError, RuntimeError)):
            lib.addmm(lib.ones(4, 4), lib.ones(2, 3), lib.ones(3, 2))
        with pytest.raises((ValueError, RuntimeError)):
            lib.addmm(lib.ones(2), lib.ones(2, 3), lib.ones(2, 2))


# ---------------------------------------------------------------------------------------------
# bmm

BMM_LAYOUTS = ["contiguous", "transposed", "strided", "expanded_batch"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lb", BMM_LAYOUTS)
@pytest.mark.parametrize("la", BMM_LAYOUTS)
@pytest.mark.parametrize("bnkm", [(2, 3, 4, 5), (1, 1, 1, 1), (4, 17, 9, 33), (3, 1, 5, 1)], ids=str)
def test_bmm(bnkm, la, lb, dtype):
    b, n, k, m = bnkm
    rng = np.random.default_rng(8)
    x, px = _operand(rng, (b, n, k), la, dtype)
    y, py = _operand(rng, (b, k, m), lb, dtype)
    check_op(lambda p, q: p.bmm(q), [x, y], prep=[px, py])


def test_bmm_batch_permuted_and_module():
    rng = np.random.default_rng(9)
    # batch dim that is not outermost in memory
    x = rng.standard_normal((3, 2, 4)).astype(np.float32)
    y = rng.standard_normal((4, 2, 5)).astype(np.float32)
    check_op(lambda m, p, q: m.bmm(p.permute(1, 0, 2), q.permute(1, 0, 2)), [x, y], uses_module=True)


def test_bmm_zero_size():
    rng = np.random.default_rng(10)
    for shapes in (((0, 2, 3), (0, 3, 4)), ((2, 0, 3), (2, 3, 4)), ((2, 2, 0), (2, 0, 4)), ((2, 2, 3), (2, 3, 0))):
        check_op(lambda p, q: p.bmm(q), [rng.standard_normal(s).astype(np.float32) for s in shapes])


def test_bmm_gradcheck():
    rng = np.random.default_rng(11)
    gradcheck_op(lambda p, q: p.bmm(q), [rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 3, 2))])
    gradcheck_op(
        lambda p, q: p.transpose(1, 2).bmm(q[:, :, ::2]),
        [rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3, 4))],
    )
    gradcheck_op(
        lambda p, q: p.expand(3, 2, 2).bmm(q), [rng.standard_normal((1, 2, 2)), rng.standard_normal((3, 2, 2))]
    )


def test_bmm_errors():
    for lib in (fastnn, torch):
        for a, b in (((2, 3, 4), (3, 4, 5)), ((2, 3, 4), (2, 5, 4)), ((3, 4), (4, 5))):
            with pytest.raises((ValueError, RuntimeError)):
                lib.bmm(lib.ones(*a), lib.ones(*b))


# ---------------------------------------------------------------------------------------------
# matmul: every rank combination and broadcast batches

MATMUL_SHAPES = [
    ((4,), (4,)),
    ((3, 4), (4,)),
    ((4,), (4, 5)),
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((1, 3, 4), (2, 4, 5)),
    ((2, 2, 3, 4), (4, 5)),
    ((2, 2, 3, 4), (4,)),
    ((4,), (3, 2, 4, 5)),
    ((3, 1, 2, 4), (1, 2, 4, 3)),
    ((0, 3, 4), (4, 5)),
    ((2, 3, 0), (2, 0, 5)),
    ((0,), (0,)),
    ((2, 0, 4), (4,)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_shapes(shapes, dtype):
    rng = np.random.default_rng(12)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    check_op(lambda x, y: x @ y, arrays)


@pytest.mark.parametrize(
    "shapes", [s for s in MATMUL_SHAPES if len(s[0]) >= 2 and len(s[1]) >= 2 and 0 not in s[0] + s[1]], ids=str
)
def test_matmul_noncontiguous(shapes):
    rng = np.random.default_rng(13)
    a, pa = _operand(rng, shapes[0], "transposed")
    b, pb = _operand(rng, shapes[1], "strided")
    check_op(lambda x, y: x.matmul(y), [a, b], prep=[pa, pb])


@pytest.mark.parametrize(
    "shapes",
    [
        ((3,), (3,)),
        ((2, 3), (3,)),
        ((3,), (3, 2)),
        ((2, 2, 3), (3, 2)),
        ((2, 2, 3), (3,)),
        ((3,), (2, 3, 2)),
        ((2, 1, 2, 3), (2, 3, 2)),
        ((2, 3), (2, 3, 1)),
    ],
    ids=str,
)
def test_matmul_gradcheck(shapes):
    rng = np.random.default_rng(14)
    gradcheck_op(lambda x, y: x @ y, [rng.standard_normal(s) for s in shapes])


def test_matmul_gradcheck_noncontiguous():
    rng = np.random.default_rng(15)
    gradcheck_op(
        lambda x, y: x.transpose(-1, -2) @ y[..., ::2], [rng.standard_normal((2, 3, 2)), rng.standard_normal((3, 4))]
    )


def test_matmul_errors():
    for lib in (fastnn, torch):
        for a, b in (((3,), (4,)), ((2, 3), (4,)), ((2, 3), (2, 3)), ((2, 2, 3), (3, 3, 2)), ((), (3,))):
            with pytest.raises((ValueError, RuntimeError)):
                lib.matmul(lib.ones(a), lib.ones(b))


# ---------------------------------------------------------------------------------------------
# t()


@pytest.mark.parametrize("shape", [(3, 4), (4,), (), (0, 3), (1, 5)], ids=str)
def test_t(shape):
    arr = np.random.default_rng(16).standard_normal(shape).astype(np.float32)
    f, t = check_op(lambda x: x.t(), [arr])
    if 0 not in shape:  # torch gives zero-size tensors made from NumPy arrays odd strides
        assert f.stride() == t.stride()
    check_op(lambda m, x: m.t(x), [arr], uses_module=True)
    check_op(lambda x: x.t().t() * 2, [arr])


def test_t_gradcheck_and_errors():
    gradcheck_op(lambda x: x.t() * x.t(), [np.random.default_rng(17).standard_normal((2, 3))])
    for lib in (fastnn, torch):
        with pytest.raises((ValueError, RuntimeError)):
            lib.ones(2, 3, 4).t()


def test_matmul_int_operands_rejected():
    # fastnn's GEMM is floating point only
    with pytest.raises(TypeError):
        fastnn.mm(fastnn.ones(2, 2, dtype=fastnn.int64), fastnn.ones(2, 2, dtype=fastnn.int64))


# ---------------------------------------------------------------------------------------------
# sizes that take the packed, blocked GEMM paths (K past one block, many row/column tiles)

LARGE_MM = [(150, 600, 130), (300, 1100, 70), (1, 2000, 1), (257, 3, 513), (70, 40, 1)]


@pytest.mark.parametrize("nkm", LARGE_MM, ids=str)
def test_mm_large(nkm):
    n, k, m = nkm
    rng = np.random.default_rng(20)
    a = rng.standard_normal((k, n)).astype(np.float32)
    b = rng.standard_normal((m, k)).astype(np.float32)
    check_op(lambda x, y: x.t() @ y.t(), [a, b])
    check_op(lambda x, y: x.t().mm(y.t()), [a.astype(np.float64), b.astype(np.float64)])


def test_bmm_addmm_large():
    rng = np.random.default_rng(21)
    check_op(
        lambda x, y: x.transpose(1, 2).bmm(y),
        [rng.standard_normal((3, 600, 150)).astype(np.float32), rng.standard_normal((3, 600, 20)).astype(np.float32)],
    )
    check_op(
        lambda c, x, y: c.addmm(x, y, beta=0.5, alpha=2),
        [
            rng.standard_normal((140,)).astype(np.float32),
            rng.standard_normal((150, 600)).astype(np.float32),
            rng.standard_normal((600, 140)).astype(np.float32),
        ],
    )


def test_matmul_independent_of_thread_count():
    rng = np.random.default_rng(22)
    a, b = rng.standard_normal((4, 130, 300)).astype(np.float32), rng.standard_normal((300, 90)).astype(np.float32)
    results = []
    for n in (1, 2):
        fastnn.set_num_threads(n)
        results.append((fastnn.tensor(a) @ fastnn.tensor(b)).numpy().copy())
    np.testing.assert_array_equal(results[0], results[1])
