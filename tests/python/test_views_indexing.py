"""Views and indexing against PyTorch: view/reshape/flatten/squeeze/unsqueeze/transpose/permute/expand/
contiguous, basic indexing (ints, slices with steps, None, ..., negative indices), __setitem__, and the
metadata accessors (item, tolist, size, dim, numel, shape, stride). Values, strides, storage sharing and
gradients are compared."""

import fastnn
import numpy as np
import pytest
from oracle import assert_close, check_op, gradcheck_op, layout_input, torch

LAYOUTS = ["contiguous", "transposed", "strided", "offset", "expanded"]

VIEWS = [
    ("view", lambda x: x.view(4, 6)),
    ("view_neg1", lambda x: x.view(-1, 3)),
    ("view_tuple", lambda x: x.view((2, -1))),
    ("view_flat", lambda x: x.view(-1)),
    ("view_split_dim", lambda x: x.view(2, 2, 3, 2)),
    ("view_ones", lambda x: x.view(1, 2, 1, 12, 1)),
    ("reshape", lambda x: x.reshape(6, 4)),
    ("reshape_neg1", lambda x: x.reshape(-1)),
    ("reshape_tuple", lambda x: x.reshape((3, -1, 2))),
    ("reshape_module", lambda x: (fastnn if isinstance(x, fastnn.Tensor) else torch).reshape(x, (8, 3))),
    ("flatten", lambda x: x.flatten()),
    ("flatten_1", lambda x: x.flatten(1)),
    ("flatten_0_1", lambda x: x.flatten(0, 1)),
    ("flatten_neg", lambda x: x.flatten(-2, -1)),
    ("flatten_same", lambda x: x.flatten(1, 1)),
    ("flatten_module", lambda x: (fastnn if isinstance(x, fastnn.Tensor) else torch).flatten(x, 1)),
    ("unsqueeze0", lambda x: x.unsqueeze(0)),
    ("unsqueeze_last", lambda x: x.unsqueeze(-1)),
    ("unsqueeze_mid", lambda x: x.unsqueeze(2)),
    ("unsqueeze_module", lambda x: (fastnn if isinstance(x, fastnn.Tensor) else torch).unsqueeze(x, 1)),
    ("squeeze_after_unsqueeze", lambda x: x.unsqueeze(1).squeeze(1)),
    ("squeeze_all", lambda x: x.unsqueeze(0).unsqueeze(-1).squeeze()),
    ("squeeze_noop", lambda x: x.squeeze(0)),
    ("squeeze_tuple", lambda x: x.unsqueeze(0).unsqueeze(-1).squeeze((0, -1))),
    ("transpose", lambda x: x.transpose(0, 2)),
    ("transpose_neg", lambda x: x.transpose(-1, 0)),
    ("transpose_same", lambda x: x.transpose(1, 1)),
    ("transpose_module", lambda x: (fastnn if isinstance(x, fastnn.Tensor) else torch).transpose(x, 0, 1)),
    ("permute", lambda x: x.permute(2, 0, 1)),
    ("permute_tuple", lambda x: x.permute((1, 2, 0))),
    ("permute_neg", lambda x: x.permute(-1, -3, -2)),
    ("permute_module", lambda x: (fastnn if isinstance(x, fastnn.Tensor) else torch).permute(x, (2, 1, 0))),
    ("T", lambda x: x[0].T),
    ("expand", lambda x: x[:, :1].expand(2, 3, 4)),
    ("expand_new_dims", lambda x: x[:, :1].expand(5, 2, 3, 4)),
    ("expand_neg1", lambda x: x[:, :1].expand(-1, -1, 4)),
    ("expand_tuple", lambda x: x[:, :1].expand((2, 3, 4))),
    ("expand_as", lambda x: x[:1].expand_as(x)),
    ("view_as", lambda x: x.reshape(-1).view_as(x)),
    ("reshape_as", lambda x: x.reshape_as(x.permute(2, 0, 1))),
    ("contiguous", lambda x: x.transpose(0, 1).contiguous()),
    ("chain", lambda x: x.permute(1, 0, 2)[:, ::2].reshape(3, -1).t().unsqueeze(0).expand(2, -1, -1)),
]
VIEW_IDS = [v[0] for v in VIEWS]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name,fn", VIEWS, ids=VIEW_IDS)
def test_views(name, fn, layout):
    rng = np.random.default_rng(0)
    arr, prep = layout_input(rng, (2, 3, 4), layout, np.float32)
    if name.startswith("view") and layout in ("transposed", "strided", "expanded") and name != "view_as":
        # torch and fastnn refuse these views alike: the layout cannot be viewed without a copy
        for lib in (fastnn, torch):
            x = prep(lib, lib.tensor(arr))
            try:
                fn(x)
            except RuntimeError:
                continue
            break
        else:
            return
    f, t = check_op(fn, [arr], prep=prep)
    if 0 not in tuple(t.shape):
        assert f.stride() == t.stride(), "views keep torch's strides"


