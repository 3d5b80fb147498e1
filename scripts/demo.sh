#!/usr/bin/env bash
# `make demo`: bring the lab up, inject high_error_rate, run the scenario playbook, print the report.
set -euo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_CONFIG=$PWD/ansible.cfg
export PATH=$PWD/${VENV:-.venv}/bin:$PATH
inv=inventories/lab
# Run history with ARA (docs/operator/run-history.md): on in the demo, SQLite under .cache/ara.
export REFLEXION_ARA=${REFLEXION_ARA:-1} ARA_BASE_DIR=${ARA_BASE_DIR:-$PWD/.cache/ara}
export REFLEXION_ARA_DATABASE=${REFLEXION_ARA_DATABASE:-$ARA_BASE_DIR/ansible.sqlite}

echo "==> lab up (first run builds the images: a few minutes; then about a minute)"
ansible-playbook -i "$inv" playbooks/lab.yml -e lab_state=present
echo "==> inject the high_error_rate fault"
ansible-playbook -i "$inv" playbooks/lab_fault.yml -e fault=high_error_rate
echo "==> let the load generator produce errors for a few seconds"
sleep "${DEMO_SETTLE_SECONDS:-15}"
echo "==> ansible-playbook -i $inv playbooks/high_error_rate.yml"
mkdir -p .cache && ansible-playbook -i "$inv" playbooks/high_error_rate.yml | tee .cache/demo-run.log
report=$(grep -oE 'report: [^" ]+\.md' .cache/demo-run.log | tail -n1 | cut -d' ' -f2 || true)
dir=$(dirname "${report:-.}")
status=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r.get("status", "?"))' "$dir/record.json" 2>/dev/null || echo "?")
echo
echo "==> incident status: $status (the lab watches a fix for 20 s; the runbook's default, for real hosts, is 30 minutes)"
echo "==> the triage report:  ${report:-see the banner above}"
echo "==> the status update:  $dir/status.md"
echo "==> the incident log:   $dir/incident.log (and incident.jsonl, record.json)"
echo "==> the runs in ARA:     ARA_BASE_DIR=$ARA_BASE_DIR ara playbook list (web: ARA_BASE_DIR=$ARA_BASE_DIR ara-manage runserver 127.0.0.1:8001)"
echo "==> the fault is still injected; the circuit breaker keeps the app serving without the LLM. Next:"
echo "      . .venv/bin/activate      # puts ansible-playbook on PATH"
echo "      ansible-playbook -i $inv playbooks/lab_fault.yml -e fault=none                          # heal the provider"
echo "      ansible-playbook -i $inv playbooks/circuit_breaker.yml -e circuit_breaker_state=closed  # LLM back on"
echo "      ansible-playbook -i $inv playbooks/lab.yml -e lab_state=absent                          # lab down"
echo "==> the incident page (open it in a browser; all incidents: $(dirname "$dir")/index.html):"
echo "$dir/index.html"
