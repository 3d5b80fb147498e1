# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""Pure logic of health_probe: turn a /health answer into healthy/degraded/down with a reason."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Words services use in health bodies, mapped to our three states.
_WORDS = {
    "healthy": "healthy", "ok": "healthy", "pass": "healthy", "up": "healthy", "green": "healthy",
    "degraded": "degraded", "warn": "degraded", "warning": "degraded", "yellow": "degraded",
    "disabled": "disabled",
    "unhealthy": "down", "down": "down", "fail": "down", "failed": "down", "error": "down",
    "critical": "down", "red": "down",
}


def normalize_status(word):
    """Map a status word from a health body to healthy/degraded/down/disabled (unknown -> degraded)."""
    if isinstance(word, bool):
        return "healthy" if word else "down"
    return _WORDS.get(str(word).strip().lower(), "degraded")


def parse_components(body):
    """Per-component results from a detailed health body.

    Accepts ``{"components": {...}}`` or ``{"checks": {...}}``, each entry a dict with ``status``
    and optionally ``latency_ms`` (or ``latency``) and ``error``, or just a status word.
    """
    if not isinstance(body, dict):
        return {}
    raw = body.get("components", body.get("checks"))
    if not isinstance(raw, dict):
        return {}
    out = {}
    for name, value in raw.items():
        if isinstance(value, dict):
            latency = value.get("latency_ms", value.get("latency"))
            entry = {"status": normalize_status(value.get("status", "unknown")), "latency_ms": latency}
            if value.get("error"):
                entry["error"] = str(value["error"])[:300]
        else:
            entry = {"status": normalize_status(value), "latency_ms": None}
        out[str(name)] = entry
    return out


def classify(status_code, expected_codes, body=None, total_ms=None, slow_ms=None):
    """Return ``(status, reason)`` for one answered request.

    - an unexpected 5xx is ``down``; any other unexpected code is ``degraded``;
    - a detailed body saying unhealthy is ``down``, degraded is ``degraded``;
    - a component that is down makes the whole ``degraded`` (the service still answers);
    - a disabled component (a circuit breaker) is reported but is not a fault by itself;
    - slower than ``slow_ms`` is ``degraded``.
    """
    if status_code not in expected_codes:
        if 500 <= status_code <= 599:
            return "down", "HTTP %d (expected %s)" % (status_code, ", ".join(str(c) for c in expected_codes))
        return "degraded", "HTTP %d (expected %s)" % (status_code, ", ".join(str(c) for c in expected_codes))
    if isinstance(body, dict) and "status" in body:
        overall = normalize_status(body["status"])
        if overall == "down":
            return "down", "service reports status %r" % (body["status"],)
        components = parse_components(body)
        failing = sorted(n for n, c in components.items() if c["status"] == "down")
        if failing:
            return "degraded", "component(s) down: %s" % ", ".join(failing)
        if overall == "degraded":
            slow = sorted(n for n, c in components.items() if c["status"] == "degraded")
            return "degraded", "service reports status %r%s" % (
                body["status"], (" (%s)" % ", ".join(slow)) if slow else "")
    if slow_ms is not None and total_ms is not None and total_ms > slow_ms:
        return "degraded", "slow: %.0f ms > %.0f ms" % (total_ms, slow_ms)
    return "healthy", "HTTP %d in %.0f ms" % (status_code, total_ms or 0)
