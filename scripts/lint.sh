#!/usr/bin/env bash
# Style checks, run by scripts/test.sh before the build: clang-format (.clang-format) on the C++ sources, ruff's
# lint ([tool.ruff.lint] in pyproject.toml) and its format check on the Python. scripts/format.sh applies both
# formatters. The versions are pinned (formatters change their output between releases):
#   python -m pip install $(bash scripts/lint.sh --requirements)
set -euo pipefail
cd "$(dirname "$0")/.."

REQUIREMENTS="clang-format==23.1.3 ruff==0.17.6"
if [ "${1:-}" = --requirements ]; then
  echo "$REQUIREMENTS"
  exit 0
fi
source scripts/lint_files.sh
check_versions

status=0
cpp_files | xargs -0 clang-format --dry-run --Werror || { status=1; echo "lint: C++ not formatted: run scripts/format.sh"; }
ruff check "${PY_DIRS[@]}" || status=1
ruff format --check "${PY_DIRS[@]}" || { status=1; echo "lint: Python not formatted: run scripts/format.sh"; }
exit $status
