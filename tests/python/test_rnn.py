"""nn.RNN/LSTM/GRU, their cells and nn.utils.rnn against torch 2.13, with torch's weights copied by state_dict."""

import itertools

import fastnn
import numpy as np
import pytest
from oracle import assert_close, torch

FR = fastnn.nn.utils.rnn
TR = torch.nn.utils.rnn
MODES = [("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]


def twin(name, *args, dtype=np.float32, **kwargs):
    """(fastnn module, torch module) with torch's initial weights loaded into fastnn's through state_dict."""
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    if dtype == np.float64:
        theirs = theirs.double()
    ours = getattr(fastnn.nn, name)(*args, **kwargs)
    if dtype == np.float64:
        ours = ours.double()
    state = {k: fastnn.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    assert list(state) == list(ours.state_dict()), "state_dict keys or their order differ from torch's"
    ours.load_state_dict(state)
    return ours, theirs


def leaf(lib, a):
    t = (fastnn if lib == "f" else torch).tensor(a.copy())
    return t.requires_grad_(True)


def outputs_of(result):
    """The tensors a layer's result holds (output or PackedSequence data, then the states)."""
    out, hx = (
        result
        if isinstance(result, tuple) and not isinstance(result, (FR.PackedSequence, TR.PackedSequence))
        else (result, None)
    )
    if isinstance(out, (FR.PackedSequence, TR.PackedSequence)):
        out = out.data
    states = [] if hx is None else list(hx) if isinstance(hx, tuple) else [hx]
    return [out] + states


def compare(ours, theirs, run, arrays, atol=None, rtol=None):
    """run(module, lib, leaves) on both; compares every output, then gradients of the leaves and parameters
    after backward of a random weighting of all outputs."""
    fl = [leaf("f", a) for a in arrays]
    tl = [leaf("t", a) for a in arrays]
    fo, to = outputs_of(run(ours, fastnn, fl)), outputs_of(run(theirs, torch, tl))
    assert len(fo) == len(to)
    rng = np.random.default_rng(1)
    floss, tloss = 0, 0
    for i, (a, b) in enumerate(zip(fo, to)):
        assert_close(a, b, atol, rtol, what=f"output {i}")
        w = rng.standard_normal(tuple(b.shape)).astype(b.detach().numpy().dtype)
        floss = floss + (a * fastnn.tensor(w)).sum()
        tloss = tloss + (b * torch.tensor(w)).sum()
    floss.backward()
    tloss.backward()
    for i, (a, b) in enumerate(zip(fl, tl)):
        assert_close(a.grad, b.grad, atol, rtol, what=f"grad of input {i}")
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad, tp[name].grad, atol, rtol, what=f"grad of {name}")


def layer_cases():
    for (name, extra), layers, bidi, bf, bias in itertools.product(
        MODES, (1, 2), (False, True), (False, True), (True, False)
    ):
        yield name, dict(extra, num_layers=layers, bidirectional=bidi, batch_first=bf, bias=bias)
    for layers, bidi in itertools.product((1, 2), (False, True)):
        yield "LSTM", {"proj_size": 3, "num_layers": layers, "bidirectional": bidi}


@pytest.mark.parametrize("name,kwargs", list(layer_cases()), ids=lambda v: str(v))
def test_layer_matches_torch(name, kwargs):
    ours, theirs = twin(name, 5, 6, **kwargs)
    rng = np.random.default_rng(0)
    T, B = 4, 3
    x = rng.standard_normal((B, T, 5) if kwargs.get("batch_first") else (T, B, 5)).astype(np.float32)
    D = 2 if kwargs.get("bidirectional") else 1
    states = [rng.standard_normal((kwargs.get("num_layers", 1) * D, B, kwargs.get("proj_size") or 6))]
    if name == "LSTM":
        states.append(rng.standard_normal((kwargs.get("num_layers", 1) * D, B, 6)))
    states = [s.astype(np.float32) for s in states]

    def run(m, lib, leaves):
        hx = tuple(leaves[1:]) if name == "LSTM" else leaves[1]
        return m(leaves[0], hx)

    compare(ours, theirs, run, [x] + states)


@pytest.mark.parametrize("name,extra", MODES, ids=lambda v: str(v))
def test_layer_without_initial_state_float64(name, extra):
    ours, theirs = twin(name, 4, 5, num_layers=2, bidirectional=True, dtype=np.float64, **extra)
    x = np.random.default_rng(2).standard_normal((6, 2, 4))
    compare(ours, theirs, lambda m, lib, xs: m(xs[0]), [x])


@pytest.mark.parametrize("name,extra", MODES + [("LSTM", {"proj_size": 2})], ids=lambda v: str(v))
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_input(name, extra, batch_first):
    ours, theirs = twin(name, 4, 5, num_layers=2, batch_first=batch_first, **extra)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    h = rng.standard_normal((2, extra.get("proj_size") or 5)).astype(np.float32)
    c = rng.standard_normal((2, 5)).astype(np.float32)
    arrays = [x, h, c] if name == "LSTM" else [x, h]
    compare(ours, theirs, lambda m, lib, xs: m(xs[0], tuple(xs[1:]) if name == "LSTM" else xs[1]), arrays)
    compare(ours, theirs, lambda m, lib, xs: m(xs[0]), [x])


def test_non_contiguous_input():
    ours, theirs = twin("GRU", 4, 5, batch_first=True)
    x = np.random.default_rng(4).standard_normal((4, 3, 6)).astype(np.float32)
    compare(ours, theirs, lambda m, lib, xs: m(xs[0].transpose(0, 1)[..., 1:5]), [x])


@pytest.mark.parametrize("name,extra", MODES + [("LSTM", {"proj_size": 2})], ids=lambda v: str(v))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_unsorted_lengths(name, extra, bidirectional):
    ours, theirs = twin(name, 3, 4, num_layers=2, bidirectional=bidirectional, **extra)
    rng = np.random.default_rng(5)
    lengths = [2, 5, 1, 5, 3]
    x = rng.standard_normal((5, 5, 3)).astype(np.float32)
    D = 2 if bidirectional else 1
    h = rng.standard_normal((2 * D, 5, extra.get("proj_size") or 4)).astype(np.float32)
    c = rng.standard_normal((2 * D, 5, 4)).astype(np.float32)

    def run(m, lib, xs):
        R = FR if lib is fastnn else TR
        packed = R.pack_padded_sequence(xs[0], lengths, batch_first=True, enforce_sorted=False)
        out, hx = m(packed, tuple(xs[1:]) if name == "LSTM" else xs[1])
        assert isinstance(out, R.PackedSequence)
        padded, lens = R.pad_packed_sequence(out, batch_first=True, padding_value=-1.0, total_length=6)
        assert lens.tolist() == lengths
        return padded, hx

    compare(ours, theirs, run, [x, h, c] if name == "LSTM" else [x, h])


def test_packed_output_layout_and_sorted_input():
    ours, theirs = twin("LSTM", 3, 4)
    x = np.random.default_rng(6).standard_normal((4, 3, 3)).astype(np.float32)

    def run(m, lib, xs):
        R = FR if lib is fastnn else TR
        out, (h, c) = m(R.pack_padded_sequence(xs[0], [4, 2, 1]))
        assert out.sorted_indices is None and out.unsorted_indices is None
        assert out.batch_sizes.tolist() == [3, 2, 1, 1]
        return out, (h, c)

    compare(ours, theirs, run, [x])


def test_packed_with_equal_lengths_equals_padded():
    ours, _ = twin("GRU", 3, 4, bidirectional=True)
    x = fastnn.randn(5, 2, 3)
    out, h = ours(FR.pack_padded_sequence(x, [5, 5]))
    ref, href = ours(x)
    assert out.data.detach().numpy().tobytes() == ref.reshape(10, 8).detach().numpy().tobytes()
    assert h.detach().numpy().tobytes() == href.detach().numpy().tobytes()


def test_empty_batch():
    for name in ("RNN", "LSTM", "GRU"):
        ours, theirs = twin(name, 3, 4, num_layers=2)
        out, hx = ours(fastnn.zeros(5, 0, 3))
        tout, thx = theirs(torch.zeros(5, 0, 3))
        assert tuple(out.shape) == tuple(tout.shape)
        for a, b in zip(hx if name == "LSTM" else [hx], thx if name == "LSTM" else [thx]):
            assert tuple(a.shape) == tuple(b.shape)


def test_single_step_and_length_one_sequences():
    ours, theirs = twin("LSTM", 3, 4, bidirectional=True)
    x = np.random.default_rng(7).standard_normal((1, 2, 3)).astype(np.float32)
    compare(ours, theirs, lambda m, lib, xs: m(xs[0]), [x])
    x = np.random.default_rng(8).standard_normal((3, 3, 3)).astype(np.float32)

    def run(m, lib, xs):
        R = FR if lib is fastnn else TR
        return m(R.pack_padded_sequence(xs[0], [3, 1, 1]))

    compare(ours, theirs, run, [x])


@pytest.mark.parametrize(
    "name,extra",
    [
        ("RNNCell", {}),
        ("RNNCell", {"nonlinearity": "relu"}),
        ("LSTMCell", {}),
        ("GRUCell", {}),
        ("GRUCell", {"bias": False}),
    ],
    ids=lambda v: str(v),
)
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(name, extra, batched):
    ours, theirs = twin(name, 4, 5, **extra)
    rng = np.random.default_rng(9)
    shape = (3,) if batched else ()
    x = rng.standard_normal(shape + (4,)).astype(np.float32)
    h = rng.standard_normal(shape + (5,)).astype(np.float32)
    c = rng.standard_normal(shape + (5,)).astype(np.float32)
    lstm = name == "LSTMCell"
    compare(ours, theirs, lambda m, lib, xs: m(xs[0], tuple(xs[1:]) if lstm else xs[1]), [x, h, c] if lstm else [x, h])
    compare(ours, theirs, lambda m, lib, xs: m(xs[0]), [x])


def test_cell_loop_equals_layer():
    cell = fastnn.nn.LSTMCell(3, 4)
    layer = fastnn.nn.LSTM(3, 4)
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    x = fastnn.randn(5, 2, 3)
    h = c = fastnn.zeros(2, 4)
    for t in range(5):
        h, c = cell(x[t], (h, c))
    out, (hn, cn) = layer(x)
    assert_close(out[-1], h)
    assert_close(cn[0], c)
    assert_close(hn[0], h)


def test_parameters_layout_init_and_repr():
    for args, kwargs in [
        ((10, 20), {"num_layers": 2, "batch_first": True}),
        ((3, 4), {"proj_size": 2, "bidirectional": True}),
        ((3, 4), {"bias": False, "num_layers": 3}),
    ]:
        for name in ("RNN", "LSTM", "GRU"):
            if "proj_size" in kwargs and name != "LSTM":
                continue
            ours, theirs = getattr(fastnn.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
            assert repr(ours) == repr(theirs)
            assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == [
                (n, tuple(p.shape)) for n, p in theirs.named_parameters()
            ]
            assert ours._flat_weights_names == theirs._flat_weights_names
            assert [[tuple(p.shape) for p in w] for w in ours.all_weights] == [
                [tuple(p.shape) for p in w] for w in theirs.all_weights
            ]
            bound = 1 / np.sqrt(args[1])
            values = np.concatenate([p.detach().numpy().ravel() for p in ours.parameters()])
            assert np.abs(values).max() <= bound and values.std() > bound / 3
            ours.flatten_parameters()
    assert repr(fastnn.nn.RNN(3, 4, nonlinearity="relu", dropout=0.5, num_layers=2)) == repr(
        torch.nn.RNN(3, 4, nonlinearity="relu", dropout=0.5, num_layers=2)
    )
    for name, kwargs in [("RNNCell", {"bias": False, "nonlinearity": "relu"}), ("LSTMCell", {}), ("GRUCell", {})]:
        ours, theirs = getattr(fastnn.nn, name)(3, 4, **kwargs), getattr(torch.nn, name)(3, 4, **kwargs)
        assert repr(ours) == repr(theirs)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == [
            (n, tuple(p.shape)) for n, p in theirs.named_parameters()
        ]


def test_init_draws_in_order_from_the_generator():
    fastnn.manual_seed(11)
    m = fastnn.nn.LSTM(3, 4, num_layers=2)
    fastnn.manual_seed(11)
    bound = 0.5
    for p in m.parameters():
        expected = fastnn.empty(tuple(p.shape)).uniform_(-bound, bound)
        assert p.detach().numpy().tobytes() == expected.detach().numpy().tobytes()


def test_grad_fn_names():
    x = fastnn.randn(3, 2, 4, requires_grad=True)
    for name, node in [("LSTM", "LstmLayerBackward0"), ("GRU", "GruLayerBackward0")]:
        out, _ = getattr(fastnn.nn, name)(4, 5)(fastnn.nn.utils.rnn.pack_padded_sequence(x, [3, 2]))
        assert type(out.data.grad_fn).__name__ == node or out.data.grad_fn.name() == node
    out, _ = fastnn.nn.RNN(4, 5, nonlinearity="relu")(FR.pack_padded_sequence(x, [3, 2]))
    assert out.data.grad_fn.name() == "RnnReluLayerBackward0"


def test_double_backward_refused():
    m = fastnn.nn.GRU(2, 3)
    x = fastnn.randn(2, 1, 2, requires_grad=True)
    out, _ = m(x)
    with pytest.raises(RuntimeError, match="create_graph=True .* is not supported through GruLayerBackward0"):
        fastnn.autograd.grad(out.sum(), x, create_graph=True)


def test_saved_tensors_freed_after_backward():
    m = fastnn.nn.LSTM(2, 3)
    x = fastnn.randn(2, 1, 2, requires_grad=True)
    out, _ = m(x)
    out.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.sum().backward()


@pytest.mark.parametrize(
    "mode,proj", [("RNN_TANH", False), ("RNN_RELU", False), ("LSTM", False), ("LSTM", True), ("GRU", False)]
)
def test_gradcheck_layer_node(mode, proj):
    rng = np.random.default_rng(12)
    H, I, B, G = 3, 2, 3, {"LSTM": 4, "GRU": 3}.get(mode, 1) * 3
    Ho = 2 if proj else H
    batch_sizes = [3, 2, 2, 1]
    arrays = [rng.standard_normal(s) * 0.7 for s in [(8, I), (B, Ho), (B, H), (G, I), (G, Ho), (G,), (G,), (Ho, H)]]
    if mode == "RNN_RELU":  # keep pre-activations away from relu's kink
        arrays[5] += 2.0
    leaves = [fastnn.tensor(a, requires_grad=True) for a in arrays]
    for reverse in (False, True):

        def fn(x, h0, c0, wi, wh, bi, bh, wr, reverse=reverse):
            out = fastnn._C._rnn_layer(
                mode, x, batch_sizes, reverse, h0, c0 if mode == "LSTM" else None, wi, wh, bi, bh, wr if proj else None
            )
            return tuple(t for t in out if t is not None)

        assert fastnn.autograd.gradcheck(fn, leaves)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_gradcheck_cells(name):
    m = getattr(fastnn.nn, name)(2, 3).double()
    x = fastnn.randn(2, 2, dtype=fastnn.float64, requires_grad=True)
    h = fastnn.randn(2, 3, dtype=fastnn.float64, requires_grad=True)
    c = fastnn.randn(2, 3, dtype=fastnn.float64, requires_grad=True)
    if name == "LSTMCell":
        assert fastnn.autograd.gradcheck(lambda x, h, c: m(x, (h, c)), [x, h, c])
    else:
        assert fastnn.autograd.gradcheck(lambda x, h: m(x, h), [x, h])


def test_optimizer_steps_match_torch():
    torch.manual_seed(3)
    tl, tlin = torch.nn.LSTM(4, 6, num_layers=2, batch_first=True), torch.nn.Linear(6, 2)
    fl, flin = fastnn.nn.LSTM(4, 6, num_layers=2, batch_first=True), fastnn.nn.Linear(6, 2)
    for f, t in ((fl, tl), (flin, tlin)):
        f.load_state_dict({k: fastnn.tensor(v.detach().numpy().copy()) for k, v in t.state_dict().items()})
    fopt = fastnn.optim.Adam(list(fl.parameters()) + list(flin.parameters()), lr=0.01)
    topt = torch.optim.Adam(list(tl.parameters()) + list(tlin.parameters()), lr=0.01)
    rng = np.random.default_rng(13)
    for _ in range(5):
        x = rng.standard_normal((3, 7, 4)).astype(np.float32)
        y = rng.integers(0, 2, 3)
        losses = []
        for lib, lstm, lin, opt in ((fastnn, fl, flin, fopt), (torch, tl, tlin, topt)):
            opt.zero_grad()
            out, _ = lstm(lib.tensor(x))
            loss = lib.nn.functional.cross_entropy(lin(out[:, -1]), lib.tensor(y))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert abs(losses[0] - losses[1]) < 1e-5
    tp = dict(tl.named_parameters())
    for n, p in fl.named_parameters():
        assert_close(p, tp[n], atol=1e-5, what=n)


def test_dropout_between_layers():
    m = fastnn.nn.GRU(3, 50, num_layers=2, dropout=0.5)
    plain = fastnn.nn.GRU(3, 50, num_layers=2)
    plain.load_state_dict(m.state_dict())
    x = fastnn.randn(4, 8, 3)
    m.eval()
    assert m(x)[0].detach().numpy().tobytes() == plain(x)[0].detach().numpy().tobytes()
    m.train()
    fastnn.manual_seed(0)
    a = m(x)[0]
    fastnn.manual_seed(0)
    assert m(x)[0].detach().numpy().tobytes() == a.detach().numpy().tobytes()  # the same seed, the same mask
    b = m(x)[0]
    assert a.shape == b.shape == (4, 8, 50)
    assert a.detach().numpy().tobytes() != b.detach().numpy().tobytes()
    assert a.detach().numpy().tobytes() != plain(x)[0].detach().numpy().tobytes()
    # dropout acts on the first layer's output only: a one-layer model ignores it (with torch's warning)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        one = fastnn.nn.LSTM(3, 4, dropout=0.3)
    ref = fastnn.nn.LSTM(3, 4)
    ref.load_state_dict(one.state_dict())
    assert one(x)[0].detach().numpy().tobytes() == ref(x)[0].detach().numpy().tobytes()
    # p = 1 zeroes the second layer's input: its output is then the same for any x
    full = fastnn.nn.RNN(3, 4, num_layers=2, dropout=1.0)
    assert full(x)[0].detach().numpy().tobytes() == full(x * 2)[0].detach().numpy().tobytes()


def test_dropout_statistics():
    # layer 1 passes its input straight through (identity W_ih, zero W_hh, relu): its output is the dropped-out
    # layer-0 output, so dropped units are exact zeros and kept ones are scaled by 1 / (1 - p)
    m = fastnn.nn.RNN(2, 400, num_layers=2, dropout=0.25, bias=False, nonlinearity="relu")
    with fastnn.no_grad():
        m.weight_ih_l1.copy_(fastnn.eye(400))
        m.weight_hh_l1.zero_()
    x = fastnn.rand(3, 1, 2) + 1
    ref = m.eval()(x)[0].detach().numpy()
    out = m.train()(x)[0].detach().numpy()
    live = ref > 0
    dropped = (out == 0) & live
    rate = dropped.sum() / live.sum()
    assert live.sum() > 200 and 0.18 < rate < 0.32
    kept = live & ~dropped
    np.testing.assert_allclose(out[kept], ref[kept] / 0.75, rtol=1e-5)


def test_errors():
    m = fastnn.nn.LSTM(10, 20)
    x = fastnn.randn(5, 3, 10)
    with pytest.raises(
        RuntimeError, match=r"\[LSTM\] input.size\(-1\) must be equal to input_size. Expected 10, got 7"
    ):
        m(fastnn.randn(5, 3, 7))
    with pytest.raises(RuntimeError, match=r"\[LSTM\] Expected hidden\[0\] size \(1, 3, 20\), got \[2, 3, 20\]"):
        m(x, (fastnn.randn(2, 3, 20), fastnn.randn(1, 3, 20)))
    with pytest.raises(RuntimeError, match=r"\[LSTM\] Expected hidden\[1\] size \(1, 3, 20\), got \[1, 3, 21\]"):
        m(x, (fastnn.randn(1, 3, 20), fastnn.randn(1, 3, 21)))
    with pytest.raises(RuntimeError, match=r"\[GRU\] Expected hidden size \(1, 3, 20\), got \[1, 4, 20\]"):
        fastnn.nn.GRU(10, 20)(x, fastnn.randn(1, 4, 20))
    with pytest.raises(ValueError, match=r"\[GRU\] GRU: Expected input to be 2D or 3D, got 4D instead"):
        fastnn.nn.GRU(10, 20)(fastnn.randn(5, 3, 2, 10))
    with pytest.raises(
        RuntimeError,
        match="For unbatched 2-D input, hx and cx should also be 2-D but got "
        r"\(3-D, 3-D\) tensors",
    ):
        m(fastnn.randn(5, 10), (fastnn.randn(1, 3, 20), fastnn.randn(1, 3, 20)))
    with pytest.raises(RuntimeError, match="For batched 3-D input, hx should also be 3-D but got 2-D tensor"):
        fastnn.nn.RNN(10, 20)(x, fastnn.randn(1, 20))
    with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0 in RNN"):
        m(fastnn.randn(0, 3, 10))
    with pytest.raises(ValueError, match=r"RNN input dtype \(fastnn.float64\) does not match weight dtype"):
        m(x.double())
    with pytest.raises(TypeError, match=r"\[LSTM\] hx must be a tuple"):
        m(x, fastnn.randn(1, 3, 20))
    with pytest.raises(TypeError, match=r"\[LSTM\] input must be a Tensor or PackedSequence"):
        m([1, 2])
    for make, msg in [
        (lambda: fastnn.nn.GRU(10, 20, proj_size=3), "proj_size argument is only supported for LSTM"),
        (lambda: fastnn.nn.RNN(10, 20, nonlinearity="x"), "Unknown nonlinearity 'x'"),
        (lambda: fastnn.nn.LSTM(10, 20, dropout=2), "dropout should be a number in range"),
        (lambda: fastnn.nn.LSTM(10, 20, num_layers=0), "num_layers must be greater than zero"),
        (lambda: fastnn.nn.LSTM(10, 0), "hidden_size must be greater than zero"),
        (lambda: fastnn.nn.LSTM(10, 20, proj_size=20), "proj_size has to be smaller than hidden_size"),
        (lambda: fastnn.nn.LSTM(10, 20, proj_size=-1), "proj_size should be a positive integer"),
    ]:
        with pytest.raises(ValueError, match=msg):
            make()
    with pytest.raises(TypeError, match="num_layers should be of type int"):
        fastnn.nn.LSTM(10, 20, num_layers=1.5)
    cell = fastnn.nn.LSTMCell(10, 20)
    with pytest.raises(RuntimeError, match=r"\[LSTMCell\] input has inconsistent input_size: got 7 expected 10"):
        cell(fastnn.randn(3, 7))
    with pytest.raises(RuntimeError, match=r"hidden0 has inconsistent hidden_size: got 21, expected 20"):
        cell(fastnn.randn(3, 10), (fastnn.randn(3, 21), fastnn.randn(3, 20)))
    with pytest.raises(RuntimeError, match=r"Input batch size 3 doesn't match hidden1 batch size 2"):
        cell(fastnn.randn(3, 10), (fastnn.randn(3, 20), fastnn.randn(2, 20)))
    with pytest.raises(ValueError, match=r"GRUCell: Expected input to be 1D or 2D, got 3D instead"):
        fastnn.nn.GRUCell(10, 20)(x)
    # the private op checks shapes itself (never reads out of bounds)
    w = fastnn.randn(4, 2)
    with pytest.raises(ValueError, match=r"\[RNN\] batch_sizes sum to 3 but the input has 4 rows"):
        fastnn._C._rnn_layer(
            "RNN_TANH",
            fastnn.randn(4, 2),
            [2, 1],
            False,
            fastnn.zeros(2, 4),
            None,
            w,
            fastnn.randn(4, 4),
            None,
            None,
            None,
        )
    with pytest.raises(ValueError, match=r"non-increasing"):
        fastnn._C._rnn_layer(
            "RNN_TANH",
            fastnn.randn(3, 2),
            [1, 2],
            False,
            fastnn.zeros(1, 4),
            None,
            w,
            fastnn.randn(4, 4),
            None,
            None,
            None,
        )
    with pytest.raises(ValueError, match=r"expected weight_hh of shape"):
        fastnn._C._rnn_layer(
            "RNN_TANH",
            fastnn.randn(3, 2),
            [3],
            False,
            fastnn.zeros(3, 4),
            None,
            w,
            fastnn.randn(4, 3),
            None,
            None,
            None,
        )


def test_packing_functions_match_torch():
    rng = np.random.default_rng(14)
    for lengths, sort, bf in [([5, 3, 3, 1], True, False), ([2, 5, 1, 4], False, True), ([1, 1, 1, 1], True, True)]:
        x = rng.standard_normal((4, 5, 2) if bf else (5, 4, 2)).astype(np.float32)
        fx, tx = leaf("f", x), leaf("t", x)
        fp = FR.pack_padded_sequence(fx, lengths, batch_first=bf, enforce_sorted=sort)
        tp = TR.pack_padded_sequence(tx, torch.tensor(lengths), batch_first=bf, enforce_sorted=sort)
        assert_close(fp.data, tp.data)
        assert fp.batch_sizes.tolist() == tp.batch_sizes.tolist()
        for a, b in ((fp.sorted_indices, tp.sorted_indices), (fp.unsorted_indices, tp.unsorted_indices)):
            assert (a is None and b is None) or a.tolist() == b.tolist()
        for total in (None, 7):
            fo, fl = FR.pad_packed_sequence(fp, batch_first=not bf, padding_value=2.5, total_length=total)
            to, tl = TR.pad_packed_sequence(tp, batch_first=not bf, padding_value=2.5, total_length=total)
            assert_close(fo, to)
            assert fl.tolist() == tl.tolist()
        w = rng.standard_normal(tuple(to.shape)).astype(np.float32)
        (fo * fastnn.tensor(w)).sum().backward()
        (to * torch.tensor(w)).sum().backward()
        assert_close(fx.grad, tx.grad)
    seqs = [rng.standard_normal((n, 3)).astype(np.float32) for n in (2, 4, 1)]
    for bf, side, value in [(False, "right", 0.0), (True, "left", -1.0)]:
        assert_close(
            FR.pad_sequence([fastnn.tensor(s) for s in seqs], batch_first=bf, padding_value=value, padding_side=side),
            TR.pad_sequence([torch.tensor(s) for s in seqs], batch_first=bf, padding_value=value, padding_side=side),
        )
    fp = FR.pack_sequence([fastnn.tensor(s) for s in seqs], enforce_sorted=False)
    tp = TR.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    assert_close(fp.data, tp.data)
    assert [s.tolist() for s in FR.unpack_sequence(fp)] == [s.tolist() for s in TR.unpack_sequence(tp)]
    assert fp.to(fastnn.float64).data.dtype == fastnn.float64 and fp.to(fastnn.float32) is fp
    assert isinstance(fp, tuple) and fp._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    assert fp.is_cuda is False


def test_packing_errors():
    x = fastnn.randn(4, 3, 2)
    with pytest.raises(RuntimeError, match="`lengths` array must be sorted in decreasing order"):
        FR.pack_padded_sequence(x, [4, 2, 3])
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0"):
        FR.pack_padded_sequence(x, [4, 2, 0])
    with pytest.raises(
        RuntimeError,
        match=r"Expected `len\(lengths\)` to be equal to batch_size, but got 2 "
        r"\(batch_size=3\)",
    ):
        FR.pack_padded_sequence(x, [4, 2])
    with pytest.raises(
        ValueError,
        match=r"\[pack_padded_sequence\] the longest length is 5 but the input has "
        "only 4 time steps",
    ):
        FR.pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(ValueError, match="Expected total_length to be at least the length of the longest sequence"):
        FR.pad_packed_sequence(FR.pack_padded_sequence(x, [4, 2, 1]), total_length=3)
    with pytest.raises(RuntimeError, match="Expected padding_side to be one of left or right, but got mid."):
        FR.pad_sequence([x[0]], padding_side="mid")
    with pytest.raises(RuntimeError, match="received an empty list of sequences"):
        FR.pad_sequence([])
    with pytest.raises(TypeError, match=r"\[pack_padded_sequence\] 'lengths' must"):
        FR.pack_padded_sequence(x, [4.5, 2, 1])


def lstm_training(threads, steps=3):
    fastnn.set_num_threads(threads)
    fastnn.manual_seed(5)
    lstm, head = fastnn.nn.LSTM(16, 48, num_layers=2, bidirectional=True, dropout=0.2), fastnn.nn.Linear(96, 3)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = fastnn.optim.SGD(params, lr=0.1, momentum=0.9)
    losses = []
    for _ in range(steps):
        x = fastnn.randn(30, 40, 16)
        y = fastnn.randint(0, 3, (40,))
        opt.zero_grad()
        out, _ = lstm(x)
        loss = fastnn.nn.functional.cross_entropy(head(out[-1]), y)
        loss.backward()
        opt.step()
        losses.append(loss.detach().numpy().tobytes())
    return [p.detach().numpy().tobytes() for p in params], losses


@pytest.mark.slow
def test_lstm_training_bitwise_identical_across_thread_counts():
    before = fastnn.get_num_threads()
    try:
        one, two, three = lstm_training(1), lstm_training(2), lstm_training(3)
    finally:
        fastnn.set_num_threads(before)
    for other, n in ((two, 2), (three, 3)):
        assert other[1] == one[1], f"losses differ between 1 and {n} threads"
        for i, (a, b) in enumerate(zip(one[0], other[0])):
            assert a == b, f"parameter {i} differs between 1 and {n} threads"


def test_float32_tanh_gate_accuracy():
    # identity input weight, zero recurrence, no bias: the layer's output is the kernel's tanh of the input
    m = fastnn.nn.RNN(1, 1, bias=False)
    with fastnn.no_grad():
        m.weight_ih_l0.fill_(1.0)
        m.weight_hh_l0.zero_()
    x = np.concatenate(
        [
            np.linspace(-12, 12, 100001),
            np.logspace(-30, 1, 2000),
            -np.logspace(-30, 1, 2000),
            [0.0, -0.0, np.inf, -np.inf, np.nan],
        ]
    ).astype(np.float32)
    with fastnn.no_grad():
        y = m(fastnn.tensor(x).reshape(1, -1, 1))[0].numpy().ravel()
    exact = np.tanh(x[:-1].astype(np.float64))
    ulps = np.abs(y[:-1] - exact) / np.spacing(np.abs(exact).astype(np.float32))
    assert ulps.max() <= 2.0
    assert np.isnan(y[-1]) and y[-3] == 1 and y[-2] == -1
