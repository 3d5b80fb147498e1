# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin behind reflexion.incident.plan (docs: plugins/modules/plan.py).

Like classify, the decision is pure logic over results already registered on the controller: it
runs there, transfers no module and needs no connection. The logic is plugins/plugin_utils/_plan.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.reflexion.incident.plugins.plugin_utils._action import ControllerAction
from ansible_collections.reflexion.incident.plugins.plugin_utils._plan import SCENARIOS, PlanError, check, plan

ARGUMENT_SPEC = dict(
    scenario=dict(type="str", required=True, choices=list(SCENARIOS)),
    phase=dict(type="str", default="triage", choices=["triage", "verify"]),
    evidence=dict(type="dict", default={}),
    context=dict(type="dict", default={}),
    switches=dict(type="dict", default={}),
    thresholds=dict(type="dict", default={}),
    tried=dict(type="list", elements="str", default=[]),
    accept_health=dict(type="list", elements="str", default=["healthy"]),
    alerts=dict(type="list", elements="dict", default=[]),
    since=dict(type="float"),
)


class ActionModule(ControllerAction):
    """Plan (or check) on the controller: no module is transferred and no connection is made."""

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args, msg = self.validated(ARGUMENT_SPEC)
        if msg:
            result.update(failed=True, msg=msg)
            return result
        for key, value in args["evidence"].items():
            # every probe triage_probe runs may be passed; the plan reads the ones its scenarios need
            if not re.match(r"^[a-z][a-z_]{0,39}\Z", str(key)):
                result.update(failed=True, msg="evidence: probe names are lower-case words, got %r" % str(key)[:40])
                return result
            if value is not None and not isinstance(value, dict):
                result.update(failed=True, msg="evidence.%s: must be a registered probe result (a dict)" % key)
                return result
        context = dict(args["context"])
        inventory = task_vars.get("inventory_dir")
        if "inventory" not in context and inventory:
            rel = os.path.relpath(inventory)
            context["inventory"] = inventory if rel.startswith("..") else rel
        if "limit" not in context and task_vars.get("ansible_limit"):
            context["limit"] = task_vars["ansible_limit"]
        try:
            if args["phase"] == "verify":
                verdict = check(
                    args["scenario"],
                    args["evidence"],
                    thresholds=args["thresholds"],
                    accept_health=args["accept_health"],
                    alerts=args["alerts"],
                    since=args["since"],
                    context=context,
                )
            else:
                verdict = plan(
                    args["scenario"],
                    args["evidence"],
                    switches=args["switches"],
                    thresholds=args["thresholds"],
                    context=context,
                    tried=args["tried"],
                )
        except PlanError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result.update(verdict)
        result["changed"] = False
        return result
