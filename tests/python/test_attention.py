"""F.scaled_dot_product_attention, nn.MultiheadAttention and the transformer layers against torch 2.13."""

import math

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F
from oracle import assert_close, check_op, gradcheck_op, layout_input

torch = pytest.importorskip("torch", reason="PyTorch (CPU, 2.13.0) is the test oracle")


def _sdpa(lib, *args, **kw):
    f = fastnn.nn.functional if lib is fastnn else torch.nn.functional
    return f.scaled_dot_product_attention(*args, **kw)


# ---- F.scaled_dot_product_attention ----

# (query, key, value shapes, keyword arguments)
SDPA_CASES = [
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8), {}),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), {}),  # Ev != E
    ((4, 8), (5, 8), (5, 3), {}),  # no batch dims
    ((3, 7, 4), (3, 9, 4), (3, 9, 4), {"scale": 0.3}),
    ((2, 3, 4, 8), (1, 3, 5, 8), (2, 1, 5, 8), {}),  # broadcast batch dims
    ((5, 2, 3, 4, 8), (2, 1, 5, 8), (2, 1, 5, 8), {}),  # more batch dims on the query
    ((2, 3, 6, 8), (2, 3, 3, 8), (2, 3, 3, 8), {"is_causal": True}),  # L > S
    ((2, 3, 3, 8), (2, 3, 6, 8), (2, 3, 6, 5), {"is_causal": True}),  # L < S
    ((2, 2, 70, 8), (2, 2, 70, 8), (2, 2, 70, 8), {"is_causal": True}),  # more than one row block
    ((1, 2, 130, 4), (1, 2, 90, 4), (1, 2, 90, 3), {}),
    ((2, 4, 5, 8), (2, 2, 6, 8), (2, 2, 6, 8), {"enable_gqa": True}),
    ((2, 4, 5, 8), (2, 1, 6, 8), (2, 2, 6, 3), {"enable_gqa": True}),
]


@pytest.mark.parametrize("qs,ks,vs,kw", SDPA_CASES)
def test_sdpa_matches_torch(qs, ks, vs, kw):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in (qs, ks, vs)]
    f_out, t_out = check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v, **kw), arrays, uses_module=True)
    assert f_out.grad_fn.name() == "ScaledDotProductFlashAttentionForCpuBackward0"


# (mask shape, dtype): bool (True takes part) or float (added), broadcast to (..., L, S)
MASKS = [
    ((4, 5), "bool"),
    ((3, 4, 5), "bool"),
    ((2, 1, 1, 5), "bool"),
    ((1, 5), "bool"),
    ((2, 3, 4, 5), "float"),
    ((1, 5), "float"),
    ((4, 1), "float"),
    ((3, 1, 5), "float32"),
]


@pytest.mark.parametrize("shape,kind", MASKS)
def test_sdpa_masks(shape, kind):
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal(s) for s in ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)))
    dtype = np.float64 if kind == "float" else np.float32
    q, k, v = (a.astype(dtype) for a in (q, k, v))
    if kind == "bool":
        mask = rng.random(shape) > 0.3
    else:
        mask = rng.standard_normal(shape).astype(np.float32)
        mask[rng.random(shape) < 0.2] = -np.inf
    check_op(lambda lib, q, k, v, m: _sdpa(lib, q, k, v, attn_mask=m), [q, k, v, mask], uses_module=True, grad=True)


def test_sdpa_mask_gradient():
    """A float mask that requires grad gets the gradient of the scores (summed over its broadcast dims)."""
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 8), (3, 1, 5))]
    f_out, _ = check_op(lambda lib, q, k, v, m: _sdpa(lib, q, k, v, attn_mask=m), arrays, uses_module=True)
    assert len(f_out.grad_fn.next_functions) == 4
    gradcheck_op(
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), [a.astype(np.float64) for a in arrays]
    )


def test_sdpa_fully_masked_rows_give_zeros():
    """A row where no key takes part: torch gives zeros (output and gradients), for bool and -inf masks."""
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in ((2, 4, 8), (2, 5, 8), (2, 5, 8)))
    mask = np.ones((4, 5), dtype=bool)
    mask[1] = False
    f_out, _ = check_op(lambda lib, q, k, v, m: _sdpa(lib, q, k, v, attn_mask=m), [q, k, v, mask], uses_module=True)
    assert not f_out[:, 1].detach().numpy().any()
    fmask = np.where(mask, 0.0, -np.inf).astype(np.float32)
    check_op(lambda lib, q, k, v, m: _sdpa(lib, q, k, v, attn_mask=m), [q, k, v, fmask], uses_module=True, grad=True)


