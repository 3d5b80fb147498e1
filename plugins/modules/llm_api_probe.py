#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: llm_api_probe
short_description: Check that the LLM providers (OpenAI, Anthropic) answer, and why not
version_added: 0.1.0
description:
  - >-
    The runbook's "LLM API Failures" checks, C(curl -H "Authorization: Bearer $OPENAI_API_KEY"
    https://api.openai.com/v1/models) and the Anthropic equivalent, as one read-only probe.
  - Makes one cheap authenticated call per provider (list models), or with O(call=completion) a
    minimal completion (one output token), all providers concurrently.
  - Classifies each answer as V(ok), V(auth_failed) (401/403), V(rate_limited) (429, with
    C(retry_after) and the provider's rate-limit headers), V(server_error) (5xx, 529),
    V(timeout) or V(unreachable), with the latency.
  - The API keys never appear in any return value or log; error texts from the providers are
    redacted.
author:
  - Reflexion SRE team (@reflexion)
extends_documentation_fragment:
  - reflexion.incident.probe
  - reflexion.incident.http_client
options:
  providers:
    description:
      - The providers to check. By default both, with their public base URLs and the keys from
        E(OPENAI_API_KEY) and E(ANTHROPIC_API_KEY) on the target.
    type: list
    elements: dict
    default: [{name: openai}, {name: anthropic}]
    suboptions:
      name:
        description: The provider.
        type: str
        required: true
        choices: [openai, anthropic]
      base_url:
        description:
          - Base URL (with or without C(/v1)); defaults to the provider's public API.
          - Point it at a fake provider in a lab.
        type: str
      api_key:
        description:
          - The API key. Defaults to E(OPENAI_API_KEY) or E(ANTHROPIC_API_KEY) on the target.
          - Without a key the call is sent unauthenticated and normally ends as V(auth_failed).
        type: str
      model:
        description: Model for O(call=completion).
        type: str
  call:
    description:
      - V(models) lists the models (free); V(completion) asks for one token (costs a request).
    type: str
    default: models
    choices: [models, completion]
  slow_ms:
    description: An V(ok) answer slower than this many milliseconds makes the provider V(degraded).
    type: float
    default: 5000.0
"""

EXAMPLES = r"""
- name: LLM API failures (runbook)
  reflexion.incident.llm_api_probe:
    timeout: 10
  register: llm

- name: Against the lab's fake provider
  reflexion.incident.llm_api_probe:
    providers:
      - name: openai
        base_url: http://127.0.0.1:18080
      - name: anthropic
        base_url: http://127.0.0.1:18080
    call: completion
"""

RETURN = r"""
status:
  description: The worst status over the providers (ok is V(healthy), rate_limited V(degraded), others V(down)).
  returned: always
  type: str
reason:
  description: Why, in one line.
  returned: always
  type: str
providers:
  description: One entry per provider name.
  returned: always
  type: dict
  sample:
    openai:
      status: degraded
      outcome: rate_limited
      status_code: 429
      latency_ms: 12.4
      retry_after: 20.0
      rate_limits: {"x-ratelimit-remaining-requests": "0"}
  contains:
    status:
      description: V(healthy), V(degraded) or V(down).
      type: str
    outcome:
      description: V(ok), V(auth_failed), V(rate_limited), V(server_error), V(timeout), V(unreachable) or V(unexpected).
      type: str
    status_code:
      description: HTTP status, null without an answer.
      type: int
    latency_ms:
      description: Total time of the call in milliseconds.
      type: float
    retry_after:
      description: Seconds the provider asks to wait (C(retry-after-ms) or C(retry-after)), else null.
      type: float
    rate_limits:
      description: The provider's rate-limit headers (C(x-ratelimit-*), C(anthropic-ratelimit-*)).
      type: dict
    url:
      description: The URL called.
      type: str
    key_source:
      description: Where the key came from, V(param), V(env) or V(none). The key itself is never returned.
      type: str
    error:
      description: The provider's error message or the connection error, redacted; null when ok.
      type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._http import (
    HttpProbeError,
    parse_url,
    timed_request,
)
from ansible_collections.reflexion.incident.plugins.module_utils._llm import (
    DEFAULT_BASE,
    DEFAULT_MODEL,
    ENV_KEYS,
    OUTCOME_STATUS,
    build_request,
    classify_error,
    classify_status,
    error_message,
    parse_retry_after,
    rate_limit_headers,
    redact,
)
from ansible_collections.reflexion.incident.plugins.module_utils._probe import (
    PROBE_COMMON_SPEC,
    fan_out,
    finish,
    summarize,
)


class LlmApiProbe(object):
    def __init__(self, params):
        self.p = params
        self.secrets = []
        for prov in params["providers"]:
            if prov.get("api_key"):
                self.secrets.append(prov["api_key"])
        for env in ENV_KEYS.values():
            if os.environ.get(env):
                self.secrets.append(os.environ[env])

    def probe(self, prov):
        p = self.p
        name = prov["name"]
        key, source = prov.get("api_key"), "param"
        if not key:
            key, source = os.environ.get(ENV_KEYS[name]), "env"
        if not key:
            key, source = None, "none"
        base = prov.get("base_url") or DEFAULT_BASE[name]
        method, url, headers, body = build_request(name, base, key, p["call"], prov.get("model") or DEFAULT_MODEL[name])
        out = {"target": name, "url": redact(url, self.secrets), "key_source": source, "status_code": None,
               "retry_after": None, "rate_limits": {}, "error": None}
        try:
            code, resp_headers, data, timings = timed_request(url, method=method, headers=headers, body=body,
                                                              timeout=p["timeout"], validate_certs=p["validate_certs"],
                                                              max_body=65536)
        except HttpProbeError as exc:
            outcome = classify_error(exc.phase, str(exc))
            out.update(outcome=outcome, status=OUTCOME_STATUS[outcome], latency_ms=exc.timings.get("total"),
                       error=redact(str(exc), self.secrets))
            out["reason"] = "%s: %s" % (outcome, out["error"])
            return out
        outcome = classify_status(code)
        out.update(outcome=outcome, status=OUTCOME_STATUS[outcome], status_code=code, latency_ms=timings["total"],
                   rate_limits=dict((k, redact(v, self.secrets)) for k, v in rate_limit_headers(resp_headers).items()),
                   retry_after=parse_retry_after(resp_headers))
        if outcome != "ok":
            out["error"] = redact(error_message(data), self.secrets)
            out["reason"] = "%s (HTTP %d)%s" % (outcome, code, ": " + out["error"] if out["error"] else "")
            if out["retry_after"] is not None:
                out["reason"] += "; retry after %.0fs" % out["retry_after"]
        elif timings["total"] > p["slow_ms"]:
            out["status"] = "degraded"
            out["reason"] = "ok but slow: %.0f ms > %.0f ms" % (float(timings["total"] or 0.0), p["slow_ms"])
        else:
            out["reason"] = "ok (HTTP %d) in %.0f ms" % (code, float(timings["total"] or 0.0))
        return out

    def run(self):
        provs = self.p["providers"]
        results = fan_out(self.probe, provs, self.p["max_workers"])
        for prov, r in zip(provs, results):
            r.setdefault("target", prov["name"])
            r.setdefault("outcome", "unreachable")
        status, reason = summarize(results)
        if status == "healthy":
            reason = "; ".join("%s: %s" % (r["target"], r["reason"]) for r in results)
        providers = {}
        for r in results:
            entry = dict((k, v) for k, v in r.items() if k not in ("target", "reason"))
            entry["reason"] = r.get("reason")
            providers[r["target"]] = entry
        return dict(changed=False, status=status, reason=redact(reason, self.secrets), providers=providers)


def validate(module):
    p = module.params
    if not p["providers"]:
        module.fail_json(msg="providers: give at least one provider (openai, anthropic)")
    names = [prov["name"] for prov in p["providers"]]
    if len(set(names)) != len(names):
        module.fail_json(msg="providers: each provider may appear once, got %s" % ", ".join(names))
    for prov in p["providers"]:
        if prov.get("base_url"):
            try:
                parse_url(prov["base_url"])
            except ValueError as exc:
                module.fail_json(msg="providers[%s].base_url: %s" % (prov["name"], exc))
    if p["timeout"] <= 0:
        module.fail_json(msg="timeout: must be a positive number, got %s" % p["timeout"])
    if p["slow_ms"] < 0:
        module.fail_json(msg="slow_ms: must be 0 or more, got %s" % p["slow_ms"])
    if p["max_workers"] < 1:
        module.fail_json(msg="max_workers: must be 1 or more, got %d" % p["max_workers"])


def main():
    argument_spec = dict(
        providers=dict(
            type="list", elements="dict", default=[{"name": "openai"}, {"name": "anthropic"}],
            options=dict(
                name=dict(type="str", required=True, choices=["openai", "anthropic"]),
                base_url=dict(type="str"),
                api_key=dict(type="str", no_log=True),
                model=dict(type="str"),
            ),
        ),
        call=dict(type="str", default="models", choices=["models", "completion"]),
        slow_ms=dict(type="float", default=5000.0),
        timeout=dict(type="float", default=5.0),
        validate_certs=dict(type="bool", default=True),
    )
    argument_spec.update(PROBE_COMMON_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    validate(module)
    result = LlmApiProbe(module.params).run()
    finish(module, result)


if __name__ == "__main__":
    main()
