"""Rearranging ops against PyTorch: splits (chunk, split, tensor_split, unbind, narrow), dim moves (movedim,
squeeze of several dims, unflatten, swapaxes), reordering copies (flip, roll, repeat, tile, repeat_interleave),
triangles and diagonals, small products (dot, outer, mv, addmv, baddbmm, addbmm), factories (linspace,
logspace, one_hot, *_like) and helpers (broadcast_*, meshgrid, *stack, block_diag). Values, gradients,
grad_fn names, view-ness (storage offset and strides), float64 gradchecks and errors are compared."""

import fastnn
import fastnn.nn.functional as F
import numpy as np
import pytest
from oracle import assert_close, check_op, gradcheck_op, layout_input, torch


def lib(x):
    return fastnn if isinstance(x, fastnn.Tensor) else torch


def node_name(fn):
    """A grad_fn's name as torch prints its class (fastnn's nodes have .name())."""
    return None if fn is None else fn.name() if hasattr(fn, "name") else type(fn).__name__


def names(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [node_name(o.grad_fn) for o in outs]


LAYOUTS = ["contiguous", "transposed", "strided", "offset", "expanded"]

# (id, fn, input shape): fn gets one float tensor (x) of the shape, in each layout.
ROWS = [
    ("chunk", lambda x: x.chunk(2), (5, 3, 4)),
    ("chunk_dim", lambda x: lib(x).chunk(x, 3, dim=-1), (5, 3, 4)),
    ("chunk_more_than_size", lambda x: x.chunk(7, 1), (5, 3, 4)),
    ("split_int", lambda x: x.split(2), (5, 3, 4)),
    ("split_int_dim", lambda x: lib(x).split(x, 3, dim=2), (5, 3, 4)),
    ("split_sizes", lambda x: x.split([1, 0, 4]), (5, 3, 4)),
    ("split_sizes_dim", lambda x: lib(x).split(x, (2, 1), -2), (5, 3, 4)),
    ("tensor_split_n", lambda x: x.tensor_split(3), (5, 3, 4)),
    ("tensor_split_idx", lambda x: lib(x).tensor_split(x, [1, 3, 10], dim=2), (5, 3, 4)),
    ("unbind", lambda x: x.unbind(), (5, 3, 4)),
    ("unbind_dim", lambda x: lib(x).unbind(x, -1), (5, 3, 4)),
    ("narrow", lambda x: x.narrow(0, 1, 3), (5, 3, 4)),
    ("narrow_neg", lambda x: lib(x).narrow(x, -1, -3, 2), (5, 3, 4)),
    ("movedim", lambda x: x.movedim(0, -1), (5, 3, 4)),
    ("movedim_tuple", lambda x: lib(x).movedim(x, (0, 2), (2, 0)), (5, 3, 4)),
    ("moveaxis", lambda x: lib(x).moveaxis(x, (1,), (0,)), (5, 3, 4)),
    ("squeeze_tuple", lambda x: x.unsqueeze(1).unsqueeze(0).squeeze((0, 1, 2)), (5, 3, 4)),
    ("squeeze_module", lambda x: lib(x).squeeze(x.unsqueeze(-1), (-1,)), (5, 3, 4)),
    ("squeeze_module_int", lambda x: lib(x).squeeze(x.unsqueeze(-1), -1), (5, 3, 4)),
    ("unflatten", lambda x: x.unflatten(2, (2, 2)), (5, 3, 4)),
    ("unflatten_infer", lambda x: lib(x).unflatten(x, -1, (-1, 1, 2)), (5, 3, 4)),
    ("swapaxes", lambda x: x.swapaxes(0, 2), (5, 3, 4)),
    ("swapdims", lambda x: lib(x).swapdims(x, -1, 1), (5, 3, 4)),
    ("flip", lambda x: x.flip(0), (5, 3, 4)),
    ("flip_many", lambda x: lib(x).flip(x, (0, -1)), (5, 3, 4)),
    ("flip_varargs", lambda x: x.flip(2, 1), (5, 3, 4)),
    ("flip_none", lambda x: lib(x).flip(x, ()), (5, 3, 4)),
    ("fliplr", lambda x: x.fliplr(), (5, 3, 4)),
    ("flipud", lambda x: lib(x).flipud(x), (5, 3, 4)),
    ("roll", lambda x: x.roll(2, 0), (5, 3, 4)),
    ("roll_neg", lambda x: lib(x).roll(x, -7, -1), (5, 3, 4)),
    ("roll_many", lambda x: x.roll((1, -2), (2, 0)), (5, 3, 4)),
    ("roll_same_dim", lambda x: x.roll((1, 2), (0, 0)), (5, 3, 4)),
    ("roll_flat", lambda x: lib(x).roll(x, 7), (5, 3, 4)),
    ("roll_zero", lambda x: x.roll(5, 0), (5, 3, 4)),
    ("repeat", lambda x: x.repeat(2, 1, 3), (5, 3, 4)),
    ("repeat_more_dims", lambda x: x.repeat((2, 1, 1, 2)), (5, 3, 4)),
    ("repeat_zero", lambda x: x.repeat(1, 0, 1), (5, 3, 4)),
    ("tile", lambda x: x.tile(2), (5, 3, 4)),
    ("tile_module", lambda x: lib(x).tile(x, (2, 1, 1, 2)), (5, 3, 4)),
    ("repeat_interleave", lambda x: x.repeat_interleave(2), (5, 3, 4)),
    ("repeat_interleave_dim", lambda x: lib(x).repeat_interleave(x, 3, dim=1), (5, 3, 4)),
    ("repeat_interleave_zero", lambda x: x.repeat_interleave(0, dim=-1), (5, 3, 4)),
    ("repeat_interleave_tensor", lambda x: x.repeat_interleave(lib(x).tensor([1, 0, 2, 3, 1]), dim=0), (5, 3, 4)),
    ("repeat_interleave_tensor_one", lambda x: x.repeat_interleave(lib(x).tensor([2]), dim=1), (5, 3, 4)),
    ("repeat_interleave_tensor_flat", lambda x: x[0].repeat_interleave(lib(x).tensor(2)), (5, 3, 4)),
    (
        "repeat_interleave_output_size",
        lambda x: x.repeat_interleave(lib(x).tensor([1, 2, 3]), 1, output_size=6),
        (5, 3, 4),
    ),
    ("tril", lambda x: x.tril(), (5, 3, 4)),
    ("tril_k", lambda x: lib(x).tril(x, 1), (5, 3, 4)),
    ("tril_neg", lambda x: x.tril(diagonal=-2), (5, 3, 4)),
    ("triu", lambda x: x.triu(), (5, 3, 4)),
    ("triu_k", lambda x: lib(x).triu(x, 2), (5, 3, 4)),
    ("triu_far", lambda x: x.triu(-9), (5, 3, 4)),
    ("diagonal", lambda x: x.diagonal(), (5, 3, 4)),
    ("diagonal_off", lambda x: lib(x).diagonal(x, 1, 1, 2), (5, 3, 4)),
    ("diagonal_neg", lambda x: x.diagonal(offset=-2, dim1=-1, dim2=0), (5, 3, 4)),
    ("diagonal_past", lambda x: x.diagonal(7), (5, 3, 4)),
    ("diag_2d", lambda x: x[0].diag(), (5, 3, 4)),
    ("diag_2d_off", lambda x: lib(x).diag(x[1], -1), (5, 3, 4)),
    ("diag_1d", lambda x: x[0, 0].diag(), (5, 3, 4)),
    ("diag_1d_off", lambda x: lib(x).diag(x[0, 1], 2), (5, 3, 4)),
    ("diag_embed", lambda x: x.diag_embed(), (5, 3, 4)),
    ("diag_embed_dims", lambda x: lib(x).diag_embed(x, -1, 0, 2), (5, 3, 4)),
    ("outer", lambda x: lib(x).outer(x[0, 0], x[1, :, 1]), (5, 3, 4)),
    ("ger", lambda x: x[0, 0].ger(x[2, 1]), (5, 3, 4)),
    ("dot", lambda x: lib(x).dot(x[0, 0], x[1, 1]), (5, 3, 4)),
    ("dot_method", lambda x: x[:, 0, 0].dot(x[:, 1, 2]), (5, 3, 4)),
    ("mv", lambda x: lib(x).mv(x[0], x[1, 0]), (5, 3, 4)),
    ("addmv", lambda x: lib(x).addmv(x[0, :, 0], x[1], x[2, 0]), (5, 3, 4)),
    ("addmv_scaled", lambda x: x[0, 0, :1].addmv(x[1], x[2, 0], beta=0.5, alpha=-2), (5, 3, 4)),
    ("baddbmm", lambda x: lib(x).baddbmm(x[:, :, :3], x, x.transpose(1, 2)[:, :, :3]), (5, 3, 4)),
    (
        "baddbmm_bcast",
        lambda x: x[0, :, :3].baddbmm(x, x[:, 0, :3].unsqueeze(1).expand(5, 4, 3), beta=2, alpha=0.5),
        (5, 3, 4),
    ),
    ("addbmm", lambda x: lib(x).addbmm(x[0, :, :3], x, x.transpose(1, 2)[:, :, :3], alpha=1.5), (5, 3, 4)),
    ("addbmm_beta0", lambda x: x[0, 0, :3].addbmm(x, x.transpose(1, 2)[:, :, :3], beta=0), (5, 3, 4)),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name,fn,shape", ROWS, ids=[r[0] for r in ROWS])
def test_ops(name, fn, shape, layout):
    arr, prep = layout_input(np.random.default_rng(0), shape, layout, np.float32)
    f, t = check_op(fn, [arr], prep=prep)
    assert names(f) == names(t), "grad_fn names"
    f_outs, t_outs = (f, t) if isinstance(f, tuple) else ((f,), (t,))
    for a, b in zip(f_outs, t_outs):
        assert a._is_view() == b._is_view(), "a view where torch returns one, a copy where it copies"
        if b._is_view() and b.numel() > 1:
            assert a.stride() == b.stride() and a.storage_offset() == b.storage_offset()


@pytest.mark.parametrize("name,fn,shape", ROWS, ids=[r[0] for r in ROWS])
def test_gradcheck(name, fn, shape):
    arr = np.random.default_rng(1).standard_normal(shape)
    gradcheck_op(
        lambda x: fn(x) if not isinstance(fn(x), tuple) else sum(o.sum() * (i + 1) for i, o in enumerate(fn(x))), [arr]
    )


def test_views_share_storage():
    x = fastnn.arange(24.0).reshape(4, 6).clone()
    for v in (
        *x.chunk(2),
        *x.split([1, 3]),
        *x.unbind(1),
        x.narrow(1, 2, 2),
        x.movedim(0, 1),
        x.diagonal(),
        x.unflatten(1, (2, 3)),
        x.swapaxes(0, 1),
        x.unsqueeze(0).squeeze((0,)),
    ):
        assert v._base is x
    x.chunk(2)[1][0, 0] = -1.0
    assert x[2, 0].item() == -1.0
    x.diagonal()[1] = 100.0
    assert x[1, 1].item() == 100.0
    for c in (x.flip(0), x.roll(1), x.repeat(1, 1), x.tril(), x.diag(), x.repeat_interleave(1, 0)):
        assert c._base is None or c._base is not x or c.data_ptr() != x.data_ptr()


DTYPE_ROWS = [
    ("flip", lambda x: x.flip(-1)),
    ("roll", lambda x: x.roll(1, 0)),
    ("repeat", lambda x: x.repeat(2, 2)),
    ("repeat_interleave", lambda x: x.repeat_interleave(2, 1)),
    ("tril", lambda x: x.tril(-1)),
    ("triu", lambda x: x.triu(1)),
    ("diag", lambda x: x.diag(1)),
    ("diag_embed", lambda x: x.diag_embed()),
    ("chunk", lambda x: x.chunk(2, 1)),
    ("diagonal", lambda x: x.diagonal()),
]


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.bool_])
@pytest.mark.parametrize("name,fn", DTYPE_ROWS, ids=[r[0] for r in DTYPE_ROWS])
def test_dtypes(name, fn, dtype):
    arr, _ = layout_input(np.random.default_rng(2), (3, 4), "contiguous", dtype, low=-5, high=5)
    check_op(fn, [arr])


