#!/usr/bin/env bash
# `make test`: every check CI runs. Exits non-zero on any failure; prints each stage's result and
# the pytest summary lines.
#
# Three streams run side by side, because much of the time is spent waiting (container starts,
# sample intervals, monitoring windows, SSH round trips) rather than computing:
#   lab:   everything that uses the shared lab stack (127.0.0.1:8000 ...) one after another: the lab
#          tests (AWX-style runner jobs and the execution environment included), the closed-loop EDA test,
#          the runbook-scenario molecules;
#   extra: what has a stack of its own: the SSH fleet (issue 18), the second deployment (issue 22), the
#          hardening matrix, the AWX tests and the EDA tests that run their own Alertmanager and rulebook;
#   main:  nothing of its own.
# Everything else is a queue (make_queue: lint, sanity, unit tests on both ansible-cores, the integration tests
# that need no lab in three parts, the molecule scenarios that need no lab), longest first. The main stream
# starts on it at once; the lab and extra streams join it when their own work is done. On 2 cores the suite is
# CPU-bound, and fixed streams left a core idle at the end while one stream still had 30 minutes to go.
# TEST_STREAMS=serial runs the streams one after the other instead.
#
# Two tiers (TEST_TIER): `ci` (the default, what `make test` and CI run) and `full` (`make test-full`), which adds
# what checks the test bed and the oldest ansible-core's sanity rules rather than the product on the supported
# versions (FULL_ONLY below; docs/ci.md says why each is there and when to run the full tier).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PATH="$PWD/${VENV:-.venv}/bin:$PATH" ANSIBLE_CONFIG="$PWD/ansible.cfg"
# Issue 16: no skips on CI: tests/conftest.py turns every skip into a failure when this is set.
export REFLEXION_NO_SKIP=1
mkdir -p .cache/test
rm -f .cache/test/*.result

LAB_PYTEST="tests/integration/lab tests/integration/eda/test_closed_loop.py"
EXTRA_PYTEST="tests/integration/fleet tests/integration/deployment2 tests/integration/hardening tests/integration/awx
  tests/integration/eda"
LAB_MOLECULE="high_error_rate database_connection_issues memory_leak llm_api_failures rollback"
TEST_TIER=${TEST_TIER:-ci}
case $TEST_TIER in ci|full) ;; *) echo "test: TEST_TIER must be ci or full, not '$TEST_TIER'"; exit 2 ;; esac
# FULL_ONLY: the lab's own tests of itself: its fault injection (each fault, its hand mitigation, its reset) and
# the `lab` molecule scenario (present, idempotence, absent; test_lab_up.py and test_zz_lab_absent.py check the
# same in every tier). The product's path through every fault is in test_scenario_truth.py and the scenario
# molecules.
LAB_IGNORES=""
if [ "$TEST_TIER" = ci ]; then
  LAB_IGNORES="--ignore=tests/integration/lab/test_lab_faults.py"
else
  LAB_MOLECULE="lab $LAB_MOLECULE"
fi
# The integration tests that need no lab, in three parts of similar length for the queue.
MAIN_PARTS="tests/integration/lifecycle tests/integration/modules"

# Each stage's result line has its wall time and its CPU seconds (user + system of every process the stage
# started and waited for, from bash's `times` in the stage's subshell): wall time depends on the other streams,
# CPU seconds do not. Containers' own CPU (the lab, healthchecks) is counted by neither.
stage() {  # stage STREAM NAME CMD...
  local stream=$1 name=$2; shift 2
  local start=$SECONDS rc=0 cpu
  echo "=================== [$stream] $name ==================="
  rm -f .cache/test/.times."$stream"
  (
    "$@"
    rc=$?
    times > ".cache/test/.times.$stream"
    exit $rc
  ) || rc=$?
  # `times` prints two lines, the shell's and its children's "XmY.YYYs XmY.YYYs": the second is the stage's
  cpu=$(sed -n 2p ".cache/test/.times.$stream" 2>/dev/null | awk '{
    t = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); t += p[1] * 60 + p[2] } printf "%.0f", t }')
  printf '%s %-28s %5ss rc=%s cpu=%ss\n' "$([ $rc = 0 ] && echo PASS || echo FAIL)" "$stream/$name" "$((SECONDS - start))" \
    "$rc" "${cpu:-?}" >> ".cache/test/$stream.result"
  return 0
}

# The molecule scenarios that do not use the lab (new scenarios are included automatically).
other_molecule() {
  local s
  for d in molecule/*/molecule.yml; do
    s=$(basename "$(dirname "$d")")
    case " lab $LAB_MOLECULE " in *" $s "*) ;; *) echo "$s" ;; esac
  done
}

