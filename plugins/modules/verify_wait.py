#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: verify_wait
short_description: Wait until the service is healthy and its error ratio acceptable, printing progress
version_added: 0.3.0
description:
  - Runs M(reflexion.incident.health_probe) on the target and, once the health is acceptable,
    M(reflexion.incident.metrics_probe), again every O(delay) seconds until both are acceptable or the one
    total deadline O(timeout) passes.
  - "Prints one line of progress per attempt
    (C(verify: waiting 3/60 (15/300 s): health degraded (component llm down), error ratio 12.0% (max 5.0%)))
    instead of the C(FAILED - RETRYING) lines of C(until)/C(retries)."
  - Never fails because the service stays unhealthy; it returns RV(outcome=timeout) and the caller decides
    (the verify role records "not verified").
author:
  - Reflexion SRE team (@reflexion)
options:
  health_url:
    description: The health endpoint (C(/health)).
    type: str
    required: true
  metrics_url:
    description: The Prometheus metrics endpoint of the app (C(/metrics)).
    type: str
    required: true
  accept_health:
    description: The health statuses that count as recovered.
    type: list
    elements: str
    default: [healthy]
  max_error_ratio:
    description: The highest acceptable 5xx share, 0..1.
    type: float
    default: 0.05
  sample_interval:
    description: Seconds between the two metric samples of one measurement (more than 0, at most 3600).
    type: float
    default: 10.0
  timeout:
    description: The one total deadline in seconds (1 to 86400).
    type: int
    default: 300
  delay:
    description: Seconds between two attempts (1 to 86400).
    type: int
    default: 5
  probe_once:
    description: Probe once and return (a dry run); RV(outcome=probed).
    type: bool
    default: false
attributes:
  action:
    support: full
    description: Runs on the controller as an action plugin and executes the probe modules on the target.
  check_mode:
    support: full
    description: The probes only read; the same in check mode.
  diff_mode:
    support: none
    description: Nothing to diff.
  platform:
    support: full
    description: Any target the probe modules run on.
    platforms: posix
"""

EXAMPLES = r"""
- name: Wait until the service is healthy and the error ratio is under 5%
  reflexion.incident.verify_wait:
    health_url: http://127.0.0.1:8000/health
    metrics_url: http://127.0.0.1:8000/metrics
    max_error_ratio: 0.05
    timeout: 300
    delay: 5
  register: verify_wait
"""

RETURN = r"""
outcome:
  description:
    - C(verified) (healthy and the error ratio acceptable), C(timeout) (the deadline passed)
      or C(probed) (O(probe_once)).
  returned: always
  type: str
  sample: verified
attempts:
  description: How many times the probes ran.
  returned: always
  type: int
  sample: 3
elapsed:
  description: Seconds spent.
  returned: always
  type: float
  sample: 21.4
health:
  description: The last M(reflexion.incident.health_probe) result.
  returned: always
  type: dict
metrics:
  description: The last M(reflexion.incident.metrics_probe) result (empty when the health never became acceptable).
  returned: always
  type: dict
"""