def test_sdpa_nan_scores_spread_over_their_row_only():
    """A NaN score makes its row's output NaN, as torch's; other rows, and fully masked rows (zeros), are untouched."""
    rng = np.random.default_rng(4)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in ((2, 6, 40), (2, 37, 40), (2, 37, 40)))
    q[0, 2, 5] = np.nan
    k[1, 30, 0] = np.nan  # every row of batch 1 sees it
    mask = np.ones((6, 37), dtype=bool)
    mask[4] = False
    for m in (None, mask):
        args = [q, k, v] + ([m] if m is not None else [])
        f_out, _ = check_op(
            lambda lib, *t: _sdpa(lib, *t[:3], attn_mask=t[3] if len(t) > 3 else None),
            args,
            uses_module=True,
            grad=False,
        )
        nan_rows = np.isnan(f_out.detach().numpy()).any(-1)
        assert nan_rows[0].tolist() == [False, False, True, False, False, False] and nan_rows[1, :4].all()


@pytest.mark.parametrize("layout", ["transposed_heads", "transposed", "strided", "expanded"])
def test_sdpa_non_contiguous(layout):
    rng = np.random.default_rng(4)
    if layout == "transposed_heads":  # (N, L, H, E) viewed as (N, H, L, E), as MultiheadAttention makes them
        arrays = [rng.standard_normal((2, n, 3, 8)).astype(np.float32) for n in (4, 5, 5)]
        prep = lambda lib, x: x.transpose(1, 2)  # noqa: E731
    elif layout == "strided":
        arrays = [rng.standard_normal((2, 3, n, 16)).astype(np.float32) for n in (4, 5, 5)]
        prep = lambda lib, x: x[..., ::2]  # noqa: E731
    elif layout == "transposed":  # each (L, E) matrix stored as (E, L)
        arrays, preps = zip(*(layout_input(rng, (2, 3, n, 8), "transposed") for n in (4, 5, 5)))
        prep = list(preps)
    else:
        arrays = [rng.standard_normal((1, 3, n, 8)).astype(np.float32) for n in (4, 5, 5)]
        prep = lambda lib, x: x.expand(2, 3, -1, -1)  # noqa: E731
    check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v), arrays, prep=prep, uses_module=True)
    check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v, is_causal=True), arrays, prep=prep, uses_module=True)


@pytest.mark.parametrize(
    "qs,ks,vs",
    [
        ((2, 3, 0, 8), (2, 3, 5, 8), (2, 3, 5, 8)),
        ((2, 3, 4, 8), (2, 3, 0, 8), (2, 3, 0, 8)),
        ((0, 3, 4, 8), (0, 3, 5, 8), (0, 3, 5, 8)),
        ((2, 4, 0), (2, 5, 0), (2, 5, 3)),
    ],
)
def test_sdpa_zero_size(qs, ks, vs):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in (qs, ks, vs)]
    check_op(lambda lib, q, k, v: _sdpa(lib, q, k, v), arrays, uses_module=True)


@pytest.mark.parametrize(
    "kw", [{}, {"is_causal": True}, {"scale": 0.7}, {"attn_mask": "float"}, {"enable_gqa": True}, {"dropout_p": 0.3}]
)
def test_sdpa_gradcheck(kw):
    rng = np.random.default_rng(6)
    arrays = [
        rng.standard_normal(s)
        for s in (
            (2, 2, 3, 4),
            (2, 1 if kw.get("enable_gqa") else 2, 5, 4),
            (2, 1 if kw.get("enable_gqa") else 2, 5, 3),
        )
    ]
    kw = dict(kw)
    if kw.get("attn_mask") == "float":
        kw["attn_mask"] = fastnn.tensor(rng.standard_normal((3, 5)))
    if "dropout_p" in kw:  # the same dropout draw for every evaluation: re-seed inside

        def fn(q, k, v):
            fastnn.manual_seed(7)
            return F.scaled_dot_product_attention(q, k, v, **kw)
    else:

        def fn(q, k, v):
            return F.scaled_dot_product_attention(q, k, v, **kw)

    gradcheck_op(fn, arrays)


