#!/usr/bin/env bash
# Emulated-CUDA stage: the CUDA backend's kernels compiled as C++ and run on the CPU by the emulator
# (-DFASTNN_CUDA_EMULATOR=ON, cpp/fastnn/kernels/cuda/emulator, docs/cuda.md), so that the GPU code paths -- the
# kernels' indexing, the host code that launches them, which device each tensor lands on -- run in CI, where no
# machine has a GPU. The GPU tests compare every result with fastnn on the CPU; an access past a buffer's end
# faults where it happens. Not a substitute for scripts/gpu_check.sh on a real GPU (races, speed, nvcc's code).
# Called by scripts/test.sh; FASTNN_CUDA_EMULATED=0 skips it. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
B=build/emu
SECONDS=0
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFASTNN_CUDA_EMULATOR=ON \
  -Dpybind11_DIR="$(python -m pybind11 --cmakedir)" >/dev/null
cmake --build "$B"
t0=$SECONDS
bash scripts/link_package.sh "$B"
export PYTHONPATH="$ROOT/$B/pkg"
python -c "import fastnn, sys; sys.exit(0 if fastnn._C._cuda_emulated() else 'not the emulated build: ' + fastnn._C.__file__)"
python -X faulthandler -m pytest -q -p no:cacheprovider tests/python/test_cuda.py tests/python/test_cuda_nn.py \
  tests/python/test_devices.py "$@"
echo "emulated-CUDA stage: build ${t0}s, tests $((SECONDS - t0))s"
