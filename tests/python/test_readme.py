"""The README's Python examples run as written (the complete training script included)."""

import contextlib
import io
import os
import re
import subprocess

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
    assert re.match(r"tensor\(2\.\d{4}, grad_fn=<NllLossBackward0>\) <NllLossBackward0 object at 0x[0-9a-f]+>", out), (
        out
    )


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


ROOT = os.path.abspath(os.path.dirname(README))


def readme():
    with open(README) as f:
        return f.read()


def normalized(line):
    """The line's format: numbers replaced by N, runs of spaces by one."""
    return re.sub(r"\d+(\.\d+)?", "N", re.sub(" +", " ", line))


def test_sample_output_is_the_commands_own(tmp_path, monkeypatch, capsys):
    pytest.importorskip("sklearn", reason="the Digits dataset ships with scikit-learn")
    pytest.importorskip("matplotlib")
    from fastnn import train

    blocks = re.findall(r"^```(\w*)\n(.*?)^```$", readme(), re.S | re.M)
    sample = next(text for lang, text in blocks if not lang and "done: test accuracy" in text)
    lines = [line for line in sample.splitlines() if line != "..."]
    epochs = [line for line in lines if line.startswith("epoch")]
    done = lines[-1]
    monkeypatch.chdir(tmp_path)
    assert train.parse_args([]).epochs == int(re.search(r"\| (\d+) epochs \|", done).group(1))
    assert epochs[-1].startswith(f"epoch  {train.parse_args([]).epochs} ")
    assert re.search(r"test acc ([\d.]+%)$", epochs[-1]).group(1) == re.search(r"test accuracy ([\d.]+%)", done).group(
        1
    )

    assert train.main(["--epochs", "2"]) == 0  # the first two epochs of the default run, bit for bit
    real = capsys.readouterr().out.splitlines()
    assert len(real) == 3
    assert epochs[:2] == real[:2]
    assert {normalized(line) for line in epochs} == {normalized(real[0])}
    assert normalized(done) == normalized(real[2])


def test_development_section_lists_what_the_test_command_installs():
    dev = readme().split("## Development", 1)[1]
    with open(os.path.join(ROOT, "scripts", "test.sh")) as f:
        script = f.read()
    with open(os.path.join(ROOT, "scripts", "lint.sh")) as f:  # the pinned formatters test.sh installs
        lint_requirements = re.search(r'REQUIREMENTS="(.*)"', f.read()).group(1)
    script = script.replace("$(bash scripts/lint.sh --requirements)", lint_requirements)
    pip = [
        re.split(r"[=<>]", w.strip('"'))[0]
        for line in re.findall(r"pip install (.*)", script)
        for w in line.split()
        if not w.startswith("-")
    ]
    apt = [
        w
        for line in re.findall(r"apt-get install (.*?)(?:#|$)", script, re.M)
        for w in line.split()
        if not w.startswith("-")
    ]
    assert {"hypothesis", "scikit-learn", "tqdm", "matplotlib", "safetensors", "graphviz"} <= set(pip)
    assert {"libgtest-dev", "graphviz"} <= set(apt)
    for package in pip + apt:
        assert package in dev, f"the Development section does not mention {package}"
    assert "GoogleTest" in dev and "root" in dev and "apt-get" in dev
    assert re.search(r"about \d+ minutes", dev), "the Development section should say how long the test command takes"


def tracked_text_files():
    try:
        names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs a git checkout")
    for name in names:
        path = os.path.join(ROOT, name)
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as f:
                data = f.read()
            if b"\0" not in data:
                yield name, data.decode("utf-8", "replace")


def test_nothing_links_outside_the_repository():
    """No tracked text file names a path that leaves the repository (../x, absolute or file: links), and every
    relative link of the Markdown files points to a file of the repository."""
    bad = []
    for name, text in tracked_text_files():
        here = os.path.dirname(os.path.join(ROOT, name))
        paths = re.findall(r"(?<![\w.])((?:\.\./)+[^\s`'\")\]>]*)", text)  # ../x anywhere
        links = [t.split("#")[0] for t in re.findall(r"\]\(<?([^)\s>]+)", text) if name.endswith(".md")]
        links = [t.removeprefix("file://") for t in links if t and not re.match(r"(?!file:)[a-z]+:", t)]
        for target in paths + links:
            path = os.path.normpath(os.path.join(here, target))
            if os.path.commonpath([path, ROOT]) != ROOT:
                bad.append(f"{name}: {target} is outside the repository")
            elif target in links and not os.path.exists(path):
                bad.append(f"{name}: {target} does not exist")
    assert bad == []
