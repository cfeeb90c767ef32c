"""The sequence-model examples (examples/char_lstm.py, examples/tiny_gpt.py) run on fastnn as shipped: a short run
(--steps) exits 0, prints its samples, and its loss at the last step is below the loss at the first."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEPS = 40


def run_example(name, *args):
    env = dict(
        os.environ,
        OMP_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join(
            [os.path.join(ROOT, "python")] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        ),
    )
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", name), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["char_lstm.py", "tiny_gpt.py"])
def test_example_trains(name):
    proc = run_example(name, "--steps", str(STEPS))
    assert proc.returncode == 0, proc.stderr[-3000:]
    losses = [(int(step), float(loss)) for step, loss in re.findall(r"^step +(\d+) +loss ([0-9.]+)", proc.stdout, re.M)]
    assert losses[0][0] == 1 and losses[-1][0] == STEPS, proc.stdout
    assert losses[-1][1] < losses[0][1], proc.stdout
    assert proc.stdout.count("--- sample after") == 2, proc.stdout
