#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: classify
short_description: Decide an incident's severity (P0-P3) from probe results, as the runbook's table says
version_added: 0.1.0
description:
  - The runbook's "Incident Classification" table as code. Reads the results registered by the probe
    modules (M(reflexion.incident.health_probe), M(reflexion.incident.metrics_probe),
    M(reflexion.incident.log_grep), M(reflexion.incident.llm_api_probe),
    M(reflexion.incident.pg_activity_probe), M(reflexion.incident.redis_probe),
    M(reflexion.incident.memory_probe)) plus facts no probe can see, and returns the severity, the
    evidence that led there, the response time and whom to notify.
  - Every probe option is optional; a missing or skipped probe result is listed in
    RV(probes_missing) and simply contributes no evidence.
  - The worst row any evidence reaches wins. With no evidence above P3 the severity is P3.
  - "P0 (complete outage, data loss, security breach): health check down with no answer on every target,
    error ratio >= C(p0_error_ratio), database or redis unreachable, or the facts
    O(facts.data_loss) / O(facts.security_breach)."
  - "P1 (major feature unavailable, significant performance degradation, API errors affecting multiple users):
    a health component down, some replicas down, every LLM provider failing, error ratio >= p1_error_ratio,
    p95 latency >= p1_p95_latency_s, DB connection utilization >= p1_db_utilization_pct, host memory
    >= p1_memory_used_pct, an OOM kill, or O(facts.major_feature_unavailable)."
  - "P2 (minor feature issues, performance issues affecting some users, non-critical API errors):
    health degraded, a component degraded, one LLM provider failing while another works, error ratio
    >= p2_error_ratio, p95 >= p2_p95_latency_s, DB utilization >= p2_db_utilization_pct, memory >=
    p2_memory_used_pct, leak suspects, blocked/long-running/idle-in-transaction queries, log error
    lines >= p2_log_errors, or O(facts.minor_feature_issue)."
  - "P3 (cosmetic, documentation, enhancement): the facts O(facts.cosmetic), O(facts.documentation),
    O(facts.enhancement_request), or no evidence of anything worse."
  - This is an action plugin. Classification is pure logic over results already registered on the
    controller, so it runs there, transfers no module and needs no connection to the target (which
    may be the host that is down).
author:
  - Reflexion SRE team (@reflexion)
options:
  health:
    description: The registered result of M(reflexion.incident.health_probe) (V(detailed=true) gives components).
    type: dict
  metrics:
    description:
      - The registered result of M(reflexion.incident.metrics_probe).
      - Reads C(rates.error_ratio) and C(rates.p95_latency_s).
    type: dict
  logs:
    description: The registered result of M(reflexion.incident.log_grep); reads C(total_matches).
    type: dict
  llm:
    description: The registered result of M(reflexion.incident.llm_api_probe); reads C(providers.*.outcome).
    type: dict
  pg:
    description:
      - The registered result of M(reflexion.incident.pg_activity_probe).
      - Reads C(connectable), C(utilization_pct), C(blocked), C(long_running), C(idle_in_transaction).
    type: dict
  redis:
    description: The registered result of M(reflexion.incident.redis_probe); reads C(connectable) and C(status).
    type: dict
  memory:
    description:
      - The registered result of M(reflexion.incident.memory_probe).
      - Reads C(host.used_pct), C(oom_kills), C(containers[].oom_killed), C(leak_suspects).
    type: dict
  facts:
    description: What a human or an alert knows and no probe can observe.
    type: dict
    default: {}
    suboptions:
      data_loss:
        description: Data loss or corruption (P0).
        type: bool
        default: false
      security_breach:
        description: A security breach (P0).
        type: bool
        default: false
      major_feature_unavailable:
        description: A major feature is unavailable (P1).
        type: bool
        default: false
      minor_feature_issue:
        description: A minor feature issue (P2).
        type: bool
        default: false
      cosmetic:
        description: A cosmetic issue (P3).
        type: bool
        default: false
      documentation:
        description: A documentation problem (P3).
        type: bool
        default: false
      enhancement_request:
        description: An enhancement request (P3).
        type: bool
        default: false
  thresholds:
    description:
      - Overrides for the numeric thresholds; unknown keys fail the task. Defaults
      - "V(p0_error_ratio=0.5): half of all requests failing is an outage."
      - "V(p1_error_ratio=0.05): 5% errors means errors for many users (the usual C(HighErrorRate) alert level)."
      - "V(p2_error_ratio=0.01): 1% errors is a non-critical API error rate."
      - "V(p1_p95_latency_s=2.0), V(p2_p95_latency_s=1.0): p95 latency in seconds."
      - "V(p1_db_utilization_pct=90), V(p2_db_utilization_pct=75): percent of PostgreSQL max_connections in use."
      - "V(p1_memory_used_pct=95), V(p2_memory_used_pct=85): percent of host memory used."
      - "V(p2_log_errors=10): error lines counted by log_grep."
      - Each P0 value must be >= its P1 value, each P1 >= its P2.
    type: dict
    default: {}
  minimum:
    description: A severity floor set by the responder; the result is never less severe than this.
    type: str
    choices: [P0, P1, P2, P3]