EMPTY_ROWS = [
    ("chunk", lambda x: x.chunk(2)),
    ("chunk_dim", lambda x: x.chunk(3, 1)),
    ("split", lambda x: x.split(2, 1)),
    ("split_zero", lambda x: x.split(0)),
    ("unbind", lambda x: x.unbind(1)),
    ("flip", lambda x: x.flip(0, 1)),
    ("roll", lambda x: x.roll(1, 1)),
    ("roll_flat", lambda x: x.roll(3)),
    ("repeat", lambda x: x.repeat(2, 3)),
    ("repeat_interleave", lambda x: x.repeat_interleave(2, 1)),
    ("tril", lambda x: x.tril()),
    ("diagonal", lambda x: x.diagonal()),
    ("diag_embed", lambda x: x.diag_embed()),
    ("movedim", lambda x: x.movedim(0, 1)),
]


@pytest.mark.parametrize("name,fn", EMPTY_ROWS, ids=[r[0] for r in EMPTY_ROWS])
def test_empty(name, fn):
    check_op(fn, [np.zeros((0, 3), np.float32)])


def test_0d():
    check_op(lambda x: x.roll(2), [np.float32(3.0)])
    check_op(lambda x: x.repeat(2, 2), [np.float32(3.0)])
    check_op(lambda x: x.repeat_interleave(3), [np.float32(3.0)])
    check_op(lambda x: x.flip(0), [np.float32(3.0)])
    check_op(lambda x: x.squeeze((0,)), [np.float32(3.0)])


