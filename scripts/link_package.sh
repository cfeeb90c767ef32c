#!/usr/bin/env bash
# Usage: bash scripts/link_package.sh BUILD_DIR
# Makes BUILD_DIR/pkg/fastnn: links to the Python sources plus BUILD_DIR's own _C module, so that a build whose
# module stays out of python/fastnn (sanitizers, CUDA) runs with PYTHONPATH=BUILD_DIR/pkg. Rebuilt each call.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
B="$1"
PKG="$B/pkg/fastnn"
rm -rf "$B/pkg" && mkdir -p "$PKG"
for f in python/fastnn/*; do
  case "$(basename "$f")" in _C*.so | __pycache__) continue ;; esac
  ln -s "$ROOT/$f" "$PKG/"
done
ln -s "$ROOT/$B"/_C*.so "$PKG/"
