# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The llm_api_probe probe's work: its options, their validation and the class that probes. Shared by the
llm_api_probe module and the triage_probe module (which runs several probes in one invocation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

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
    resolve_timeout,
    summarize,
)
from ansible_collections.reflexion.incident.plugins.module_utils._redact import redact as redact_text
from ansible_collections.reflexion.incident.plugins.module_utils._redact import secret_variants
from ansible_collections.reflexion.incident.plugins.module_utils._validate import require_finite

# timeout when the option is not set (seconds)
DEFAULT_TIMEOUT = 5.0


def env_secrets():
    """The provider keys in this process's environment (OPENAI_API_KEY, ANTHROPIC_API_KEY), as set: the probe
    reads them as fallbacks, so every output must mask them (see _redact.register_secrets)."""
    return set(os.environ[env] for env in ENV_KEYS.values() if os.environ.get(env))


def key_problem(key):
    """Why an API key (stripped of surrounding whitespace) cannot go into a header, or None. Never the key."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in key):
        return "holds whitespace or a control character inside the key (a header cannot carry it)"
    return None


class LlmApiProbe(object):
    def __init__(self, params):
        self.p = params
        self.secrets = []
        for prov in params["providers"]:
            if prov.get("api_key"):
                self.secrets.append(prov["api_key"])
        self.secrets.extend(env_secrets())
        # a key read from a file or a Kubernetes secret often ends in a newline: mask every form of it
        self.secrets = sorted(set(v for s in self.secrets for v in secret_variants(s)), key=len, reverse=True)

    def probe(self, prov):
        p = self.p
        name = prov["name"]
        key, source = prov.get("api_key"), "param"
        if not key:
            key, source = os.environ.get(ENV_KEYS[name]), "env"
        key = key.strip() if key else None
        if not key:
            key, source = None, "none"
        base = prov.get("base_url") or DEFAULT_BASE[name]
        if key and key_problem(key):
            # only the environment can get here (validate() refuses such an api_key option): not sent
            return {"target": name, "url": redact_text(base)[0], "key_source": source, "status_code": None,
                    "retry_after": None, "rate_limits": {}, "outcome": "auth_failed", "status": OUTCOME_STATUS["auth_failed"],
                    "latency_ms": None, "error": "the key in %s %s; not sent" % (ENV_KEYS[name], key_problem(key)),
                    "reason": "auth_failed: the key in %s %s; not sent" % (ENV_KEYS[name], key_problem(key))}
        method, url, headers, body = build_request(name, base, key, p["call"], prov.get("model") or DEFAULT_MODEL[name])
        out = {"target": name, "url": redact_text(redact(url, self.secrets))[0], "key_source": source,
               "status_code": None, "retry_after": None, "rate_limits": {}, "error": None}
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
    require_finite(module, argument_spec())
    resolve_timeout(module, DEFAULT_TIMEOUT)
    if not p["providers"]:
        module.fail_json(msg="providers: give at least one provider (openai, anthropic)")
    names = [prov["name"] for prov in p["providers"]]
    if len(set(names)) != len(names):
        module.fail_json(msg="providers: each provider may appear once, got %s" % ", ".join(names))
    for prov in p["providers"]:
        if prov.get("api_key"):
            # surrounding whitespace (a trailing newline from a file or a secret) is not part of a key
            prov["api_key"] = prov["api_key"].strip()
            if key_problem(prov["api_key"]):
                module.fail_json(msg="providers[%s].api_key: %s; give the key alone" % (
                    prov["name"], key_problem(prov["api_key"])))
        if prov.get("base_url"):
            try:
                parse_url(prov["base_url"])
            except ValueError as exc:
                # the URL may carry a password (https://user:PASSWORD@host): the message never shows it
                module.fail_json(msg="providers[%s].base_url: %s" % (prov["name"], redact_text(str(exc))[0]))
    if p["timeout"] <= 0:
        module.fail_json(msg="timeout: must be a positive number, got %s" % p["timeout"])
    if p["slow_ms"] < 0:
        module.fail_json(msg="slow_ms: must be 0 or more, got %s" % p["slow_ms"])
    if p["max_workers"] < 1:
        module.fail_json(msg="max_workers: must be 1 or more, got %d" % p["max_workers"])


def argument_spec():
    """llm_api_probe's options, with the options every probe shares."""
    spec = dict(
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
    )
    spec.update(PROBE_COMMON_SPEC)
    return spec