def test_chunk_sizes_rule():
    for n in range(0, 9):
        for chunks in range(1, 7):
            f = [tuple(c.shape) for c in fastnn.zeros(n).chunk(chunks)]
            t = [tuple(c.shape) for c in torch.zeros(n).chunk(chunks)]
            assert f == t, (n, chunks)
            f = [tuple(c.shape) for c in fastnn.zeros(n).tensor_split(chunks)]
            t = [tuple(c.shape) for c in torch.zeros(n).tensor_split(chunks)]
            assert f == t, (n, chunks)


def test_split_partial_gradients():
    """Only some outputs of a split used: the others get zero gradient."""
    check_op(lambda x: x.split(2)[1] * 3, [np.arange(10.0, dtype=np.float32).reshape(5, 2)])
    check_op(lambda x: x.unbind(1)[0].exp(), [np.arange(10.0, dtype=np.float32).reshape(5, 2)])


def test_repeat_interleave_repeats_only():
    for reps in ([1, 2, 0, 3], [0], []):
        f = fastnn.repeat_interleave(fastnn.tensor(reps, dtype=fastnn.int64))
        t = torch.repeat_interleave(torch.tensor(reps, dtype=torch.int64))
        assert_close(f, t)


# ---- factories and helpers ----


@pytest.mark.parametrize(
    "args", [(0, 1, 5), (-3, 7, 7), (2.5, -1.5, 9), (0, 1, 1), (0, 1, 0), (0.1, 1.3, 7), (1e-3, 1e3, 50)]
)
@pytest.mark.parametrize("dtype", [None, "float64", "int64"])
def test_linspace_logspace(args, dtype):
    fd = getattr(fastnn, dtype) if dtype else None
    td = getattr(torch, dtype) if dtype else None
    assert_close(fastnn.linspace(*args, dtype=fd), torch.linspace(*args, dtype=td))
    if abs(args[1]) < 10:
        assert_close(fastnn.logspace(*args, dtype=fd), torch.logspace(*args, dtype=td))
        assert_close(fastnn.logspace(*args, base=2, dtype=fd), torch.logspace(*args, base=2, dtype=td))


