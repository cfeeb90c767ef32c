"""fastnn.onnx.export: the graph passes onnx.checker and onnxruntime computes what fastnn computes (within 1e-5),
at the example's batch size and another one through a dynamic batch axis; unsupported ops and bad arguments are
refused with errors naming them."""

import io

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


class TutorialLeNet(nn.Module):
    """The "Neural Networks" tutorial's forward: functional calls, x.size(0) in a view, Python arithmetic."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class ViewLeNet(TutorialLeNet):
    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, 16 * 5 * 5)
        y = F.relu(self.fc1(x))
        return self.fc3(F.relu(self.fc2(y)) * 2 - y[:, :84] / 4 + 1)


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(inplace=True),
            nn.Dropout2d(0.2),
            nn.AvgPool2d(2),
            nn.Conv2d(8, 16, 3, padding="same", bias=False),
            nn.BatchNorm2d(16),
            nn.SiLU(),
            nn.MaxPool2d(3, stride=1, padding=1),
            nn.AdaptiveAvgPool2d((2, 2)),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(64, 20), nn.BatchNorm1d(20), nn.ELU(), nn.Linear(20, 5)
        )
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        f = self.features(x)
        return self.head(f) + torch_flatten(self.pool(f), 1).mean(1, keepdim=True)


def torch_flatten(x, d):
    return fastnn.flatten(x, d)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2, self.l3, self.l4 = nn.Linear(12, 32), nn.Linear(32, 32), nn.Linear(32, 16), nn.Linear(16, 6)
        self.acts = nn.ModuleList([nn.GELU(), nn.Tanh(), nn.LeakyReLU(0.1)])

    def forward(self, x):
        x = self.acts[0](self.l1(x))
        x = self.acts[1](self.l2(x)) + F.gelu(x, approximate="tanh")
        x = self.acts[2](self.l3(x))
        x = F.sigmoid(x) * F.softplus(x, beta=2.0, threshold=1.0) + F.hardtanh(x) + F.relu6(x)
        return nn.Softmax(dim=1)(self.l4(x)), F.log_softmax(self.l4(x), dim=-1)


def export(model, *inputs, **kwargs):
    buf = io.BytesIO()
    fastnn.onnx.export(model, inputs, buf, **kwargs)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    return proto, ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])


def check_against_fastnn(model, make_input, sizes=(4, 7), **kwargs):
    fastnn.manual_seed(0)
    dynamic = {"input": {0: "batch"}}
    proto, sess = export(model, make_input(sizes[0]), input_names=["input"], dynamic_axes=dynamic, **kwargs)
    model.eval()
    for n in sizes:
        x = make_input(n)
        got = sess.run(None, {"input": x.numpy()})
        with fastnn.no_grad():
            want = model(x)
        want = want if isinstance(want, tuple) else (want,)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == tuple(w.shape)
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-5)
    return proto


def test_tutorial_lenet_matches_onnxruntime_at_two_batch_sizes():
    fastnn.manual_seed(1)
    proto = check_against_fastnn(TutorialLeNet(), lambda n: fastnn.randn(n, 1, 32, 32))
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert {i.name for i in proto.graph.initializer} >= {"conv1.weight", "conv1.bias", "fc3.weight", "fc3.bias"}
    out_dims = proto.graph.output[0].type.tensor_type.shape.dim
    assert not out_dims[0].HasField("dim_value") and out_dims[1].dim_value == 10  # dynamic, as the graph computes


def test_lenet_with_view_minus_one_slices_and_arithmetic():
    fastnn.manual_seed(2)
    check_against_fastnn(ViewLeNet(), lambda n: fastnn.randn(n, 1, 32, 32))


def test_train_job_lenet_with_flatten():
    from fastnn.train import LeNet

    fastnn.manual_seed(3)
    check_against_fastnn(LeNet(), lambda n: fastnn.randn(n, 1, 32, 32), sizes=(1, 5))


def trained_a_little(model, x):
    """A few SGD steps in training mode, so batch norm's running statistics are not the initial ones."""
    opt = fastnn.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        out = model(x)
        loss = sum(o.sum() for o in out) if isinstance(out, tuple) else out.pow(2).mean()
        loss.backward()
        opt.step()
    return model


