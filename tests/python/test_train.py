"""The main job (python -m fastnn.train): accuracy on Digits, checkpoints, bitwise-exact resume, and a command line
whose mistakes are one-line errors (exit code 2) found before anything is trained or written."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import fastnn

pytest.importorskip("sklearn", reason="the Digits dataset ships with scikit-learn")
pytest.importorskip("tqdm")
pytest.importorskip("matplotlib")
from fastnn import train  # noqa: E402


def run(tmp_path, name, *extra):
    ckpt = tmp_path / name
    args = ["--no-progress", "--checkpoint-dir", str(ckpt), "--plot", str(tmp_path / f"{name}.png"), *extra]
    return train.run(train.parse_args(args)), ckpt


@pytest.mark.slow
def test_default_run_reaches_97_percent_on_digits(tmp_path, capsys):
    (net, history), ckpt = run(tmp_path, "default")
    assert len(history["test_acc"]) == 20
    assert history["test_acc"][-1] >= 0.97, history["test_acc"]
    out = capsys.readouterr().out
    assert "done: test accuracy" in out and "samples/s" in out and "wall time" in out
    assert (tmp_path / "default.png").stat().st_size > 1000
    assert os.path.exists(ckpt / "epoch_20.safetensors") and os.path.exists(ckpt / "last.safetensors")


@pytest.mark.slow
def test_resumed_run_is_bitwise_identical_to_an_uninterrupted_one(tmp_path):
    (full, full_hist), _ = run(tmp_path, "full", "--epochs", "3", "--seed", "5")
    (_, _), ckpt = run(tmp_path, "part", "--epochs", "1", "--seed", "5")
    (resumed, resumed_hist), _ = run(
        tmp_path, "part", "--epochs", "3", "--seed", "5", "--resume", str(ckpt / "last.safetensors")
    )
    a, b = full.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k].numpy(), b[k].numpy()), k
    assert full_hist == resumed_hist


@pytest.mark.slow
def test_checkpoint_holds_model_optimizer_and_data_order(tmp_path):
    (net, _), ckpt = run(tmp_path, "ck", "--epochs", "1", "--optimizer", "adam", "--lr", "0.002")
    state = fastnn.load(ckpt / "last.safetensors")
    assert state["epoch"] == 1 and state["args"]["optimizer"] == "adam" and state["args"]["lr"] == 0.002
    assert set(state["model"]) == set(net.state_dict())
    assert state["optimizer"]["state"][0]["exp_avg"].shape == net.conv1.weight.shape
    n = len(fastnn.datasets.Digits(train=True, seed=0))
    # seed 0; one epoch took one counter for the DataLoader's base seed (as torch draws it) and n for the permutation
    assert state["data_order"].tolist() == [0, n + 1]


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "rmsprop", "adagrad"])
def test_every_optimizer_learns_at_its_default_learning_rate(tmp_path, optimizer):
    (_, history), ckpt = run(tmp_path, optimizer, "--epochs", "3", "--optimizer", optimizer)
    assert history["test_acc"][-1] > 0.9, history
    assert fastnn.load(ckpt / "last.safetensors")["args"]["lr"] == train.DEFAULT_LR[optimizer]


def test_main_returns_0_and_the_command_exits_0(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert train.main(["--epochs", "1", "--plot", ""]) == 0
    out = subprocess.run(
        [sys.executable, "-m", "fastnn.train", "--epochs", "1", "--plot", "", "--seed", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == "" and out.stdout.startswith("epoch   1  loss ") and "done: test accuracy" in out.stdout


def test_progress_bar_only_on_a_terminal(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    train.main(["--epochs", "1", "--plot", ""])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch   1  loss ") and lines[1].startswith("done: ")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    train.main(["--epochs", "1", "--plot", ""])
    out = capsys.readouterr().out
    assert "\r" in out and "epoch 1/1" in out and "batch" in out and "samples_per_s" in out
    train.main(["--epochs", "1", "--plot", "", "--no-progress"])
    assert "\r" not in capsys.readouterr().out


BAD = [
    (["--epochs", "0"], "argument --epochs: expected a positive integer, got '0'"),
    (["--epochs", "two"], "argument --epochs: expected a positive integer, got 'two'"),
    (["--batch-size", "-4"], "argument --batch-size: expected a positive integer, got '-4'"),
    (["--lr", "0"], "argument --lr: expected a positive number, got '0'"),
    (["--lr", "inf"], "argument --lr: expected a positive number, got 'inf'"),
    (["--threads", "0"], "argument --threads: expected a positive integer, got '0'"),
    (["--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
    (
        ["--dataset", "mnist", "--data-dir", "data/mnist"],
        "--dataset mnist: no MNIST files in data/mnist or "
        "data/mnist/MNIST/raw; pass --download to fetch them, or --data-dir DIR where they are",
    ),
    (["--resume", "nope.safetensors"], "--resume nope.safetensors: no such file"),
    (["--resume", "junk.safetensors"], "--resume junk.safetensors: "),
    (
        ["--checkpoint-dir", "afile/ckpt"],
        "--checkpoint-dir afile/ckpt: cannot write there (afile is not a writable folder)",
    ),
    (
        ["--dataset", "mnist", "--data-dir", "afile/mnist", "--download"],
        "--data-dir afile/mnist: cannot write there (afile is not a writable folder)",
    ),
    (["--download"], "--download is for --dataset mnist or fashion-mnist (the digits ship with scikit-learn)"),
    (["--data-dir", "data"], "--data-dir is for --dataset mnist or fashion-mnist (the digits ship with scikit-learn)"),
    (["--plot", "curves.txt"], "--plot curves.txt: unknown image type 'txt'; use one of "),
    (["--plot", "curves"], "--plot curves: unknown image type (no extension); use one of "),
    (["--plot", "out/curves.png"], "--plot out/curves.png: folder "),
    (["--plot-graph", "graph.pdf"], "--plot-graph graph.pdf: unknown image type 'pdf'; use one of .svg, .png"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_command_line_mistakes_are_one_line_errors_and_write_nothing(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 100)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(SystemExit) as e:
        train.main(argv)
    assert e.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("fastnn-train: error: " + message), captured.err
    assert captured.err.count("\n") == 1, captured.err
    assert sorted(os.listdir(tmp_path)) == before


def test_resume_with_another_optimizer_is_refused(tmp_path, capsys):
    _, ckpt = run(tmp_path, "sgd", "--epochs", "1")
    with pytest.raises(SystemExit) as e:
        run(tmp_path, "sgd", "--epochs", "2", "--optimizer", "adam", "--resume", str(ckpt / "last.safetensors"))
    assert e.value.code == 2
    assert "the checkpoint was trained with --optimizer sgd" in capsys.readouterr().err


def test_a_failed_download_leaves_no_empty_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(fastnn.datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])
    with pytest.raises(SystemExit) as e:
        train.main(["--dataset", "mnist", "--data-dir", "data", "--download"])
    assert e.value.code == 1
    assert "could not download" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def child(tmp_path, code):
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def test_missing_matplotlib_is_reported_before_training(tmp_path):
    out = child(
        tmp_path,
        "import sys; sys.modules['matplotlib'] = None\n"
        "from fastnn.train import main; sys.exit(main(['--epochs', '1']))",
    )
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == (
        "fastnn-train: error: --plot needs matplotlib (pip install matplotlib), or --plot '' for no plot\n"
    )
    assert os.listdir(tmp_path) == []
    out = child(
        tmp_path,
        "import sys; sys.modules['matplotlib'] = None\n"
        "from fastnn.train import main; sys.exit(main(['--epochs', '1', '--plot', '']))",
    )
    assert out.returncode == 0 and "done: test accuracy" in out.stdout, out.stderr


def test_missing_tqdm_matters_only_for_the_progress_bar(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    with pytest.raises(SystemExit) as e:
        train.main(["--epochs", "1", "--plot", ""])
    assert e.value.code == 2 and os.listdir(tmp_path) == []
    assert (
        capsys.readouterr().err
        == "fastnn-train: error: the progress bar needs tqdm (pip install tqdm) or --no-progress\n"
    )
    assert train.main(["--epochs", "1", "--plot", "", "--no-progress"]) == 0


def test_plot_has_a_title_and_a_log_scaled_loss(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    figures = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (figures.append(fig), save(fig, *a, **k))[1])
    run(tmp_path, "plot", "--epochs", "2", "--optimizer", "adagrad")
    (fig,) = figures
    assert fig._suptitle.get_text() == "LeNet on digits, adagrad (lr 0.01), batch size 32"
    assert fig.axes[0].get_yscale() == "log" and fig.axes[1].get_yscale() == "linear"
    assert (tmp_path / "plot.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.skipif(
    shutil.which("dot") is None, reason="drawing the graph needs Graphviz's dot program (CI installs it)"
)
def test_plot_graph_writes_svg_or_png(tmp_path):
    pytest.importorskip("graphviz")
    run(tmp_path, "g", "--epochs", "1", "--plot", "", "--plot-graph", str(tmp_path / "graph.svg"))
    svg = (tmp_path / "graph.svg").read_text()
    assert "<svg" in svg and "ConvolutionBackward0" in svg and "conv1.weight" in svg
    run(tmp_path, "g", "--epochs", "1", "--plot", "", "--plot-graph", str(tmp_path / "graph.PNG"))
    assert (tmp_path / "graph.PNG").read_bytes().startswith(b"\x89PNG")


def test_compiled_run_is_bitwise_identical_to_an_eager_one(tmp_path):
    (eager, eager_hist), _ = run(tmp_path, "eager", "--epochs", "2", "--seed", "3", "--optimizer", "adam")
    (comp, comp_hist), _ = run(tmp_path, "comp", "--epochs", "2", "--seed", "3", "--optimizer", "adam", "--compile")
    assert comp_hist == eager_hist
    a, b = eager.state_dict(), comp.state_dict()
    for k in a:
        assert np.array_equal(a[k].numpy(), b[k].numpy()), k
