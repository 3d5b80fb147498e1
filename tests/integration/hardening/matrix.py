"""The bad-input matrix: (module or role, arguments, the option the failure message must name).

Placeholders in string values: ``{tmp}`` (the test's own directory, whose listing must not change),
``{pg_port}`` (the real PostgreSQL of the test session, whose sessions must survive).
Each row is one case of tests/integration/hardening/test_bad_input.py; the ids are the table keys.
"""

HUGE = 10 ** 12

# module cases: id -> (module, args, option named in the message)
MODULES = {
    # health_probe: URLs, durations, codes, choices, types
    "health-empty-urls": ("health_probe", {"urls": []}, "urls"),
    "health-malformed-url": ("health_probe", {"urls": ["not a url"]}, "urls"),
    "health-scheme": ("health_probe", {"urls": ["ftp://127.0.0.1/health"]}, "urls"),
    "health-port-range": ("health_probe", {"urls": ["http://127.0.0.1:99999/health"]}, "urls"),
    "health-negative-timeout": ("health_probe", {"urls": ["http://127.0.0.1:1/"], "timeout": -1}, "timeout"),
    "health-timeout-type": ("health_probe", {"urls": ["http://127.0.0.1:1/"], "timeout": "soon"}, "timeout"),
    "health-negative-retries": ("health_probe", {"urls": ["http://127.0.0.1:1/"], "retries": -2}, "retries"),
    "health-status-code": ("health_probe", {"urls": ["http://127.0.0.1:1/"], "status_codes": [700]}, "status_codes"),
    "health-method-choice": ("health_probe", {"urls": ["http://127.0.0.1:1/"], "method": "DELETE"}, "method"),
    "health-workers-zero": ("health_probe", {"urls": ["http://127.0.0.1:1/"], "max_workers": 0}, "max_workers"),
    "health-huge-delay": ("health_probe", {"urls": ["http://127.0.0.1:1/"], "delay": -0.5}, "delay"),
    # metrics_probe
    "metrics-bad-regex": ("metrics_probe", {"urls": ["http://127.0.0.1:1/metrics"], "name_regex": "(["}, "name_regex"),
    "metrics-huge-interval": ("metrics_probe", {"urls": ["http://127.0.0.1:1/metrics"], "sample_interval": HUGE},
                              "sample_interval"),
    "metrics-ratio-range": ("metrics_probe", {"urls": ["http://127.0.0.1:1/metrics"], "error_ratio_down": 2},
                            "error_ratio_down"),
    "metrics-url-without-query": ("metrics_probe", {"prometheus_url": "http://127.0.0.1:1"}, "query"),
    "metrics-malformed-url": ("metrics_probe", {"urls": ["http://"]}, "urls"),
    "metrics-negative-max": ("metrics_probe", {"urls": ["http://127.0.0.1:1/metrics"], "max_metrics": -1},
                             "max_metrics"),
    "metrics-labels-type": ("metrics_probe", {"urls": ["http://127.0.0.1:1/metrics"], "labels": ["status", "500"]},
                            "labels"),
    "metrics-negative-timeout": ("metrics_probe", {"urls": ["http://127.0.0.1:1/metrics"], "timeout": 0}, "timeout"),
    # log_grep
    "logs-empty-paths": ("log_grep", {"paths": []}, "paths"),
    "logs-bad-regex": ("log_grep", {"paths": ["{tmp}/*.log"], "patterns": ["(unclosed"]}, "patterns"),
    "logs-empty-patterns": ("log_grep", {"paths": ["{tmp}/*.log"], "patterns": []}, "patterns"),
    "logs-bad-since": ("log_grep", {"paths": ["{tmp}/*.log"], "since": "the other day"}, "since"),
    "logs-since-after-until": ("log_grep", {"paths": ["{tmp}/*.log"], "since": "2026-01-02T00:00:00Z",
                                            "until": "2026-01-01T00:00:00Z"}, "since"),
    "logs-negative-tail": ("log_grep", {"paths": ["{tmp}/*.log"], "tail": -1}, "tail"),
    "logs-zero-line-length": ("log_grep", {"paths": ["{tmp}/*.log"], "max_line_length": 0}, "max_line_length"),
    "logs-zero-unhealthy": ("log_grep", {"paths": ["{tmp}/*.log"], "unhealthy_matches": 0}, "unhealthy_matches"),
    "logs-tail-type": ("log_grep", {"paths": ["{tmp}/*.log"], "tail": "all"}, "tail"),
    # llm_api_probe
    "llm-empty-providers": ("llm_api_probe", {"providers": []}, "providers"),
    "llm-duplicate-provider": ("llm_api_probe", {"providers": [{"name": "openai"}, {"name": "openai"}]}, "providers"),
    "llm-unknown-provider": ("llm_api_probe", {"providers": [{"name": "gemini"}]}, "name"),
    "llm-malformed-base-url": ("llm_api_probe", {"providers": [{"name": "openai", "base_url": "api.openai.com"}]},
                               "base_url"),
    "llm-call-choice": ("llm_api_probe", {"call": "chat"}, "call"),
    "llm-zero-timeout": ("llm_api_probe", {"timeout": 0}, "timeout"),
    "llm-negative-slow": ("llm_api_probe", {"slow_ms": -1}, "slow_ms"),
    # pg_activity_probe (the real PostgreSQL is there; nothing may reach it)
    "pga-port-range": ("pg_activity_probe", {"login_host": "127.0.0.1", "port": 70000}, "port"),
    "pga-ssl-choice": ("pg_activity_probe", {"login_host": "127.0.0.1", "port": "{pg_port}", "ssl_mode": "bogus"},
                       "ssl_mode"),
    "pga-malformed-dsn": ("pg_activity_probe", {"dsn": "postgresql://u:pw@127.0.0.1:notaport/db"}, "dsn"),
    "pga-pct-range": ("pg_activity_probe", {"port": "{pg_port}", "utilization_down_pct": 150},
                      "utilization_down_pct"),
    "pga-negative-threshold": ("pg_activity_probe", {"port": "{pg_port}", "long_running_threshold": -5},
                               "long_running_threshold"),
    "pga-zero-statement-timeout": ("pg_activity_probe", {"port": "{pg_port}", "statement_timeout": 0},
                                   "statement_timeout"),
    "pga-degraded-above-down": ("pg_activity_probe", {"port": "{pg_port}", "utilization_degraded_pct": 99,
                                                      "utilization_down_pct": 90}, "utilization_degraded_pct"),
    "pga-negative-connect-timeout": ("pg_activity_probe", {"port": "{pg_port}", "connect_timeout": -1},
                                     "connect_timeout"),
    # pg_backend (destructive: the sleeper of the test must stay alive)
    "pgb-action-choice": ("pg_backend", {"action": "kill", "port": "{pg_port}", "pids": [1]}, "action"),
    "pgb-no-filter": ("pg_backend", {"action": "terminate", "port": "{pg_port}"}, "filter"),
    "pgb-negative-pid": ("pg_backend", {"action": "terminate", "port": "{pg_port}", "pids": [-1]}, "pids"),
    "pgb-huge-pid": ("pg_backend", {"action": "terminate", "port": "{pg_port}", "pids": [HUGE]}, "pids"),
    "pgb-zero-max-targets": ("pg_backend", {"action": "terminate", "port": "{pg_port}", "application_names": ["rxi-x"],
                                            "max_targets": 0}, "max_targets"),
    "pgb-bad-regex": ("pg_backend", {"action": "terminate", "port": "{pg_port}", "query_pattern": "(["},
                      "query_pattern"),
    "pgb-negative-duration": ("pg_backend", {"action": "terminate", "port": "{pg_port}", "min_duration": -3},
                              "min_duration"),
    "pgb-state-choice": ("pg_backend", {"action": "terminate", "port": "{pg_port}", "states": ["sleeping"]}, "states"),
    "pgb-port-range": ("pg_backend", {"action": "terminate", "port": 0, "pids": [1]}, "port"),
    "pgb-pids-type": ("pg_backend", {"action": "terminate", "port": "{pg_port}", "pids": ["one"]}, "pids"),
    # redis_probe
    "redis-port-range": ("redis_probe", {"login_port": 70000}, "login_port"),
    "redis-zero-pings": ("redis_probe", {"pings": 0}, "pings"),
    "redis-huge-pings": ("redis_probe", {"pings": HUGE}, "pings"),
    "redis-pct-zero": ("redis_probe", {"memory_degraded_pct": 0}, "memory_degraded_pct"),
    "redis-negative-db": ("redis_probe", {"db": -1}, "db"),
    "redis-negative-connect-timeout": ("redis_probe", {"connect_timeout": -1}, "connect_timeout"),
    "redis-negative-slow": ("redis_probe", {"slow_ms": -1}, "slow_ms"),
    # memory_probe
    "mem-bad-regex": ("memory_probe", {"containers": False, "process_pattern": "(["}, "process_pattern"),
    "mem-zero-samples": ("memory_probe", {"containers": False, "samples": 0}, "samples"),
    "mem-huge-samples": ("memory_probe", {"containers": False, "samples": HUGE}, "samples"),
    "mem-pct-range": ("memory_probe", {"containers": False, "used_degraded_pct": 150}, "used_degraded_pct"),
    "mem-docker-host-scheme": ("memory_probe", {"docker_host": "ftp://127.0.0.1"}, "docker_host"),
    "mem-negative-interval": ("memory_probe", {"containers": False, "interval": -1}, "interval"),
    "mem-zero-top": ("memory_probe", {"containers": False, "top": 0}, "top"),
    # incident (a record must not appear)
    "incident-id-traversal": ("incident", {"dir": "{tmp}/incidents", "id": "../../etc", "event": "note", "text": "x"},
                              "id"),
    "incident-event-choice": ("incident", {"dir": "{tmp}/incidents", "event": "delete"}, "event"),
    "incident-severity-choice": ("incident", {"dir": "{tmp}/incidents", "severity": "P9"}, "severity"),
    "incident-status-missing": ("incident", {"dir": "{tmp}/incidents", "id": "incident-2026-01-01-000000",
                                             "event": "status"}, "status"),
    "incident-bad-at": ("incident", {"dir": "{tmp}/incidents", "at": "not a time"}, "at"),
    "incident-dir-is-file": ("incident", {"dir": "{tmp}/afile"}, "dir"),
    # classify
    "classify-minimum-choice": ("classify", {"minimum": "P7"}, "minimum"),
    "classify-health-type": ("classify", {"health": "down"}, "health"),
    "classify-threshold-type": ("classify", {"thresholds": {"p1_error_ratio": "high"}}, "thresholds"),
    "classify-threshold-unknown": ("classify", {"thresholds": {"p9_error_ratio": 0.1}}, "thresholds"),
    # debug_bundle (no bundle may appear)
    "bundle-id-traversal": ("debug_bundle", {"incident_id": "../escape", "dest_dir": "{tmp}/bundles",
                                             "items": [{"name": "uname", "command": ["uname", "-a"]}]},
                            "incident_id"),
    "bundle-empty-items": ("debug_bundle", {"incident_id": "incident-2026-01-01-000000", "dest_dir": "{tmp}/bundles",
                                            "items": []}, "items"),
    "bundle-two-sources": ("debug_bundle", {"incident_id": "incident-2026-01-01-000000", "dest_dir": "{tmp}/bundles",
                                            "items": [{"name": "x", "command": ["true"], "url": "http://127.0.0.1:1/"}]},
                           "items"),
    "bundle-item-name-traversal": ("debug_bundle", {"incident_id": "incident-2026-01-01-000000",
                                                    "dest_dir": "{tmp}/bundles",
                                                    "items": [{"name": "../../x", "command": ["true"]}]}, "items"),
    "bundle-bad-filter": ("debug_bundle", {"incident_id": "incident-2026-01-01-000000", "dest_dir": "{tmp}/bundles",
                                           "items": [{"name": "x", "files": ["{tmp}/afile"], "filter": "(["}]},
                          "filter"),
    "bundle-negative-max": ("debug_bundle", {"incident_id": "incident-2026-01-01-000000", "dest_dir": "{tmp}/bundles",
                                             "max_item_bytes": -1, "items": [{"name": "x", "command": ["true"]}]},
                            "max_item_bytes"),
    "bundle-zero-lines": ("debug_bundle", {"incident_id": "incident-2026-01-01-000000", "dest_dir": "{tmp}/bundles",
                                           "items": [{"name": "x", "files": ["{tmp}/afile"], "lines": 0}]}, "items"),
}

