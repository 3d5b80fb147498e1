# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The health_probe probe's work: its options, their validation and the class that probes. Shared by the
health_probe module and the triage_probe module (which runs several probes in one invocation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.reflexion.incident.plugins.module_utils._health import classify, parse_components
from ansible_collections.reflexion.incident.plugins.module_utils._http import (
    HttpProbeError,
    header_problem,
    parse_url,
    timed_request,
)
from ansible_collections.reflexion.incident.plugins.module_utils._probe import (
    PROBE_COMMON_SPEC,
    fan_out,
    resolve_timeout,
    summarize,
)
from ansible_collections.reflexion.incident.plugins.module_utils._validate import require_finite

# timeout when the option is not set (seconds)
DEFAULT_TIMEOUT = 5.0


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
    require_finite(module, argument_spec())
    resolve_timeout(module, DEFAULT_TIMEOUT)
    if not p["urls"]:
        module.fail_json(msg="urls: give at least one URL")
    for url in p["urls"]:
        try:
            parse_url(url)
        except ValueError as exc:
            module.fail_json(msg="urls: %s" % exc)
    # a header value read from a file or a secret often ends in a newline: surrounding whitespace is not part
    # of a header value (RFC 9110), any other CR/LF is refused - naming the header, never showing the value
    p["headers"] = dict((k, v.strip() if isinstance(v, str) else v) for k, v in (p["headers"] or {}).items())
    for key, value in p["headers"].items():
        problem = header_problem(key, value)
        if problem:
            module.fail_json(msg="headers: %s" % problem)
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


def argument_spec():
    """health_probe's options, with the options every probe shares."""
    spec = dict(
        urls=dict(type="list", elements="str", required=True, aliases=["url"]),
        method=dict(type="str", default="GET", choices=["GET", "HEAD", "POST"]),
        headers=dict(type="dict", default={}, no_log=True),
        retries=dict(type="int", default=0),
        delay=dict(type="float", default=1.0),
        status_codes=dict(type="list", elements="int", default=[200]),
        detailed=dict(type="bool", default=False),
        slow_ms=dict(type="float", default=2000.0),
    )
    spec.update(PROBE_COMMON_SPEC)
    return spec
