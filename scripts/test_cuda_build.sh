#!/usr/bin/env bash
# CUDA build stage: the CUDA backend compiled with NVIDIA's pip wheels (nvcc, the runtime headers and static
# runtime: no system CUDA installation), so that a CUDA compile error cannot land; then its C++ tests and the
# device tests run against it. On a machine without a GPU (CI) this checks what a CUDA build answers there
# (cuda.is_available() False, clear errors); on a GPU machine scripts/gpu_check.sh runs the GPU tests.
# Called by scripts/test.sh; FASTNN_CUDA_BUILD=0 skips it. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
B=build/cuda
SECONDS=0

# The toolkit's pieces as pip wheels (CUDA 13), installed into the build dir: about 130 MB.
TK="$B/toolkit"
if [ ! -x "$TK/nvidia/cu13/bin/nvcc" ]; then
  python -m pip install -q --disable-pip-version-check --target "$TK" \
    "nvidia-cuda-nvcc==13.5.37" "nvidia-cuda-runtime==13.5.37" "nvidia-nvvm==13.5.37" \
    "nvidia-cuda-crt==13.5.37" "nvidia-cuda-cccl==13.3.5.0.6"
fi
CU="$ROOT/$TK/nvidia/cu13"
# The wheels ship libcudart.so.13 without the unversioned name FindCUDAToolkit looks for (fastnn links the
# static runtime; CUDA_CUDART only satisfies the search).
rm -f "$B/CMakeCache.txt"  # a cache made with another nvcc would stop the configure
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFASTNN_CUDA=ON -DFASTNN_BUILD_TESTS=ON \
  -DCMAKE_CUDA_COMPILER="$CU/bin/nvcc" -DCUDAToolkit_ROOT="$CU" -DCUDA_CUDART="$CU/lib/libcudart.so.13" \
  -Dpybind11_DIR="$(python -m pybind11 --cmakedir)" >/dev/null
cmake --build "$B"
t0=$SECONDS

ctest --test-dir "$B" --no-tests=error --output-on-failure

# The CUDA module stays out of python/fastnn: build/cuda/pkg/fastnn links the Python sources and the CUDA _C.
bash scripts/link_package.sh "$B"
export PYTHONPATH="$ROOT/$B/pkg"
python -c "import fastnn, sys; sys.exit(0 if fastnn._C._cuda_built() else 'not the CUDA module: ' + fastnn._C.__file__)"
python -m pytest -q -p no:cacheprovider tests/python/test_cuda.py tests/python/test_devices.py \
  tests/python/test_cuda_nn.py tests/python/test_lenet_e2e.py tests/python/test_ops_elementwise.py "$@"
echo "CUDA build stage: build ${t0}s, tests $((SECONDS - t0))s"
