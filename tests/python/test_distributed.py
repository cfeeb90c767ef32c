"""fastnn.distributed, DistributedDataParallel and DistributedSampler. The multi-process tests run the scripts in
tests/distributed/ under mpirun with 1, 2 and 4 ranks on this machine (loopback, --oversubscribe) and compare
them with single-process runs; they skip only where MPI or mpi4py is missing (CI installs both)."""

import importlib.util
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

import fastnn
import fastnn.distributed as dist
from fastnn.utils.data import DistributedSampler

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "tests" / "distributed"
HAVE_MPI = shutil.which("mpirun") is not None and importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(
    not HAVE_MPI, reason="MPI is missing: apt-get install openmpi-bin libopenmpi-dev; pip install mpi4py"
)


def _env():
    # the ranks import the fastnn this test runs on (the source tree's, or the CUDA emulator's build)
    env = dict(
        os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__))), OMP_NUM_THREADS="1"
    )
    # Open MPI refuses root (CI runs as root) unless told; shared-memory copies without ptrace (containers)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.setdefault("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
    return env


def mpirun(n, *args, timeout=180, cwd=None):
    cmd = ["mpirun", "-n", str(n), "--oversubscribe", sys.executable, *map(str, args)]
    return subprocess.run(cmd, env=_env(), cwd=cwd, capture_output=True, text=True, timeout=timeout)


def ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@needs_mpi
@pytest.mark.parametrize("n", [1, 2, 4])
def test_collectives_combine_in_rank_order(n):
    out = ok(mpirun(n, SCRIPTS / "collectives.py"))
    assert sorted(re.findall(r"ok rank (\d+)", out)) == [str(r) for r in range(n)]


@needs_mpi
def test_a_single_process_without_a_launcher_is_a_group_of_one_with_clear_errors():
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "errors.py")], env=_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr


@needs_mpi
def test_ddp_matches_one_process_at_the_whole_batch_and_repeats_bit_for_bit():
    """N ranks at batch B against one process at batch N*B, 20 SGD steps (inside the script), then the same run
    again: the same bits."""
    digests = {}
    for n in (2, 4, 2):
        out = ok(mpirun(n, SCRIPTS / "ddp.py"))
        assert len(re.findall(r"ok rank \d+", out)) == n
        digests.setdefault(n, set()).add(re.search(r"digest (\w+)", out).group(1))
    assert len(digests[2]) == 1, "two runs on 2 ranks gave different parameters"


@needs_mpi
@pytest.mark.parametrize("mode", ["raise", "kill", "hang"])
def test_a_failing_rank_ends_the_job(mode):
    start = time.monotonic()
    result = mpirun(3, SCRIPTS / "faults.py", mode, timeout=120)
    text = result.stdout + result.stderr
    assert result.returncode != 0, text
    assert time.monotonic() - start < 60
    assert "the all_reduce returned without rank 1" not in text
    expected = {
        "raise": r"rank 1 of 3 raised ValueError; aborting all ranks",
        "kill": r"process rank 1 .* exited on signal 9",
        "hang": r"\[all_reduce\] rank [02] of 3 timed out after 2 s waiting for the other ranks",
    }[mode]
    assert re.search(expected, text), text


def _train(tmp_path, name, *flags, ranks=None):
    args = ["-m", "fastnn.train", "--no-progress", "--plot", "", "--checkpoint-dir", tmp_path / name, *flags]
    if ranks is None:
        result = subprocess.run(
            [sys.executable, *map(str, args)], env=_env(), capture_output=True, text=True, timeout=300
        )
    else:
        result = mpirun(ranks, *args, "--distributed", "--threads", "1", timeout=300)
    return ok(result)


@needs_mpi
def test_main_job_on_two_ranks_trains_as_one_process_and_resumes(tmp_path):
    out = _train(tmp_path, "dist", ranks=2)
    single = _train(tmp_path, "single")
    assert out.count("epoch  20 ") == 1 and out.count("done:") == 1, out  # only rank 0 prints
    acc = [float(re.search(r"done: test accuracy ([\d.]+)%", o).group(1)) for o in (out, single)]
    assert acc[0] > 95 and abs(acc[0] - acc[1]) <= 1.5, acc
    # resume a distributed run from its checkpoint: the same bits as the uninterrupted run
    _train(tmp_path, "a", "--epochs", "4", ranks=2)
    _train(tmp_path, "b", "--epochs", "2", ranks=2)
    resumed = _train(tmp_path, "b", "--epochs", "4", "--resume", tmp_path / "b" / "last.safetensors", ranks=2)
    assert "resumed from" in resumed and resumed.count("resumed from") == 1
    a, b = (fastnn.load(tmp_path / d / "last.safetensors")["model"] for d in ("a", "b"))
    assert all(fastnn.equal(a[k], b[k]) for k in a)


