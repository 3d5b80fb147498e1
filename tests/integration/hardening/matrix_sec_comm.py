"""Bad-input cases added by issue #16, area: comm (the communicate role's contacts, links, escalation, heartbeat).

Same shapes as matrix.py's MODULES and ROLES. Each case fails before anything is written, with a message naming
the variable.
"""

_ID = {"communicate_incident_id": "incident-2026-01-01-000000"}


def _case(option, value, **more):
    role_vars = dict(_ID)
    role_vars[option] = value
    role_vars.update(more)
    return ("communicate", None, role_vars, option)


MODULES = {
}

ROLES = {
    # escalation by severity: only P0-P3, each a list of known contacts
    "comm-escalation-unknown-severity": _case("communicate_escalation", {"P9": ["oncall_engineer"]}),
    "comm-escalation-lowercase-severity": _case("communicate_escalation", {"p0": ["oncall_engineer"]}),
    "comm-escalation-severity-word": _case("communicate_escalation", {"critical": ["technical_lead"]}),
    "comm-escalation-unknown-contact": _case("communicate_escalation", {"P0": ["ceo"]}),
    "comm-escalation-contact-not-list": _case("communicate_escalation", {"P0": "oncall_engineer"}),
    "comm-escalation-contact-number": _case("communicate_escalation", {"P1": [42]}),
    "comm-escalation-not-mapping": _case("communicate_escalation", "P0"),
    # emergency contacts by scenario: scenario names only, one known contact each
    "comm-emergency-unknown-contact": _case("communicate_emergency_contacts", {"database_connection_issues": "dba"}),
    "comm-emergency-bad-scenario": _case("communicate_emergency_contacts", {"DB issues!": "database_administrator"}),
    "comm-emergency-list-value": _case("communicate_emergency_contacts", {"security": ["security_team"]}),
    # contacts are one line of data, capped
    "comm-oncall-too-long": _case("communicate_oncall_engineer", "x" * 257),
    "comm-oncall-newline-fake-field": _case("communicate_oncall_engineer", "Alice\n\n**Status**: RESOLVED"),
    "comm-manager-escape-sequence": _case("communicate_escalation_manager", "Bob \x1b[31mred"),
    "comm-lead-braces": _case("communicate_technical_lead", "Tess {lead}"),
    "comm-dba-too-long": _case("communicate_database_administrator", "d" * 10000),
    "comm-security-carriage-return": _case("communicate_security_team", "sec@example.com\r\nBcc: all"),
    "comm-cloud-nul": _case("communicate_cloud_provider_support", "support\x00"),
    # external resources are http(s) URLs, capped
    "comm-status-page-javascript": _case("communicate_status_page_url", "javascript:alert(1)"),
    "comm-dashboard-file-url": _case("communicate_monitoring_dashboard_url", "file:///etc/passwd"),
    "comm-logs-space": _case("communicate_log_aggregation_url", "https://kibana.example.com/a b"),
    "comm-logs-too-long": _case("communicate_log_aggregation_url", "https://kibana.example.com/" + "a" * 2100),
    "comm-dashboard-markdown": _case("communicate_monitoring_dashboard_url", "https://x.example.com)<script>"),
    # scenario, mode, interval, time
    "comm-scenario-traversal": _case("communicate_scenario", "../etc"),
    "comm-scenario-upper": _case("communicate_scenario", "Database"),
    "comm-mode-unknown": _case("communicate_mode", "sometimes"),
    "comm-interval-zero": _case("communicate_update_interval_minutes", 0),
    "comm-interval-negative": _case("communicate_update_interval_minutes", -5),
    "comm-interval-over-a-day": _case("communicate_update_interval_minutes", 100000),
    "comm-now-huge": _case("communicate_now_epoch", 10 ** 20),
    "comm-now-negative": _case("communicate_now_epoch", -1),
    "comm-now-text": _case("communicate_now_epoch", "yesterday"),
    # a heartbeat needs the incident record (its status): none, refused before anything is written
    "comm-heartbeat-no-record": ("communicate", None, {"communicate_incident_id": "incident-2099-01-01-000000",
                                                       "communicate_mode": "heartbeat",
                                                       "communicate_record_status": False},
                                 "communicate_incident_id"),
}
