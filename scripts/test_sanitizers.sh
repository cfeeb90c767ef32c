#!/usr/bin/env bash
# Sanitizer stage: the engine, the extension and the C++ tests built with AddressSanitizer and
# UndefinedBehaviorSanitizer in build/asan; the C++ tests (leak checking on) and a representative part
# of the Python suite run under them, and any report fails the run. Called by scripts/test.sh after
# the normal suite; run it alone with `bash scripts/test_sanitizers.sh` (extra arguments go to pytest).
# Needs what scripts/test.sh installs (GoogleTest, pybind11, torch, pytest, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
B=build/asan
SECONDS=0

cmake -S . -B "$B" -G Ninja -DFASTNN_SANITIZE=ON -DFASTNN_BUILD_TESTS=ON \
  -Dpybind11_DIR="$(python -m pybind11 --cmakedir)" >/dev/null
cmake --build "$B"

# The sanitized module stays out of python/fastnn (the shared dev module); build/asan/pkg/fastnn is the
# package made of links to the Python sources plus the sanitized _C, rebuilt each run.
bash scripts/link_package.sh "$B"

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
t0=$SECONDS

echo "== C++ tests under ASan+UBSan (leak checking on)"
ASAN_OPTIONS=detect_leaks=1:check_initialization_order=1 \
  ctest --test-dir "$B" --no-tests=error --output-on-failure -j 2
t1=$SECONDS

# The interpreter is not instrumented: preload the ASan runtime (and libstdc++, or ASan cannot intercept
# C++ throws from the module). Leak checking is off: CPython and torch keep allocations until exit.
# PYTHONMALLOC=malloc puts Python objects on ASan's heap too; --capture=sys leaves reports on stderr.
echo "== Python tests under ASan+UBSan (ops, autograd, nn, optim, data, checkpoints, errors, DLPack)"
export LD_PRELOAD="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libstdc++.so)"
export ASAN_OPTIONS=detect_leaks=0:check_initialization_order=1
export PYTHONMALLOC=malloc
export PYTHONPATH="$ROOT/$B/pkg"
python -c "import fastnn._C as c, sys; sys.exit(0 if '/$B/' in c.__file__ else 'not the sanitized module: ' + c.__file__)"
TESTS=(ops_elementwise ops_reduce ops_linalg views_indexing factories tensor_api autograd layers nn_functional
  losses modules lenet_e2e optim optim_adaptive data serialization errors concurrency dlpack)
FILES=()
for t in "${TESTS[@]}"; do FILES+=("tests/python/test_$t.py"); done
if ! python -m pytest -q -p no:cacheprovider --capture=sys "${FILES[@]}" "$@"; then
  echo "sanitizer stage failed (a report stops the run at once; bash scripts/test_sanitizers.sh -v -x names the test)"
  exit 1
fi
echo "sanitizer stage: build ${t0}s, C++ tests $((t1 - t0))s, Python tests $((SECONDS - t1))s"
