"""The README's Python examples run as written (the complete training script included)."""

import contextlib
import io
import os
import re

import pytest

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


def python_blocks():
    with open(README) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


def run_block(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    return out.getvalue()


def test_readme_has_the_examples():
    blocks = python_blocks()
    assert len(blocks) >= 2
    assert any("DataLoader" in b and "optimizer.step()" in b for b in blocks)


def test_quick_example_prints_what_the_readme_says(tmp_path, monkeypatch):
    block = next(b for b in python_blocks() if "F.cross_entropy" in b)
    out = run_block(block, tmp_path, monkeypatch)
    assert re.match(r"tensor\(2\.\d{4}, grad_fn=<NllLossBackward0>\) <NllLossBackward0 object at 0x[0-9a-f]+>", out), out


@pytest.mark.slow
def test_training_script_trains_and_saves(tmp_path, monkeypatch):
    pytest.importorskip("sklearn", reason="the Digits dataset ships with scikit-learn")
    block = next(b for b in python_blocks() if "DataLoader" in b)
    with open(os.path.join(os.path.dirname(README), "examples", "train_digits.py")) as f:
        assert block in f.read(), "README's training script and examples/train_digits.py have diverged"
    out = run_block(block, tmp_path, monkeypatch)
    last = out.strip().splitlines()[-1]
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", last).group(1))
    assert accuracy >= 95.0, out
    assert (tmp_path / "digits_lenet.safetensors").stat().st_size > 10000


def test_docs_training_script_is_the_example():
    with open(os.path.join(os.path.dirname(README), "docs", "training.md")) as f:
        block = re.findall(r"```python\n(.*?)```", f.read(), re.S)[0]
    with open(os.path.join(os.path.dirname(README), "examples", "train_digits.py")) as f:
        assert block in f.read(), "docs/training.md's script and examples/train_digits.py have diverged"