# role cases: id -> (role, tasks_from or None, vars, option named in the message)
ROLES = {
    "circuit-breaker-state": ("circuit_breaker", None, {"circuit_breaker_state": "half"}, "circuit_breaker_state"),
    "circuit-breaker-timeout-type": ("circuit_breaker", None, {"circuit_breaker_wait_timeout": "soon"},
                                     "circuit_breaker_wait_timeout"),
    "communicate-missing-id": ("communicate", None, {}, "communicate_incident_id"),
    "communicate-status": ("communicate", None, {"communicate_incident_id": "incident-2026-01-01-000000",
                                                 "communicate_status": "DONE"}, "communicate_status"),
    "communicate-severity": ("communicate", None, {"communicate_incident_id": "incident-2026-01-01-000000",
                                                   "communicate_severity": "P9"}, "communicate_severity"),
    "communicate-interval-type": ("communicate", None, {"communicate_incident_id": "incident-2026-01-01-000000",
                                                        "communicate_update_interval_minutes": "hourly"},
                                  "communicate_update_interval_minutes"),
    "debug-bundle-missing-id": ("debug_bundle", None, {}, "debug_bundle_incident_id"),
    "debug-bundle-max-type": ("debug_bundle", None, {"debug_bundle_incident_id": "incident-2026-01-01-000000",
                                                     "debug_bundle_max_item_kb": "big"}, "debug_bundle_max_item_kb"),
    "debug-bundle-extra-items": ("debug_bundle", None, {"debug_bundle_incident_id": "incident-2026-01-01-000000",
                                                        "debug_bundle_extra_items": ["uname"]},
                                 "debug_bundle_extra_items"),
    "debug-bundle-only-type": ("debug_bundle", None, {"debug_bundle_incident_id": "incident-2026-01-01-000000",
                                                      "debug_bundle_only": {"a": 1}}, "debug_bundle_only"),
    "lab-state": ("reflexion.lab.lab", None, {"lab_state": "gone"}, "lab_state"),
    "lab-replicas-type": ("reflexion.lab.lab", None, {"lab_app_replicas": "many"}, "lab_app_replicas"),
    "lab-fault-choice": ("reflexion.lab.lab", "fault", {"lab_fault": "meteor"}, "lab_fault"),
    "lab-fault-provider": ("reflexion.lab.lab", "fault", {"lab_fault": "llm_auth", "lab_fault_provider": "gemini"},
                           "lab_fault_provider"),
    "llm-fallback-state": ("llm_fallback", None, {"llm_fallback_state": "maybe"}, "llm_fallback_state"),
    "llm-fallback-status-elements": ("llm_fallback", None, {"llm_fallback_verify_status": ["ok"]},
                                     "llm_fallback_verify_status"),
    "llm-fallback-method": ("llm_fallback", None, {"llm_fallback_verify_method": "PATCH"}, "llm_fallback_verify_method"),
    "pir-missing-id": ("post_incident_review", None, {}, "post_incident_review_incident_id"),
    "pir-step-type": ("post_incident_review", None, {"post_incident_review_incident_id": "incident-2026-01-01-000000",
                                                     "post_incident_review_step_seconds": "x"},
                      "post_incident_review_step_seconds"),
    "pir-sla-type": ("post_incident_review", None, {"post_incident_review_incident_id": "incident-2026-01-01-000000",
                                                    "post_incident_review_ack_sla_minutes": "15"},
                     "post_incident_review_ack_sla_minutes"),
    "resolve-accept-choice": ("resolve", None, {"resolve_accept_health": ["broken"]}, "resolve_accept_health"),
    "resolve-ratio-type": ("resolve", None, {"resolve_max_error_ratio": "high"}, "resolve_max_error_ratio"),
    "resources-cpus-type": ("resources", None, {"resources_cpus": "lots"}, "resources_cpus"),
    "resources-containers-type": ("resources", None, {"resources_containers": {"a": 1}}, "resources_containers"),
    "restart-app-type": ("restart", None, {"restart_app": "perhaps"}, "restart_app"),
    "restart-timeout-type": ("restart", None, {"restart_wait_timeout": "x"}, "restart_wait_timeout"),
    "scale-replicas-type": ("scale", None, {"scale_replicas": "three"}, "scale_replicas"),
    "scale-recreate-choice": ("scale", None, {"scale_recreate": "sometimes"}, "scale_recreate"),
    "scale-allow-down-type": ("scale", None, {"scale_allow_down": "maybe"}, "scale_allow_down"),
    "triage-open-at-choice": ("triage", None, {"triage_open_incident_at": "P9"}, "triage_open_incident_at"),
    "triage-interval-type": ("triage", None, {"triage_metrics_sample_interval": "slow"},
                             "triage_metrics_sample_interval"),
    "triage-providers-elements": ("triage", None, {"triage_llm_providers": ["openai"]}, "triage_llm_providers"),
    "triage-urls-type": ("triage", None, {"triage_health_urls": {"a": 1}}, "triage_health_urls"),
    # semantic checks the roles make before touching anything
    "scale-negative-replicas": ("scale", None, {"scale_replicas": -1}, "scale_replicas"),
    "scale-zero-timeout": ("scale", None, {"scale_replicas": 1, "scale_wait_timeout": 0}, "scale_wait_timeout"),
    "circuit-breaker-variable": ("circuit_breaker", None, {"circuit_breaker_variable": "X; rm -rf /"},
                                 "circuit_breaker_variable"),
    "llm-fallback-provider-traversal": ("llm_fallback", None, {"llm_fallback_provider": "../../etc/passwd"},
                                        "llm_fallback_provider"),
    "resources-memory-size": ("resources", None, {"resources_memory": "lots"}, "resources_memory"),
    "resources-negative-cpus": ("resources", None, {"resources_cpus": -1}, "resources_cpus"),
    "restart-zero-timeout": ("restart", None, {"restart_wait_timeout": 0}, "restart_wait_timeout"),
    "rollback-to-traversal": ("rollback", None, {"rollback_to": "../../etc"}, "rollback_to"),
    "rollback-zero-timeout": ("rollback", None, {"rollback_wait_timeout": 0}, "rollback_wait_timeout"),
    "rollback-confirm-type": ("rollback", None, {"rollback_confirm": "sure"}, "rollback_confirm"),
    "communicate-id-traversal": ("communicate", None, {"communicate_incident_id": "../../outside"},
                                 "communicate_incident_id"),
    "debug-bundle-id-traversal": ("debug_bundle", None, {"debug_bundle_incident_id": "../outside"},
                                  "debug_bundle_incident_id"),
    "pir-id-traversal": ("post_incident_review", None, {"post_incident_review_incident_id": "../../outside"},
                         "post_incident_review_incident_id"),
}