@pytest.mark.parametrize("name,fn", VIEWS, ids=VIEW_IDS)
def test_views_share_storage(name, fn):
    # a view (not a copy) sees writes to its base; both libraries agree on which ops copy
    arrs = []
    for lib in (fastnn, torch):
        base = lib.arange(24.0).view(2, 3, 4)
        v = fn(base)
        base.mul_(-1)
        arrs.append(v)
    assert_close(arrs[0], arrs[1])


def test_views_gradcheck():
    rng = np.random.default_rng(1)
    arr = rng.standard_normal((2, 3, 2))
    fns = [
        v[1]
        for v in VIEWS
        if v[0]
        not in (
            "view",
            "view_split_dim",
            "view_ones",
            "reshape",
            "reshape_module",
            "reshape_tuple",
            "expand",
            "expand_new_dims",
            "expand_neg1",
            "expand_tuple",
            "chain",
        )
    ]
    fns += [
        lambda x: x.view(4, 3),
        lambda x: x.reshape(3, 4),
        lambda x: x[:, :1].expand(2, 3, 2) * x,
        lambda x: x.permute(1, 0, 2)[:, ::2].reshape(2, -1).t().unsqueeze(0).expand(2, -1, -1),
        lambda x: x.transpose(0, 1).reshape(6, 2),
    ]
    for fn in fns:
        # gradcheck reads outputs with .numpy(): an op that returns its input unchanged gets a copy
        gradcheck_op(lambda x, fn=fn: fn(x) * 1 if fn(x) is x else fn(x), [arr])


ZERO_SIZE_VIEWS = [
    ("view", lambda x: x.view(0, 6)),
    ("view_neg1", lambda x: x.view(-1, 3)),
    ("reshape", lambda x: x.reshape(3, 0, 2)),
    ("flatten", lambda x: x.flatten()),
    ("unsqueeze", lambda x: x.unsqueeze(1)),
    ("squeeze", lambda x: x.squeeze()),
    ("transpose", lambda x: x.transpose(0, 2)),
    ("permute", lambda x: x.permute(1, 2, 0)),
    ("expand", lambda x: x[:, :1].expand(0, 3, 2)),
    ("slice", lambda x: x[:, 1:]),
    ("select", lambda x: x[:, 0]),
    ("contiguous", lambda x: x.transpose(1, 2).contiguous()),
]


@pytest.mark.parametrize("name,fn", ZERO_SIZE_VIEWS, ids=[z[0] for z in ZERO_SIZE_VIEWS])
def test_views_zero_size(name, fn):
    check_op(fn, [np.zeros((0, 3, 2), np.float32)])


def test_view_errors():
    for lib in (fastnn, torch):
        x = lib.arange(12.0)
        for bad in (
            lambda x: x.view(5, -1),
            lambda x: x.view(-1, -1),
            lambda x: x.view(3, 5),
            lambda x: x.reshape(7, 2),
            lambda x: x.view(3, 4).t().view(12),
            lambda x: x.view(3, 4).permute(0, 0),
            lambda x: x.view(3, 4).expand(3, 5),
            lambda x: x.view(3, 4).expand(4),
            lambda x: x.flatten(1, 0),
        ):
            with pytest.raises((ValueError, RuntimeError, IndexError)):
                bad(x)
        for bad in (
            lambda x: x.unsqueeze(2),
            lambda x: x.transpose(0, 1),
            lambda x: x.squeeze(1),
            lambda x: x.permute(1),
        ):
            with pytest.raises((IndexError, ValueError, RuntimeError)):
                bad(x)


def test_view_of_transposed_that_torch_allows():
    # splitting a dimension of a non-contiguous tensor is a view when the strides allow it
    for fn in (
        lambda x: x.t().view(2, 2, 3),
        lambda x: x.t().unsqueeze(1).view(4, 3),
        lambda x: x[:, ::2].view(3, 2, 1),
        lambda x: x.expand(2, 3, 4).view(2, 3, 2, 2),
    ):
        f, t = check_op(fn, [np.arange(12, dtype=np.float32).reshape(3, 4)])
        assert f.stride() == t.stride()


