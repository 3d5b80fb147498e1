"""Bad-input cases added by the architecture issue (#17), area: the probes action group's common options
(timeout, validate_certs, fail_on_unhealthy), which every member of group/reflexion.incident.probes now accepts.
Same shapes as matrix.py's MODULES and ROLES. NaN is given as the string "nan" (JSON has no NaN)."""

_LOG = {"paths": ["{tmp}/*.log"]}
_REDIS = {"login_host": "127.0.0.1", "login_port": 1}
_PG = {"login_host": "127.0.0.1", "port": "{pg_port}", "login_user": "nobody"}

MODULES = {
    # log_grep: the new total scan deadline
    "group-logs-timeout-zero": ("log_grep", dict(_LOG, timeout=0), "timeout"),
    "group-logs-timeout-negative": ("log_grep", dict(_LOG, timeout=-1), "timeout"),
    "group-logs-timeout-nan": ("log_grep", dict(_LOG, timeout="nan"), "timeout"),
    "group-logs-timeout-huge": ("log_grep", dict(_LOG, timeout=86401), "timeout"),
    "group-logs-validate-certs-maybe": ("log_grep", dict(_LOG, validate_certs="maybe"), "validate_certs"),
    # redis_probe / pg_activity_probe: timeout is a total deadline next to connect_timeout
    "group-redis-timeout-zero": ("redis_probe", dict(_REDIS, timeout=0), "timeout"),
    "group-redis-timeout-nan": ("redis_probe", dict(_REDIS, timeout="nan"), "timeout"),
    "group-redis-timeout-huge": ("redis_probe", dict(_REDIS, timeout=1e20), "timeout"),
    "group-pg-timeout-negative": ("pg_activity_probe", dict(_PG, timeout=-5), "timeout"),
    "group-pg-timeout-huge": ("pg_activity_probe", dict(_PG, timeout=86401), "timeout"),
    # memory_probe: no TLS, validate_certs is accepted (and ignored) but must still be a boolean
    "group-memory-timeout-zero": ("memory_probe", {"containers": False, "timeout": 0}, "timeout"),
    "group-memory-validate-certs-maybe": ("memory_probe", {"containers": False, "validate_certs": "maybe"},
                                          "validate_certs"),
    "group-disk-timeout-huge": ("disk_probe", {"paths": ["{tmp}"], "timeout": 86401}, "timeout"),
    "group-deploy-timeout-nan": ("deploy_probe", {"path": "{tmp}", "timeout": "nan"}, "timeout"),
    # triage_probe: the common options at the top level, passed down to the probes
    "group-triage-timeout-zero": ("triage_probe", {"logs": _LOG, "timeout": 0}, "timeout"),
    "group-triage-timeout-nan": ("triage_probe", {"logs": _LOG, "timeout": "nan"}, "timeout"),
    "group-triage-timeout-huge": ("triage_probe", {"logs": _LOG, "timeout": 86401}, "timeout"),
    "group-triage-validate-certs-maybe": ("triage_probe", {"logs": _LOG, "validate_certs": "maybe"},
                                          "validate_certs"),
    "group-triage-fail-on-unhealthy-maybe": ("triage_probe", {"logs": _LOG, "fail_on_unhealthy": "maybe"},
                                             "fail_on_unhealthy"),
}

ROLES = {
}