def test_convnet_with_batch_norm_dropout_and_pools_in_eval_mode():
    fastnn.manual_seed(4)
    model = trained_a_little(ConvNet(), fastnn.randn(6, 3, 12, 12))
    assert model.training
    check_against_fastnn(model, lambda n: fastnn.randn(n, 3, 12, 12), sizes=(3, 8))
    assert model.training is False  # check_against_fastnn put it in eval; export itself restores the mode:
    model.train()
    model.features[1].eval()  # a frozen batch norm
    export(model, fastnn.randn(2, 3, 12, 12))
    assert model.training and model.features[0].training and not model.features[1].training


def test_mlp_activations_and_two_outputs():
    fastnn.manual_seed(5)
    proto = check_against_fastnn(MLP(), lambda n: fastnn.randn(n, 12) * 3, output_names=["probs"])
    assert [o.name for o in proto.graph.output] == ["probs", "output_1"]


@pytest.mark.parametrize("opset", [13, 17, 20])
def test_opsets(opset):
    fastnn.manual_seed(6)
    model = nn.Sequential(
        nn.Linear(5, 8), nn.GELU(), nn.LayerNorm(8) if opset >= 17 else nn.Identity(), nn.Linear(8, 3)
    )
    proto = check_against_fastnn(model, lambda n: fastnn.randn(n, 5), opset_version=opset)
    assert proto.opset_import[0].version == opset
    check_against_fastnn(TutorialLeNet(), lambda n: fastnn.randn(n, 1, 32, 32), opset_version=opset)


def test_more_layers_and_ops():
    fastnn.manual_seed(7)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 6)
            self.conv = nn.Conv1d(6, 4, 3, padding=1, padding_mode="reflect")
            self.norm = nn.LayerNorm(4)
            self.act = nn.PReLU(4)

        def forward(self, idx):
            x = self.emb(idx).transpose(1, 2)  # (N, 6, L)
            x = self.act(self.conv(x))
            x = F.max_pool1d(x, 2)
            x = self.norm(x.permute(0, 2, 1))  # (N, L/2, 4)
            y = fastnn.cat([x, x.unsqueeze(1).squeeze(1) * 0.5], dim=-1)
            y = y.reshape(y.shape[0], -1).contiguous()
            y = fastnn.where(y > 0.1, y, y * 0.1) + (y <= 0.5).float() - (y != y * 2).double().float()
            return fastnn.clamp(y, min=-1.0) @ fastnn.ones(y.shape[1], 3) + F.mish(y).sum(-1, keepdim=True)

    model = Net()
    proto, sess = export(model, fastnn.randint(0, 20, (2, 8)), dynamic_axes={"idx": [0]})
    assert proto.graph.input[0].name == "idx"
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "idx_dynamic_axes_1"
    for n in (2, 5):
        idx = fastnn.randint(0, 20, (n, 8))
        np.testing.assert_allclose(
            sess.run(None, {"idx": idx.numpy()})[0], model(idx).detach().numpy(), rtol=1e-5, atol=1e-5
        )


def test_export_to_a_path_with_options(tmp_path, capsys):
    fastnn.manual_seed(8)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    path = tmp_path / "m.onnx"
    fastnn.onnx.export(
        model, fastnn.randn(2, 3), str(path), verbose=True, do_constant_folding=True, keep_initializers_as_inputs=True
    )
    assert "Gemm" in capsys.readouterr().out
    proto = onnx.load(str(path))
    assert {i.name for i in proto.graph.input} == {"input", "0.weight", "0.bias"}
    fastnn.onnx.export(model, (fastnn.randn(2, 3),), path, export_params=False)
    proto = onnx.load(str(path))
    assert not proto.graph.initializer and [i.name for i in proto.graph.input] == ["input", "0.weight", "0.bias"]