def test_reshape_copies_only_when_needed():
    x = fastnn.arange(12.0).view(3, 4)
    assert x.reshape(4, 3).data_ptr() == x.data_ptr()
    y = x.t().reshape(12)
    assert y.data_ptr() != x.data_ptr()
    assert y.tolist() == torch.arange(12.0).view(3, 4).t().reshape(12).tolist()


def test_contiguous_and_is_contiguous():
    for lib in (fastnn, torch):
        x = lib.arange(6.0).view(2, 3)
        assert x.is_contiguous() and x.contiguous() is x
        assert not x.t().is_contiguous() and x.t().contiguous().is_contiguous()
        assert x[:, :1].is_contiguous() is False and x[:1].is_contiguous()
        assert lib.zeros(3, 1).expand(3, 4).is_contiguous() is False
        assert x.unsqueeze(1).is_contiguous()


# ---------------------------------------------------------------------------------------------
# indexing

INDEXES = [
    ("int", lambda x: x[0]),
    ("int_neg", lambda x: x[-1]),
    ("int_int", lambda x: x[1, 2]),
    ("int_int_int", lambda x: x[1, -1, 0]),
    ("slice", lambda x: x[:, 1:3]),
    ("slice_step", lambda x: x[::2]),
    ("slice_step3", lambda x: x[:, :, ::3]),
    ("slice_neg", lambda x: x[:, -2:]),
    ("slice_neg_stop", lambda x: x[:, :-1]),
    ("slice_both_neg", lambda x: x[-3:-1]),
    ("slice_empty", lambda x: x[2:1]),
    ("slice_out_of_range", lambda x: x[5:10]),
    ("slice_clamped", lambda x: x[-10:10]),
    ("slice_offset_step", lambda x: x[1::2, 1:, 3:0:1]),
    ("ellipsis_last", lambda x: x[..., -1]),
    ("ellipsis_first", lambda x: x[0, ...]),
    ("ellipsis_mid", lambda x: x[1, ..., 2]),
    ("ellipsis_only", lambda x: x[...]),
    ("none", lambda x: x[None]),
    ("none_mid", lambda x: x[:, None]),
    ("none_end", lambda x: x[..., None]),
    ("none_many", lambda x: x[None, 0, None, :, None]),
    ("mixed", lambda x: x[1:, None, ::2, -1]),
    ("tensor_int", lambda x: x[x.new_tensor(1).long() if isinstance(x, fastnn.Tensor) else torch.tensor(1)]),
    ("all_ints_0d", lambda x: x[0, 0, 0]),
    ("chained", lambda x: x[1][2][3]),
    ("full_slice", lambda x: x[:]),
]
INDEX_IDS = [i[0] for i in INDEXES]


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided", "expanded"])
@pytest.mark.parametrize("name,fn", INDEXES, ids=INDEX_IDS)
def test_getitem(name, fn, layout):
    rng = np.random.default_rng(2)
    arr, prep = layout_input(rng, (4, 5, 6), layout, np.float32)
    f, t = check_op(fn, [arr], prep=prep)
    if 0 not in tuple(t.shape):
        assert f.stride() == t.stride() and f.storage_offset() - _base_offset(f) == t.storage_offset() - _base_offset(t)


def _base_offset(x):
    return 0  # leaves built by check_op start at offset 0 in both libraries


@pytest.mark.parametrize("name,fn", INDEXES, ids=INDEX_IDS)
def test_getitem_is_a_view(name, fn):
    for lib in (fastnn, torch):
        base = lib.arange(120.0).view(4, 5, 6)
        v = fn(base)
        if v.numel() == 0:
            continue
        before = v.clone()
        base.add_(1000)
        assert (v - before).tolist() == (lib.ones(v.shape) * 1000).tolist()


def test_getitem_int64_and_bool_tensors():
    for fn in INDEXES[:12]:
        check_op(fn[1], [np.arange(120).reshape(4, 5, 6)])
        check_op(fn[1], [np.arange(120).reshape(4, 5, 6) % 3 == 0])


def test_getitem_gradcheck():
    arr = np.random.default_rng(3).standard_normal((3, 4, 2))
    for fn in (
        lambda x: x[0],
        lambda x: x[:, 1:3],
        lambda x: x[..., -1],
        lambda x: x[None],
        lambda x: x[::2],
        lambda x: x[-1, -2],
        lambda x: x[1:, None, ::2, 0],
        lambda x: x[0] * x[1],
        lambda x: x[:, ::3] + x[:, 1::3],
    ):
        gradcheck_op(fn, [arr])