def test_sdpa_dropout_statistics():
    """Dropout on the weights: p=0 and p=1 are exact; in between, the output's mean over many draws is the
    output without dropout, and the same seed gives the same bits."""
    rng = np.random.default_rng(8)
    q, k, v = (
        fastnn.tensor(rng.standard_normal(s).astype(np.float32)) for s in ((1, 1, 4, 8), (1, 1, 6, 8), (1, 1, 6, 8))
    )
    base = F.scaled_dot_product_attention(q, k, v).numpy()
    assert np.array_equal(F.scaled_dot_product_attention(q, k, v, dropout_p=0.0).numpy(), base)
    assert not F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy().any()
    fastnn.manual_seed(1)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    fastnn.manual_seed(1)
    assert np.array_equal(F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy(), a)
    assert not np.allclose(a, base)
    qq, kk, vv = (x.expand(4000, 1, -1, -1) for x in (q, k, v))
    mean = F.scaled_dot_product_attention(qq, kk, vv, dropout_p=0.5).numpy().mean(0)
    np.testing.assert_allclose(mean, base[0], atol=0.08)


def test_sdpa_errors():
    q, k, v = fastnn.ones(2, 3, 4, 8), fastnn.ones(2, 3, 5, 8), fastnn.ones(2, 3, 5, 8)
    with pytest.raises(
        ValueError,
        match=r"\[scaled_dot_product_attention\] attn_mask of shape \(3, 4, 4\) cannot be "
        r"broadcast to the attention weights' shape \(2, 3, 4, 5\)",
    ):
        F.scaled_dot_product_attention(q, k, v, attn_mask=fastnn.ones(3, 4, 4, dtype=fastnn.bool))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(5,\) cannot be broadcast"):  # torch wants 2 dims too
        F.scaled_dot_product_attention(q, k, v, attn_mask=fastnn.ones(5, dtype=fastnn.bool))
    with pytest.raises(
        ValueError,
        match=r"\[scaled_dot_product_attention\] Explicit attn_mask should not be set when "
        r"is_causal=True",
    ):
        F.scaled_dot_product_attention(q, k, v, attn_mask=fastnn.ones(4, 5), is_causal=True)
    with pytest.raises(
        TypeError, match=r"\[scaled_dot_product_attention\] Expected attn_mask dtype to be bool or float"
    ):
        F.scaled_dot_product_attention(q, k, v, attn_mask=fastnn.ones(4, 5, dtype=fastnn.int64))
    with pytest.raises(
        TypeError, match=r"\[scaled_dot_product_attention\] Expected attn_mask dtype to be bool or float"
    ):
        F.scaled_dot_product_attention(q, k, v, attn_mask=fastnn.ones(4, 5, dtype=fastnn.float64))
    with pytest.raises(ValueError, match=r"same size in the last dim, got query \(2, 3, 4, 8\) and key \(2, 3, 5, 7\)"):
        F.scaled_dot_product_attention(q, fastnn.ones(2, 3, 5, 7), v)
    with pytest.raises(
        ValueError, match=r"same sequence length \(dim -2\), got key \(2, 3, 5, 8\) and value \(2, 3, 4, 8\)"
    ):
        F.scaled_dot_product_attention(q, k, fastnn.ones(2, 3, 4, 8))
    with pytest.raises(ValueError, match=r"batch dims of query \(2, 3, 4, 8\), key \(2, 2, 5, 8\) and value"):
        F.scaled_dot_product_attention(q, fastnn.ones(2, 2, 5, 8), fastnn.ones(2, 2, 5, 8))
    with pytest.raises(ValueError, match=r"Number of heads in key and value must divide the number of heads in query"):
        F.scaled_dot_product_attention(q, fastnn.ones(2, 2, 5, 8), fastnn.ones(2, 2, 5, 8), enable_gqa=True)
    with pytest.raises(TypeError, match=r"Expected query, key, and value to have the same dtype"):
        F.scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(TypeError, match=r"expected floating-point query, key and value, got int64"):
        F.scaled_dot_product_attention(q.long(), k.long(), v.long())
    with pytest.raises(ValueError, match=r"at least 2-D, got shapes \(8,\), \(8,\) and \(8,\)"):
        F.scaled_dot_product_attention(fastnn.ones(8), fastnn.ones(8), fastnn.ones(8))
    with pytest.raises(ValueError, match=r"dropout probability has to be between 0 and 1, but got 1.5"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)
    with pytest.raises(TypeError, match=r"\[scaled_dot_product_attention\] key must be a Tensor, got NoneType"):
        F.scaled_dot_product_attention(q, None, v)
    with pytest.raises(TypeError, match=r"\[scaled_dot_product_attention\] is_causal must be a bool"):
        F.scaled_dot_product_attention(q, k, v, is_causal="yes")
    with pytest.raises(TypeError, match=r"\[scaled_dot_product_attention\] scale must be a number"):
        F.scaled_dot_product_attention(q, k, v, scale="s")


