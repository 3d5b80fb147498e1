#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: plan
short_description: Decide an incident's mitigation from the triage evidence, as the runbook's scenarios say
version_added: 0.3.0
description:
  - The runbook's "Common Incident Scenarios" and "Mitigation and Recovery" as code. Takes the triage
    evidence of one scenario, the operator's switches and what was already tried, and returns the
    mitigation steps in order, each one C(apply) (done in this run), C(propose) (needs a switch; the
    step names it and the command that applies it), C(next) (kept for when the applied step does not
    hold), C(tried) (already applied in this incident) or C(manual) (a change people make).
  - Only the first step (and the steps that go with it, such as the app restart after a database
    cleanup) is applied or proposed in a run; a guarded step that is not allowed becomes a proposal
    and nothing else is applied instead.
  - With O(phase=verify) it re-measures the symptom that opened the incident (for a database incident
    the connections, long runners and idle-in-transaction sessions, not only the app's health) plus
    health, the 5xx share, p95 latency and the scenario's alerts that started firing after O(since),
    and returns whether the fix holds.
  - This is an action plugin. It runs on the controller over registered results and connects nowhere.
author:
  - Reflexion SRE team (@reflexion)
options:
  scenario:
    description: The runbook scenario.
    type: str
    required: true
    choices: [high_error_rate, database_connection_issues, memory_leak, llm_api_failures]
  phase:
    description: V(triage) returns the plan; V(verify) checks that the fix holds.
    type: str
    default: triage
    choices: [triage, verify]
  evidence:
    description:
      - The registered probe results by name (C(health), C(metrics), C(logs), C(pg), C(redis), C(memory), C(llm)),
        as M(reflexion.incident.triage_probe) returns them in C(probes). Missing or skipped ones add nothing.
    type: dict
    default: {}
  context:
    description:
      - Facts of the investigation and the deployment. C(deploy_age_hours) (hours since the running release was
        checked out), C(error_lines) (the latest error lines), C(project), C(app_service), C(db_service),
        C(protected_services), C(process_pattern), C(primary_provider), C(replicas),
        C(app_application_names) and C(app_users) (how the app shows in pg_stat_activity), C(inventory) and
        C(limit) for the proposed command (default the play's inventory directory and C(--limit)).
    type: dict
    default: {}
  switches:
    description:
      - The operator's switches, read as booleans the way C(| bool) reads them (AWX surveys pass strings).
      - C(auto_mitigate) (default true), C(rollback_confirm), C(pg_cleanup_confirm), C(restart_allow_database),
        C(memory_relief_allow_drop_caches) (default false), C(memory_leak_memory_limit) (a size such as C(4g);
        empty leaves the limit alone).
    type: dict
    default: {}
  thresholds:
    description:
      - C(error_ratio) (0.05), C(p95_latency_s) (2.0), C(db_utilization_pct) (80), C(memory_used_pct) (85),
        C(deploy_window_h) (24).
    type: dict
    default: {}
  tried:
    description: Actions already applied in this incident (from its record); they are skipped and the next step leads.
    type: list
    elements: str
    default: []
  accept_health:
    description: With O(phase=verify), the health statuses that count as fixed.
    type: list
    elements: str
    default: [healthy]
  alerts:
    description: With O(phase=verify), Prometheus' C(/api/v1/alerts) C(data.alerts) list.
    type: list
    elements: dict
    default: []
  since:
    description: With O(phase=verify), the epoch second the fix was applied; alerts active before it are not new.
    type: float
attributes:
  action:
    support: full
    description: Runs on the controller as an action plugin.
  check_mode:
    support: full
    description: Pure logic; the same result in check mode, and nothing is changed in any mode.
  diff_mode:
    support: none
    description: Nothing to diff.
  platform:
    support: full
    description: Needs no connection to the target.
    platforms: all
"""

EXAMPLES = r"""
- name: Decide the mitigation
  reflexion.incident.plan:
    scenario: high_error_rate
    evidence: "{{ triage_evidence.probes }}"
    context:
      deploy_age_hours: 2.5
      error_lines: "{{ patterns.matches | map(attribute='text') | list }}"
    switches:
      auto_mitigate: "{{ auto_mitigate | default(true) }}"
      rollback_confirm: "{{ rollback_confirm | default(false) }}"
  register: incident_plan

- name: Does the fix hold?
  reflexion.incident.plan:
    scenario: database_connection_issues
    phase: verify
    evidence:
      pg: "{{ pg_now }}"
      health: "{{ health_now }}"
  register: incident_check
"""

RETURN = r"""
symptom:
  description: Whether the scenario's symptom is in the evidence (O(phase=triage)).
  returned: phase=triage
  type: bool
symptoms:
  description: The symptom lines found.
  returned: phase=triage
  type: list
  elements: str
  sample: ["connections at 96% of max_connections (>= 80%)"]
steps:
  description:
    - The mitigation steps in order. Each has C(action), C(title), C(why), C(params) (for the role that applies it),
      C(mode) (apply, propose, next, tried, manual), C(needs) (the switches that would apply it) and C(command).
  returned: phase=triage
  type: list
  elements: dict
apply:
  description: The steps applied in this run.
  returned: phase=triage
  type: list
  elements: dict
proposed:
  description: The steps that need a switch; each names it in C(needs) and C(command).
  returned: phase=triage
  type: list
  elements: dict
modes:
  description: Action name to its mode, for C(when:) conditions.
  returned: phase=triage
  type: dict
  sample: {rollback: propose, scale: next}
next:
  description: The first step kept for when the applied one does not hold, or null.
  returned: phase=triage
  type: dict
summary:
  description: One line for the status update.
  returned: phase=triage
  type: str
  sample: >-
    proposed: roll back the recent deployment (...); run
    `ansible-playbook -i inventories/lab playbooks/high_error_rate.yml -e rollback_confirm=true`
alerts:
  description: The Prometheus alerts this scenario answers.
  returned: phase=triage
  type: list
  elements: str
holds:
  description: Whether the fix holds (O(phase=verify)).
  returned: phase=verify
  type: bool
regressions:
  description: Why it does not hold.
  returned: phase=verify
  type: list
  elements: str
"""