def test_getitem_gradient_accumulates_over_overlapping_reads():
    check_op(lambda x: x[0] + x[0] * 2 + x[:, 1].sum() + x[..., ::2].sum(), [np.ones((3, 4), np.float32)])


def test_getitem_0d():
    for fn in (lambda x: x[...], lambda x: x[None], lambda x: x[..., None], lambda x: x[None, None]):
        check_op(fn, [np.array(1.5, np.float32)])


def test_getitem_errors():
    for lib in (fastnn, torch):
        x = lib.zeros(2, 3)
        for bad in (
            lambda x, lib: x[2],
            lambda x, lib: x[-3],
            lambda x, lib: x[0, 0, 0],
            lambda x, lib: lib.tensor(1.0)[0],
        ):
            with pytest.raises(IndexError):
                bad(x, lib)
        # the message names the dimension of x that the index applies to
        with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 1 with size 3"):
            x[0, 3]
        with pytest.raises(IndexError, match="index -4 is out of bounds for dimension 1 with size 3"):
            x[..., -4]
        with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 2 with size 3"):
            x[None, :, 5]
        with pytest.raises(ValueError):
            x[::-1]
        with pytest.raises((TypeError, IndexError)):
            x[1.0]


def test_advanced_indexing_copies():
    # lists, index tensors and masks are supported (tests/python/test_indexing_advanced.py): they copy
    for fn in (lambda L, x: x[[0, 1]], lambda L, x: x[L.tensor([0, 1])], lambda L, x: x[x > 0]):
        f, t = check_op(fn, [np.arange(-4.0, 5.0).reshape(3, 3)], uses_module=True)
        assert f._base is None and t._base is None


SETITEMS = [
    ("int_scalar", (1,), 7),
    ("neg_int_scalar", (-1,), -2.5),
    ("slice_scalar", (slice(None), slice(1, 3)), 4),
    ("step_scalar", (slice(None, None, 2),), 1.5),
    ("ellipsis_scalar", (Ellipsis, -1), 9),
    ("bool_scalar", (0, 0), True),
    ("tensor_same_shape", (0,), ("t", (3, 4))),
    ("tensor_broadcast_row", (slice(None), slice(None, None, 2)), ("t", (4,))),
    ("tensor_broadcast_col", (slice(None), 1), ("t", (1,))),
    ("tensor_0d", (1, 2, 3), ("t", ())),
    ("tensor_f64_into_f32", (0, 0), ("t64", (4,))),
    ("none_index", (None, 1), ("t", (3, 4))),
    ("whole", (Ellipsis,), ("t", (4,))),
    ("chained_view", (slice(1, None), slice(None, None, 2), 0), ("t", (2,))),
]


