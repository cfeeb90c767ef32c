"""Advanced indexing (index tensors, lists, masks, bools) in x[idx] and x[idx] = v, and index_put(_), vs torch."""

import numpy as np
import pytest

import fastnn
from oracle import assert_close, check_op, gradcheck_op, layout_input, torch


def _t(L, v, dtype=None):
    return L.tensor(v, dtype=dtype) if dtype is not None else L.tensor(v)


def _mask(L, shape, seed=0, count=None):
    m = np.random.default_rng(seed).integers(0, 2, size=shape).astype(bool)
    if count is not None:
        m[...] = False
        m.flat[np.random.default_rng(seed).choice(m.size, count, replace=False)] = True
    return L.tensor(m)


# x has shape (4, 5, 6); each row indexes it the same way in both libraries (L is fastnn or torch)
INDEXES = [
    ("tensor", lambda L, x: x[_t(L, [0, 2, 3])]),
    ("tensor_neg", lambda L, x: x[_t(L, [-1, -4, 1])]),
    ("list", lambda L, x: x[[0, 2, 3]]),
    ("list_neg", lambda L, x: x[[-1, -4]]),
    ("duplicates", lambda L, x: x[[0, 0, 1, 0, 3]]),
    ("tensor_2d", lambda L, x: x[_t(L, [[0, 1], [3, 3]])]),
    ("adjacent_pair", lambda L, x: x[_t(L, [0, 1]), _t(L, [2, 3])]),
    ("adjacent_mid", lambda L, x: x[:, [0, 4], [1, 5]]),
    ("broadcast", lambda L, x: x[_t(L, [[0], [1]]), _t(L, [2, 3, 4])]),
    ("broadcast_scalar_list", lambda L, x: x[[[0], [3]], :, [1, 2, 5]]),
    ("separated", lambda L, x: x[_t(L, [0, 1]), :, _t(L, [2, 3])]),
    ("separated_by_ellipsis", lambda L, x: x[[0, 1], ..., [1, 2]]),
    ("three", lambda L, x: x[[0, 1], [1, 2], [2, 3]]),
    ("slice_then_list", lambda L, x: x[:, [0, 3]]),
    ("step_slice_then_list", lambda L, x: x[::2, [0, 4]]),
    ("ellipsis_list", lambda L, x: x[..., [0, 5, 1]]),
    ("none_list", lambda L, x: x[None, [1, 2]]),
    ("list_none", lambda L, x: x[[1, 2], None]),
    ("none_between", lambda L, x: x[[1, 2], None, [0, 1]]),
    ("int_then_list", lambda L, x: x[1, [0, 2]]),
    ("list_slice_int", lambda L, x: x[[0, 1], :, 1]),
    ("int_between", lambda L, x: x[[0, 1], 1, [2, 3]]),
    ("int_sep", lambda L, x: x[0, :, [0, 1]]),
    ("tensor0d_then_list", lambda L, x: x[_t(L, 1), [0, 1]]),
    ("list_then_tensor0d", lambda L, x: x[[2, 1], _t(L, 3)]),
    ("mask_self", lambda L, x: x[x > 0]),
    ("mask_dim0", lambda L, x: x[_t(L, [True, False, True, True])]),
    ("mask_2d", lambda L, x: x[_mask(L, (4, 5), 1)]),
    ("mask_3d", lambda L, x: x[_mask(L, (4, 5, 6), 2)]),
    ("mask_mid", lambda L, x: x[:, _mask(L, (5,), 3)]),
    ("mask_last", lambda L, x: x[..., _mask(L, (6,), 4)]),
    ("mask_and_list", lambda L, x: x[_mask(L, (4,), 5, count=3), [0, 1, 2]]),
    ("mask_sep_list", lambda L, x: x[_mask(L, (4,), 6, count=2), :, [0, 5]]),
    ("mask_2d_then_list", lambda L, x: x[_mask(L, (4, 5), 7, count=2), [0, 5]]),
    ("slice_mask_list", lambda L, x: x[:, _mask(L, (5,), 8, count=2), [1, 3]]),
    ("mask_none_mask", lambda L, x: x[_mask(L, (4,), 9, count=2), None, _mask(L, (5, 6), 10, count=2)]),
    ("bool_list", lambda L, x: x[[True, False, True, False]]),
    ("true", lambda L, x: x[True]),
    ("false", lambda L, x: x[False]),
    ("true_list", lambda L, x: x[True, [0, 1]]),
    ("bool_tensor_0d", lambda L, x: x[_t(L, True)]),
    ("slice_true", lambda L, x: x[1:3, True]),
    ("empty_list", lambda L, x: x[[]]),
    ("empty_tensor", lambda L, x: x[_t(L, [], L.int64)]),
    ("empty_mask", lambda L, x: x[:, L.zeros(5, dtype=L.bool)]),
    ("numpy_array", lambda L, x: x[np.array([3, 0])]),
    ("nested_list_as_tuple", lambda L, x: x[[[0, 1], [1, 0]]]),
    ("tuple_in_tuple", lambda L, x: x[(0, 2), 1]),
    ("chained", lambda L, x: x[[1, 2]][:, [0]]),
    ("mixed", lambda L, x: x[1:, None, [0, -1], ::2]),
]
IDS = [r[0] for r in INDEXES]