def test_linspace_exact_float32():
    for a, b, n in ((0.1, 1.3, 7), (-2.0, 3.0, 11), (0.0, 1.0, 100)):
        np.testing.assert_array_equal(fastnn.linspace(a, b, n).numpy(), torch.linspace(a, b, n).numpy())


def test_linspace_requires_grad():
    x = fastnn.linspace(0, 1, 3, requires_grad=True)
    assert x.requires_grad and x.is_leaf


@pytest.mark.parametrize("values,nc", [([1, 0, 3], -1), ([[0, 2], [1, 1]], 4), ([], 3), ([2], 3)])
def test_one_hot(values, nc):
    f = F.one_hot(fastnn.tensor(values, dtype=fastnn.int64), nc)
    t = torch.nn.functional.one_hot(torch.tensor(values, dtype=torch.int64), nc)
    assert_close(f, t)


def test_like_and_new():
    x = fastnn.ones(2, 3, dtype=fastnn.float64)
    for name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
        y = getattr(fastnn, name)(x)
        assert y.shape == (2, 3) and y.dtype == fastnn.float64
    r = fastnn.randint_like(x, 5)
    assert r.dtype == fastnn.float64 and r.shape == (2, 3) and 0 <= r.min().item() and r.max().item() < 5
    r = fastnn.randint_like(fastnn.zeros(100, dtype=fastnn.int64), 3, 6)
    assert r.min().item() >= 3 and r.max().item() < 6
    assert fastnn.full_like(x, 7).dtype == fastnn.float64
    assert x.new_zeros(4).shape == (4,) and x.new_ones((1, 2)).dtype == fastnn.float64
    assert x.new_full((2,), 3).tolist() == [3.0, 3.0]
    assert x.new_tensor([1, 2]).dtype == fastnn.float64
    assert x.new_empty(3, dtype=fastnn.int64).dtype == fastnn.int64