@pytest.mark.parametrize("base_layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("name,index,value", SETITEMS, ids=[s[0] for s in SETITEMS])
def test_setitem(name, index, value, base_layout):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    if isinstance(value, tuple):
        v = rng.standard_normal(value[1]).astype(np.float64 if value[0] == "t64" else np.float32)
    results = []
    for lib in (fastnn, torch):
        base = (
            lib.tensor(x.transpose(2, 1, 0).copy()).permute(2, 1, 0) if base_layout == "transposed" else lib.tensor(x)
        )
        val = lib.tensor(v) if isinstance(value, tuple) else value
        base[index] = val
        results.append(base)
    assert_close(results[0], results[1])


def test_setitem_int_tensor():
    for value in (5, True, np.int64(3)):
        results = []
        for lib in (fastnn, torch):
            x = lib.zeros(3, 4, dtype=lib.int64)
            x[1:, ::3] = value
            x[0] = lib.tensor([1, 2, 3, 4])
            x[..., 1] = lib.tensor([1.9, -2.7, 3.2])  # float tensors are converted (truncated)
            results.append(x)
        assert_close(results[0], results[1])


def test_setitem_float_into_int_is_rejected():
    # torch truncates a Python float stored into an int tensor; fastnn refuses it (deliberate)
    with pytest.raises(TypeError):
        fastnn.zeros(3, dtype=fastnn.int64)[0] = 1.5


def test_setitem_bumps_version_and_errors():
    for lib in (fastnn, torch):
        x = lib.zeros(2, 3)
        v0 = x._version
        x[0] = 1
        assert x._version > v0
        with pytest.raises((ValueError, RuntimeError)):
            x[0] = lib.ones(4)
        with pytest.raises(IndexError):
            x[2] = 1
        leaf = lib.zeros(2, requires_grad=True)
        with pytest.raises(RuntimeError):
            leaf[0] = 1.0


def test_setitem_under_no_grad_on_leaf():
    for lib in (fastnn, torch):
        w = lib.zeros(2, 3, requires_grad=True)
        with lib.no_grad():
            w[0] = 1.0
            w[:, 2] = lib.tensor([5.0, 6.0])
        assert w.tolist() == [[1.0, 1.0, 5.0], [0.0, 0.0, 6.0]] and w.is_leaf and w.requires_grad


def test_setitem_into_grad_free_tensor_from_grad_source():
    # copying a tensor that requires grad into a fresh buffer records the copy; the source gets the gradient
    rng = np.random.default_rng(5)
    src = rng.standard_normal(3).astype(np.float32)
    grads = []
    for lib in (fastnn, torch):
        s = lib.tensor(src, requires_grad=True)
        buf = lib.zeros(3)
        buf.copy_(s * 2)
        (buf * buf).sum().backward()
        grads.append(s.grad)
    assert_close(grads[0], grads[1])


# ---------------------------------------------------------------------------------------------
# metadata accessors

META_SHAPES = [(), (0,), (3,), (2, 3), (2, 0, 4), (1, 1, 1)]


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("shape", META_SHAPES, ids=str)
def test_metadata(shape, layout):
    arr = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.float32).reshape(shape)
    f, t = fastnn.tensor(arr), torch.tensor(arr)
    if layout == "transposed" and len(shape) >= 2:
        f, t = f.transpose(0, -1), t.transpose(0, -1)
    assert tuple(f.size()) == tuple(t.size()) and tuple(f.shape) == tuple(t.shape)
    assert isinstance(f.shape, fastnn.Size) and isinstance(f.shape, tuple)
    assert f.dim() == t.dim() == f.ndim
    assert f.numel() == t.numel() == f.nelement()
    assert f.tolist() == t.tolist()
    if 0 not in shape:
        assert f.stride() == t.stride()
        for d in range(-f.dim(), f.dim()):
            assert f.size(d) == t.size(d) and f.stride(d) == t.stride(d)
    if f.dim():
        assert len(f) == len(t)
    else:
        with pytest.raises(TypeError):
            len(f)
    assert f.element_size() == t.element_size() == 4


@pytest.mark.parametrize(
    "arr",
    [np.array(2.5, np.float32), np.array([7]), np.array([[True]]), np.array(1e300), np.array([[-3.25]], np.float64)],
    ids=lambda a: f"{a.dtype}{a.shape}",
)
def test_item(arr):
    f, t = fastnn.tensor(arr).item(), torch.tensor(arr).item()
    assert f == t and type(f) is type(t)


def test_item_and_conversions_errors():
    for lib in (fastnn, torch):
        with pytest.raises(RuntimeError):
            lib.zeros(2).item()
        with pytest.raises(RuntimeError):
            lib.zeros(0).item()
        with pytest.raises(RuntimeError):
            bool(lib.zeros(2))
        x = lib.tensor([3])
        assert float(x) == 3.0 and int(x) == 3 and bool(x) and [10, 20, 30, 40][x] == 40


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_tolist(dtype):
    arr = (np.arange(6).reshape(2, 3) % 4 - 1.5).astype(dtype)
    for prep in (lambda x: x, lambda x: x.t(), lambda x: x[:, ::2], lambda x: x[0], lambda x: x[1, 2], lambda x: x[:0]):
        f, t = prep(fastnn.tensor(arr)).tolist(), prep(torch.tensor(arr)).tolist()
        assert f == t
        assert type(f) is type(t)


def test_size_and_dim_errors():
    for lib in (fastnn, torch):
        x = lib.zeros(2, 3)
        with pytest.raises(IndexError):
            x.size(2)
        with pytest.raises(IndexError):
            x.stride(-3)


def test_iteration_and_len():
    x = fastnn.arange(6).view(3, 2)
    rows = [r.tolist() for r in x]
    assert rows == [[0, 1], [2, 3], [4, 5]] and len(x) == 3


