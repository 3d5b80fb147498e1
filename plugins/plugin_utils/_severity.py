# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this plugin_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The runbook's severity table as pure, table-driven logic.

Input: the result dicts of the probe modules (shapes in docs/incident-record.md and the team's
interfaces note), any of which may be missing, plus a thresholds dict and explicit facts
(data loss, security breach, cosmetic issue...). Output: severity P0-P3, the reasons (evidence),
the response time and whom to notify.

Runbook rows and the evidence that maps to them:

P0 - Critical (respond < 15 min)
  complete service outage   health down AND (no answer, or every target down), or error_ratio >= p0_error_ratio,
                            or the database or redis unreachable (the app cannot serve without them)
  data loss or corruption   fact ``data_loss`` (no probe can see it; a human or an alert says so)
  security breach           fact ``security_breach``
P1 - High (< 1 h)
  major feature unavailable a health component down (db/redis/llm), every LLM provider failing,
                            fact ``major_feature_unavailable``
  significant degradation   p95 latency >= p1_p95_latency_s, DB connection utilization >= p1_db_utilization_pct,
                            host memory >= p1_memory_used_pct, an OOM kill
  API errors, many users    error_ratio >= p1_error_ratio
P2 - Medium (< 4 h)
  minor feature issues      health degraded, one LLM provider failing (another works), a component degraded,
                            fact ``minor_feature_issue``
  performance, some users   p95 latency >= p2_p95_latency_s, DB utilization >= p2_db_utilization_pct,
                            memory >= p2_memory_used_pct, a memory leak suspect, blocked/long-running queries
  non-critical API errors   error_ratio >= p2_error_ratio, error lines in the logs >= p2_log_errors
P3 - Low (< 24 h)
  cosmetic / documentation / enhancement: facts ``cosmetic``, ``documentation``, ``enhancement_request``;
  and the default when no evidence reaches P2.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
from collections.abc import Mapping

from ansible_collections.reflexion.incident.plugins.module_utils._thresholds import ERROR_RATIO, ERROR_RATIO_DOWN, P95_LATENCY_S

SEVERITIES = ("P0", "P1", "P2", "P3")

RESPONSE_TIME = {
    "P0": {"text": "Immediate (< 15 minutes)", "minutes": 15, "short": "15m"},
    "P1": {"text": "< 1 hour", "minutes": 60, "short": "1h"},
    "P2": {"text": "< 4 hours", "minutes": 240, "short": "4h"},
    "P3": {"text": "< 24 hours", "minutes": 1440, "short": "24h"},
}

# Runbook, Initial Response step 4: "Notify stakeholders (for P0/P1)".
STAKEHOLDERS = ["engineering", "product", "customer_support"]

# Documented defaults; every key may be overridden by the caller (docs: classify module).
DEFAULT_THRESHOLDS = {
    # fraction of requests answered 5xx (metrics_probe rates.error_ratio)
    "p0_error_ratio": ERROR_RATIO_DOWN,
    "p1_error_ratio": ERROR_RATIO,
    "p2_error_ratio": 0.01,
    # seconds, metrics_probe rates.p95_latency_s
    "p1_p95_latency_s": P95_LATENCY_S,
    "p2_p95_latency_s": 1.0,
    # percent of max_connections in use, pg_activity_probe utilization_pct
    "p1_db_utilization_pct": 90.0,
    "p2_db_utilization_pct": 75.0,
    # percent of host memory used, memory_probe host.used_pct
    "p1_memory_used_pct": 95.0,
    "p2_memory_used_pct": 85.0,
    # error lines counted by log_grep total_matches
    "p2_log_errors": 10,
}

FACTS = {
    "data_loss": ("P0", "data loss or corruption reported"),
    "security_breach": ("P0", "security breach reported"),
    "major_feature_unavailable": ("P1", "major feature unavailable (reported)"),
    "minor_feature_issue": ("P2", "minor feature issue (reported)"),
    "cosmetic": ("P3", "cosmetic issue (reported)"),
    "documentation": ("P3", "documentation problem (reported)"),
    "enhancement_request": ("P3", "enhancement request"),
}