def test_numel_is_tensor_is_floating_point():
    x = fastnn.ones(2, 3)
    assert fastnn.numel(x) == 6 and fastnn.is_tensor(x) and not fastnn.is_tensor([1])
    assert fastnn.is_floating_point(x) and not fastnn.is_floating_point(x.long())
    assert x.tolist() == [[1.0] * 3] * 2


def test_broadcast():
    for shapes in (((2, 1), (3,)), ((1,), ()), ((4, 1, 3), (2, 1), (1,)), (5,)):
        shapes = shapes if isinstance(shapes[0], tuple) else (shapes,)
        assert fastnn.broadcast_shapes(*shapes) == torch.broadcast_shapes(*shapes)
    assert isinstance(fastnn.broadcast_shapes((2, 1), (3,)), fastnn.Size)
    check_op(lambda a, b: tuple(lib(a).broadcast_tensors(a, b)), [np.ones((3, 1), np.float32), np.ones(4, np.float32)])


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid(indexing):
    arrs = [np.arange(3.0, dtype=np.float32), np.arange(4.0, dtype=np.float32), np.arange(2.0, dtype=np.float32)]
    f, t = check_op(lambda *xs: tuple(lib(xs[0]).meshgrid(*xs, indexing=indexing)), arrs)
    check_op(lambda a, b: tuple(lib(a).meshgrid([a, b], indexing=indexing)), arrs[:2])


def test_stacks_and_block_diag():
    a, b = np.arange(6.0, dtype=np.float32).reshape(2, 3), np.arange(3.0, dtype=np.float32)
    for name in ("hstack", "vstack", "dstack", "column_stack"):
        check_op(lambda x, y, n=name: getattr(lib(x), n)([x, x * 2]), [a, b])
        check_op(lambda x, y, n=name: getattr(lib(x), n)((y, y)), [a, b])
    check_op(lambda x, y: lib(x).vstack([x, y]), [a, b])
    check_op(lambda x, y: lib(x).block_diag(x, y, y[0]), [a, b])
    check_op(lambda x, y: lib(x).cartesian_prod(y, x[0]), [a, b])


# ---- errors (type + message) ----

