#!/usr/bin/env bash
# Run every molecule scenario under molecule/ (one after another: they share one engine and 2 cores).
# MOLECULE_SCENARIOS="a b" limits the run.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
scenarios=${MOLECULE_SCENARIOS:-$(for d in molecule/*/molecule.yml; do basename "$(dirname "$d")"; done)}
failed=()
flaky=()
for s in $scenarios; do
  echo "--- molecule test -s $s"
  start=$SECONDS
  # Forget any state an interrupted earlier run left in molecule's ephemeral directory
  # (a stale "prepared" flag would skip prepare and fail converge).
  molecule reset -s "$s" >/dev/null 2>&1 || true
  if molecule test -s "$s"; then
    echo "--- $s passed in $((SECONDS - start))s"
  else
    # One retry from scratch, visible in the log: on these 2-core machines a freshly created instance
    # container has, rarely, refused its first `docker exec` (seen twice in ~15 full runs, in different
    # scenarios, never twice in a row). A real failure fails again and is reported.
    echo "--- $s FAILED after $((SECONDS - start))s; running it once more from scratch"
    molecule reset -s "$s" >/dev/null 2>&1 || true
    if molecule test -s "$s"; then
      echo "--- $s passed on the retry (FLAKY: see the first attempt above)"
      flaky+=("$s")
    else
      failed+=("$s")
    fi
  fi
done
if [ ${#flaky[@]} -gt 0 ]; then
  echo "molecule: passed only on the retry: ${flaky[*]}"
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "molecule: failed scenarios: ${failed[*]}"
  exit 1
fi
echo "molecule: all scenarios passed"
