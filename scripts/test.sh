#!/usr/bin/env bash
# `make test`: run every stage even when one fails, print a summary, exit non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
declare -a names=() results=()
failed=0

stage() {
  local name=$1; shift
  local start=$SECONDS
  echo
  echo "=================== $name ==================="
  if "$@"; then results+=("PASS"); else results+=("FAIL"); failed=1; fi
  names+=("$name ($((SECONDS - start))s)")
}

make -s setup || { echo "test: setup failed (see above)"; exit 1; }
make -s engine || { echo "test: no usable Docker engine (see above)"; exit 1; }
stage ruff make -s lint
stage sanity make -s sanity
stage unit make -s unit
stage integration make -s integration
stage molecule make -s molecule

echo
echo "=================== summary ==================="
for i in "${!names[@]}"; do printf '  %-4s %s\n' "${results[$i]}" "${names[$i]}"; done
exit $failed