def test_sdpa_thread_count_determinism():
    rng = np.random.default_rng(9)
    q, k, v = (
        fastnn.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
        for s in ((3, 4, 150, 16), (3, 4, 140, 16), (3, 4, 140, 16))
    )
    results = []
    old = fastnn.get_num_threads()
    try:
        for n in (1, 2, 3):
            fastnn.set_num_threads(n)
            for x in (q, k, v):
                x.grad = None
            fastnn.manual_seed(0)
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.1, is_causal=True)
            out.pow(2).sum().backward()
            results.append([out.detach().numpy()] + [x.grad.numpy() for x in (q, k, v)])
    finally:
        fastnn.set_num_threads(old)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.array_equal(a, b)


# ---- nn.MultiheadAttention ----


def _copy_weights(ours, theirs):
    """Loads torch module `theirs`'s state_dict into fastnn module `ours` (names and shapes must match)."""
    state = {k: fastnn.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict())
    ours.load_state_dict(state)
    return ours


def _pair(cls_name, *args, seed=0, **kw):
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, cls_name)(*args, **kw)
    ours = getattr(fastnn.nn, cls_name)(*args, **kw)
    return _copy_weights(ours, theirs), theirs


def _compare_grads(ours, theirs, atol=1e-5):
    named = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(named)
    for n, p in ours.named_parameters():
        assert p.grad is not None, n
        assert_close(p.grad, named[n].grad, atol=atol, what=f"grad of {n}")


# (constructor kwargs, forward kwargs, (L, S, N) or None for unbatched (L, S))
MHA_CASES = [
    ({}, {}, (4, 4, 3)),
    ({}, {"need_weights": False}, (4, 4, 3)),
    ({}, {"average_attn_weights": False}, (4, 4, 3)),
    ({"batch_first": True}, {}, (4, 4, 3)),
    ({"batch_first": True}, {"need_weights": False}, (4, 4, 3)),
    ({"kdim": 5, "vdim": 3}, {}, (4, 6, 2)),
    ({"kdim": 5, "vdim": 3, "batch_first": True}, {"need_weights": False}, (4, 6, 2)),
    ({"add_bias_kv": True}, {"need_weights": False}, (4, 5, 2)),
    ({"add_bias_kv": True}, {"attn_mask": "bool2"}, (4, 5, 2)),
    ({"add_zero_attn": True}, {"key_padding_mask": "bool", "need_weights": False}, (4, 5, 2)),
    ({"add_zero_attn": True, "add_bias_kv": True}, {"attn_mask": "float3", "key_padding_mask": "float"}, (4, 5, 2)),
    ({"bias": False}, {"attn_mask": "float2", "need_weights": False}, (4, 5, 2)),
    ({}, {"attn_mask": "bool3", "key_padding_mask": "bool", "need_weights": False}, (4, 5, 2)),
    ({}, {"attn_mask": "bool3", "key_padding_mask": "bool"}, (4, 5, 2)),
    ({}, {"attn_mask": "causal", "is_causal": True, "need_weights": False}, (5, 5, 2)),
    ({}, {"attn_mask": "causal", "is_causal": True, "key_padding_mask": "bool", "need_weights": False}, (5, 5, 2)),
    ({}, {"attn_mask": "causal", "is_causal": True}, (5, 5, 2)),
    ({}, {}, (4, 5, None)),
    ({}, {"need_weights": False, "key_padding_mask": "bool", "attn_mask": "bool3"}, (4, 5, None)),
]


def _mha_inputs(rng, lib, E, kdim, vdim, shape, batch_first, self_attention):
    L, S, N = shape

    def seq(n, d):
        s = (n, d) if N is None else ((N, n, d) if batch_first else (n, N, d))
        return rng.standard_normal(s).astype(np.float32)

    return seq(L, E), seq(S, kdim), seq(S, vdim)


