"""fastnn.utils.viz.make_dot: the drawn graph is torch's graph (node names, parameters, edges), as a picture."""

import re
import shutil
from collections import Counter

import pytest

import fastnn
from fastnn.train import LeNet

torch = pytest.importorskip("torch")
pytest.importorskip("graphviz")
from fastnn.utils.viz import make_dot  # noqa: E402


def torch_graph(outputs, params):
    """(Counter of node labels, Counter of (from, to) label pairs) of torch's graph, walked with next_functions."""
    names = {id(v): k for k, v in params.items()}

    def label(fn):
        v = getattr(fn, "variable", None)
        return fn.name() if v is None else f"{names[id(v)]}\n({', '.join(map(str, v.shape))})"

    nodes, edges, seen = Counter(), Counter(), set()
    stack = [t.grad_fn for t in outputs]
    keep = list(stack)  # holds the node objects so their ids stay unique
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        nodes[label(fn)] += 1
        for child, _ in fn.next_functions:
            if child is not None:
                keep.append(child)
                edges[(label(child), label(fn))] += 1
                stack.append(child)
    return nodes, edges


def drawn_graph(dot):
    """(nodes without the outputs, edges between them, output labels, edges into outputs) read from the Digraph."""
    labels, outputs, edges = {}, set(), []
    for line in dot.body:
        node = re.match(r'\t(\d+) \[label=("(?:[^"\\]|\\.)*"|\S+?)( fillcolor=(\S+))?\]\n$', line, re.S)
        edge = re.match(r"\t(\d+) -> (\d+)\n$", line)
        if node:
            labels[node.group(1)] = node.group(2).strip('"')
            if node.group(4) == "darkolivegreen1":
                outputs.add(node.group(1))
        else:
            assert edge, line
            edges.append(edge.groups())
    nodes = Counter(v for k, v in labels.items() if k not in outputs)
    inner = Counter((labels[a], labels[b]) for a, b in edges if b not in outputs)
    into_outputs = Counter((labels[a], labels[b]) for a, b in edges if b in outputs)
    return nodes, inner, sorted(labels[k] for k in outputs), into_outputs


class TorchLeNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = torch.nn.Conv2d(1, 6, 5), torch.nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = torch.nn.Linear(400, 120), torch.nn.Linear(120, 84), torch.nn.Linear(84, 10)

    def forward(self, x):
        F = torch.nn.functional
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = torch.flatten(F.max_pool2d(F.relu(self.conv2(x)), 2), 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def test_lenet_loss_graph_is_torchs_graph():
    net, tnet = LeNet(), TorchLeNet()
    loss = fastnn.nn.CrossEntropyLoss()(net(fastnn.randn(2, 1, 32, 32)), fastnn.tensor([1, 2]))
    tloss = torch.nn.CrossEntropyLoss()(tnet(torch.randn(2, 1, 32, 32)), torch.tensor([1, 2]))
    nodes, edges, outputs, into = drawn_graph(make_dot(loss, params=dict(net.named_parameters())))
    assert (nodes, edges) == torch_graph([tloss], dict(tnet.named_parameters()))
    assert nodes["conv1.weight\n(6, 1, 5, 5)"] == 1 and nodes["AddmmBackward0"] == 3 and nodes["ReluBackward0"] == 4
    assert outputs == ["output\n()"] and into == Counter({("NllLossBackward0", "output\n()"): 1})


def test_tuple_of_outputs_shares_one_graph():
    x, tx = fastnn.randn(3, requires_grad=True), torch.randn(3, requires_grad=True)
    y, ty = x * 2, tx * 2
    outs, touts = (y.sum(), y.exp().mean()), (ty.sum(), ty.exp().mean())
    nodes, edges, outputs, into = drawn_graph(make_dot(outs, params={"x": x}))
    assert (nodes, edges) == torch_graph(touts, {"x": tx})
    assert nodes["MulBackward0"] == 1 and nodes["x\n(3)"] == 1
    assert outputs == ["output\n()", "output\n()"]
    assert into == Counter({("SumBackward0", "output\n()"): 1, ("MeanBackward0", "output\n()"): 1})


def test_unnamed_parameters_show_their_shape():
    w = fastnn.randn(2, 3, requires_grad=True)
    nodes, _, _, _ = drawn_graph(make_dot([(w * w).sum()]))
    assert nodes == Counter({"SumBackward0": 1, "MulBackward0": 1, "\n(2, 3)": 1})


@pytest.mark.skipif(shutil.which("dot") is None, reason="rendering needs Graphviz's dot program (CI installs it)")
def test_renders_svg_with_the_names():
    net = LeNet()
    loss = fastnn.nn.CrossEntropyLoss()(net(fastnn.randn(2, 1, 32, 32)), fastnn.tensor([1, 2]))
    svg = make_dot(loss, params=dict(net.named_parameters())).pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for name in (
        "NllLossBackward0",
        "ConvolutionBackward0",
        "MaxPool2DWithIndicesBackward0",
        "fc3.bias",
        "(6, 1, 5, 5)",
    ):
        assert name in svg, name


def test_bad_arguments_are_refused():
    loss = (fastnn.randn(3, requires_grad=True) * 2).sum()
    for bad in (3, (), [loss, 1.5], "loss"):
        with pytest.raises(TypeError, match=r"\[make_dot\] var must be a tensor"):
            make_dot(bad)
    for bad in ([loss], {"w": 1.0}, {1: loss}):
        with pytest.raises(TypeError, match=r"\[make_dot\] params must be a dict of name -> tensor"):
            make_dot(loss, params=bad)
    with pytest.raises(TypeError, match="show_attrs"):
        make_dot(loss, show_attrs=True)


def test_missing_graphviz_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "graphviz", None)
    with pytest.raises(ImportError, match=r"\[make_dot\] needs the graphviz package \(pip install graphviz"):
        make_dot((fastnn.randn(3, requires_grad=True) * 2).sum())
