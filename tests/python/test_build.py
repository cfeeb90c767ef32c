"""The compiled module coexists with PyTorch: it brings no OpenMP runtime of its own (fastnn threads with its
own pool), so neither import order nor torch's libgomp can change what it runs with."""

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


@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) is needed to read the dependencies")
def test_links_no_openmp_runtime():
    dynamic = subprocess.run(["objdump", "-p", fastnn._C.__file__], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"NEEDED\s+(\S+)", dynamic)
    assert needed, dynamic  # the C++ runtime at least
    assert not [n for n in needed if re.search(r"gomp|omp\.so|iomp", n)], needed
    symbols = subprocess.run(["objdump", "-T", fastnn._C.__file__], capture_output=True, text=True, check=True).stdout
    assert not re.search(r"\(G?OMP_[\d.]+\)", symbols)
