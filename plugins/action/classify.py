# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin behind reflexion.incident.classify (docs: plugins/modules/classify.py).

Why an action plugin: classification is pure logic over results that are already registered on
the controller. Running it there needs no module transfer, no Python on the target and no
connection at all, so triage can classify even when the target host is the thing that is down.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.module_utils.common.validation import check_type_dict

from ansible_collections.reflexion.incident.plugins.plugin_utils._action import ControllerAction
from ansible_collections.reflexion.incident.plugins.plugin_utils._severity import (
    FACTS,
    SEVERITIES,
    ProbeResultError,
    ThresholdError,
    classify,
)

PROBE_OPTIONS = ("health", "metrics", "logs", "llm", "pg", "redis", "memory")

ARGUMENT_SPEC = dict(
    facts=dict(type="dict", default={}, options=dict((k, dict(type="bool", default=False)) for k in FACTS)),
    thresholds=dict(type="dict", default={}),
    minimum=dict(type="str", choices=list(SEVERITIES)),
)
for _name in PROBE_OPTIONS:
    ARGUMENT_SPEC[_name] = dict(type="dict")


def wrong_type(args):
    """A message naming the first dict option given a list, a number or a boolean, else None.

    Ansible's own check would either fail with an unreadable message or (for O(facts), which has
    suboptions) crash inside the validator, so these shapes are refused first."""
    for name, opt in ARGUMENT_SPEC.items():
        value = args.get(name)
        if opt["type"] == "dict" and isinstance(value, str):
            try:
                check_type_dict(value)
            except (TypeError, ValueError):
                return "%s: must be a dict, got a string that is neither JSON nor key=value pairs" % name
        elif opt["type"] == "dict" and value is not None and not isinstance(value, Mapping):
            if isinstance(value, (list, tuple, set)):
                kind = "a list"
            elif isinstance(value, bool):
                kind = "a boolean"
            elif isinstance(value, (int, float)):
                kind = "a number"
            else:
                kind = "a %s" % type(value).__name__.lstrip("_")
            return "%s: must be a dict (%s), got %s" % (
                name, "a registered probe result" if name in PROBE_OPTIONS else "key: value pairs", kind)
    return None


class ActionModule(ControllerAction):
    """Classify on the controller: no module is transferred and no connection is made."""

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        msg = wrong_type(self._task.args)
        if msg:
            result.update(failed=True, msg=msg)
            return result
        args, msg = self.validated(ARGUMENT_SPEC)
        if msg:
            result.update(failed=True, msg=msg)
            return result
        probes = dict((name, args.get(name)) for name in PROBE_OPTIONS)
        try:
            verdict = classify(probes=probes, facts=args["facts"], thresholds=args["thresholds"], minimum=args.get("minimum"))
        except (ThresholdError, ProbeResultError) as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result.update(verdict)
        result["changed"] = False
        return result
