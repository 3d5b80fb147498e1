#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: health_probe
short_description: Probe HTTP health endpoints with curl-style timings
version_added: 0.1.0
description:
  - The runbook's C(curl http://localhost:8000/health) and C(curl -w "@curl-format.txt") as one
    read-only probe.
  - Probes every URL in O(urls) concurrently and reports, for each, the HTTP status code, a timing
    breakdown (dns, connect, tls, ttfb, total, in milliseconds) and a classification
    (V(healthy), V(degraded) or V(down)) with a reason.
  - With O(detailed=true) it parses the JSON body and reports the overall status and each
    component's status and latency, as served by C(python scripts/health_check.py --detailed).
  - A target that is down does not fail the task unless O(fail_on_unhealthy=true).
author:
  - Reflexion SRE team (@reflexion)
extends_documentation_fragment:
  - reflexion.incident.probe
options:
  urls:
    description:
      - The health endpoints to probe, for example V(http://localhost:8000/health).
    type: list
    elements: str
    required: true
    aliases: [url]
  method:
    description: HTTP method.
    type: str
    default: GET
    choices: [GET, HEAD, POST]
  headers:
    description:
      - Extra request headers. Their values are treated as secrets and never logged.
      - Surrounding whitespace of a value (a trailing newline from a file or a secret) is stripped; a name or
        value holding a CR, LF or NUL is refused, with a message that names the header but not the value.
    type: dict
    default: {}
  retries:
    description: Extra attempts after a failed one (connection error or unhealthy answer).
    type: int
    default: 0
  delay:
    description: Seconds between attempts.
    type: float
    default: 1.0
  status_codes:
    description: HTTP status codes that count as a healthy answer.
    type: list
    elements: int
    default: [200]
  detailed:
    description:
      - Parse the body as JSON and report its overall status and each component's status and latency.
    type: bool
    default: false
  slow_ms:
    description: A total time above this many milliseconds makes a target V(degraded).
    type: float
    default: 2000.0
notes:
  - Proxies are not used; the probe measures the direct path to the service.
seealso:
  - module: reflexion.incident.metrics_probe
"""

EXAMPLES = r"""
- name: Check service status (runbook, Investigation and Diagnosis)
  reflexion.incident.health_probe:
    url: http://localhost:8000/health
    detailed: true
  register: health

- name: Probe every replica at once and fail when one is down
  reflexion.incident.health_probe:
    urls:
      - http://10.0.0.11:8000/health
      - http://10.0.0.12:8000/health
    timeout: 2
    retries: 2
    delay: 0.5
    fail_on_unhealthy: true
"""

RETURN = r"""
status:
  description: The worst status over all targets.
  returned: always
  type: str
  sample: degraded
reason:
  description: Why, in one line.
  returned: always
  type: str
  sample: "http://localhost:8000/health: component(s) down: db"
status_code:
  description: HTTP status of the first target, or null when it did not answer.
  returned: always
  type: int
  sample: 200
timings:
  description: Cumulative milliseconds of the first target, like curl's C(-w) (dns, connect, tls, ttfb, total).
  returned: always
  type: dict
  sample: {"dns": 0.4, "connect": 0.7, "tls": 0.0, "ttfb": 12.3, "total": 12.9}
components:
  description: Per-component results of the first target (with O(detailed=true)).
  returned: always
  type: dict
  sample: {"db": {"status": "healthy", "latency_ms": 1.2}, "llm": {"status": "disabled", "latency_ms": null}}
body:
  description: The first target's JSON body (with O(detailed=true) and a JSON answer), else null.
  returned: always
  type: raw
targets:
  description: One result per URL, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The URL.
      type: str
    status:
      description: V(healthy), V(degraded) or V(down).
      type: str
    reason:
      description: Why.
      type: str
    status_code:
      description: HTTP status, null when no answer.
      type: int
    timings:
      description: Cumulative milliseconds per phase.
      type: dict
    attempts:
      description: How many attempts were made.
      type: int
    failed_phase:
      description: The phase that failed (dns, connect, tls, request) when there was no answer.
      type: str
    components:
      description: Per-component status and latency (with O(detailed=true)).
      type: dict
    body:
      description: Parsed JSON body (with O(detailed=true)).
      type: raw
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._probe import finish
from ansible_collections.reflexion.incident.plugins.module_utils._probe_health import HealthProbe, argument_spec, validate
from ansible_collections.reflexion.incident.plugins.module_utils._redact import register_secrets, url_passwords


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    register_secrets(module, url_passwords(module.params))  # a URL's password never shows, not even in a failure
    validate(module)
    result = HealthProbe(module.params).run()
    finish(module, result)


if __name__ == "__main__":
    main()