def _masks(rng, kw, L, S, N, H):
    out = {}
    n = 1 if N is None else N
    if "attn_mask" in kw:
        kind = kw["attn_mask"]
        shape = (L, S) if kind.endswith("2") or kind == "causal" else ((n * H, L, S) if N is not None else (H, L, S))
        if kind == "causal":
            m = np.triu(np.ones((L, S), dtype=bool), 1)
        elif kind.startswith("bool"):
            m = rng.random(shape) < 0.3
            m[..., 0] = False  # every row keeps a key
        else:
            m = rng.standard_normal(shape).astype(np.float32)
        out["attn_mask"] = m
    if "key_padding_mask" in kw:
        shape = (S,) if N is None else (n, S)
        if kw["key_padding_mask"] == "bool":
            m = np.zeros(shape, dtype=bool)
            m[..., -2:] = True
        else:
            m = rng.standard_normal(shape).astype(np.float32)
        out["key_padding_mask"] = m
    return out


@pytest.mark.parametrize(
    "ctor,fwd,shape,self_attention",
    [c + (False,) for c in MHA_CASES] + [c + (True,) for c in MHA_CASES if "kdim" not in c[0] and c[2][0] == c[2][1]],
)
def test_multihead_attention_matches_torch(ctor, fwd, shape, self_attention):
    E, H = 8, 2
    kdim, vdim = ctor.get("kdim", E), ctor.get("vdim", E)
    L, S, N = shape
    ours, theirs = _pair("MultiheadAttention", E, H, **ctor)
    rng = np.random.default_rng(0)
    q, k, v = _mha_inputs(rng, None, E, kdim, vdim, shape, ctor.get("batch_first", False), self_attention)
    masks = _masks(rng, fwd, L, S, N, H)
    fkw = {k: v for k, v in fwd.items() if k not in masks}
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    fq, fk, fv = (fastnn.tensor(a, requires_grad=True) for a in (q, k, v))
    if self_attention:
        t_args, f_args = (tq, tq, tq), (fq, fq, fq)
    else:
        t_args, f_args = (tq, tk, tv), (fq, fk, fv)
    t_out, t_w = theirs(*t_args, **fkw, **{n: torch.tensor(m) for n, m in masks.items()})
    f_out, f_w = ours(*f_args, **fkw, **{n: fastnn.tensor(m) for n, m in masks.items()})
    assert_close(f_out, t_out, what="output")
    assert (f_w is None) == (t_w is None)
    if t_w is not None:
        assert_close(f_w, t_w, what="weights")
    g = rng.standard_normal(tuple(t_out.shape)).astype(np.float32)
    loss_t = (t_out * torch.tensor(g)).sum() + (t_w.sum() if t_w is not None else 0)
    loss_f = (f_out * fastnn.tensor(g)).sum() + (f_w.sum() if f_w is not None else 0)
    loss_t.backward()
    loss_f.backward()
    _compare_grads(ours, theirs)
    for a, b in zip(f_args, t_args):
        assert_close(a.grad, b.grad, what="input grad")


@pytest.mark.slow
def test_multihead_attention_training_steps_with_dropout_zero():
    ours, theirs = _pair("MultiheadAttention", 8, 2, add_bias_kv=True, batch_first=True)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1)
    opt_f = fastnn.optim.SGD(ours.parameters(), lr=0.1)
    rng = np.random.default_rng(1)
    for _ in range(3):
        x, y = rng.standard_normal((2, 5, 8)).astype(np.float32), rng.standard_normal((2, 3, 8)).astype(np.float32)
        losses = []
        for lib, m, opt in ((torch, theirs, opt_t), (fastnn, ours, opt_f)):
            out, _ = m(lib.tensor(y), lib.tensor(x), lib.tensor(x), need_weights=False)
            loss = out.pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert abs(losses[0] - losses[1]) < 1e-5
    for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p, tp, what=n)