attributes:
  action:
    support: full
    description: Runs on the controller as an action plugin.
  check_mode:
    support: full
    description: Pure computation; the same result in check mode.
  diff_mode:
    support: none
    description: Nothing to diff.
  idempotent:
    support: full
    description: Never changes anything.
  async:
    support: none
    description: Not supported (and never needed).
  delegation:
    support: none
    description: Runs on the controller; there is nothing to delegate.
notes:
  - Thresholds are compared with C(>=).
seealso:
  - module: reflexion.incident.incident
"""

EXAMPLES = r"""
- name: Assess severity (runbook, Initial Response step 2)
  reflexion.incident.classify:
    health: "{{ triage_health }}"
    metrics: "{{ triage_metrics | default(omit) }}"
    pg: "{{ triage_pg | default(omit) }}"
    llm: "{{ triage_llm | default(omit) }}"
    memory: "{{ triage_memory | default(omit) }}"
    thresholds:
      p1_error_ratio: 0.02
  register: severity

- name: A reported security breach is P0 whatever the probes say
  reflexion.incident.classify:
    facts:
      security_breach: true
"""

RETURN = r"""
severity:
  description: P0, P1, P2 or P3.
  returned: success
  type: str
  sample: P1
reasons:
  description: The evidence at the chosen severity, one line each.
  returned: success
  type: list
  elements: str
  sample: ["API errors affecting multiple users: error ratio 12.0% >= 5.0%"]
evidence:
  description: All evidence found, most severe first.
  returned: success
  type: list
  elements: dict
  contains:
    severity:
      description: The row this evidence reaches.
      type: str
    source:
      description: Which input (health, metrics, logs, llm, database, redis, memory, fact, minimum, default).
      type: str
    reason:
      description: One line.
      type: str
response_time:
  description: The runbook's response time, short (15m, 1h, 4h, 24h).
  returned: success
  type: str
  sample: 1h
response_time_text:
  description: The runbook's response time as written there.
  returned: success
  type: str
  sample: "< 1 hour"
response_time_minutes:
  description: The response time in minutes (15, 60, 240, 1440), the SLA the review measures against.
  returned: success
  type: int
  sample: 60
notify:
  description: Stakeholders to notify (engineering, product, customer_support) for P0/P1; empty otherwise.
  returned: success
  type: list
  elements: str
  sample: [engineering, product, customer_support]
probes_used:
  description: Probe options that held a result.
  returned: success
  type: list
  elements: str
probes_missing:
  description: Probe options that were missing or skipped.
  returned: success
  type: list
  elements: str
thresholds:
  description: The thresholds in force (defaults merged with O(thresholds)).
  returned: success
  type: dict
"""
