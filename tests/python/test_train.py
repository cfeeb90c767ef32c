"""The main job (python -m fastnn.train): accuracy on Digits, checkpoints, and bitwise-exact resume."""

import os

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
    return train.main(args), ckpt


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
    (resumed, resumed_hist), _ = run(tmp_path, "part", "--epochs", "3", "--seed", "5", "--resume",
                                     str(ckpt / "last.safetensors"))
    a, b = full.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k].numpy(), b[k].numpy()), k
    assert full_hist == resumed_hist


@pytest.mark.slow
def test_checkpoint_holds_model_optimizer_and_data_order(tmp_path):
    (net, _), ckpt = run(tmp_path, "ck", "--epochs", "1", "--optimizer", "adam", "--lr", "0.001")
    state = fastnn.load(ckpt / "last.safetensors")
    assert state["epoch"] == 1 and state["args"]["optimizer"] == "adam"
    assert set(state["model"]) == set(net.state_dict())
    assert state["optimizer"]["state"][0]["exp_avg"].shape == net.conv1.weight.shape
    n = len(fastnn.datasets.Digits(train=True, seed=0))
    # seed 0; one epoch took one counter for the DataLoader's base seed (as torch draws it) and n for the permutation
    assert state["data_order"].tolist() == [0, n + 1]