def test_multihead_attention_init_and_names():
    fastnn.manual_seed(0)
    m = fastnn.nn.MultiheadAttention(16, 4, add_bias_kv=True, kdim=8)
    t = torch.nn.MultiheadAttention(16, 4, add_bias_kv=True, kdim=8)
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in t.named_parameters()
    ]
    assert repr(m) == repr(t)
    assert m.in_proj_weight is None and m.head_dim == 4 and not m._qkv_same_embed_dim
    assert not m.in_proj_bias.detach().numpy().any() and not m.out_proj.bias.detach().numpy().any()
    bound = math.sqrt(6 / (16 + 8))  # xavier_uniform_ of k_proj_weight (16, 8)
    assert np.abs(m.k_proj_weight.detach().numpy()).max() <= bound
    assert type(m.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(m.out_proj, fastnn.nn.Linear)


def test_multihead_attention_errors():
    with pytest.raises(
        ValueError,
        match=r"\[MultiheadAttention\] embed_dim must be divisible by num_heads, got "
        r"embed_dim=10 and num_heads=3",
    ):
        fastnn.nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match=r"embed_dim and num_heads must be greater than 0"):
        fastnn.nn.MultiheadAttention(8, 0)
    m = fastnn.nn.MultiheadAttention(8, 2)
    x = fastnn.ones(4, 2, 8)
    with pytest.raises(
        ValueError,
        match=r"\[MultiheadAttention\] The shape of the 2D attn_mask is \(4, 5\), but should "
        r"be \(4, 4\)",
    ):
        m(x, x, x, attn_mask=fastnn.ones(4, 5, dtype=fastnn.bool))
    with pytest.raises(ValueError, match=r"The shape of the 3D attn_mask is \(2, 4, 4\), but should be \(4, 4, 4\)"):
        m(x, x, x, attn_mask=fastnn.ones(2, 4, 4))
    with pytest.raises(ValueError, match=r"expecting key_padding_mask shape of \(2, 4\), but got \(4, 2\)"):
        m(x, x, x, key_padding_mask=fastnn.ones(4, 2, dtype=fastnn.bool))
    with pytest.raises(ValueError, match=r"was expecting embedding dimension of 8 for query, but got 6"):
        m(fastnn.ones(4, 2, 6), x, x)
    with pytest.raises(ValueError, match=r"query should be unbatched 2D or batched 3D tensor but received 4-D"):
        m(fastnn.ones(1, 4, 2, 8), x, x)
    with pytest.raises(ValueError, match=r"expected `key` and `value` to be 3-D but found 2-D and 3-D"):
        m(x, fastnn.ones(4, 8), x)
    with pytest.raises(RuntimeError, match=r"Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(TypeError, match=r"only bool and floating types of key_padding_mask are supported"):
        m(x, x, x, key_padding_mask=fastnn.ones(2, 4, dtype=fastnn.int64))
    with pytest.raises(
        TypeError,
        match=r"expected attn_mask to be bool or of the input's dtype fastnn.float32, got "
        r"fastnn.float64",
    ):
        m(x, x, x, attn_mask=fastnn.zeros(4, 4, dtype=fastnn.float64))
    with pytest.raises(TypeError, match=r"expected query, key and value of the module's dtype"):
        m(x.double(), x.double(), x.double())


# ---- transformer layers ----


def _to_lib(lib, a):
    return lib.tensor(a) if isinstance(a, np.ndarray) else a


def _run_both(ours, theirs, inputs, kwargs, train, grad_seed=0):
    """Runs both modules on the same NumPy inputs/masks; compares outputs, then every parameter's gradient."""
    ours.train(train)
    theirs.train(train)
    t_out = theirs(*(_to_lib(torch, a) for a in inputs), **{k: _to_lib(torch, v) for k, v in kwargs.items()})
    f_out = ours(*(_to_lib(fastnn, a) for a in inputs), **{k: _to_lib(fastnn, v) for k, v in kwargs.items()})
    assert_close(f_out, t_out, what="output")
    g = np.random.default_rng(grad_seed).standard_normal(tuple(t_out.shape)).astype(np.float32)
    (t_out * torch.tensor(g)).sum().backward()
    (f_out * fastnn.tensor(g)).sum().backward()
    _compare_grads(ours, theirs, atol=2e-5)


ENCODER_LAYER_CASES = [
    ({}, {}),
    ({"batch_first": True}, {"src_key_padding_mask": "pad"}),
    ({"norm_first": True}, {"src_mask": "causal"}),
    ({"activation": "gelu", "batch_first": True}, {"src_mask": "causal", "is_causal": True}),
    ({"activation": "gelu_module", "bias": False, "layer_norm_eps": 1e-3}, {"src_mask": "bool"}),
]


def _activation(kw, lib):
    kw = dict(kw)
    if kw.get("activation") == "gelu_module":
        kw["activation"] = lib.nn.GELU()
    return kw


def _encoder_inputs(rng, batch_first, L=5, N=3, E=8):
    src = rng.standard_normal((N, L, E) if batch_first else (L, N, E)).astype(np.float32)
    return src


def _layer_masks(rng, spec, L, N, prefix="src"):
    out = {}
    for name, kind in spec.items():
        if kind == "causal":
            out[name] = np.triu(np.full((L, L), -np.inf, dtype=np.float32), 1)
        elif kind == "bool":
            m = rng.random((L, L)) < 0.3
            np.fill_diagonal(m, False)
            out[name] = m
        elif kind == "pad":
            m = np.zeros((N, L), dtype=bool)
            m[1, -2:] = True
            out[name] = m
    return out


@pytest.mark.parametrize("ctor,fwd", ENCODER_LAYER_CASES)
@pytest.mark.parametrize("train", [False, True])
def test_transformer_encoder_layer_matches_torch(ctor, fwd, train):
    torch.manual_seed(0)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **_activation(ctor, torch))
    ours = _copy_weights(fastnn.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **_activation(ctor, fastnn)), theirs)
    rng = np.random.default_rng(0)
    src = _encoder_inputs(rng, ctor.get("batch_first", False))
    masks = _layer_masks(rng, {k: v for k, v in fwd.items() if k != "is_causal"}, 5, 3)
    kwargs = dict(masks, **({"is_causal": True} if fwd.get("is_causal") else {}))
    _run_both(ours, theirs, [src], kwargs, train)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_decoder_layer_matches_torch(norm_first, batch_first):
    torch.manual_seed(1)
    kw = {"dropout": 0.0, "norm_first": norm_first, "batch_first": batch_first}
    theirs = torch.nn.TransformerDecoderLayer(8, 2, 16, **kw)
    ours = _copy_weights(fastnn.nn.TransformerDecoderLayer(8, 2, 16, **kw), theirs)
    rng = np.random.default_rng(1)
    tgt, mem = _encoder_inputs(rng, batch_first, L=4), _encoder_inputs(rng, batch_first, L=6)
    masks = {
        "tgt_mask": np.triu(np.full((4, 4), -np.inf, dtype=np.float32), 1),
        "memory_key_padding_mask": np.array([[False] * 6, [False] * 4 + [True] * 2, [False] * 5 + [True]]),
    }
    _run_both(ours, theirs, [tgt, mem], masks, train=True)


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(batch_first):
    torch.manual_seed(2)
    kw = {"dropout": 0.0, "batch_first": batch_first}
    with (
        pytest.warns(UserWarning, match="enable_nested_tensor is True, but self.use_nested_tensor is False")
        if not batch_first
        else _no_warning()
    ):
        ours = fastnn.nn.Transformer(8, 2, 2, 2, 16, **kw)
    theirs = torch.nn.Transformer(8, 2, 2, 2, 16, **kw)
    _copy_weights(ours, theirs)
    rng = np.random.default_rng(2)
    src, tgt = _encoder_inputs(rng, batch_first, L=5), _encoder_inputs(rng, batch_first, L=4)
    masks = {
        "tgt_mask": torch.nn.Transformer.generate_square_subsequent_mask(4).numpy(),
        "src_key_padding_mask": np.array([[False] * 5, [False] * 3 + [True] * 2, [False] * 5]),
        "memory_key_padding_mask": np.array([[False] * 5, [False] * 3 + [True] * 2, [False] * 5]),
    }
    _run_both(ours, theirs, [src, tgt], masks, train=False)
    _run_both(ours, theirs, [src, tgt], masks, train=True)


