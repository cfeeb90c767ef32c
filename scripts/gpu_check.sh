#!/usr/bin/env bash
# The GPU machine's check for the CUDA backend (docs/cuda.md): builds fastnn with the machine's nvcc for its GPU,
# then runs the CUDA tests (fastnn-CUDA against fastnn-CPU and torch's CUDA: the ops, the tutorial, LeNet, the main job
# for two epochs) and the device tests, then the CUDA bench rows (python -m bench --device cuda), and prints a summary.
# Run it from the repository root on a machine with an NVIDIA GPU, nvcc, pybind11, pytest and NumPy (no network
# needed); logs go to $OUT (default build/gpu/out). Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
B=build/gpu
OUT="${OUT:-$ROOT/$B/out}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
NVCC="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
ARCH="${CUDA_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d .)}"
status=0
SECONDS=0

nvidia-smi -L 2>&1 | tee "$OUT/gpus.txt"
echo "== build (nvcc $NVCC, sm_${ARCH:-80;90})"
if ! { cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFASTNN_CUDA=ON -DCMAKE_CUDA_COMPILER="$NVCC" \
  ${ARCH:+-DCMAKE_CUDA_ARCHITECTURES=$ARCH} -Dpybind11_DIR="$("$PY" -m pybind11 --cmakedir)" &&
  cmake --build "$B"; } >"$OUT/build.log" 2>&1; then
  tail -30 "$OUT/build.log"
  echo "SUMMARY: build FAILED after ${SECONDS}s"
  exit 1
fi
build_s=$SECONDS

bash scripts/link_package.sh "$B"
export PYTHONPATH="$ROOT/$B/pkg"

echo "== fastnn's view of the machine"
"$PY" -c "import fastnn; fastnn.show_config(); print('cuda devices:', fastnn.cuda.device_count())" 2>&1 | tee "$OUT/config.txt"
echo "== CUDA tests"
"$PY" -m pytest -q -p no:cacheprovider -rs tests/python/test_cuda.py tests/python/test_cuda_nn.py tests/python/test_devices.py "$@" 2>&1 |
  tee "$OUT/pytest.txt"
[ "${PIPESTATUS[0]}" = 0 ] || status=1

echo "== LeNet on the GPU against torch's CUDA (python -m bench --device cuda)"
bench_status=ok
"$PY" -m bench --device cuda 2>&1 | tee "$OUT/bench.txt"
[ "${PIPESTATUS[0]}" = 0 ] || bench_status=FAILED

echo "SUMMARY: build ${build_s}s; tests $([ $status = 0 ] && echo passed || echo FAILED) ($(tail -1 "$OUT/pytest.txt"));" \
  "bench $bench_status ($(grep -c PASS "$OUT/bench.txt") PASS, $(grep -c MISS "$OUT/bench.txt") MISS)"
exit $status