# Integration tests talk to real engines, containers and timers on a noisy 2-core machine shared by two
# streams. A failed test runs once more after 5 s; the first attempt's traceback stays in the log and
# its name is listed as RERUN in the final summary, so a flake is visible, never hidden. A test that
# fails twice fails the stage.
RERUN="--reruns 1 --reruns-delay 5 --rerun-show-tracebacks -rR --durations=40"

QUEUE=.cache/test/queue
# One line per item, "NAME|COMMAND ARGS", longest first (the order in which a free stream takes them).
make_queue() {
  local ignores="" p
  for p in $LAB_PYTEST $EXTRA_PYTEST $MAIN_PARTS; do ignores="$ignores --ignore=$p"; done
  {
    for p in $MAIN_PARTS; do echo "integration ${p#tests/integration/}|pytest $RERUN $p"; done
    echo "integration other|pytest $RERUN tests/integration$ignores"
    echo "lint|make -s lint"
    echo "sanity|make -s sanity"
    if [ "$TEST_TIER" = full ]; then echo "sanity-oldest|make -s sanity-oldest"; fi
    echo "unit|make -s unit"
    echo "unit-oldest|make -s unit-oldest"
    for p in $(other_molecule); do echo "molecule $p|env MOLECULE_SCENARIOS=$p scripts/molecule_all.sh"; done
  } > "$QUEUE"
}

take() {  # the next item of the queue, removed from it under a lock; nothing when it is empty
  # shellcheck disable=SC2016  # $1 is expanded by the inner bash
  flock "$QUEUE.lock" bash -c 'head -n 1 "$1"; sed -i 1d "$1"' take "$QUEUE"
}

drain_queue() {  # drain_queue STREAM: take items until the queue is empty
  local item
  while item=$(take) && [ -n "$item" ]; do
    # shellcheck disable=SC2086
    stage "$1" "${item%%|*}" ${item#*|}
  done
}

main_stream() {
  drain_queue main
}

lab_stream() {
  # shellcheck disable=SC2086
  stage lab integration pytest $RERUN $LAB_PYTEST $LAB_IGNORES
  stage lab molecule env MOLECULE_SCENARIOS="$LAB_MOLECULE" scripts/molecule_all.sh
  stage lab lab-absent ansible-playbook -i inventories/lab playbooks/lab.yml -e lab_state=absent
  drain_queue lab
}

extra_stream() {
  # shellcheck disable=SC2086
  stage extra integration pytest $RERUN $EXTRA_PYTEST --ignore=tests/integration/eda/test_closed_loop.py
  drain_queue extra
}

make -s setup || { echo "test: setup failed (see above)"; exit 1; }
make -s setup-oldest || { echo "test: setup of the oldest ansible-core failed (see above)"; exit 1; }
make -s engine || { echo "test: no usable Docker engine (see above)"; exit 1; }

make_queue
stages=$(($(wc -l < "$QUEUE") + 4))  # the queue, plus lab's three stages and extra's one
start=$SECONDS
if [ "${TEST_STREAMS:-parallel}" = serial ]; then
  main_stream 2>&1 | tee .cache/test/main.log
  lab_stream 2>&1 | tee .cache/test/lab.log
  extra_stream 2>&1 | tee .cache/test/extra.log
else
  echo "test: running the main, lab and extra streams side by side (logs: .cache/test/{main,lab,extra}.log)"
  main_stream > .cache/test/main.log 2>&1 &
  main_pid=$!
  lab_stream > .cache/test/lab.log 2>&1 &
  lab_pid=$!
  extra_stream > .cache/test/extra.log 2>&1 &
  extra_pid=$!
  wait $main_pid $lab_pid $extra_pid
  for s in main lab extra; do
    echo
    echo "################### stream $s: full log ###################"
    cat ".cache/test/$s.log"
  done
fi

echo
echo "=================== pytest summaries ==================="
grep -hE '^=+ .*(passed|failed|error).* =+$' .cache/test/main.log .cache/test/lab.log .cache/test/extra.log || true
echo
echo "=================== failures, reruns and flaky scenarios ==================="
grep -hE '^(FAILED|ERROR|RERUN) |^molecule: (passed only on the retry|failed scenarios)' .cache/test/main.log .cache/test/lab.log .cache/test/extra.log || echo "(none)"
echo
echo "=================== summary, tier $TEST_TIER ($((SECONDS - start))s) ==================="
cat .cache/test/main.result .cache/test/lab.result .cache/test/extra.result 2>/dev/null
if grep -q '^FAIL' .cache/test/*.result 2>/dev/null || [ "$(cat .cache/test/*.result 2>/dev/null | wc -l)" -lt $stages ]; then
  echo "test: FAILED"
  exit 1
fi
echo "test: all stages passed"