x54 = fastnn.zeros(5, 4)
ERRORS = [
    (lambda: x54.chunk(0), ValueError, r"\[chunk\] chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda: fastnn.tensor(1.0).chunk(2), ValueError, r"\[chunk\] chunk expects at least a 1-dimensional tensor"),
    (lambda: x54.chunk(2, 5), IndexError, r"\[chunk\] dimension 5 out of range"),
    (
        lambda: x54.split(0),
        ValueError,
        r"\[split\] split_size can only be 0 if dimension size is 0, but got dimension "
        r"size of 5",
    ),
    (lambda: x54.split(-1), ValueError, r"\[split\] split expects split_size be non-negative, but got split_size=-1"),
    (
        lambda: x54.split([1, 2]),
        ValueError,
        r"\[split_with_sizes\] split_with_sizes expects split_sizes to sum exactly "
        r"to 5 \(input tensor's size at dimension 0\), but got split_sizes=\[1, 2\]",
    ),
    (lambda: x54.split([6, -1]), ValueError, r"only non-negative entries, but got split_sizes=\[6, -1\]"),
    (lambda: x54.split(1.5), TypeError, r"\[split\] split_size must be an int"),
    (lambda: x54.tensor_split(0), ValueError, r"\[tensor_split\] number of sections must be larger than 0, got 0"),
    (lambda: fastnn.tensor(1.0).unbind(), IndexError, r"\[unbind\] Dimension specified as 0 but tensor has no dim"),
    (lambda: x54.narrow(0, 3, 3), ValueError, r"\[narrow\] start \(3\) \+ length \(3\) exceeds dimension size \(5\)\."),
    (lambda: x54.narrow(0, 1, -1), ValueError, r"\[narrow\] narrow\(\): length must be non-negative\."),
    (
        lambda: x54.narrow(0, 6, 0),
        IndexError,
        r"\[narrow\] start out of range \(expected to be in range of \[-5, 5\], "
        r"but got 6\)",
    ),
    (
        lambda: x54.movedim((0, 1), (0,)),
        ValueError,
        r"\[movedim\] movedim: Invalid source or destination dims: source "
        r"\(\[0, 1\] dims\) should contain the same number of dims as "
        r"destination \(\[0\] dims\)",
    ),
    (lambda: x54.movedim((0, 0), (0, 1)), ValueError, r"\[movedim\] movedim: repeated dim in `source`"),
    (lambda: x54.moveaxis(0, 1), None, None),
    (lambda: fastnn.moveaxis(x54, 2, 0), IndexError, r"\[moveaxis\] dimension 2 out of range"),
    (lambda: x54.swapaxes(0, 2), IndexError, r"\[swapaxes\] dimension 2 out of range"),
    (
        lambda: x54.unflatten(1, (3, -1)),
        ValueError,
        r"\[unflatten\] unflatten: Provided sizes \[3, -1\] don't multiply "
        r"up to the size of dim 1 \(4\) in the input tensor",
    ),
    (
        lambda: fastnn.tensor(1.0).unflatten(0, (1,)),
        IndexError,
        r"\[unflatten\] Dimension specified as 0 but tensor has "
        r"no dimensions",
    ),
    (lambda: x54.unflatten(1, ()), ValueError, r"\[unflatten\] unflatten: sizes must be non-empty"),
    (lambda: x54.unflatten(1, (-1, -1)), ValueError, r"\[unflatten\] only one dimension can be inferred"),
    (lambda: x54.flip(0, 0), ValueError, r"\[flip\] dim 0 appears multiple times in the list of dims"),
    (lambda: x54.flip(2), IndexError, r"\[flip\] dimension 2 out of range"),
    (lambda: x54[0].fliplr(), ValueError, r"\[fliplr\] Input must be >= 2-d\."),
    (lambda: x54.squeeze((0, 0)), ValueError, r"\[squeeze\] dim 0 appears multiple times in the list of dims"),
    (lambda: x54.roll((1, 2), (0,)), ValueError, r"\[roll\] shifts and dimensions must align\. shifts: 2, dims:1"),
    (lambda: x54.roll((), ()), ValueError, r"\[roll\] `shifts` required"),
    (
        lambda: x54.repeat(2),
        ValueError,
        r"\[repeat\] Number of dimensions of repeat dims can not be smaller than number "
        r"of dimensions of tensor",
    ),
    (lambda: x54.repeat(-1, 2), ValueError, r"\[repeat\] Trying to create tensor with negative dimension -1"),
    (lambda: x54.tile(-1, 2), ValueError, r"\[tile\] Trying to create tensor with negative dimension -1"),
    (lambda: x54.repeat_interleave(-1), ValueError, r"\[repeat_interleave\] Repeats must be non-negative"),
    (
        lambda: x54.repeat_interleave(fastnn.tensor([1, 2]), 0),
        ValueError,
        r"\[repeat_interleave\] repeats must have the same size as input along dim, but got repeats.size\(0\) = 2 and "
        r"input.size\(0\) = 5",
    ),
    (
        lambda: x54.repeat_interleave(fastnn.tensor([1, 2, -1, 0, 1]), 0),
        ValueError,
        r"\[repeat_interleave\] repeats can not be negative",
    ),
    (
        lambda: x54.repeat_interleave(fastnn.tensor([1.0]), 0),
        TypeError,
        r"\[repeat_interleave\] repeats must be an int64",
    ),
    (
        lambda: x54.repeat_interleave(fastnn.ones(5, 1, dtype=fastnn.int64), 0),
        ValueError,
        r"\[repeat_interleave\] repeats must be 0-dim or 1-dim tensor",
    ),
    (
        lambda: x54.repeat_interleave(2, output_size=3),
        ValueError,
        r"\[repeat_interleave\] repeat_interleave: Invalid output_size, expected 40 but got 3",
    ),
    (
        lambda: x54.repeat_interleave(fastnn.tensor([1, 1, 1, 1, 1]), 0, output_size=3),
        ValueError,
        r"\[repeat_interleave\] allocated size does not match required size",
    ),
    (lambda: x54[0].tril(), ValueError, r"\[tril\] tril: input tensor must have at least 2 dimensions"),
    (lambda: x54[0].triu(), ValueError, r"\[triu\] triu: input tensor must have at least 2 dimensions"),
    (lambda: fastnn.zeros(2, 2, 2).diag(), ValueError, r"\[diag\] diag\(\): Supports 1D or 2D tensors\. Got 3D"),
    (lambda: x54.diagonal(0, 0, 0), ValueError, r"\[diagonal\] diagonal dimensions cannot be identical 0, 0"),
    (lambda: x54.diag_embed(0, 1, 1), ValueError, r"\[diag_embed\] diagonal dimensions cannot be identical 1, 1"),
    (lambda: fastnn.outer(x54, x54[0]), ValueError, r"\[outer\] outer: Expected 1-D argument self, but got 2-D"),
    (lambda: fastnn.ger(x54[0], x54), ValueError, r"\[ger\] outer: Expected 1-D argument vec2, but got 2-D"),
    (lambda: fastnn.dot(x54, x54[0]), ValueError, r"\[dot\] 1D tensors expected, but got 2D and 1D tensors"),
    (
        lambda: fastnn.dot(x54[0], x54[:, 0]),
        ValueError,
        r"\[dot\] inconsistent tensor size, expected tensor \[4\] and src \[5\] to have the same number of elements, but "
        r"got 4 and 5 elements respectively",
    ),
    (
        lambda: fastnn.dot(x54[0], x54[0].double()),
        TypeError,
        r"\[dot\] dot : expected both vectors to have same dtype, but found float32 and float64",
    ),
    (lambda: fastnn.dot(x54[0].bool(), x54[0].bool()), TypeError, r"\[dot\] \"dot\" not implemented for 'Bool'"),
    (
        lambda: fastnn.mv(x54, fastnn.zeros(3)),
        ValueError,
        r"\[mv\] size mismatch, got input \(5\), mat \(5x4\), vec \(3\)",
    ),
    (lambda: fastnn.mv(x54[0], x54[0]), ValueError, r"\[mv\] vector \+ matrix @ vector expected, got 1, 1, 1"),
    (
        lambda: fastnn.addmv(fastnn.zeros(4), x54, fastnn.zeros(4)),
        ValueError,
        r"\[addmv\] size mismatch, got input \(4\), mat \(5x4\), vec \(4\)",
    ),
    (
        lambda: fastnn.baddbmm(fastnn.zeros(2, 3, 3), fastnn.zeros(2, 3, 4), fastnn.zeros(2, 5, 3)),
        ValueError,
        r"\[baddbmm\] Expected size for first two dimensions of batch2 tensor to be: \[2, 4\] but got: \[2, 5\]\.",
    ),
    (
        lambda: fastnn.baddbmm(fastnn.zeros(2, 3, 4), fastnn.zeros(2, 3, 4), fastnn.zeros(2, 4, 3)),
        ValueError,
        r"\[baddbmm\] The expanded size of the tensor \(3\) must match the existing size \(4\) at non-singleton "
        r"dimension 2\.  Target sizes: \[2, 3, 3\]\.  Tensor sizes: \[2, 3, 4\]",
    ),
    (
        lambda: fastnn.addbmm(fastnn.zeros(3, 4), fastnn.zeros(2, 3, 4), fastnn.zeros(2, 4, 3)),
        ValueError,
        r"\[addbmm\] The expanded size of the tensor \(3\) must match the existing size \(4\) at non-singleton dim",
    ),
    (
        lambda: fastnn.baddbmm(fastnn.zeros(2, 3, 3), fastnn.zeros(3, 4), fastnn.zeros(2, 4, 3)),
        ValueError,
        r"\[baddbmm\] batch1 must be a 3D tensor",
    ),
    (lambda: fastnn.linspace(0, 1, -1), ValueError, r"\[linspace\] number of steps must be non-negative"),
    (lambda: fastnn.logspace(0, 1, 2.5), TypeError, r"\[logspace\] steps must be an int"),
    (
        lambda: fastnn.linspace(0, 1, 3, device="cuda"),
        RuntimeError,
        r"\[linspace\] device 'cuda' is not available: fastnn was built for the CPU only",
    ),
    (
        lambda: F.one_hot(fastnn.tensor([1.0])),
        TypeError,
        r"\[one_hot\] one_hot is only applicable to index tensor of type LongTensor\.",
    ),
    (lambda: F.one_hot(fastnn.tensor([-1])), ValueError, r"\[one_hot\] Class values must be non-negative\."),
    (
        lambda: F.one_hot(fastnn.tensor([3]), 3),
        ValueError,
        r"\[one_hot\] Class values must be smaller than num_classes\.",
    ),
    (
        lambda: F.one_hot(fastnn.tensor([], dtype=fastnn.int64)),
        ValueError,
        r"\[one_hot\] Can not infer total number of classes from empty tensor\.",
    ),
    (
        lambda: fastnn.meshgrid(x54[0], x54[0], indexing="foo"),
        ValueError,
        r"\[meshgrid\] torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: foo",
    ),
    (lambda: fastnn.meshgrid(x54, x54[0]), ValueError, r"\[meshgrid\] torch.meshgrid: Expected 0D or 1D tensor"),
    (
        lambda: fastnn.broadcast_shapes((2, 3), (3, 2)),
        ValueError,
        r"\[broadcast_shapes\] Attempting to broadcast a dimension of length 2 at -1! Mismatching argument at index 1 "
        r"had \(3, 2\); but expected shape should be broadcastable to \[2, 3\]",
    ),
    (lambda: fastnn.broadcast_tensors(x54, x54[0, :3]), ValueError, r"\[broadcast_tensors\] Attempting to broadcast"),
    (lambda: fastnn.cartesian_prod(), ValueError, r"\[cartesian_prod\] expects a non-empty TensorList"),
    (
        lambda: fastnn.cartesian_prod(x54[0], x54[0].long()),
        TypeError,
        r"\[cartesian_prod\] meshgrid expects all tensors",
    ),
    (lambda: fastnn.hstack([]), ValueError, r"\[hstack\] hstack expects a non-empty TensorList"),
    (lambda: fastnn.vstack([x54, x54[:, :2]]), ValueError, r"\[vstack\] sizes of tensors must match"),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors(i):
    fn, exc, pattern = ERRORS[i]
    if exc is None:
        fn()
        return
    with pytest.raises(exc, match=pattern):
        fn()


def test_extreme_arguments():
    """Huge counts and offsets are refused with the op's name, never overflow or hang."""
    big = fastnn.zeros(1).expand(2**40)
    with pytest.raises(MemoryError, match=r"\[split\] cannot return 1099511627776 tensors"):
        big.split(1)
    with pytest.raises(MemoryError, match=r"\[unbind\] cannot return"):
        big.unbind()
    with pytest.raises(MemoryError, match=r"\[tensor_split\] cannot return"):
        fastnn.zeros(3).tensor_split(2**40)
    with pytest.raises(ValueError, match=r"\[repeat\] the size"):
        fastnn.zeros(4, 0).repeat(2**62, 1)
    with pytest.raises(ValueError, match=r"\[diag_embed\] offset"):
        fastnn.zeros(3).diag_embed(-(2**63))
    assert_close(fastnn.ones(2, 3).tril(2**63 - 1), torch.ones(2, 3).tril(2**63 - 1))
    assert_close(fastnn.ones(2, 3).triu(-(2**63)), torch.ones(2, 3).triu(-(2**63)))
    x = fastnn.arange(5.0, requires_grad=True)
    x.roll(-(2**63)).sum().backward()
    assert_close(x.grad, torch.ones(5))


def test_inplace_on_split_output():
    """torch refuses in-place writes to the outputs of multi-view ops; fastnn records them (CopySlices): the
    gradient is still right."""
    w = fastnn.arange(6.0, requires_grad=True)
    x = w * 1
    a, b = x.split(3)
    b.mul_(2)
    x.sum().backward()
    assert w.grad.tolist() == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    "shape,perm",
    [
        ((1024, 1024), (1, 0)),
        ((37, 53), (1, 0)),
        ((3, 40, 70), (0, 2, 1)),
        ((2, 8, 9, 33), (0, 2, 3, 1)),
        ((33, 4, 65), (2, 1, 0)),
        ((130, 7, 9), (1, 2, 0)),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.uint8, np.bool_])
def test_permuted_copies_match_numpy(shape, perm, dtype):
    # a permuted source made contiguous goes through tiles when its unit stride is not on the last dim
    arr = (np.random.default_rng(1).standard_normal(shape) * 50).astype(dtype)
    x = fastnn.tensor(arr).permute(*perm)
    y = x.contiguous()
    assert y.is_contiguous()
    np.testing.assert_array_equal(y.numpy(), arr.transpose(perm))
    np.testing.assert_array_equal(x[1:].contiguous().numpy(), arr.transpose(perm)[1:])  # with a storage offset
    z = fastnn.empty(x.shape, dtype=x.dtype)
    z.copy_(x)
    np.testing.assert_array_equal(z.numpy(), arr.transpose(perm))