class _no_warning:
    def __enter__(self):
        self._w = warnings_catch = __import__("warnings").catch_warnings()
        warnings_catch.__enter__()
        __import__("warnings").simplefilter("error")

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def test_transformer_encoder_stack_and_nested_padding():
    """TransformerEncoder with a final norm; in eval mode without autograd and a right-padded key padding mask,
    torch's nested-tensor path gives zeros at the padded positions (before the norm): so does fastnn."""
    torch.manual_seed(3)
    t_layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    theirs = torch.nn.TransformerEncoder(t_layer, 2, norm=torch.nn.LayerNorm(8))
    ours = fastnn.nn.TransformerEncoder(
        fastnn.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2, norm=fastnn.nn.LayerNorm(8)
    )
    _copy_weights(ours, theirs)
    assert ours.layers[0] is not ours.layers[1] and ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight
    rng = np.random.default_rng(3)
    src = rng.standard_normal((3, 5, 8)).astype(np.float32)
    pad = np.zeros((3, 5), dtype=bool)
    pad[1, 3:] = True
    ours.eval()
    theirs.eval()
    for grad in (False, True):
        with torch.set_grad_enabled(grad), fastnn.set_grad_enabled(grad):
            t_out = theirs(torch.tensor(src), src_key_padding_mask=torch.tensor(pad))
            f_out = ours(fastnn.tensor(src), src_key_padding_mask=fastnn.tensor(pad))
        assert_close(f_out, t_out, what=f"output (grad mode {grad})")
    _run_both(ours, theirs, [src], {"mask": np.triu(np.full((5, 5), -np.inf, dtype=np.float32), 1)}, train=True)