@needs_mpi
def test_a_job_killed_while_it_checkpoints_leaves_a_whole_checkpoint(tmp_path):
    """Every rank killed at once, some time after the first checkpoint: last.safetensors loads (it is written
    through a temporary file and a rename), whatever moment the kill fell on."""
    ckpt = tmp_path / "last.safetensors"
    cmd = ["mpirun", "-n", "2", "--oversubscribe", sys.executable, "-m", "fastnn.train", "--distributed"]
    cmd += ["--threads", "1", "--epochs", "1000", "--no-progress", "--plot", "", "--checkpoint-dir", str(tmp_path)]
    job = subprocess.Popen(
        cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while not ckpt.exists() and time.monotonic() < deadline and job.poll() is None:
            time.sleep(0.05)
        time.sleep(0.7)  # a few more epochs, each rewriting the checkpoints
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    saved = fastnn.load(ckpt)
    assert saved["epoch"] >= 1 and set(saved["model"]) >= {"conv1.weight", "fc3.bias"}


def test_main_job_refuses_distributed_with_compile(capsys):
    from fastnn.train import parse_args

    with pytest.raises(SystemExit) as e:
        parse_args(["--distributed", "--compile"])
    assert e.value.code == 2 and "--compile cannot replay a --distributed step" in capsys.readouterr().err


def test_the_api_before_init_process_group():
    assert dist.is_available() and not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        fastnn.nn.parallel.DistributedDataParallel(fastnn.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="backend 'gloo' is not available: fastnn.distributed runs on MPI"):
        dist.init_process_group("gloo")
    with pytest.raises(ValueError, match="init_method 'tcp://10.0.0.1:23456' is not used by the MPI backend"):
        dist.init_process_group("mpi", init_method="tcp://10.0.0.1:23456")
    with pytest.raises(RuntimeError, match="Requires distributed package to be available"):
        DistributedSampler(range(10))
    assert not dist.is_initialized()


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("n", [0, 1, 7, 10, 13])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
def test_distributed_sampler_splits_as_torch(n, replicas, drop_last):
    torch = pytest.importorskip("torch", reason="PyTorch (CPU, 2.13.0) is the test oracle")
    TorchSampler = torch.utils.data.distributed.DistributedSampler

    shares = []
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        shuffled = DistributedSampler(range(n), replicas, rank, seed=3, drop_last=drop_last)
        assert len(list(shuffled)) == len(theirs)
        shares.append(list(shuffled))
    everyone = sorted(i for share in shares for i in share)
    if drop_last or n % replicas == 0:  # no padding: the ranks' shares are disjoint
        assert len(set(everyone)) == len(everyone)
    if not drop_last:
        assert set(everyone) == set(range(n))


def test_distributed_sampler_epochs():
    s = DistributedSampler(range(100), num_replicas=2, rank=1, seed=5)
    first = list(s)
    assert list(s) == first  # the same epoch, the same order
    s.set_epoch(1)
    assert list(s) != first
    again = DistributedSampler(range(100), num_replicas=2, rank=1, seed=5)
    again.set_epoch(1)
    assert list(again) == list(s)
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


def test_distributed_sampler_feeds_a_dataloader():
    data = fastnn.utils.data.TensorDataset(fastnn.arange(10.0))
    loaders = [
        fastnn.utils.data.DataLoader(data, batch_size=2, sampler=DistributedSampler(data, 2, r, shuffle=False))
        for r in range(2)
    ]
    seen = [[x.tolist() for (x,) in loader] for loader in loaders]
    assert seen == [[[0.0, 2.0], [4.0, 6.0], [8.0]], [[1.0, 3.0], [5.0, 7.0], [9.0]]]
