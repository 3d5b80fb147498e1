"""Bad-input cases of issue 16's decisions: reflexion.incident.plan and the roles around it (restart, verify, resolve).

Same shapes as matrix.py's MODULES and ROLES. Each case must fail with a message naming the option, no
traceback, nothing changed (plan changes nothing by design; the restart cases fail before any restart).
"""

_ERR = {"metrics": {"rates": {"error_ratio": 0.5}}}

MODULES = {
    "plan-scenario-choice": ("plan", {"scenario": "disk_full"}, "scenario"),
    "plan-scenario-missing": ("plan", {"evidence": _ERR}, "scenario"),
    "plan-phase-choice": ("plan", {"scenario": "high_error_rate", "phase": "rollback"}, "phase"),
    "plan-evidence-not-dict": ("plan", {"scenario": "high_error_rate", "evidence": {"metrics": "bad"}}, "evidence.metrics"),
    "plan-evidence-name": ("plan", {"scenario": "high_error_rate", "evidence": {"../etc": {}}}, "evidence"),
    "plan-switch-unknown": ("plan", {"scenario": "high_error_rate", "evidence": _ERR, "switches": {"yolo": True}},
                            "switches"),
    "plan-switch-maybe": ("plan", {"scenario": "high_error_rate", "evidence": _ERR, "switches": {"rollback_confirm": "maybe"}},
                          "switches.rollback_confirm"),
    "plan-threshold-nan": ("plan", {"scenario": "high_error_rate", "evidence": _ERR, "thresholds": {"error_ratio": "nan"}},
                           "thresholds.error_ratio"),
    "plan-threshold-ratio-over-1": ("plan", {"scenario": "high_error_rate", "evidence": _ERR,
                                             "thresholds": {"error_ratio": 5}}, "thresholds.error_ratio"),
    "plan-threshold-unknown": ("plan", {"scenario": "high_error_rate", "evidence": _ERR, "thresholds": {"p99": 1}},
                               "thresholds"),
    "plan-memory-limit-shell": ("plan", {"scenario": "memory_leak", "evidence": {}, "switches":
                                         {"memory_leak_memory_limit": "4g; reboot"}}, "memory_leak_memory_limit"),
    "plan-since-text": ("plan", {"scenario": "high_error_rate", "phase": "verify", "since": "yesterday"}, "since"),
    "plan-tried-not-list": ("plan", {"scenario": "high_error_rate", "tried": {"a": 1}}, "tried"),
    "plan-deploy-age-text": ("plan", {"scenario": "high_error_rate", "evidence": _ERR, "context": {"deploy_age_hours": "old"}},
                             "deploy_age_hours"),
}

ROLES = {
    "plan-restart-incident-traversal": ("restart", None, {"restart_reason": "x", "restart_incident_id": "../../x"},
                                        "restart_incident_id"),
    "plan-restart-marker-age-negative": ("restart", None, {"restart_reason": "x", "restart_marker_max_age": -1},
                                         "restart_marker_max_age"),
    "plan-verify-scenario-choice": ("verify", None, {"verify_scenario": "disk_full"}, "verify_scenario"),
}
