"""Bad-input cases added by the Performance II issue (#20), area: perf. Same shapes as matrix.py's MODULES and ROLES."""

_LOG = {"paths": ["{tmp}/*.log"]}

MODULES = {
    # log_grep's engine: only auto (GNU grep as the prefilter when it can serve the scan) and python
    "perf-logs-engine-unknown": ("log_grep", dict(_LOG, engine="fast"), "engine"),
    "perf-logs-engine-grep-forced": ("log_grep", dict(_LOG, engine="grep"), "engine"),
    "perf-logs-engine-empty": ("log_grep", dict(_LOG, engine=""), "engine"),
    "perf-logs-engine-list": ("log_grep", dict(_LOG, engine=["auto", "python"]), "engine"),
    "perf-logs-engine-shell": ("log_grep", dict(_LOG, engine="auto; rm -rf /"), "engine"),
}

ROLES = {
}
