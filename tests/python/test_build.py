"""The compiled module coexists with PyTorch: OpenMP symbols stay within what torch's libgomp provides."""

import re
import shutil
import subprocess
import sys

import pytest

import fastnn


@pytest.mark.slow
def test_imports_after_torch_in_one_process():
    pytest.importorskip("torch")
    code = "import torch, fastnn; x = fastnn.ones(3) * 2; print(float(x.sum()), fastnn.get_num_threads() >= 1)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["6.0", "True"]


@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) is needed to read symbol versions")
def test_openmp_symbol_versions_at_most_5_0():
    table = subprocess.run(["objdump", "-T", fastnn._C.__file__], capture_output=True, text=True, check=True).stdout
    versions = set(re.findall(r"\((G?OMP_[\d.]+)\)", table))
    assert versions, "expected OpenMP symbols in an OpenMP build"
    for v in versions:
        major_minor = tuple(int(p) for p in v.split("_")[1].split(".")[:2])
        assert major_minor <= (5, 0), (
            f"{v}: torch's libgomp stops at OpenMP 5.0, so fastnn would fail to import after torch"
        )
