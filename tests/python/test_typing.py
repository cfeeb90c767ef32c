"""Type information: python/fastnn/_C.pyi matches the built module, and mypy passes on the examples and on
tests/typing/usage.py (configured in pyproject.toml) while still seeing real types (wrong uses are errors)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STUB = ROOT / "python" / "fastnn" / "_C.pyi"


def test_stub_matches_the_bindings(tmp_path):
    pytest.importorskip("pybind11_stubgen", reason="pybind11-stubgen is not installed (scripts/test.sh installs it)")
    r = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_stubs.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    fresh = (tmp_path / "_C.pyi").read_text()
    assert fresh == STUB.read_text(), (
        "python/fastnn/_C.pyi is out of date with the bindings: run `python scripts/gen_stubs.py` and commit the result"
    )


def test_package_ships_type_information():
    assert STUB.is_file() and (ROOT / "python" / "fastnn" / "py.typed").is_file()


def _mypy(tmp_path, *args):
    pytest.importorskip("mypy", reason="mypy is not installed (scripts/test.sh installs it)")
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return r.returncode, r.stdout + r.stderr


def test_mypy_passes_on_examples_and_usage(tmp_path):
    rc, out = _mypy(tmp_path)  # files and settings: [tool.mypy] in pyproject.toml
    assert rc == 0, out
    assert "no issues found in" in out


WRONG = """
import fastnn
import fastnn.nn as nn

class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, x: fastnn.Tensor) -> fastnn.Tensor:
        return self.fc(x)

x = fastnn.ones(3, 2)
a: str = Net()(x)
b: str = x.sum().item()
c: str = (x + 1).shape
d: str = fastnn.optim.SGD(Net().parameters(), lr=0.1).state_dict()
e: str = x.to(fastnn.float64)
f: str = nn.Linear(2, 1)(x)
Net()("not a tensor")
"""


def test_mypy_sees_real_types(tmp_path):
    """Each line of WRONG misuses a type: if fastnn's annotations fell back to Any, mypy would pass it."""
    (tmp_path / "wrong.py").write_text(WRONG)
    rc, out = _mypy(tmp_path, str(tmp_path / "wrong.py"))
    assert rc == 1, out
    expected = [
        '"Tensor", variable has type "str"',
        '"float | int", variable has type "str"',
        '"Size", variable has type "str"',
        '"dict[str, Any]", variable has type "str"',
        'Argument 1 to "__call__" of "Module" has incompatible type "str"; expected "Tensor"',
    ]
    for e in expected:
        assert e in out, f"mypy did not report {e!r}:\n{out}"
    assert out.count("error:") == 7, out