def test_exporting_leaves_fastnn_unpatched():
    before = (
        fastnn.Tensor.view,
        fastnn.Tensor.__add__,
        F.relu,
        fastnn.flatten,
        nn.Module.__call__,
        nn.Conv2d._conv,
        fastnn.Tensor.shape,
    )
    export(TutorialLeNet(), fastnn.randn(1, 1, 32, 32))
    with pytest.raises(NotImplementedError):
        export(nn.Sequential(nn.Linear(2, 2), nn.Softshrink()), fastnn.randn(1, 2))
    after = (
        fastnn.Tensor.view,
        fastnn.Tensor.__add__,
        F.relu,
        fastnn.flatten,
        nn.Module.__call__,
        nn.Conv2d._conv,
        fastnn.Tensor.shape,
    )
    assert all(a is b or a == b for a, b in zip(before, after))


# ---- errors ----
def test_unsupported_ops_are_named():  # (the batch axis is dynamic)
    class Net(nn.Module):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            return self.fn(self.lin(x))

    x = fastnn.randn(2, 4)
    cases = [
        (lambda y: y.cumsum(1), r"Tensor\.cumsum is not supported"),
        (lambda y: fastnn.sort(y, 1)[0], r"fastnn\.sort is not supported"),
        (nn.Softshrink(), r"fastnn\._C\._softshrink is not supported .*in module 'fn'"),
        (lambda y: y * float(y.sum()), r"Tensor\.__float__ on a traced tensor depends on its values"),
        (lambda y: y.relu_().view(8).relu_(), r"in-place op on a tensor that shares memory"),
        (lambda y: F.dropout(y, 0.5), r"F\.dropout with training=True is random"),
        (lambda y: F.max_pool1d(y.unsqueeze(1), 2, return_indices=True)[0], r"return_indices=True"),
        (lambda y: y[y > 0], r"indexing a traced tensor with tensors"),
        (lambda y: F.relu(y.view(8), inplace=True).view(2, 4) + y, r"functional\.relu: an in-place op on a tensor"),
        (lambda y: y.__setitem__(0, 1.0), r"assigning into a traced tensor"),
        (
            lambda y: y[:, :2] @ fastnn.eye(y.size(0))[:2],
            r"fastnn\.eye with a size read from a dynamic axis \(x\.size\(d\), x\.shape\[d\]\) is not supported",
        ),
    ]
    for fn, match in cases:
        with pytest.raises(NotImplementedError, match=r"^\[onnx\.export\] .*" + match):
            export(Net(fn), x, dynamic_axes={"x": [0]})


def test_batch_norm_without_running_stats_is_refused():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2, track_running_stats=False))
    with pytest.raises(NotImplementedError, match=r"^\[onnx\.export\] .*batch_norm with batch statistics"):
        export(model, fastnn.randn(2, 1, 5, 5))