def _grad_fn_name(t):
    return None if t.grad_fn is None else type(t.grad_fn).__name__ if isinstance(t, torch.Tensor) else t.grad_fn.name()


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided", "expanded"])
@pytest.mark.parametrize("name,fn", INDEXES, ids=IDS)
def test_getitem_advanced(name, fn, layout):
    arr, prep = layout_input(np.random.default_rng(1), (4, 5, 6), layout, np.float32)
    f, t = check_op(fn, [arr], prep=prep, uses_module=True)
    assert _grad_fn_name(f) == _grad_fn_name(t)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.float64])
def test_getitem_advanced_dtypes(dtype):
    arr = (np.arange(120).reshape(4, 5, 6) % 7).astype(dtype)
    for name, fn in INDEXES:
        if name != "mask_self":
            check_op(fn, [arr], uses_module=True, grad=False)


def test_getitem_zero_size_source():
    check_op(lambda L, x: x[[]], [np.zeros((0, 3), np.float32)], uses_module=True)
    check_op(lambda L, x: x[:, [0, 2]], [np.zeros((0, 3), np.float32)], uses_module=True)
    check_op(lambda L, x: x[x > 0], [np.zeros((2, 0), np.float32)], uses_module=True)
    check_op(lambda L, x: x[[1, 0], [0, 0]], [np.zeros((2, 3, 0), np.float32)], uses_module=True)


def test_logits_of_targets():
    rng = np.random.default_rng(2)
    logits, y = rng.standard_normal((5, 7)).astype(np.float32), rng.integers(0, 7, 5)
    check_op(lambda L, z: z.log_softmax(1)[L.arange(5), L.tensor(y)].mean(), [logits], uses_module=True)


def test_advanced_index_is_a_copy():
    x = fastnn.arange(6.0).view(2, 3)
    y = x[[0, 1]]
    x.add_(100)
    assert y.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and y._base is None


def test_getitem_gradcheck():
    arr = np.random.default_rng(4).standard_normal((3, 4, 2))
    for fn in (
        lambda x: x[[0, 2, 0]],
        lambda x: x[:, [1, 1, 3], [0, 1, 1]],
        lambda x: x[[0, 2], :, [1, 0]],
        lambda x: x[x > 0],
        lambda x: x[..., [True, False]],
        lambda x: x.t()[[0, 1, 0]] if x.dim() == 2 else x[[1]],
        lambda x: x.transpose(0, 2)[[1, 0], 2],
    ):
        gradcheck_op(fn, [arr])


# ---------------------------------------------------------------------------------------------
# setitem

