"""reflexion.incident.classify's action plugin, run() through a real Task, PlayContext and local connection.

The severity table itself is tested in tests/unit/plugins/plugin_utils/test_severity.py; here: what the action
layer adds - its argument spec, the dict-shape checks before ansible's own, the result it returns.
"""

import pytest

DOWN = {"status": "down", "reason": "connection refused", "status_code": None}
HEALTHY = {"status": "healthy", "reason": "ok", "status_code": 200}


def test_a_down_service_is_p0_and_nothing_changes(run_action):
    out = run_action("classify", {"health": DOWN})
    assert out.get("failed") is not True, out
    assert out["severity"] == "P0" and out["changed"] is False
    assert any("down" in r or "outage" in r.lower() for r in out["reasons"]), out["reasons"]


def test_a_healthy_service_with_a_fact_is_raised_by_the_fact(run_action):
    calm = run_action("classify", {"health": HEALTHY})
    breach = run_action("classify", {"health": HEALTHY, "facts": {"security_breach": True}})
    assert breach["severity"] == "P0" and calm["severity"] != "P0", (calm, breach)


def test_check_mode_classifies_too(run_action):
    assert run_action("classify", {"health": DOWN}, check_mode=True)["severity"] == "P0"


def test_minimum_raises_the_severity(run_action):
    assert run_action("classify", {"health": HEALTHY, "minimum": "P1"})["severity"] in ("P0", "P1")


@pytest.mark.parametrize("args, option", [
    ({"health": ["down"]}, "health"),
    ({"health": HEALTHY, "metrics": 5}, "metrics"),
    ({"health": HEALTHY, "facts": True}, "facts"),
    ({"health": HEALTHY, "thresholds": "not json"}, "thresholds"),
    ({"health": HEALTHY, "minimum": "P9"}, "minimum"),
    ({"health": HEALTHY, "facts": {"data_loss": "maybe"}}, "data_loss"),
    ({"health": HEALTHY, "unknown_option": 1}, "unknown_option"),
])
def test_bad_input_fails_naming_the_option(run_action, args, option):
    out = run_action("classify", args)
    assert out["failed"] is True, out
    assert option in out["msg"], out["msg"]
    assert "\n" not in out["msg"] and "Traceback" not in out["msg"]
    assert "severity" not in out