FAILING_LLM = ("auth_failed", "rate_limited", "server_error", "timeout", "unreachable")


class ThresholdError(ValueError):
    """A threshold key is unknown or its value is not a finite, non-negative number."""


class ProbeResultError(ValueError):
    """A probe result has the wrong shape where classify reads it (a list where a dict or a number belongs...).

    The message names the option and the key, for example ``health.components: must be a dict, got a list``."""


def _kind(value):
    if isinstance(value, Mapping):
        return "a dict"
    if isinstance(value, (list, tuple, set)):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a %s" % type(value).__name__


def _dict(value, where):
    """``value`` when it is a dict, {} when it is missing; ProbeResultError otherwise."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ProbeResultError("%s: must be a dict, got %s" % (where, _kind(value)))
    return value


def _list(value, where):
    """``value`` as a list when it is one, [] when it is missing; ProbeResultError otherwise."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ProbeResultError("%s: must be a list, got %s" % (where, _kind(value)))
    return list(value)


def merge_thresholds(overrides):
    """DEFAULT_THRESHOLDS updated with ``overrides``; raise ThresholdError on a bad key or value."""
    merged = dict(DEFAULT_THRESHOLDS)
    for key, value in (overrides or {}).items():
        if key not in DEFAULT_THRESHOLDS:
            raise ThresholdError("thresholds: unknown key %r (known: %s)" % (key, ", ".join(sorted(DEFAULT_THRESHOLDS))))
        if isinstance(value, bool) or isinstance(value, (Mapping, list, tuple, set)):
            raise ThresholdError("thresholds: %s must be a number, got %r" % (key, value))
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ThresholdError("thresholds: %s must be a number, got %r" % (key, value)) from None
        # float() takes "nan" and "inf"; a NaN threshold compares false with everything and silently
        # switches its row off (90% errors came out P3), an infinite one does the same
        if not math.isfinite(number):
            raise ThresholdError("thresholds: %s must be a finite number, got %r" % (key, value))
        if number < 0:
            raise ThresholdError("thresholds: %s must be >= 0, got %r" % (key, value))
        merged[key] = number
    for a, b in (
        ("p0_error_ratio", "p1_error_ratio"),
        ("p1_error_ratio", "p2_error_ratio"),
        ("p1_p95_latency_s", "p2_p95_latency_s"),
        ("p1_db_utilization_pct", "p2_db_utilization_pct"),
        ("p1_memory_used_pct", "p2_memory_used_pct"),
    ):
        if merged[a] < merged[b]:
            raise ThresholdError("thresholds: %s (%s) must be >= %s (%s)" % (a, merged[a], b, merged[b]))
    return merged


