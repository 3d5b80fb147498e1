"""Bad-input cases added by the Security II issue (#15), area: inputs. Same shapes as matrix.py's MODULES and ROLES.

Classes: NaN and +/-infinity in float options (given as the strings "nan", "inf", "-inf": JSON has no NaN, and
Ansible's float type converts them), lists where classify expects a dict or a number, and ids or names that
end in a newline (a regex ending in ``$`` matches before a trailing newline; ``\\Z`` does not).
"""

NL_ID = "incident-2026-01-01-000000\n"
URL = "http://127.0.0.1:1/"

MODULES = {
    # non-finite floats, every probe module
    "inputs-health-timeout-nan": ("health_probe", {"urls": [URL], "timeout": "nan"}, "timeout"),
    # a finite but huge wait overflowed time_t in the HTTP watchdog and read as "service down" (review of #15)
    "inputs-health-timeout-huge": ("health_probe", {"urls": [URL], "timeout": 1e20}, "timeout"),
    "inputs-triage-health-timeout-huge": ("triage_probe", {"health": {"urls": [URL], "timeout": 10 ** 12}}, "timeout"),
    "inputs-health-slow-inf": ("health_probe", {"urls": [URL], "slow_ms": "inf"}, "slow_ms"),
    "inputs-health-delay-inf": ("health_probe", {"urls": [URL], "retries": 1, "delay": "inf"}, "delay"),
    "inputs-metrics-timeout-inf": ("metrics_probe", {"urls": [URL + "metrics"], "timeout": "inf"}, "timeout"),
    "inputs-metrics-p95-nan": ("metrics_probe", {"urls": [URL + "metrics"], "p95_slow_s": "nan"}, "p95_slow_s"),
    "inputs-llm-timeout-nan": ("llm_api_probe", {"timeout": "nan"}, "timeout"),
    "inputs-llm-slow-inf": ("llm_api_probe", {"slow_ms": "inf"}, "slow_ms"),
    "inputs-pga-long-running-nan": ("pg_activity_probe", {"long_running_threshold": "nan"}, "long_running_threshold"),
    "inputs-pga-idle-tx-inf": ("pg_activity_probe", {"idle_in_transaction_threshold": "inf"},
                               "idle_in_transaction_threshold"),
    "inputs-redis-timeout-inf": ("redis_probe", {"login_host": "127.0.0.1", "login_port": 1, "connect_timeout": "inf"},
                                 "connect_timeout"),
    "inputs-redis-slow-nan": ("redis_probe", {"login_host": "127.0.0.1", "login_port": 1, "slow_ms": "nan"}, "slow_ms"),
    "inputs-memory-leak-nan": ("memory_probe", {"leak_threshold": "nan"}, "leak_threshold"),
    "inputs-memory-interval-neg-inf": ("memory_probe", {"interval": "-inf"}, "interval"),
    "inputs-memory-oom-since-inf": ("memory_probe", {"oom_since": "inf"}, "oom_since"),
    "inputs-triage-health-timeout-inf": ("triage_probe", {"health": {"urls": [URL], "timeout": "inf"}}, "timeout"),
    "inputs-triage-metrics-p95-nan": ("triage_probe", {"metrics": {"urls": [URL + "metrics"], "p95_slow_s": "nan"}},
                                      "p95_slow_s"),
    "inputs-triage-memory-leak-nan": ("triage_probe", {"memory": {"leak_threshold": "nan"}}, "leak_threshold"),
    # pg_backend: min_duration=nan used to match every session (the real sleeper must survive)
    "inputs-pgb-min-duration-nan": ("pg_backend", {"action": "terminate", "min_duration": "nan"}, "min_duration"),
    "inputs-pgb-min-duration-neg-inf": ("pg_backend", {"action": "terminate", "min_duration": "-inf"}, "min_duration"),
    "inputs-pgb-wait-timeout-inf": ("pg_backend", {"action": "terminate", "pids": [1], "wait_timeout": "inf"},
                                    "wait_timeout"),
    "inputs-pgb-cancel-wait-nan": ("pg_backend", {"action": "terminate", "pids": [1], "cancel_first": True,
                                                  "cancel_wait": "nan"}, "cancel_wait"),
    # classify: a 400-digit integer overflowed float() with Python's own message (review of #15)
    "inputs-classify-threshold-huge-int": ("classify", {"metrics": {"rates": {"error_ratio": 0.9}},
                                                        "thresholds": {"p0_error_ratio": 10 ** 400}}, "p0_error_ratio"),
    # classify: non-finite thresholds (a NaN threshold rated 90% errors P3)
    "inputs-classify-threshold-nan": ("classify", {"metrics": {"rates": {"error_ratio": 0.9}},
                                                   "thresholds": {"p0_error_ratio": "nan"}}, "p0_error_ratio"),
    "inputs-classify-threshold-inf": ("classify", {"thresholds": {"p2_log_errors": "inf"}}, "p2_log_errors"),
    "inputs-classify-threshold-neg-inf": ("classify", {"thresholds": {"p2_error_ratio": "-inf"}}, "p2_error_ratio"),
    # classify given lists (and numbers) where a dict or a number belongs: used to end in a Python error
    "inputs-classify-health-list": ("classify", {"health": [{"status": "down"}]}, "health"),
    "inputs-classify-facts-list": ("classify", {"facts": ["data_loss"]}, "facts"),
    "inputs-classify-facts-string": ("classify", {"facts": "data_loss"}, "facts"),
    "inputs-classify-thresholds-list": ("classify", {"thresholds": [0.5]}, "thresholds"),
    "inputs-classify-components-list": ("classify", {"health": {"status": "down", "components": ["db"]}},
                                        "health.components"),
    "inputs-classify-targets-number": ("classify", {"health": {"status": "down", "targets": 3}}, "health.targets"),
    "inputs-classify-pg-blocked-number": ("classify", {"pg": {"connectable": True, "blocked": 3}}, "pg.blocked"),
    "inputs-classify-oom-number": ("classify", {"memory": {"oom_kills": 2}}, "memory.oom_kills"),
    "inputs-classify-providers-list": ("classify", {"llm": {"providers": ["openai"]}}, "llm.providers"),
    "inputs-classify-rates-list": ("classify", {"metrics": {"rates": [0.9]}}, "metrics.rates"),
    "inputs-classify-total-list": ("classify", {"logs": {"total_matches": [12]}}, "logs.total_matches"),
    # ids and names that end in a newline
    "inputs-incident-id-newline": ("incident", {"dir": "{tmp}/incidents", "id": NL_ID, "event": "note", "text": "x"},
                                   "id"),
    "inputs-incident-open-id-newline": ("incident", {"dir": "{tmp}/incidents", "id": NL_ID, "event": "open"}, "id"),
    "inputs-incident-id-unicode-digits": ("incident", {"dir": "{tmp}/incidents", "event": "open",
                                                       "id": "incident-\u0662\u0660\u0662\u0666-01-01-000000"}, "id"),
    "inputs-bundle-id-newline": ("debug_bundle", {"incident_id": NL_ID, "dest_dir": "{tmp}/bundles",
                                                  "items": [{"name": "uname", "command": ["uname", "-a"]}]},
                                 "incident_id"),
    "inputs-bundle-id-dotdot": ("debug_bundle", {"incident_id": "..", "dest_dir": "{tmp}/bundles",
                                                 "items": [{"name": "uname", "command": ["uname", "-a"]}]},
                                "incident_id"),
    "inputs-bundle-item-name-newline": ("debug_bundle", {"incident_id": "incident-2026-01-01-000000",
                                                         "dest_dir": "{tmp}/bundles",
                                                         "items": [{"name": "uname\n", "command": ["uname", "-a"]}]},
                                        "items"),
}

