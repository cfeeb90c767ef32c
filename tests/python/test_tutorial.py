"""The tutorial example (examples/tutorial_neural_networks.py) against PyTorch running the same code.

The torch run is the example with its import lines switched to torch. Both runs share torch's random
draws (fastnn.randn replays what torch.randn returned) and torch's initial weights (loaded into the
fastnn net right after ``net = Net()``), so every printed line must agree: the module tree, the
sizes, the tensors to print precision, the grad_fn names (object addresses masked).
"""

import ast
import contextlib
import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from oracle import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "tutorial_neural_networks.py")

IMPORTS = {
    "import fastnn as torch\n": "import torch\n",
    "import fastnn.nn as nn\n": "import torch.nn as nn\n",
    "import fastnn.nn.functional as F\n": "import torch.nn.functional as F\n",
    "import fastnn.optim as optim": "import torch.optim as optim",
}
HOOK = "net = Net()\n"


def example_source():
    with open(EXAMPLE) as f:
        return f.read()


def torch_source(src):
    for ours, theirs in IMPORTS.items():
        assert src.count(ours) == 1, f"the example should contain {ours!r} once"
        src = src.replace(ours, theirs)
    for node in ast.walk(ast.parse(src)):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
        assert not any(n.startswith("fastnn") for n in names), "a fastnn import is left after switching the imports"
    return src


def with_hook(src):
    assert src.count(HOOK) == 1
    return src.replace(HOOK, HOOK + "__after_net__(net)\n")


def run_source(src, after_net):
    """Executes the example's code as __main__; returns (printed text, its globals)."""
    namespace = {"__name__": "__main__", "__file__": EXAMPLE, "__after_net__": after_net}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(with_hook(src), EXAMPLE, "exec"), namespace)
    return out.getvalue(), namespace


@pytest.fixture(scope="module")
def runs():
    """(torch's printed lines, fastnn's printed lines, torch globals, fastnn globals)."""
    src = example_source()
    draws, initial = [], {}
    real_randn = torch.randn

    def recording_randn(*size, **kwargs):
        t = real_randn(*size, **kwargs)
        draws.append(t.detach().numpy().copy())
        return t

    def record_weights(net):
        initial.update({k: v.detach().numpy().copy() for k, v in net.state_dict().items()})

    torch.manual_seed(0)
    torch.randn = recording_randn
    try:
        t_text, t_ns = run_source(torch_source(src), record_weights)
    finally:
        torch.randn = real_randn
    assert len(draws) == 3 and initial

    replay = iter(draws)
    real_fastnn_randn = fastnn.randn

    def replaying_randn(*size, **kwargs):
        shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        a = next(replay)
        assert a.shape == shape, f"fastnn.randn{shape} but torch drew {a.shape} here"
        return fastnn.tensor(a)

    def load_weights(net):
        net.load_state_dict({k: fastnn.tensor(v) for k, v in initial.items()})

    fastnn.randn = replaying_randn
    try:
        f_text, f_ns = run_source(src, load_weights)
    finally:
        fastnn.randn = real_fastnn_randn
    assert next(replay, None) is None, "fastnn drew fewer random tensors than torch"
    return t_text.splitlines(), f_text.splitlines(), t_ns, f_ns


NUMBER = re.compile(r"-?\d+\.\d*(?:e[+-]?\d+)?|-?\d+(?:e[+-]?\d+)?")
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


def unit_in_last_place(token):
    mantissa, _, exponent = token.partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def assert_printed_equal(ours, theirs, what):
    """Same text around the numbers (spacing aside), same numbers to print precision (last digit +-1)."""
    ours, theirs = ADDRESS.sub(" at 0x...>", ours), ADDRESS.sub(" at 0x...>", theirs)
    skeleton = [NUMBER.sub("#", s).replace(" ", "") for s in (ours, theirs)]
    assert skeleton[0] == skeleton[1], f"{what}:\nfastnn: {ours}\ntorch:  {theirs}"
    for a, b in zip(NUMBER.findall(ours), NUMBER.findall(theirs)):
        if a == b:
            continue
        assert ("e" in a) == ("e" in b), f"{what}: {a} vs {b} (one in scientific notation)"
        ulp = max(unit_in_last_place(a), unit_in_last_place(b))
        assert abs(float(a) - float(b)) <= 1.0001 * ulp, f"{what}: {a} vs torch's {b}\n{ours}\n{theirs}"