def test_bad_arguments():
    model, x = nn.Linear(2, 2), fastnn.randn(1, 2)
    buf = io.BytesIO()
    cases = [
        (TypeError, r"model must be a fastnn\.nn\.Module", lambda: fastnn.onnx.export(lambda t: t, (x,), buf)),
        (TypeError, r"args must be a Tensor or a tuple", lambda: fastnn.onnx.export(model, "x", buf)),
        (ValueError, r"f \(a path or a binary file object\) is required", lambda: fastnn.onnx.export(model, x)),
        (TypeError, r"f must be a path", lambda: fastnn.onnx.export(model, x, 3)),
        (ValueError, r"opset_version 9 is not supported", lambda: fastnn.onnx.export(model, x, buf, opset_version=9)),
        (TypeError, r"opset_version must be an int", lambda: fastnn.onnx.export(model, x, buf, opset_version="17")),
        (TypeError, r"input_names must be a list", lambda: fastnn.onnx.export(model, x, buf, input_names="x")),
        (
            ValueError,
            r"2 input_names given for 1 tensors",
            lambda: fastnn.onnx.export(model, x, buf, input_names=["a", "b"]),
        ),
        (
            ValueError,
            r"dynamic_axes names \['nope'\]",
            lambda: fastnn.onnx.export(model, x, buf, dynamic_axes={"nope": [0]}),
        ),
        (
            IndexError,
            r"dynamic axis 2 of 'input' is out of range",
            lambda: fastnn.onnx.export(model, x, buf, dynamic_axes={"input": [2]}),
        ),
        (
            TypeError,
            r"dynamic_axes\['input'\] must map axes",
            lambda: fastnn.onnx.export(model, x, buf, dynamic_axes={"input": {0: 1}}),
        ),
        (NotImplementedError, r"dynamo=True is not supported", lambda: fastnn.onnx.export(model, x, buf, dynamo=True)),
        (
            NotImplementedError,
            r"exporting in training mode",
            lambda: fastnn.onnx.export(model, x, buf, training=fastnn.onnx.TrainingMode.TRAINING),
        ),
        (
            NotImplementedError,
            r"exporting in training mode",
            lambda: fastnn.onnx.export(model, x, buf, training=fastnn.onnx.TrainingMode.PRESERVE),
        ),
        (NotImplementedError, r"keyword inputs", lambda: fastnn.onnx.export(model, x, buf, kwargs={"y": x})),
        (
            NotImplementedError,
            r"dynamic_shapes=\{\} is not supported",
            lambda: fastnn.onnx.export(model, x, buf, dynamic_shapes={}),
        ),
        (TypeError, r"got an unexpected keyword argument 'bogus'", lambda: fastnn.onnx.export(model, x, buf, bogus=1)),
        (TypeError, r"verbose must be a bool", lambda: fastnn.onnx.export(model, x, buf, verbose="yes")),
        (
            ValueError,
            r"names \['x'\] are used twice",
            lambda: fastnn.onnx.export(model, x, buf, input_names=["x"], output_names=["x"]),
        ),
        (
            ValueError,
            r"names \['weight'\] are used twice",
            lambda: fastnn.onnx.export(model, x, buf, output_names=["weight"]),
        ),
    ]
    for exc, match, call in cases:
        with pytest.raises(exc, match=r"^\[onnx\.export\] " + match):
            call()
    model.eval()
    fastnn.onnx.export(model, x, buf, training=fastnn.onnx.TrainingMode.PRESERVE)  # eval model: nothing to refuse


def test_train_job_exports_the_trained_model(tmp_path, capsys):
    pytest.importorskip("sklearn", reason="the Digits dataset ships with scikit-learn")
    pytest.importorskip("tqdm")
    pytest.importorskip("matplotlib")
    from fastnn import train

    path = tmp_path / "lenet.onnx"
    net, _ = train.run(
        train.parse_args(
            [
                "--no-progress",
                "--epochs",
                "1",
                "--checkpoint-dir",
                str(tmp_path / "ck"),
                "--plot",
                str(tmp_path / "p.png"),
                "--export-onnx",
                str(path),
            ]
        )
    )
    assert f"exported ONNX model {path}" in capsys.readouterr().out
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == ["input"] and [o.name for o in proto.graph.output] == ["logits"]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    test_set = fastnn.datasets.Digits(train=False, seed=0)
    images = fastnn.stack([test_set[i][0] for i in range(37)])
    net.eval()
    with fastnn.no_grad():
        want = net(images).numpy()
    np.testing.assert_allclose(sess.run(None, {"input": images.numpy()})[0], want, rtol=1e-5, atol=1e-5)
    with pytest.raises(TypeError, match=r"^\[onnx\.export_trained\] example must be a Tensor"):
        fastnn.onnx.export_trained(net, [1.0], str(path))


class Fn(nn.Module):
    def __init__(self, fn, *layers):
        super().__init__()
        self.fn, self.layers = fn, nn.ModuleList(layers)

    def forward(self, x):
        return self.fn(x, *self.layers)


