# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""What every probe shares: status ranking, concurrent fan-out over targets, the common spec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from concurrent.futures import ThreadPoolExecutor

# Worst last. A deployment is as healthy as its sickest target.
STATUS_ORDER = ("healthy", "degraded", "down")

# The options every member of the ``probes`` action group accepts, so that
# ``module_defaults: {group/reflexion.incident.probes: {timeout: 5, validate_certs: false}}`` never fails a
# member with "Unsupported parameters". ``timeout`` has no default here: each probe puts its own in when
# the option is not set (resolve_timeout), and documents it (doc fragment reflexion.incident.probe).
PROBE_COMMON_SPEC = dict(
    fail_on_unhealthy=dict(type="bool", default=False),
    max_workers=dict(type="int", default=16),
    timeout=dict(type="float"),
    validate_certs=dict(type="bool", default=True),
)

# The common options triage_probe passes down to a sub-probe that does not set them itself.
INHERITED_OPTIONS = ("timeout", "validate_certs", "max_workers")


def resolve_timeout(module, default, low=0.0, high=None):
    """Put the probe's own default for ``timeout`` in module.params when the option is not set, and check
    the value: more than ``low`` and at most ``high`` seconds (when given). ``default`` None keeps it unset
    (no extra deadline for that probe). Returns the value."""
    value = module.params.get("timeout")
    if value is None:
        value = default
    if value is not None:
        if not value > low or (high is not None and value > high):
            bound = " and at most %g seconds" % high if high is not None else " seconds"
            module.fail_json(msg="timeout: must be more than %g%s, got %s" % (low, bound, value))
        value = float(value)
    module.params["timeout"] = value
    return value


def worst_status(statuses, default="healthy"):
    """Return the worst of ``statuses`` by STATUS_ORDER (unknown values count as down)."""
    worst = default
    for status in statuses:
        rank = STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER) - 1
        if rank > STATUS_ORDER.index(worst):
            worst = STATUS_ORDER[rank]
    return worst


def fan_out(func, targets, max_workers=16):
    """Call ``func(target)`` for every target concurrently; results keep the targets' order.

    An exception raised by ``func`` becomes that target's result as ``{"status": "down",
    "reason": ...}`` so one broken target never hides the others.
    """
    targets = list(targets)
    if not targets:
        return []

    def guarded(target):
        try:
            return func(target)
        except Exception as exc:  # noqa: BLE001 - a probe reports, it does not crash
            return {"status": "down", "reason": "%s: %s" % (type(exc).__name__, exc)}

    if len(targets) == 1:
        return [guarded(targets[0])]
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(targets)))) as pool:
        return list(pool.map(guarded, targets))


def ms_since(start):
    """Milliseconds elapsed since ``start`` (a time.monotonic() value), rounded to 0.01 ms."""
    return round((time.monotonic() - start) * 1000.0, 2)


def summarize(results):
    """Overall status and reason for a list of per-target results."""
    status = worst_status(r.get("status", "down") for r in results)
    bad = [r for r in results if r.get("status") != "healthy"]
    if not bad:
        reason = "all %d target(s) healthy" % len(results)
    else:
        reason = "; ".join("%s: %s" % (r.get("target", "?"), r.get("reason", r.get("status"))) for r in bad)
    return status, reason


def finish(module, result):
    """End a probe's run: exit with the result, or fail with it when fail_on_unhealthy asks and the
    overall status is not healthy. Called once, from each probe's main()."""
    if module.params.get("fail_on_unhealthy") and result.get("status") != "healthy":
        module.fail_json(msg="unhealthy: %s" % result.get("reason"), **result)
    module.exit_json(**result)