SETITEMS = [  # (name, index(L), value(L, rng) or a number)
    ("list_scalar", lambda L: [0, 2], 7.5),
    ("list_int_scalar", lambda L: [0, 2], 3),
    ("tensor_row", lambda L: L.tensor([1, -1]), lambda L, v: v((4,))),
    ("tensor_full", lambda L: L.tensor([1, 0]), lambda L, v: v((2, 4))),
    ("mask_zero", lambda L: None, 0.0),  # x[x > 0] = 0
    ("mask_values", lambda L: "mask", lambda L, v: v((4,))),
    ("slice_list", lambda L: (slice(None), [0, 3]), lambda L, v: v((3, 2))),
    ("int_list", lambda L: (1, [0, 3]), lambda L, v: v((2,))),
    ("pair", lambda L: ([0, 2], [1, 3]), lambda L, v: v((2,))),
    ("pair_broadcast", lambda L: ([[0], [2]], [1, 3]), lambda L, v: v((1, 2))),
    ("separated_by_none", lambda L: ([0, 1], None, [1, 2]), 2.0),
    ("ellipsis_list", lambda L: (Ellipsis, [0, 1]), lambda L, v: v((3, 1))),
    ("true", lambda L: True, lambda L, v: v((4,))),
    ("empty", lambda L: [], 5.0),
]


def _setitem_index(L, spec, x):
    i = spec(L)
    if i is None:
        return x > 0
    if isinstance(i, str):
        return x.sum(1) > -100  # every row
    return i


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("name,index,value", SETITEMS, ids=[s[0] for s in SETITEMS])
def test_setitem_values(name, index, value, layout):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    vals = {}
    out = []
    for L in (fastnn, torch):
        base = L.tensor(x.T.copy()).t() if layout == "transposed" else L.tensor(x)

        def make(shape):
            if shape not in vals:
                vals[shape] = rng.standard_normal(shape).astype(np.float32)
            return L.tensor(vals[shape])

        v = value(L, make) if callable(value) else value
        before = base._version
        base[_setitem_index(L, index, base)] = v
        assert base._version > before
        out.append(base)
    assert_close(out[0], out[1])


@pytest.mark.parametrize("view", [False, True])
@pytest.mark.parametrize("name,index,value", SETITEMS, ids=[s[0] for s in SETITEMS])
def test_setitem_gradients_through_non_leaf(name, index, value, view):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4)).astype(np.float64)
    w = rng.standard_normal((3, 4)).astype(np.float64)
    vals = {}
    res = []
    for L in (fastnn, torch):
        a = L.tensor(x, requires_grad=True)
        leaves = [a]

        def make(shape):
            if shape not in vals:
                vals[shape] = rng.standard_normal(shape)
            leaf = L.tensor(vals[shape], requires_grad=True)
            leaves.append(leaf)
            return leaf * 2

        b = a * 1
        v = value(L, make) if callable(value) else value
        if view:  # written through a view of b: b's history becomes CopySlices
            t = b.view(3, 4)
            t[_setitem_index(L, index, t)] = v
        else:  # IndexPutBackward0, or CopySlices where the index starts with basic views (ints, None, True)
            b[_setitem_index(L, index, b)] = v
        (b * L.tensor(w)).sum().backward()
        res.append((b.detach(), _grad_fn_name(b), [leaf.grad for leaf in leaves]))
    assert_close(res[0][0], res[1][0])
    assert res[0][1] == res[1][1]
    for g, h in zip(res[0][2], res[1][2]):
        assert_close(g, h, what="gradient")


def test_setitem_iadd_matches_torch():
    rng = np.random.default_rng(7)
    x, v = rng.standard_normal((4, 3)), rng.standard_normal((2, 3))
    res = []
    for L in (fastnn, torch):
        a, vv = L.tensor(x, requires_grad=True), L.tensor(v, requires_grad=True)
        b = a * 1
        b[[0, 2]] += vv * 3
        b[b > 0.5] -= 1.0
        b[:, [1]] *= 2
        (b * b).sum().backward()
        res.append((b.detach(), a.grad, vv.grad, _grad_fn_name(b)))
    for p, q in zip(res[0], res[1]):
        if isinstance(p, str):
            assert p == q
        else:
            assert_close(p, q)