# Security II (#15): each area keeps its cases in its own file; they join the two tables here. (The EDA
# checks are not module or role entry points: tests/integration/eda/test_playbook_alert_check.py and
# tests/unit/test_eda_alert_validation.py hold their bad-input cases.)
from . import (  # noqa: E402
    matrix_sec_arch,  # noqa: E402 (issue 17: the entry points called with tasks_from)
    matrix_sec_comm,  # noqa: E402 (issue 16: the communicate role)
    matrix_sec_fleet,  # noqa: E402 (issue 18: the per-host map, the alert's host)
    matrix_sec_group,  # noqa: E402 (issue 17: the probes action group's common options)
    matrix_sec_guards,
    matrix_sec_inputs,
    matrix_sec_io,
    matrix_sec_page,  # noqa: E402 (issue 21: the incident page, verify's wait)
    matrix_sec_perf,  # noqa: E402 (issue 20: log_grep's engine)
    matrix_sec_plan,  # noqa: E402 (issue 16: reflexion.incident.plan and the roles around it)
    matrix_sec_secrets,
    matrix_sec_signals,  # noqa: E402 (issue 16: triage signals)
    matrix_sec_store,  # noqa: E402 (issue 19: the incident store)
)

for _area in (matrix_sec_guards, matrix_sec_inputs, matrix_sec_io, matrix_sec_secrets, matrix_sec_comm,
              matrix_sec_signals, matrix_sec_plan, matrix_sec_group, matrix_sec_arch, matrix_sec_page, matrix_sec_store,
              matrix_sec_perf, matrix_sec_fleet):
    for _table, _extra in ((MODULES, _area.MODULES), (ROLES, _area.ROLES)):
        _clash = set(_table) & set(_extra)
        assert not _clash, "duplicate bad-input case ids: %s" % sorted(_clash)
        _table.update(_extra)
