"""reflexion.incident.plan's action plugin, run() through a real Task, PlayContext and local connection.

The decision table is tested in tests/unit/plugins/plugin_utils/test_plan.py; here: the argument spec, the
evidence-shape checks of the action, the context it takes from the task vars (inventory, --limit), the phases.
"""

import os

import pytest

ERR = {"rates": {"error_ratio": 0.4, "p95_latency_s": 0.2, "requests_per_s": 5}}
CALM = {"rates": {"error_ratio": 0.0, "p95_latency_s": 0.1, "requests_per_s": 5}}
UP = {"status": "healthy", "reason": "ok", "components": {"db": {"status": "healthy"}, "llm": {"status": "healthy"}}}


def test_the_proposal_command_names_the_inventory_and_limit_of_the_run(run_action):
    inventory = os.path.join(os.getcwd(), "inventories", "lab")
    out = run_action("plan", {"scenario": "high_error_rate", "evidence": {"metrics": ERR},
                              "context": {"deploy_age_hours": 1}},
                     task_vars={"inventory_dir": inventory, "ansible_limit": "web1"})
    assert out.get("failed") is not True, out
    assert out["symptom"] is True and out["changed"] is False
    command = out["proposed"][0]["command"]
    assert "-i inventories/lab " in command and "--limit web1" in command, command


def test_an_explicit_context_wins_over_the_task_vars(run_action):
    out = run_action("plan", {"scenario": "high_error_rate", "evidence": {"metrics": ERR},
                              "context": {"deploy_age_hours": 1, "inventory": "inventories/prod", "limit": "app2"}},
                     task_vars={"inventory_dir": "/elsewhere", "ansible_limit": "web1"})
    command = out["proposed"][0]["command"]
    assert "-i inventories/prod " in command and "--limit app2" in command, command


def test_no_symptom_plans_nothing(run_action):
    out = run_action("plan", {"scenario": "high_error_rate", "evidence": {"metrics": CALM, "health": UP}})
    assert out["symptom"] is False and out["steps"] == [] and out["apply"] == []


def test_the_verify_phase_checks_that_the_fix_holds(run_action):
    held = run_action("plan", {"scenario": "high_error_rate", "phase": "verify", "evidence": {"metrics": CALM, "health": UP}})
    failed = run_action("plan", {"scenario": "high_error_rate", "phase": "verify", "evidence": {"metrics": ERR, "health": UP}})
    assert held.get("failed") is not True and failed.get("failed") is not True, (held, failed)
    assert held["holds"] is True and failed["holds"] is False, (held, failed)


def test_tried_steps_are_skipped(run_action):
    first = run_action("plan", {"scenario": "high_error_rate", "evidence": {"metrics": ERR},
                                "switches": {"rollback_confirm": True}, "context": {"deploy_age_hours": 1}})
    lead = first["apply"][0]["action"]
    again = run_action("plan", {"scenario": "high_error_rate", "evidence": {"metrics": ERR}, "tried": [lead],
                                "switches": {"rollback_confirm": True}, "context": {"deploy_age_hours": 1}})
    assert lead not in [s["action"] for s in again["apply"]], (lead, again["apply"])


@pytest.mark.parametrize("args, option", [
    ({"scenario": "disk_full"}, "scenario"),
    ({}, "scenario"),
    ({"scenario": "high_error_rate", "phase": "rollback"}, "phase"),
    ({"scenario": "high_error_rate", "evidence": {"metrics": "bad"}}, "evidence.metrics"),
    ({"scenario": "high_error_rate", "evidence": {"../etc": {}}}, "evidence"),
    ({"scenario": "high_error_rate", "evidence": {"metrics": ERR}, "thresholds": {"error_ratio": "nan"}},
     "thresholds.error_ratio"),
    ({"scenario": "high_error_rate", "tried": {"a": 1}}, "tried"),
])
def test_bad_input_fails_naming_the_option(run_action, args, option):
    out = run_action("plan", args)
    assert out["failed"] is True, out
    assert option in out["msg"], out["msg"]
    assert "Traceback" not in out["msg"] and "steps" not in out