def test_setitem_on_plain_tensors():
    res = []
    for L in (fastnn, torch):
        x = L.arange(12).view(3, 4)
        x[x > 8] = 0
        x[[0, 2], [1, 1]] = L.tensor([7, 8])
        x[True] = x[True] + 1
        x[..., [False, True, False, True]] = -1
        y = L.zeros(2, 3, dtype=L.bool)
        y[[1], [2]] = True
        res.append((x, y))
    for a, b in zip(*res):
        assert_close(a, b)


def test_setitem_into_leaf_requiring_grad():
    for L in (fastnn, torch):
        w = L.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            w[[0]] = 1.0
        with L.no_grad():
            w[[0, 2]] = 2.0
        assert w.tolist() == [2.0, 0.0, 2.0] and w.is_leaf and w.requires_grad


def test_setitem_grad_value_into_plain_tensor():
    res = []
    for L in (fastnn, torch):
        v = L.tensor([1.0, 2.0], requires_grad=True)
        buf = L.zeros(3)
        buf[[2, 0]] = v
        assert _grad_fn_name(buf) == "IndexPutBackward0"
        (buf * L.tensor([1.0, 2.0, 3.0])).sum().backward()
        res.append(v.grad)
    assert_close(res[0], res[1])


# ---------------------------------------------------------------------------------------------
# index_put / index_put_

PUTS = [  # (indices(L), values shape, accumulate)
    (lambda L: (L.tensor([0, 2, 0, 0]),), (4, 4), True),
    (lambda L: (L.tensor([0, 2, 0, 0]),), (4,), True),
    (lambda L: (L.tensor([1, 1]), L.tensor([3, 3])), (), True),
    (lambda L: (L.tensor([[0], [2]]), L.tensor([1, 1, 2])), (2, 3), True),
    (lambda L: (L.tensor([2, 0]),), (2, 4), False),
    (lambda L: (L.tensor([True, False, True]),), (1, 4), False),
    (lambda L: (L.tensor([True, False, True]),), (4,), True),
    (lambda L: (L.tensor([], dtype=L.int64),), (), True),
]


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("k", range(len(PUTS)))
def test_index_put(k, inplace):
    indices, vshape, acc = PUTS[k]
    rng = np.random.default_rng(8 + k)
    x, v = rng.standard_normal((3, 4)), rng.standard_normal(vshape)
    res = []
    for L in (fastnn, torch):
        a, vv = L.tensor(x, requires_grad=True), L.tensor(v, requires_grad=True)
        if inplace:
            b = a * 1
            r = b.index_put_(indices(L), vv * 1, accumulate=acc)
            assert r is b
        else:
            b = L.index_put(a, indices(L), vv, accumulate=acc)
        (b * b).sum().backward()
        res.append((b.detach(), a.grad, vv.grad, _grad_fn_name(b)))
    assert res[0][3] == res[1][3] == "IndexPutBackward0"
    for p, q in zip(res[0][:3], res[1][:3]):
        assert_close(p, q)


def test_index_put_methods_and_functions():
    for L in (fastnn, torch):
        x = L.zeros(4)
        y = x.index_put((L.tensor([1, 1]),), L.tensor(2.0), accumulate=True)
        assert y.tolist() == [0.0, 4.0, 0.0, 0.0] and x.tolist() == [0.0] * 4
        L.index_put_(x, [L.tensor([3])], L.tensor([5.0]))
        assert x.tolist() == [0.0, 0.0, 0.0, 5.0]


def test_index_put_gradcheck():
    rng = np.random.default_rng(9)
    x, v, w = rng.standard_normal((3, 4)), rng.standard_normal((4,)), rng.standard_normal((2, 4))
    i = fastnn.tensor([0, 2, 0, 1])
    gradcheck_op(lambda a, b: fastnn.index_put(a, (i,), b, accumulate=True), [x, rng.standard_normal((4, 4))])
    gradcheck_op(lambda a, b: fastnn.index_put(a, (i[:2], i[2:]), b), [x, rng.standard_normal((1,))])
    gradcheck_op(lambda a, b: fastnn.index_put(a, (a > 0,), b, accumulate=True), [x, rng.standard_normal(())])
    gradcheck_op(lambda a, b: (a * 1).index_put_((fastnn.tensor([2, 0]),), b), [x, w])
    gradcheck_op(lambda a, b: a[i] * b, [x, v])


