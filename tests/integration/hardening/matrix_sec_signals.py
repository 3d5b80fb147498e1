"""Bad-input cases of issue 16, item 5 (triage signals): disk_probe, container_probe, deploy_probe and their
triage_probe sub-options. Same shapes as matrix.py's MODULES and ROLES."""

_C = {"compose_project": "rxi-signals-none"}
_LOGS = {"services": ["app"]}

MODULES = {
    # disk_probe
    "sig-disk-no-paths": ("disk_probe", {"paths": []}, "paths"),
    "sig-disk-relative-path": ("disk_probe", {"paths": ["var/log"]}, "paths"),
    "sig-disk-full-pct-zero": ("disk_probe", {"paths": ["{tmp}"], "full_pct": 0}, "full_pct"),
    "sig-disk-full-pct-over": ("disk_probe", {"paths": ["{tmp}"], "full_pct": 150}, "full_pct"),
    "sig-disk-full-pct-nan": ("disk_probe", {"paths": ["{tmp}"], "full_pct": "nan"}, "full_pct"),
    "sig-disk-timeout-zero": ("disk_probe", {"paths": ["{tmp}"], "timeout": 0}, "timeout"),
    "sig-disk-timeout-huge": ("disk_probe", {"paths": ["{tmp}"], "timeout": 10 ** 20}, "timeout"),
    # container_probe
    "sig-ctr-no-project": ("container_probe", {}, "compose_project"),
    "sig-ctr-project-name": ("container_probe", {"compose_project": "Not A Project!"}, "compose_project"),
    "sig-ctr-docker-host": ("container_probe", dict(_C, docker_host="ftp://127.0.0.1"), "docker_host"),
    "sig-ctr-restart-window": ("container_probe", dict(_C, restart_window="soon"), "restart_window"),
    "sig-ctr-timeout-negative": ("container_probe", dict(_C, timeout=-1), "timeout"),
    "sig-ctr-logs-no-services": ("container_probe", dict(_C, logs={"services": []}), "logs.services"),
    "sig-ctr-logs-since": ("container_probe", dict(_C, logs=dict(_LOGS, since="yesterday")), "logs.since"),
    "sig-ctr-logs-since-huge": ("container_probe", dict(_C, logs=dict(_LOGS, since="99999999999d")), "logs.since"),
    "sig-ctr-logs-bad-regex": ("container_probe", dict(_C, logs=dict(_LOGS, patterns=["(["])), "logs.patterns"),
    "sig-ctr-logs-max-bytes": ("container_probe", dict(_C, logs=dict(_LOGS, max_bytes=0)), "logs.max_bytes"),
    "sig-ctr-logs-max-bytes-huge": ("container_probe", dict(_C, logs=dict(_LOGS, max_bytes=10 ** 12)),
                                    "logs.max_bytes"),
    "sig-ctr-logs-tail": ("container_probe", dict(_C, logs=dict(_LOGS, tail=-1)), "logs.tail"),
    "sig-ctr-logs-max-lines": ("container_probe", dict(_C, logs=dict(_LOGS, max_lines=0)), "logs.max_lines"),
    # deploy_probe
    "sig-deploy-relative": ("deploy_probe", {"path": "opt/reflexion"}, "path"),
    "sig-deploy-count-zero": ("deploy_probe", {"path": "{tmp}", "count": 0}, "count"),
    "sig-deploy-count-huge": ("deploy_probe", {"path": "{tmp}", "count": 100000}, "count"),
    "sig-deploy-window": ("deploy_probe", {"path": "{tmp}", "recent_window": "last week"}, "recent_window"),
    # the same options inside one triage_probe run
    "sig-triage-disk-paths": ("triage_probe", {"disk": {"paths": ["relative"]}}, "paths"),
    "sig-triage-containers-logs": ("triage_probe", {"containers": dict(_C, logs={"services": ["app"], "tail": 5000})},
                                   "logs.tail"),
    "sig-triage-deploys-count": ("triage_probe", {"deploys": {"path": "{tmp}", "count": -3}}, "count"),
}

ROLES = {
}
