#!/usr/bin/env bash
# `make demo`: bring the lab up, inject high_error_rate, run the scenario playbook, print the report.
set -euo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_CONFIG=$PWD/ansible.cfg
export PATH=$PWD/${VENV:-.venv}/bin:$PATH
inv=inventories/lab

echo "==> lab up (first run builds the images: a few minutes; then about a minute)"
ansible-playbook -i "$inv" playbooks/lab.yml -e lab_state=present
echo "==> inject the high_error_rate fault"
ansible-playbook -i "$inv" playbooks/lab_fault.yml -e fault=high_error_rate
echo "==> let the load generator produce errors for a few seconds"
sleep "${DEMO_SETTLE_SECONDS:-15}"
echo "==> ansible-playbook -i $inv playbooks/high_error_rate.yml"
mkdir -p .cache && ansible-playbook -i "$inv" playbooks/high_error_rate.yml | tee .cache/demo-run.log
report=$(grep -oE 'report: [^" ]+\.md' .cache/demo-run.log | tail -n1 | cut -d' ' -f2 || true)
echo
echo "==> the triage report: ${report:-see the banner above}"
echo "==> the incident record: incidents/ (incident.log, incident.jsonl, record.json)"
echo "==> take the lab down with: ansible-playbook -i $inv playbooks/lab.yml -e lab_state=absent"