def test_accumulation_is_deterministic_across_threads():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((300, 70)).astype(np.float32)
    idx = fastnn.tensor(rng.integers(0, 5, 20000))
    g = fastnn.tensor(rng.standard_normal((20000, 70)).astype(np.float32) * 1e3)
    vals = fastnn.tensor(rng.standard_normal((20000, 70)).astype(np.float32))
    before = fastnn.get_num_threads()
    outs = []
    try:
        for threads in (1, 2):
            fastnn.set_num_threads(threads)
            a = fastnn.tensor(x, requires_grad=True)
            a[idx].backward(g)
            put = fastnn.zeros(300, 70).index_put_((idx,), vals, accumulate=True)
            outs.append((a.grad.numpy().copy(), put.numpy().copy()))
    finally:
        fastnn.set_num_threads(before)
    for p, q in zip(outs[0], outs[1]):
        assert np.array_equal(p.view(np.uint32), q.view(np.uint32))


# ---------------------------------------------------------------------------------------------
# errors: type and message (torch's wording after fastnn's "[op] " prefix)

ERRORS = [
    (lambda x: x[[5]], IndexError, "index 5 is out of bounds for dimension 0 with size 4"),
    (lambda x: x[fastnn.tensor([0, -5])], IndexError, "index -5 is out of bounds for dimension 0 with size 4"),
    (lambda x: x[:, [7]], IndexError, "index 7 is out of bounds for dimension 0 with size 5"),
    (lambda x: x[[0], :, [9]], IndexError, "index 9 is out of bounds for dimension 1 with size 6"),
    (
        lambda x: x[fastnn.ones(3, dtype=fastnn.bool)],
        IndexError,
        "The shape of the mask [3] at index 0 does not match the shape of the indexed tensor [4, 5, 6] at index 0",
    ),
    (
        lambda x: x[:, fastnn.ones(5, 5, dtype=fastnn.bool)],
        IndexError,
        "The shape of the mask [5, 5] at index 1 does not match the shape of the indexed tensor [4, 5, 6] at index 2",
    ),
    (lambda x: x[fastnn.tensor([0.0])], IndexError, "tensors used as indices must be long, int, byte or bool tensors"),
    (lambda x: x[[0.5]], IndexError, "tensors used as indices must be long, int, byte or bool tensors"),
    (
        lambda x: x[[0, 1], [0, 1, 2]],
        IndexError,
        "shape mismatch: indexing tensors could not be broadcast together with shapes [2], [3]",
    ),
    (lambda x: x[0, 0, 0, [0]], IndexError, "too many indices for tensor of dimension 3"),
    (lambda x: x[fastnn.ones(4, 5, 6, 1, dtype=fastnn.bool)], IndexError, "too many indices for tensor of dimension 3"),
    (lambda x: x[..., [0], ...], IndexError, "an index can only have a single ellipsis"),
    (lambda x: x[{"a": 1}], TypeError, "valid indices"),
    (lambda x: fastnn.zeros(0, 3)[[0]], IndexError, "index is out of bounds for dimension with size 0"),
    (
        lambda x: x.__setitem__([0, 1], fastnn.ones(3)),
        ValueError,
        "shape mismatch: value tensor of shape [3] cannot be broadcast to indexing result of shape [2, 5, 6]",
    ),
    (
        lambda x: x.__setitem__([0], fastnn.ones(6, dtype=fastnn.float64)),
        TypeError,
        "Index put requires the source and destination dtypes match, got float32 for the destination and float64",
    ),
    (
        lambda x: x.__setitem__([7], 1.0),
        IndexError,
        "[index_put_] index 7 is out of bounds for dimension 0 with size 4",
    ),
    (lambda x: fastnn.zeros(2, dtype=fastnn.int64).__setitem__([0], 1.5), TypeError, "cannot assign a float64 number"),
    (lambda x: x.index_put_([fastnn.tensor([0])], 1.0), TypeError, "values must be a Tensor"),
    (lambda x: x.index_put_(fastnn.tensor([0]), fastnn.tensor(1.0)), TypeError, "indices must be a tuple of Tensors"),
    (lambda x: x.index_put_((None,), fastnn.tensor(1.0)), TypeError, "expected Tensor as element 0 in indices"),
    (lambda x: x.index_put_((), fastnn.tensor(1.0)), IndexError, "expected at least one index tensor"),
    (lambda x: fastnn.index_put(x, (fastnn.tensor([0]),), fastnn.ones(2)), ValueError, "[index_put] shape mismatch"),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors(k):
    fn, exc, fragment = ERRORS[k]
    x = fastnn.zeros(4, 5, 6)
    with pytest.raises(exc) as info:
        fn(x)
    assert fragment in str(info.value)


def test_errors_match_torch_wording():
    x = torch.zeros(4, 5, 6)
    for fn in (
        lambda: x[:, [7]],
        lambda: x[[0], :, [9]],
        lambda: x[torch.ones(3, dtype=torch.bool)],
        lambda: x[:, torch.ones(5, 5, dtype=torch.bool)],
        lambda: x[[0, 1], [0, 1, 2]],
    ):
        with pytest.raises(IndexError) as theirs:
            fn()
        ours = next(f for f, _, frag in ERRORS if frag in str(theirs.value))  # the same wording is in our table
        assert ours


def _random_index(rng, shape):
    """A random index expression (ints, slices, None, ..., bools, int lists, masks) for a tensor of `shape`."""
    items, d, nd = [], 0, len(shape)
    while d < nd and rng.random() < 0.85:
        k = rng.choice(["int", "slice", "none", "list", "mask", "ellipsis", "bool"])
        if k == "int" and shape[d] > 0:
            items.append(int(rng.integers(-shape[d], shape[d])))
            d += 1
        elif k == "slice":
            items.append(slice(rng.choice([None, 0, 1, -1]), rng.choice([None, 2, -1]), rng.choice([None, 1, 2])))
            d += 1
        elif k == "none":
            items.append(None)
        elif k == "list":
            items.append(
                ("list", [int(v) for v in rng.integers(-shape[d], shape[d], rng.integers(0, 4))] if shape[d] else [])
            )
            d += 1
        elif k == "mask":
            m = int(rng.integers(1, min(2, nd - d) + 1))
            items.append(("mask", rng.integers(0, 2, shape[d : d + m]).astype(bool)))
            d += m
        elif k == "bool":
            items.append(bool(rng.random() < 0.5))
        elif k == "ellipsis" and Ellipsis not in items:
            items.append(Ellipsis)
            d = nd
    return items


def _build(L, items):
    return tuple(
        (L.tensor(i[1], dtype=L.int64) if i[0] == "list" else L.tensor(i[1])) if isinstance(i, tuple) else i
        for i in items
    )


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_random_index_expressions_match_torch():
    rng = np.random.default_rng(11)
    for _ in range(400):
        shape = tuple(int(s) for s in rng.integers(0, 5, rng.integers(1, 5)))
        x = rng.standard_normal(shape)
        items = _random_index(rng, shape)
        res = []
        for L in (fastnn, torch):
            try:
                res.append(L.tensor(x)[_build(L, items)].numpy())
            except IndexError:
                res.append(IndexError)
        assert (res[0] is IndexError) == (res[1] is IndexError), (shape, items)
        if res[1] is IndexError:
            continue
        assert res[0].shape == res[1].shape and np.array_equal(res[0], res[1]), (shape, items)
        if any(isinstance(i, tuple) and i[0] == "list" for i in items):
            continue  # repeated list entries make torch's assignment order unspecified
        written = []
        for L in (fastnn, torch):
            t = L.tensor(x)
            t[_build(L, items)] = L.tensor(np.arange(res[1].size, dtype=np.float64).reshape(res[1].shape))
            written.append(t.numpy())
        assert np.array_equal(written[0], written[1]), (shape, items)
