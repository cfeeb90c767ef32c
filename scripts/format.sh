#!/usr/bin/env bash
# Formats the C++ (clang-format, .clang-format) and the Python (ruff format, pyproject.toml) in place: what
# scripts/lint.sh checks. Needs the pinned versions: python -m pip install $(bash scripts/lint.sh --requirements)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lint_files.sh
check_versions
cpp_files | xargs -0 clang-format -i
ruff format -q "${PY_DIRS[@]}"