def test_layout_input_helper_builds_the_requested_views():
    rng = np.random.default_rng(6)
    for layout in LAYOUTS:
        arr, prep = layout_input(rng, (3, 4), layout)
        x = prep(fastnn, fastnn.tensor(arr)) if prep else fastnn.tensor(arr)
        assert tuple(x.shape) == (3, 4)
        assert x.is_contiguous() == (layout in ("contiguous", "offset"))
        assert (x.storage_offset() > 0) == (layout == "offset")


def test_writing_a_grad_value_into_a_view_records_it_on_the_base():
    # as torch: the buffer takes a CopySlices history and the value's gradient reaches it through the view
    results = []
    for lib in (fastnn, torch):
        w = lib.tensor([3.0], requires_grad=True)
        buf = lib.zeros(3)
        buf[0:1] = w * 2
        buf[1:].mul_(w)
        buf[1].copy_(w[0])
        buf.view(3, 1)[2].add_(w)
        (buf * lib.tensor([1.0, 10.0, 100.0])).sum().backward()
        results.append((buf.tolist(), buf.requires_grad, w.grad.tolist()))
    assert results[0] == results[1] == ([6.0, 3.0, 3.0], True, [112.0])
    buf = fastnn.zeros(3)
    with fastnn.no_grad():  # without recording the buffer stays grad-free
        buf[0:1] = fastnn.tensor([3.0], requires_grad=True) * 2
    assert buf.tolist() == [6.0, 0.0, 0.0] and not buf.requires_grad


def test_inplace_on_view_of_tensor_requiring_grad_matches_torch():
    grads = []
    for lib in (fastnn, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x * 3
        h[0] = 5.0
        h[1:].add_(1)
        h.view(2, 1).relu_()
        (h * h).sum().backward()
        grads.append((h.tolist(), x.grad.tolist()))
    assert grads[0] == grads[1]


def test_rebuilt_views_of_empty_and_offset_parts():
    for lib in (fastnn, torch):
        a = lib.ones(2, 0, requires_grad=True)
        x = a * 1
        u = x[1]
        x[0].mul_(2)
        (u.sum() + x.sum()).backward()
        assert tuple(a.grad.shape) == (2, 0)
        a = lib.ones(3, requires_grad=True)
        x = a * 1
        u = x[2:]
        x[2].mul_(2)
        (u * 5 + x.sum()).backward()
        assert a.grad.tolist() == [1.0, 1.0, 12.0]


def test_view_keeps_its_history_when_its_base_is_detached_in_place():
    for lib in (fastnn, torch):
        x = lib.ones(3, requires_grad=True)
        b = x * 2
        v = b[1:]
        b.detach_()
        name = v.grad_fn.name() if lib is fastnn else type(v.grad_fn).__name__
        assert v.requires_grad and name == "SliceBackward0"
        v.sum().backward()
        assert x.grad.tolist() == [0.0, 2.0, 2.0]


def test_view_used_after_base_modified_in_place_gets_its_history_rebuilt():
    # as torch: the view's history becomes AsStridedBackward0 of the base's new history
    grads = []
    for lib in (fastnn, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        b = x * 1
        v = b[0]
        b.mul_(2)
        name = v.grad_fn.name() if lib is fastnn else type(v.grad_fn).__name__
        assert name == "AsStridedBackward0"
        (v * 3 + b[0]).backward()
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1] == [8.0, 0.0]


def test_view_of_a_leaf_survives_in_place_updates_of_the_leaf():
    # An optimizer step changes the leaf under no_grad: the view's history (to the leaf) stays valid.
    p = fastnn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    pt = p.t()
    with fastnn.no_grad():
        p.sub_(1.0)
    (pt * fastnn.tensor([[1.0, 0.0], [0.0, 0.0]])).sum().backward()
    assert p.grad.tolist() == [[1.0, 0.0], [0.0, 0.0]]


def test_large_views_and_indexing():
    # sizes past the parallel grain, with permuted and strided layouts
    rng = np.random.default_rng(7)
    arr = rng.standard_normal((40, 70, 33)).astype(np.float32)
    check_op(lambda x: x.permute(2, 0, 1)[:, ::3, 1:].contiguous(), [arr])
    check_op(lambda x: x.permute(2, 0, 1).reshape(33, -1)[::2], [arr])
    check_op(lambda x: x.transpose(0, 1)[..., None, -1].expand(70, 40, 5), [arr])
    base = [lib.tensor(arr) for lib in (fastnn, torch)]
    for t in base:
        t.transpose(0, 2)[::2, 5:] = 0.5
    assert_close(base[0], base[1])
