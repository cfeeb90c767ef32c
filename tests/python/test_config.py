"""The build's identity: one version everywhere (pyproject.toml, fastnn.__version__, _C, fastnn-train
--version, the installed distribution) and fastnn.show_config()'s report of compiler, ISA kernels,
threads and CUDA, checked against what this process and this CPU actually do."""

import importlib.metadata
import os
import platform
import re
import sys

import pytest

import fastnn
from fastnn import _C

PACKAGE_DIR = os.path.dirname(os.path.abspath(fastnn.__file__))
SOURCE_PYPROJECT = os.path.join(PACKAGE_DIR, "..", "..", "pyproject.toml")  # python/fastnn -> the repo root


def expected_version():
    """pyproject.toml's version when fastnn runs from the source tree (PYTHONPATH=python), else the
    installed distribution's (the wheel's metadata)."""
    if os.path.basename(os.path.dirname(PACKAGE_DIR)) == "python" and os.path.exists(SOURCE_PYPROJECT):
        text = open(SOURCE_PYPROJECT, encoding="utf-8").read()
        return re.search(r'^version = "([^"]+)"$', text, re.MULTILINE).group(1)
    return importlib.metadata.version("fastnn")


def test_one_version_everywhere(capsys):
    v = expected_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", v)
    assert fastnn.__version__ == _C.__version__ == _C._build_config()["version"] == v
    from fastnn import train

    with pytest.raises(SystemExit) as e:
        train.parse_args(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out == f"fastnn-train {v}\n"


def test_build_config_fields():
    c = _C._build_config()
    assert set(c) == {
        "version",
        "compiler",
        "build_type",
        "native",
        "isa_compiled",
        "isa_supported",
        "isa",
        "threads",
        "cuda",
    }
    assert re.fullmatch(r"(GCC|Clang) \d+\.\d+\.\d+", c["compiler"]), c["compiler"]
    assert c["build_type"] in ("Release", "Debug", "RelWithDebInfo", "MinSizeRel")
    assert isinstance(c["native"], bool)
    assert c["cuda"] == "not built" and not fastnn.cuda.is_available()


def test_isa_kernels_match_this_cpu():
    c = _C._build_config()
    order = ["generic", "avx2", "avx512"]
    x86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
    assert c["isa_compiled"] == (order if x86 else ["generic"])  # AVX variants ride along in every x86 build
    assert c["isa_supported"][0] == "generic" and set(c["isa_supported"]) <= set(c["isa_compiled"])
    assert c["isa"] == c["isa_supported"][-1]  # the best instruction set this CPU runs
    if sys.platform.startswith("linux") and os.path.exists("/proc/cpuinfo") and c["isa_compiled"] == order:
        flags = set(re.search(r"^flags\s*:(.*)$", open("/proc/cpuinfo").read(), re.MULTILINE).group(1).split())
        assert ("avx2" in c["isa_supported"]) == ({"avx2", "fma"} <= flags)
        assert ("avx512" in c["isa_supported"]) == ({"avx512f", "fma"} <= flags)


def test_threads_follow_set_num_threads():
    fastnn.set_num_threads(2)
    assert _C._build_config()["threads"] == fastnn.get_num_threads() == 2
    fastnn.set_num_threads(1)
    assert _C._build_config()["threads"] == 1


def test_show_config_prints_the_build(capsys):
    assert fastnn.show_config() is None
    out = capsys.readouterr().out.splitlines()
    c = _C._build_config()
    assert out[0] == f"fastnn {fastnn.__version__}"
    labels = [line.split(":")[0].strip() for line in out[1:]]
    assert labels == ["compiler", "build type", "ISA kernels", "threads", "CUDA"]
    assert c["compiler"] in out[1] and c["build_type"] in out[2]
    assert out[3].endswith(f"chosen: {c['isa']}") and ", ".join(c["isa_compiled"]) in out[3]
    assert out[4].endswith(str(fastnn.get_num_threads()))
    assert out[5].endswith("not built")
    with pytest.raises(TypeError, match="show_config"):
        fastnn.show_config(1)
