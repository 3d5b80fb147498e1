#!/usr/bin/env bash
# Run every molecule scenario under molecule/ (one after another: they share one engine and 2 cores).
# MOLECULE_SCENARIOS="a b" limits the run.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
scenarios=${MOLECULE_SCENARIOS:-$(for d in molecule/*/molecule.yml; do basename "$(dirname "$d")"; done)}
failed=()
for s in $scenarios; do
  echo "--- molecule test -s $s"
  start=$SECONDS
  # Forget any state an interrupted earlier run left in molecule's ephemeral directory
  # (a stale "prepared" flag would skip prepare and fail converge).
  molecule reset -s "$s" >/dev/null 2>&1 || true
  if molecule test -s "$s"; then echo "--- $s passed in $((SECONDS - start))s"; else failed+=("$s"); fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "molecule: failed scenarios: ${failed[*]}"
  exit 1
fi
echo "molecule: all scenarios passed"
