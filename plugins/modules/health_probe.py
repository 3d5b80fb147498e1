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
    type: dict
    default: {}
  timeout:
    description: Seconds allowed for one attempt, from DNS lookup to the last body byte.
    type: float
    default: 5.0
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
  validate_certs:
    description: Verify TLS certificates for V(https) URLs.
    type: bool
    default: true
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

import json
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._health import classify, parse_components
from ansible_collections.reflexion.incident.plugins.module_utils._http import (
    HttpProbeError,
    parse_url,
    timed_request,
)
from ansible_collections.reflexion.incident.plugins.module_utils._probe import (
    PROBE_COMMON_SPEC,
    fan_out,
    finish,
    summarize,
)


class HealthProbe(object):
    """Probe each URL, with retries, and classify the answers."""

    def __init__(self, params):
        self.p = params

    def probe_once(self, url):
        p = self.p
        try:
            code, _headers, data, timings = timed_request(
                url, method=p["method"], headers=p["headers"], timeout=p["timeout"],
                validate_certs=p["validate_certs"])
        except HttpProbeError as exc:
            return {"target": url, "status": "down", "reason": str(exc), "status_code": None,
                    "timings": exc.timings, "failed_phase": exc.phase, "components": {}, "body": None}
        body = None
        if p["detailed"] and data:
            try:
                body = json.loads(data.decode("utf-8", "replace"))
            except ValueError:
                body = None
        status, reason = classify(code, p["status_codes"], body, timings["total"], p["slow_ms"])
        if p["detailed"] and data and body is None and status == "healthy":
            status, reason = "degraded", "detailed health body is not JSON"
        return {"target": url, "status": status, "reason": reason, "status_code": code,
                "timings": timings, "failed_phase": None,
                "components": parse_components(body), "body": body}

    def probe(self, url):
        attempts = 0
        while True:
            attempts += 1
            result = self.probe_once(url)
            if result["status"] == "healthy" or attempts > self.p["retries"]:
                result["attempts"] = attempts
                return result
            time.sleep(self.p["delay"])

    def run(self):
        results = fan_out(self.probe, self.p["urls"], self.p["max_workers"])
        status, reason = summarize(results)
        first = results[0]
        return dict(changed=False, status=status, reason=reason, status_code=first.get("status_code"),
                    timings=first.get("timings", {}), components=first.get("components", {}),
                    body=first.get("body"), targets=results)


def validate(module):
    p = module.params
    if not p["urls"]:
        module.fail_json(msg="urls: give at least one URL")
    for url in p["urls"]:
        try:
            parse_url(url)
        except ValueError as exc:
            module.fail_json(msg="urls: %s" % exc)
    for name in ("timeout", "delay", "slow_ms"):
        if p[name] < 0 or (name == "timeout" and p[name] == 0):
            module.fail_json(msg="%s: must be a positive number, got %s" % (name, p[name]))
    if p["retries"] < 0:
        module.fail_json(msg="retries: must be 0 or more, got %d" % p["retries"])
    if p["max_workers"] < 1:
        module.fail_json(msg="max_workers: must be 1 or more, got %d" % p["max_workers"])
    bad = [c for c in p["status_codes"] if not 100 <= c <= 599]
    if bad or not p["status_codes"]:
        module.fail_json(msg="status_codes: HTTP codes are 100-599, got %s" % (bad or "an empty list"))


def main():
    argument_spec = dict(
        urls=dict(type="list", elements="str", required=True, aliases=["url"]),
        method=dict(type="str", default="GET", choices=["GET", "HEAD", "POST"]),
        headers=dict(type="dict", default={}, no_log=True),
        timeout=dict(type="float", default=5.0),
        retries=dict(type="int", default=0),
        delay=dict(type="float", default=1.0),
        status_codes=dict(type="list", elements="int", default=[200]),
        validate_certs=dict(type="bool", default=True),
        detailed=dict(type="bool", default=False),
        slow_ms=dict(type="float", default=2000.0),
    )
    argument_spec.update(PROBE_COMMON_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    validate(module)
    result = HealthProbe(module.params).run()
    finish(module, result)


if __name__ == "__main__":
    main()
