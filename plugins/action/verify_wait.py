# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin behind reflexion.incident.verify_wait (docs: plugins/modules/verify_wait.py).

Replaces ``until``/``retries`` (which prints "FAILED - RETRYING" for every attempt) in the verify role:
it runs health_probe, then metrics_probe, on the target until both are acceptable or one total deadline
passes, and prints one line of progress per attempt ("verify: waiting 3/60 (15/300 s): health degraded, ...").
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.reflexion.incident.plugins.module_utils._thresholds import ERROR_RATIO

display = Display()

ARGUMENT_SPEC = dict(
    health_url=dict(type="str", required=True),
    metrics_url=dict(type="str", required=True),
    accept_health=dict(type="list", elements="str", default=["healthy"]),
    max_error_ratio=dict(type="float", default=ERROR_RATIO),
    sample_interval=dict(type="float", default=10.0),
    timeout=dict(type="int", default=300),
    delay=dict(type="int", default=5),
    probe_once=dict(type="bool", default=False),
)


def pct(value):
    return "n/a" if value is None else "%.1f%%" % (float(value) * 100)


def progress(attempt, attempts, elapsed, timeout, health, ratio, max_ratio):
    """The one line printed per attempt (pure)."""
    text = "verify: waiting %d/%d (%d/%d s): health %s" % (attempt, attempts, elapsed, timeout, health.get("status", "unknown"))
    reason = health.get("reason")
    if reason and health.get("status") != "healthy":
        text += " (%s)" % " ".join(str(reason).split())[:120]
    return text + ", error ratio %s (max %s)" % (pct(ratio), pct(max_ratio))


class ActionModule(ActionBase):
    """Probe the target until healthy with an acceptable error ratio, one progress line per attempt."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        try:
            _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=str(exc).split("\n", maxsplit=1)[0])
            return result
        for name in ("timeout", "delay"):
            if args[name] <= 0 or args[name] > 86400:
                result.update(failed=True, msg="%s: seconds, 1 to 86400" % name)
                return result
        if not 0 <= args["max_error_ratio"] <= 1:
            result.update(failed=True, msg="max_error_ratio: a fraction within 0..1")
            return result
        if not 0 < args["sample_interval"] <= 3600:
            result.update(failed=True, msg="sample_interval: seconds, more than 0 and at most 3600")
            return result
        start = time.monotonic()
        deadline = start + args["timeout"]
        attempts = 1 if args["probe_once"] else max(1, -(-args["timeout"] // args["delay"]))
        health, metrics, outcome, attempt = {}, {}, "timeout", 0
        while True:
            attempt += 1
            health = self._execute_module(
                module_name="reflexion.incident.health_probe",
                module_args={"urls": [args["health_url"]], "detailed": True},
                task_vars=task_vars,
            )
            ratio = None
            if health.get("status") in args["accept_health"] or args["probe_once"]:
                metrics = self._execute_module(
                    module_name="reflexion.incident.metrics_probe",
                    module_args={"urls": [args["metrics_url"]], "sample_interval": args["sample_interval"]},
                    task_vars=task_vars,
                )
                ratio = (metrics.get("rates") or {}).get("error_ratio")
            healthy = health.get("status") in args["accept_health"]
            ok_ratio = ratio is not None and float(ratio) <= args["max_error_ratio"]
            elapsed = time.monotonic() - start
            if args["probe_once"]:
                outcome = "probed"
                break
            display.display(progress(attempt, attempts, elapsed, args["timeout"], health, ratio, args["max_error_ratio"]))
            if healthy and ok_ratio:
                outcome = "verified"
                break
            if time.monotonic() + args["delay"] >= deadline or attempt >= attempts:
                break
            time.sleep(args["delay"])
        self._remove_tmp_path(self._connection._shell.tmpdir)
        result.update(
            changed=False,
            outcome=outcome,
            attempts=attempt,
            elapsed=round(time.monotonic() - start, 1),
            health=health,
            metrics=metrics,
        )
        return result