def _num(value, where):
    """A probe's number; None when missing, not a number or NaN (no evidence). A list or a dict where a
    number belongs is a wrong shape: ProbeResultError naming ``where``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (Mapping, list, tuple, set)):
        raise ProbeResultError("%s: must be a number, got %s" % (where, _kind(value)))
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return None if math.isnan(number) else number


def _get(d, where, *path):
    """d[path[0]][path[1]]...; None when a key is missing, ProbeResultError when a step is not a dict."""
    for key in path:
        if d is None:
            return None
        d = _dict(d, where).get(key)
        where = "%s.%s" % (where, key)
    return d


def _present(result):
    """A probe result counts only when it is a dict that ran (skipped/failed tasks have no status)."""
    return isinstance(result, dict) and bool(result) and not result.get("skipped")


def _health(h, add):
    status = h.get("status")
    targets = _list(h.get("targets"), "health.targets")
    if status == "down":
        all_down = not targets or all(t.get("status") == "down" for t in targets if isinstance(t, dict))
        no_answer = h.get("status_code") is None
        if all_down and (no_answer or not h.get("components")):
            add("P0", "health", "complete service outage: health check down (%s)" % h.get("reason", "no answer"))
        elif all_down:
            add("P1", "health", "health check down: %s" % h.get("reason", "unhealthy"))
        else:
            add("P1", "health", "some replicas down: %s" % h.get("reason", "unhealthy"))
    elif status == "degraded":
        add("P2", "health", "health check degraded: %s" % h.get("reason", "degraded"))
    for name, comp in sorted(_dict(h.get("components"), "health.components").items(), key=lambda kv: str(kv[0])):
        cstatus = comp.get("status") if isinstance(comp, dict) else comp
        if cstatus in ("down", "unhealthy"):
            add("P1", "health", "major feature unavailable: component %s is %s" % (name, cstatus))
        elif cstatus == "degraded":
            add("P2", "health", "component %s is degraded" % name)


def _metrics(m, t, add):
    ratio = _num(_get(m, "metrics", "rates", "error_ratio"), "metrics.rates.error_ratio")
    if ratio is not None:
        if ratio >= t["p0_error_ratio"]:
            add(
                "P0",
                "metrics",
                "complete service outage: error ratio %.1f%% >= %.1f%%" % (ratio * 100, t["p0_error_ratio"] * 100),
            )
        elif ratio >= t["p1_error_ratio"]:
            add(
                "P1",
                "metrics",
                "API errors affecting multiple users: error ratio %.1f%% >= %.1f%%" % (ratio * 100, t["p1_error_ratio"] * 100),
            )
        elif ratio >= t["p2_error_ratio"]:
            add(
                "P2",
                "metrics",
                "non-critical API errors: error ratio %.1f%% >= %.1f%%" % (ratio * 100, t["p2_error_ratio"] * 100),
            )
    p95 = _num(_get(m, "metrics", "rates", "p95_latency_s"), "metrics.rates.p95_latency_s")
    if p95 is not None:
        if p95 >= t["p1_p95_latency_s"]:
            add("P1", "metrics", "significant performance degradation: p95 latency %.2fs >= %.2fs" % (p95, t["p1_p95_latency_s"]))
        elif p95 >= t["p2_p95_latency_s"]:
            add(
                "P2",
                "metrics",
                "performance issues affecting some users: p95 latency %.2fs >= %.2fs" % (p95, t["p2_p95_latency_s"]),
            )
    if m.get("status") == "down" and ratio is None:
        add("P2", "metrics", "metrics unavailable: %s" % m.get("reason", "down"))


def _pg(p, t, add):
    if p.get("connectable") is False:
        add(
            "P0",
            "database",
            "complete service outage: database unreachable (%s)" % (p.get("error") or p.get("reason") or "connection failed"),
        )
        return
    util = _num(p.get("utilization_pct"), "pg.utilization_pct")
    if util is not None:
        if util >= t["p1_db_utilization_pct"]:
            add(
                "P1",
                "database",
                "significant degradation: %.0f%% of DB connections in use >= %.0f%%" % (util, t["p1_db_utilization_pct"]),
            )
        elif util >= t["p2_db_utilization_pct"]:
            add("P2", "database", "DB connection utilization %.0f%% >= %.0f%%" % (util, t["p2_db_utilization_pct"]))
    for key, label in (
        ("blocked", "blocked queries"),
        ("long_running", "long-running queries"),
        ("idle_in_transaction", "sessions idle in transaction"),
    ):
        items = _list(p.get(key), "pg." + key)
        if items:
            add("P2", "database", "%d %s" % (len(items), label))


def _redis(r, add):
    if r.get("connectable") is False:
        add(
            "P0",
            "redis",
            "complete service outage: redis unreachable (%s)" % (r.get("error") or r.get("reason") or "connection failed"),
        )
    elif r.get("status") == "degraded":
        add("P2", "redis", "redis degraded: %s" % r.get("reason", "degraded"))


def _memory(mem, t, add):
    used = _num(_get(mem, "memory", "host", "used_pct"), "memory.host.used_pct")
    if used is not None:
        if used >= t["p1_memory_used_pct"]:
            add("P1", "memory", "significant degradation: host memory %.0f%% used >= %.0f%%" % (used, t["p1_memory_used_pct"]))
        elif used >= t["p2_memory_used_pct"]:
            add("P2", "memory", "host memory %.0f%% used >= %.0f%%" % (used, t["p2_memory_used_pct"]))
    ooms = _list(mem.get("oom_kills"), "memory.oom_kills") + [
        c for c in _list(mem.get("containers"), "memory.containers") if isinstance(c, dict) and c.get("oom_killed")
    ]
    if ooms:
        add("P1", "memory", "significant degradation: %d OOM kill(s)" % len(ooms))
    leaks = _list(mem.get("leak_suspects"), "memory.leak_suspects")
    if leaks:
        add("P2", "memory", "%d memory leak suspect(s)" % len(leaks))


def _llm(llm, add):
    providers = _dict(llm.get("providers"), "llm.providers")
    if not providers:
        return
    failing = sorted((n for n, p in providers.items() if isinstance(p, dict) and p.get("outcome") in FAILING_LLM), key=str)
    if not failing:
        return
    detail = ", ".join("%s %s" % (n, providers[n].get("outcome")) for n in failing)
    if len(failing) == len(providers):
        add("P1", "llm", "major feature unavailable: every LLM provider failing (%s)" % detail)
    else:
        add("P2", "llm", "minor feature issue: LLM provider failing, fallback available (%s)" % detail)


def _logs(lg, t, add):
    total = _num(lg.get("total_matches"), "logs.total_matches")
    if total is not None and total >= t["p2_log_errors"]:
        add("P2", "logs", "%d error line(s) in the logs >= %d" % (total, t["p2_log_errors"]))


def classify(probes=None, facts=None, thresholds=None, minimum=None):
    """Classify an incident. Returns a dict: severity, reasons, evidence, response_time, notify, ...

    ``probes``: dict with any of health, metrics, logs, llm, pg, redis, memory (probe result dicts).
    ``facts``: dict of booleans named in FACTS (things no probe can observe).
    ``minimum``: a severity floor chosen by a human (e.g. "P1"), or None.
    """
    probes = _dict(probes, "probes")
    facts = _dict(facts, "facts")
    t = merge_thresholds(thresholds)
    evidence = []

    def add(severity, source, reason):
        evidence.append({"severity": severity, "source": source, "reason": reason})

    handlers = (
        ("health", lambda r: _health(r, add)),
        ("metrics", lambda r: _metrics(r, t, add)),
        ("pg", lambda r: _pg(r, t, add)),
        ("redis", lambda r: _redis(r, add)),
        ("memory", lambda r: _memory(r, t, add)),
        ("llm", lambda r: _llm(r, add)),
        ("logs", lambda r: _logs(r, t, add)),
    )
    used, missing = [], []
    for name, handler in handlers:
        result = probes.get(name)
        if _present(result):
            used.append(name)
            try:
                handler(result)
            except ProbeResultError:
                raise
            except (TypeError, AttributeError, KeyError, ValueError) as exc:
                # any other shape nobody foresaw: still a clear failure that names the option
                raise ProbeResultError("%s: unexpected shape of the probe result (%s: %s)"
                                       % (name, type(exc).__name__, exc)) from None
        else:
            missing.append(name)
    for fact, (severity, reason) in FACTS.items():
        if facts.get(fact):
            add(severity, "fact", reason)
    if minimum:
        add(minimum, "minimum", "severity floor %s set by the responder" % minimum)

    if evidence:
        severity = min((e["severity"] for e in evidence), key=SEVERITIES.index)
    else:
        severity = "P3"
        evidence.append(
            {
                "severity": "P3",
                "source": "default",
                "reason": "no evidence of impact above P3 (probes used: %s)" % (", ".join(used) or "none"),
            }
        )
    reasons = [e["reason"] for e in evidence if e["severity"] == severity]
    rt = RESPONSE_TIME[severity]
    return {
        "severity": severity,
        "reasons": reasons,
        "evidence": sorted(evidence, key=lambda e: SEVERITIES.index(e["severity"])),
        "response_time": rt["short"],
        "response_time_text": rt["text"],
        "response_time_minutes": rt["minutes"],
        "notify": list(STAKEHOLDERS) if severity in ("P0", "P1") else [],
        "probes_used": used,
        "probes_missing": missing,
        "thresholds": t,
    }