def unflattened(x):
    return x.reshape(x.shape[0] * 2, x.size(1) // 2).unflatten(0, (-1, 2))


MASKS = (fastnn.linspace(-1, 1, 16).reshape(4, 4), fastnn.eye(4) + fastnn.linspace(-1, 1, 16).reshape(4, 4) > 0.5)
CASES = {  # name: (model, input shape without the batch axis)
    "activations": (
        Fn(
            lambda x: (
                F.softmin(x, 1)
                + F.logsigmoid(x)
                + F.selu(x)
                + F.celu(x, 0.7)
                + F.hardswish(x)
                + F.hardsigmoid(x)
                + F.mish(x)
                + F.softsign(x)
                + F.elu(x, 0.5)
                + F.silu(x)
                + F.relu6(x * 4)
                + F.softplus(x)
                + F.leaky_relu(x)
                + F.hardtanh(x, -0.5, 0.25)
                + nn.Tanhshrink()(x)
            )
        ),
        (7,),
    ),
    "layers": (
        Fn(
            lambda x, a, b, c, d: d(c(b(a(x)))),
            nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
            nn.Conv2d(3, 4, 3, padding=2, dilation=2, padding_mode="replicate", groups=1),
            nn.AdaptiveMaxPool2d((3, 2)),
            nn.Unflatten(1, (2, 2)),
        ),
        (2, 6, 4),
    ),
    "pool1d": (
        Fn(
            lambda x, a, b: (
                b(a(x))
                + F.adaptive_max_pool1d(x, 1).mean()
                + F.avg_pool1d(x, 3, 1, 1, count_include_pad=False)[..., :3]
            ),
            nn.AvgPool1d(2),
            nn.AdaptiveAvgPool1d(3),
        ),
        (3, 6),
    ),
    "tensor_ops": (
        Fn(
            lambda x: (
                ((x.T.T @ x.transpose(1, 2)).bmm(x) / 3).pow(2).clamp(max=2.0).exp().log().sqrt()
                + x.abs().reciprocal().clamp(0, 5)
                - (1 - x) * (2 / (x.abs() + 1))
                + x.sum((1, 2), True)
                + fastnn.stack([x, -x], 1).sum(1)
                + x.argmax(-1, keepdim=True).float()
                + x[:, None, ..., 1:3].squeeze(1).mean(-1, keepdim=True)
            )
        ),
        (3, 3),
    ),
    "in_place": (Fn(lambda x: (x.clone().add_(1).mul_(2) + 0).relu_().sub_(x).div_(3)), (4,)),
    "unflatten_size_arithmetic": (
        Fn(lambda x: unflattened(x).flatten(0, 1).reshape(x.size(0), -1) + unflattened(x).flatten(1, 2).view_as(x)),
        (8,),
    ),
    "sizes_in_factories": (
        Fn(
            lambda x: (
                x
                + fastnn.zeros(x.size(0), 8)
                + fastnn.ones(x.shape[0], 1) * 2
                + fastnn.arange(x.size(1)).float()
                + fastnn.ones(1, 8).expand(x.size(0), -1)
            )
        ),
        (8,),
    ),
    "slices_and_likes": (
        Fn(
            lambda x: (
                fastnn.cat([x[1:], x[:1]])
                + fastnn.cat([x[: x.size(0)][:, : x.size(1) // 2]] * 2, 1)
                + fastnn.zeros_like(x)
                + x.new_ones(x.size(0), 1)
                + fastnn.ones_like(x[:, :1])
                + x[x.size(0) - 1 :].mean()
                + x.new_zeros(x.shape[:-1] + (1,))
                + (x > 0).sum(1, keepdim=True)
            )
        ),
        (6,),
    ),
    "attention": (
        Fn(
            lambda x: (
                F.scaled_dot_product_attention(x, x * 2, x, is_causal=True)
                + F.scaled_dot_product_attention(x, x, x, attn_mask=MASKS[0])
                + F.scaled_dot_product_attention(x, x, -x, attn_mask=MASKS[1], scale=0.3)
            )
        ),
        (2, 4, 8),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_more_conversions_match_onnxruntime(name):
    fastnn.manual_seed(9)
    model, shape = CASES[name]
    check_against_fastnn(model, lambda n: fastnn.randn(n, *shape), sizes=(2, 5))


class SeqClassifier(nn.Module):
    """Embedding -> LSTM (batch_first, given initial states) -> the last step -> Linear; a GRU and an RNN beside."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(30, 8)
        self.lstm = nn.LSTM(8, 6, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(12, 5, bidirectional=True)
        self.rnn = nn.RNN(10, 4, nonlinearity="relu", bias=False)
        self.fc = nn.Linear(4 + 12, 3)

    def forward(self, idx):
        x = self.emb(idx)
        h0 = fastnn.ones(4, 1, 6).expand(4, x.size(0), 6) * 0.1
        out, (h, c) = self.lstm(x, (h0, h0 * 2))
        g, hg = self.gru(out.transpose(0, 1), h[-2:, :, 1:])
        r, _ = self.rnn(g)
        return self.fc(fastnn.cat([r[-1], out[:, -1]], 1)) + c.sum() * 0 + hg.mean(0).sum(1, keepdim=True)


def test_recurrent_layers_match_onnxruntime():
    fastnn.manual_seed(10)
    model = SeqClassifier()
    proto, sess = export(model, fastnn.randint(0, 30, (2, 7)), dynamic_axes={"idx": {0: "batch", 1: "time"}})
    assert {"LSTM", "GRU", "RNN"} <= {n.op_type for n in proto.graph.node}
    for shape in ((2, 7), (5, 3)):
        idx = fastnn.randint(0, 30, shape)
        np.testing.assert_allclose(
            sess.run(None, {"idx": idx.numpy()})[0], model(idx).detach().numpy(), rtol=1e-5, atol=1e-5
        )


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
def test_unbatched_recurrent_input(cls):
    fastnn.manual_seed(11)
    model = cls(3, 4, num_layers=2).eval()
    _, sess = export(model, fastnn.randn(5, 3), dynamic_axes={"input": [0]})
    x = fastnn.randn(8, 3)
    got, want = sess.run(None, {"input": x.numpy()}), model(x)
    want = [want[0], *(want[1] if cls is nn.LSTM else (want[1],))]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-5, atol=1e-5)


def test_attention_and_transformer_layers_trace_through():
    fastnn.manual_seed(12)
    model = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
    check_against_fastnn(model, lambda n: fastnn.randn(n, 5, 8), sizes=(2, 3))
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    check_against_fastnn(Fn(lambda x, m: m(x, x * 2, x)[0], mha), lambda n: fastnn.randn(n, 4, 8), sizes=(1, 3))


def test_recurrent_refusals():
    with pytest.raises(NotImplementedError, match=r"^\[onnx\.export\] LSTM with proj_size is not supported"):
        export(nn.LSTM(3, 4, proj_size=2), fastnn.randn(2, 1, 3))
    with pytest.raises(NotImplementedError, match=r"^\[onnx\.export\] .*group_norm"):
        export(nn.GroupNorm(2, 4), fastnn.randn(2, 4, 3))


class TinyGPT(nn.Module):
    """examples/tiny_gpt.py's shape: positions from arange(T), causal attention, LayerNorm, tied weights."""

    def __init__(self, vocab=11, d=8, heads=2):
        super().__init__()
        self.heads = heads
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(16, d)
        self.qkv, self.proj, self.norm = nn.Linear(d, 3 * d), nn.Linear(d, d), nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.head.weight = self.tok.weight

    def forward(self, idx):
        x = self.tok(idx) + self.pos(fastnn.arange(idx.size(1)))
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in self.qkv(x).split(C, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        return self.head(self.norm(x + self.proj(y)))


def test_gpt_like_model_with_dynamic_batch_and_time():
    fastnn.manual_seed(13)
    model = TinyGPT().eval()
    proto, sess = export(model, fastnn.randint(0, 11, (2, 5)), dynamic_axes={"idx": {0: "batch", 1: "time"}})
    names = [i.name for i in proto.graph.initializer]
    assert "tok.weight" in names and "head.weight" not in names  # the tied weight, once
    for shape in ((2, 5), (3, 9)):
        idx = fastnn.randint(0, 11, shape)
        np.testing.assert_allclose(
            sess.run(None, {"idx": idx.numpy()})[0], model(idx).detach().numpy(), rtol=1e-5, atol=1e-5
        )
