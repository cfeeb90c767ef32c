"""Whole PyTorch programs (tests/python/programs/p*.py) run under real torch and under fastnn installed as `torch`;
the per-step losses they print must agree to 1e-4 (relative, small absolute floor).

Each library runs all programs in one child process (importing torch is the slow part), both children in parallel.
If a child dies (a crash), its programs are rerun one per process so the crash is pinned on one program.
`python tests/python/test_programs.py --list-failures` prints PASS or the first error line per program."""

import concurrent.futures
import functools
import glob
import json
import math
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # every program under torch and under fastnn, in child processes

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = sorted(glob.glob(os.path.join(HERE, "programs", "p[0-9]*.py")))
RUNNER = os.path.join(HERE, "programs", "run_batch.py")
PYTHON_DIR = os.path.join(os.path.dirname(os.path.dirname(HERE)), "python")


def _child(mode, paths, timeout):
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join([PYTHON_DIR] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
    )
    try:
        proc = subprocess.run(
            [sys.executable, RUNNER, mode] + paths, capture_output=True, text=True, timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s"
    try:
        return json.loads(proc.stdout), proc.stderr
    except ValueError:
        return None, f"child exited with {proc.returncode}: {proc.stderr[-2000:]}"


def _run_library(mode):
    results, why = _child(mode, PROGRAMS, 900)
    if results is not None:
        return {r["path"]: r for r in results}
    out = {}
    for path in PROGRAMS:  # pin a crash or hang on its program
        one, why = _child(mode, [path], 300)
        out[path] = one[0] if one else {"path": path, "out": "", "err": why}
    return out


@functools.lru_cache(maxsize=None)
def _all_results():
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        torch_f = pool.submit(_run_library, "--torch")
        fastnn_f = pool.submit(_run_library, "--fastnn")
        return torch_f.result(), fastnn_f.result()


def _losses(text):
    losses = []
    for i, line in enumerate(text.splitlines()):
        words = line.split()
        assert len(words) == 4 and words[0] == "step" and words[1] == str(i) and words[2] == "loss", (
            f"unexpected stdout line {line!r}"
        )
        losses.append(float(words[3]))
    return losses


def _first_error_line(err):
    lines = [l for l in err.strip().splitlines() if l.strip()]
    return lines[-1] if lines else "(no error text)"


def _compare(path):
    """None when the program passes under fastnn, else a one-line reason and the detail."""
    ref, got = (r[path] for r in _all_results())
    if ref["err"]:
        return f"program fails under torch: {_first_error_line(ref['err'])}", ref["err"]
    if got["err"]:
        return _first_error_line(got["err"]), got["err"][-3000:]
    ref_losses = _losses(ref["out"])
    try:
        got_losses = _losses(got["out"])
    except AssertionError as e:
        return str(e), got["out"]
    if len(ref_losses) != len(got_losses):
        return f"printed {len(got_losses)} steps, torch printed {len(ref_losses)}", got["out"]
    for i, (a, b) in enumerate(zip(ref_losses, got_losses)):
        if not math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6):
            return f"loss differs at step {i}: fastnn {b!r}, torch {a!r}", got["out"]
    return None


def test_at_least_30_programs():
    assert len(PROGRAMS) >= 30


@pytest.mark.parametrize("path", PROGRAMS, ids=[os.path.basename(p)[:-3] for p in PROGRAMS])
def test_program(path):
    ref = _all_results()[0][path]
    assert not ref["err"], ref["err"]
    assert len(_losses(ref["out"])) == 20 or "early_stopping" in path
    failure = _compare(path)
    assert failure is None, f"{failure[0]}\n{failure[1]}"


if __name__ == "__main__":
    if sys.argv[1:] != ["--list-failures"]:
        sys.exit("usage: python tests/python/test_programs.py --list-failures")
    for path in PROGRAMS:
        failure = _compare(path)
        print(f"{os.path.basename(path)}: {'PASS' if failure is None else failure[0]}")
