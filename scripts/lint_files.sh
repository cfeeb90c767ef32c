# What scripts/lint.sh checks and scripts/format.sh formats (sourced by both).
PY_DIRS=(python tests bench examples scripts)

cpp_files() {  # NUL-separated: the engine, the bindings and the C++ tests
  find cpp tests/cpp \( -name '*.h' -o -name '*.cpp' -o -name '*.cu' \) -print0 | sort -z
}

check_versions() {  # the pinned formatters, or a message saying how to install them
  local want have
  for want in $(bash scripts/lint.sh --requirements); do
    have="$(${want%%==*} --version 2>/dev/null || true)"
    if [[ "$have" != *" ${want##*==}"* ]]; then
      echo "lint: need ${want} (found: ${have:-none}); python -m pip install \$(bash scripts/lint.sh --requirements)" >&2
      exit 1
    fi
  done
}