def sections(lines):
    """Splits the printed output into the tutorial's items (multi-line tensors kept together)."""
    items, current = [], []
    for line in lines:
        if current and not line.startswith(" ") and not line.startswith(")"):
            items.append("\n".join(current))
            current = []
        current.append(line)
    if current:
        items.append("\n".join(current))
    return items


def test_same_number_of_printed_items(runs):
    t_lines, f_lines, _, _ = runs
    assert len(sections(f_lines)) == len(sections(t_lines)) == 12, "\n".join(f_lines)


def test_module_tree_identical(runs):
    t_lines, f_lines, _, _ = runs
    assert sections(f_lines)[0] == sections(t_lines)[0]
    assert sections(f_lines)[0].startswith("Net(\n  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))")


def test_parameter_count_and_size(runs):
    t_lines, f_lines, _, _ = runs
    t, f = sections(t_lines), sections(f_lines)
    assert f[1] == t[1] == "10"
    assert t[2] == "torch.Size([6, 1, 5, 5])"
    assert f[2] == "fastnn.Size([6, 1, 5, 5])"


def test_output_tensor(runs):
    t_lines, f_lines, _, _ = runs
    t, f = sections(t_lines)[3], sections(f_lines)[3]
    assert f.endswith("grad_fn=<AddmmBackward0>)") and f.startswith("tensor([[")
    assert_printed_equal(f, t, "out")


def test_loss(runs):
    t_lines, f_lines, _, _ = runs
    t, f = sections(t_lines)[4], sections(f_lines)[4]
    assert re.fullmatch(r"tensor\(\d\.\d{4}, grad_fn=<MseLossBackward0>\)", f), f
    assert_printed_equal(f, t, "loss")


def test_grad_fn_chain(runs):
    t_lines, f_lines, _, _ = runs
    t, f = sections(t_lines)[5:8], sections(f_lines)[5:8]
    for a, b in zip(f, t):
        assert re.fullmatch(r"<\w+ object at 0x[0-9a-f]+>", a), a
        assert ADDRESS.sub("", a) == ADDRESS.sub("", b)
    assert [ADDRESS.sub("", a) for a in f] == [
        "<MseLossBackward0 object",
        "<AddmmBackward0 object",
        "<AccumulateGrad object",
    ]


def test_bias_grads(runs):
    t_lines, f_lines, _, _ = runs
    t, f = sections(t_lines)[8:], sections(f_lines)[8:]
    assert f[:3] == t[:3] == ["conv1.bias.grad before backward", "None", "conv1.bias.grad after backward"]
    assert f[3].startswith("tensor([") and "grad_fn" not in f[3]
    assert_printed_equal(f[3], t[3], "conv1.bias.grad")


def test_exact_values_behind_the_prints(runs):
    # What was printed to 4 digits also agrees to float32 accuracy, and so do the parameters after
    # the manual update and the optimizer step at the end of the tutorial.
    _, _, t_ns, f_ns = runs
    for key in ("out", "output", "loss"):
        a, b = f_ns[key].detach().numpy(), t_ns[key].detach().numpy()
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * max(1.0, np.abs(b).max()), err_msg=key)
    for (name, p), q in zip(f_ns["net"].named_parameters(), t_ns["net"].parameters()):
        b = q.detach().numpy()
        np.testing.assert_allclose(p.detach().numpy(), b, rtol=0, atol=1e-5 * np.abs(b).max(), err_msg=name)
        np.testing.assert_allclose(
            p.grad.numpy(),
            q.grad.numpy(),
            rtol=0,
            atol=1e-5 * max(np.abs(q.grad.numpy()).max(), 1e-12),
            err_msg=name + ".grad",
        )


def test_example_runs_standalone():
    env = dict(
        os.environ, PYTHONPATH=os.path.dirname(fastnn.__path__[0]) + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    proc = subprocess.run([sys.executable, EXAMPLE], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    items = sections(proc.stdout.splitlines())
    assert len(items) == 12
    assert items[1:3] == ["10", "fastnn.Size([6, 1, 5, 5])"]
    assert re.fullmatch(r"tensor\(\d\.\d{4}, grad_fn=<MseLossBackward0>\)", items[4])
    assert "fastnn" not in proc.stderr and "Traceback" not in proc.stderr