@pytest.mark.slow
@pytest.mark.parametrize("cls", ["TransformerEncoder", "Transformer"])
def test_transformer_training_steps_match_torch(cls):
    """Several SGD steps with dropout=0.0: the losses and the parameters follow torch's. (Not Adam: it divides by
    the gradient's running norm, so rounding noise in gradients that are zero in exact arithmetic, such as the key
    bias's, becomes whole steps.)"""
    torch.manual_seed(4)
    if cls == "TransformerEncoder":

        def build(lib):
            layer = lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, activation="gelu")
            return lib.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    else:

        def build(lib):
            return lib.nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, norm_first=True)

    theirs = build(torch)
    ours = _copy_weights(build(fastnn), theirs)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    opt_f = fastnn.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(4)
    for _ in range(4):
        x, y = rng.standard_normal((3, 5, 8)).astype(np.float32), rng.standard_normal((4, 3, 8)).astype(np.float32)
        losses = []
        for lib, m, opt in ((torch, theirs, opt_t), (fastnn, ours, opt_f)):
            out = m(lib.tensor(x)) if cls == "TransformerEncoder" else m(lib.tensor(x).transpose(0, 1), lib.tensor(y))
            loss = out.pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert abs(losses[0] - losses[1]) < 1e-4 * max(1.0, abs(losses[0]))
    for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p, tp, atol=1e-4, what=n)


def test_transformer_encoder_training_is_bitwise_identical_at_any_thread_count():
    def run(threads):
        old = fastnn.get_num_threads()
        fastnn.set_num_threads(threads)
        try:
            fastnn.manual_seed(0)
            layer = fastnn.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, batch_first=True)
            model = fastnn.nn.TransformerEncoder(layer, 2)
            opt = fastnn.optim.SGD(model.parameters(), lr=0.1)
            x = fastnn.randn(8, 70, 16)
            for _ in range(2):
                loss = (
                    model(x, is_causal=True, mask=fastnn.nn.Transformer.generate_square_subsequent_mask(70))
                    .pow(2)
                    .mean()
                )
                opt.zero_grad()
                loss.backward()
                opt.step()
            return [p.detach().numpy().copy() for p in model.parameters()]
        finally:
            fastnn.set_num_threads(old)

    first = run(1)
    for threads in (2, 3):
        for a, b in zip(first, run(threads)):
            assert np.array_equal(a, b)


def test_generate_square_subsequent_mask():
    for sz in (0, 1, 4):
        assert_close(
            fastnn.nn.Transformer.generate_square_subsequent_mask(sz),
            torch.nn.Transformer.generate_square_subsequent_mask(sz),
        )
    m = fastnn.nn.Transformer.generate_square_subsequent_mask(3, dtype=fastnn.float64)
    assert m.dtype == fastnn.float64


def test_transformer_errors():
    with pytest.raises(RuntimeError, match=r"activation should be relu/gelu, not tanh"):
        fastnn.nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(ValueError, match=r"\[MultiheadAttention\] embed_dim must be divisible by num_heads"):
        fastnn.nn.TransformerEncoderLayer(10, 4)
    layer = fastnn.nn.TransformerEncoderLayer(8, 2, 16)
    with pytest.raises(
        ValueError,
        match=r"\[TransformerEncoderLayer\] expected src of shape \(seq, d_model=8\) or with "
        r"a batch dim, got \(5, 3, 6\)",
    ):
        layer(fastnn.ones(5, 3, 6))
    with pytest.raises(
        ValueError,
        match=r"\[MultiheadAttention\] The shape of the 2D attn_mask is \(4, 4\), but should "
        r"be \(5, 5\)",
    ):
        layer(fastnn.ones(5, 3, 8), src_mask=fastnn.zeros(4, 4))
    model = fastnn.nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(ValueError, match=r"\[Transformer\] the batch number of src and tgt must be equal"):
        model(fastnn.ones(5, 3, 8), fastnn.ones(4, 2, 8))
    with pytest.raises(ValueError, match=r"\[Transformer\] the feature number of src and tgt must be equal to d_model"):
        model(fastnn.ones(5, 3, 8), fastnn.ones(4, 3, 4))