ROLES = {
    # every role entry point that takes an incident id
    "inputs-communicate-id-newline": ("communicate", None, {"communicate_incident_id": NL_ID},
                                      "communicate_incident_id"),
    "inputs-debug-bundle-id-newline": ("debug_bundle", None, {"debug_bundle_incident_id": NL_ID},
                                       "debug_bundle_incident_id"),
    "inputs-pir-id-newline": ("post_incident_review", None, {"post_incident_review_incident_id": NL_ID},
                              "post_incident_review_incident_id"),
    "inputs-verify-id-newline": ("verify", None, {"verify_incident_id": NL_ID}, "verify_incident_id"),
    "inputs-verify-id-traversal": ("verify", None, {"verify_incident_id": "../../outside"}, "verify_incident_id"),
    # other names the roles check with a regex, each with a trailing newline
    "inputs-circuit-breaker-variable-newline": ("circuit_breaker", None, {"circuit_breaker_variable": "LLM_ENABLED\n"},
                                                "circuit_breaker_variable"),
    "inputs-llm-fallback-provider-newline": ("llm_fallback", None, {"llm_fallback_provider": "anthropic\n"},
                                             "llm_fallback_provider"),
    "inputs-rollback-to-newline": ("rollback", None, {"rollback_to": "v1.0.0\n"}, "rollback_to"),
    "inputs-resources-memory-newline": ("resources", None, {"resources_memory": "512m\n"}, "resources_memory"),
    # a NaN threshold of a role
    "inputs-verify-max-ratio-nan": ("verify", None, {"verify_max_error_ratio": "nan"}, "verify_max_error_ratio"),
}
