"""Table-driven tests: triage evidence + switches -> the mitigation plan, from each scenario's runbook section."""

import pytest

from ansible_collections.reflexion.incident.plugins.plugin_utils._plan import PlanError, check, plan

UP = {"status": "healthy", "reason": "ok", "components": {"db": {"status": "healthy"}, "llm": {"status": "healthy"}}}
DOWN = {"status": "down", "reason": "connection refused"}
ERR = {"rates": {"error_ratio": 0.4, "p95_latency_s": 0.2, "requests_per_s": 5}}
CALM = {"rates": {"error_ratio": 0.0, "p95_latency_s": 0.1, "requests_per_s": 5}}
LLM_BAD = {"providers": {"openai": {"outcome": "server_error"}, "anthropic": {"outcome": "ok"}}}
LLM_ALL_BAD = {"providers": {"openai": {"outcome": "timeout"}, "anthropic": {"outcome": "server_error"}}}
LLM_RATE = {"providers": {"openai": {"outcome": "rate_limited"}, "anthropic": {"outcome": "ok"}}}
LLM_AUTH = {"providers": {"openai": {"outcome": "auth_failed"}, "anthropic": {"outcome": "ok"}}}
LLM_OK = {"providers": {"openai": {"outcome": "ok"}, "anthropic": {"outcome": "ok"}}}


def pg(util=10, long=0, idle=0, holders=None, connectable=True, by_app=None):
    return {
        "connectable": connectable,
        "utilization_pct": util,
        "long_running": [{"pid": i} for i in range(long)],
        "idle_in_transaction": [{"pid": i} for i in range(idle)],
        "holders": holders or [],
        "by_application": by_app or {},
    }


HOG_PSQL = [
    {"application_name": "", "user": "batch", "client_addr": "10.0.0.9", "count": 90},
    {"application_name": "reflexion", "user": "app", "client_addr": "10.0.0.2", "count": 5},
]
HOG_APP = [{"application_name": "reflexion", "user": "app", "client_addr": "10.0.0.2", "count": 90}]
HOG_OWN = [
    {"application_name": "reflexion.incident.pg_activity_probe", "user": "postgres", "client_addr": None, "count": 1},
    {"application_name": "report-job", "user": "reports", "client_addr": "10.0.0.7", "count": 70},
]


def mem(containers=(), suspects=(), oom=()):
    return {"containers": list(containers), "leak_suspects": list(suspects), "oom_kills": list(oom)}


def ctr(name, service="reflexion", project="reflexion", usage=100, pct=10):
    return {"name": name, "compose_project": project, "compose_service": service, "usage_mb": usage, "pct": pct}


APP1, APP2 = ctr("reflexion-1"), ctr("reflexion-2")
PGC = ctr("pg", service="postgres", usage=900)
REDISC = ctr("redis", service="redis", usage=50)
WORKER = ctr("worker", service="worker", usage=400)
GROW_APP = {
    "kind": "container",
    "name": "reflexion-1",
    "container": "reflexion-1",
    "compose_project": "reflexion",
    "compose_service": "reflexion",
}
GROW_PG = {"kind": "container", "name": "pg", "container": "pg", "compose_project": "reflexion", "compose_service": "postgres"}
GROW_WORKER = {
    "kind": "container",
    "name": "worker",
    "container": "worker",
    "compose_project": "reflexion",
    "compose_service": "worker",
}
GROW_HOSTPROC = {"kind": "process", "name": "python3", "cmdline": "python3 agent.py", "container": None}

# (id, scenario, evidence, context, switches, tried, expected {action: mode}, a substring of the summary)
ROWS = [
    # High Error Rate: rollback recent changes / circuit breakers for external services / scale up for capacity
    ("her-no-symptom", "high_error_rate", {"health": UP, "metrics": CALM}, {}, {}, [], {}, "nothing to mitigate"),
    (
        "her-llm-failing-breaker",
        "high_error_rate",
        {"health": UP, "metrics": ERR, "llm": LLM_BAD},
        {},
        {},
        [],
        {"circuit_breaker": "apply", "scale": "next"},
        "circuit breaker",
    ),
    (
        "her-llm-lines-breaker",
        "high_error_rate",
        {"health": UP, "metrics": ERR, "llm": LLM_OK},
        {"error_lines": ["ERROR llm provider openai 500", "ERROR openai timeout", "ERROR db"]},
        {},
        [],
        {"circuit_breaker": "apply"},
        "circuit breaker",
    ),
    (
        "her-few-llm-lines-scale",
        "high_error_rate",
        {"health": UP, "metrics": ERR, "llm": LLM_OK},
        {"error_lines": ["ERROR openai", "ERROR db", "ERROR db", "ERROR db"]},
        {},
        [],
        {"scale": "apply"},
        "scale up",
    ),
    (
        "her-recent-deploy-proposed",
        "high_error_rate",
        {"health": UP, "metrics": ERR},
        {"deploy_age_hours": 1},
        {},
        [],
        {"rollback": "propose", "scale": "next"},
        "rollback_confirm=true",
    ),
    (
        "her-recent-deploy-confirmed",
        "high_error_rate",
        {"health": UP, "metrics": ERR},
        {"deploy_age_hours": 1},
        {"rollback_confirm": "true"},
        [],
        {"rollback": "apply", "scale": "next"},
        "roll back",
    ),
    (
        "her-survey-false-string",
        "high_error_rate",
        {"health": UP, "metrics": ERR},
        {"deploy_age_hours": 1},
        {"rollback_confirm": "false"},
        [],
        {"rollback": "propose"},
        "rollback_confirm=true",
    ),
    (
        "her-old-deploy-scale",
        "high_error_rate",
        {"health": UP, "metrics": ERR},
        {"deploy_age_hours": 200},
        {},
        [],
        {"scale": "apply"},
        "scale up",
    ),
    (
        "her-deploy-outside-window",
        "high_error_rate",
        {"health": UP, "metrics": ERR},
        {"deploy_age_hours": 30},
        {},
        [],
        {"scale": "apply"},
        "scale",
    ),
    ("her-down-counts", "high_error_rate", {"health": DOWN, "metrics": CALM}, {}, {}, [], {"scale": "apply"}, "scale"),
    (
        "her-auto-off",
        "high_error_rate",
        {"health": UP, "metrics": ERR, "llm": LLM_BAD},
        {},
        {"auto_mitigate": "no"},
        [],
        {"circuit_breaker": "propose"},
        "auto_mitigate=true",
    ),
    (
        "her-breaker-tried-next",
        "high_error_rate",
        {"health": UP, "metrics": ERR, "llm": LLM_BAD},
        {},
        {},
        ["circuit_breaker"],
        {"circuit_breaker": "tried", "scale": "apply"},
        "scale",
    ),
    (
        "her-llm-and-deploy",
        "high_error_rate",
        {"health": UP, "metrics": ERR, "llm": LLM_BAD},
        {"deploy_age_hours": 2},
        {},
        [],
        {"circuit_breaker": "apply", "rollback": "next", "scale": "next"},
        "circuit breaker",
    ),
    (
        "her-all-tried",
        "high_error_rate",
        {"health": UP, "metrics": ERR},
        {},
        {},
        ["scale"],
        {"scale": "tried"},
        "every automated step",
    ),
    # Database Connection Issues: restart the app (pool), restart the database if needed, kill problematic queries
    ("db-no-symptom", "database_connection_issues", {"pg": pg(), "health": UP}, {}, {}, [], {}, "nothing to mitigate"),
    (
        "db-unreachable-proposed",
        "database_connection_issues",
        {"pg": pg(connectable=False)},
        {},
        {},
        [],
        {"restart_database": "propose", "restart_app": "propose"},
        "restart_allow_database=true",
    ),
    (
        "db-unreachable-allowed",
        "database_connection_issues",
        {"pg": pg(connectable=False)},
        {},
        {"restart_allow_database": True},
        [],
        {"restart_database": "apply", "restart_app": "apply"},
        "restart the database",
    ),
    (
        "db-saturated-by-psql",
        "database_connection_issues",
        {"pg": pg(util=95, holders=HOG_PSQL)},
        {},
        {},
        [],
        {"pg_cleanup": "propose", "restart_app": "propose", "increase_pool_size": "manual"},
        "pg_cleanup_confirm=true",
    ),
    (
        "db-saturated-by-psql-confirmed",
        "database_connection_issues",
        {"pg": pg(util=95, holders=HOG_PSQL)},
        {},
        {"pg_cleanup_confirm": "yes"},
        [],
        {"pg_cleanup": "apply", "restart_app": "apply"},
        "terminate",
    ),
    (
        "db-saturated-by-app",
        "database_connection_issues",
        {"pg": pg(util=95, holders=HOG_APP)},
        {},
        {},
        [],
        {"restart_app": "apply", "pg_cleanup": "next"},
        "restart the application",
    ),
    (
        "db-own-probe-ignored",
        "database_connection_issues",
        {"pg": pg(util=95, holders=HOG_OWN)},
        {},
        {},
        [],
        {"pg_cleanup": "propose"},
        "report-job",
    ),
    (
        "db-by-application-fallback",
        "database_connection_issues",
        {"pg": pg(util=90, by_app={"etl": 80, "reflexion": 3})},
        {},
        {},
        [],
        {"pg_cleanup": "propose"},
        "etl",
    ),
    (
        "db-long-running",
        "database_connection_issues",
        {"pg": pg(long=2)},
        {},
        {"pg_cleanup_confirm": True},
        [],
        {"pg_cleanup": "apply", "restart_app": "apply"},
        "long-running",
    ),
    (
        "db-idle-in-tx-proposed",
        "database_connection_issues",
        {"pg": pg(idle=3)},
        {},
        {},
        [],
        {"pg_cleanup": "propose"},
        "pg_cleanup_confirm=true",
    ),
    (
        "db-app-reports-db-down",
        "database_connection_issues",
        {"pg": pg(), "health": {"status": "degraded", "components": {"db": {"status": "down"}}}},
        {},
        {},
        [],
        {"restart_app": "apply"},
        "restart the application",
    ),
    (
        "db-app-restart-tried",
        "database_connection_issues",
        {"pg": pg(util=95, holders=HOG_APP)},
        {},
        {},
        ["restart_app"],
        {"restart_app": "tried", "pg_cleanup": "propose"},
        "pg_cleanup_confirm=true",
    ),
    # Memory Leak: restart the app to free memory, raise limits temporarily, (drop caches if safe)
    ("mem-no-symptom", "memory_leak", {"memory": mem([APP1])}, {}, {}, [], {}, "nothing to mitigate"),
    (
        "mem-app-grows-all-replicas",
        "memory_leak",
        {"memory": mem([APP1, APP2, PGC], [GROW_APP])},
        {},
        {},
        [],
        {"restart_containers": "apply", "raise_memory_limit": "next", "drop_caches": "next", "fix_the_leak": "manual"},
        "reflexion-1, reflexion-2",
    ),
    (
        "mem-limit-set",
        "memory_leak",
        {"memory": mem([APP1], [GROW_APP])},
        {},
        {"memory_leak_memory_limit": "4g"},
        [],
        {"raise_memory_limit": "apply", "restart_containers": "apply"},
        "--memory=4g",
    ),
    (
        "mem-oom-worker-grows",
        "memory_leak",
        {"memory": mem([APP1, WORKER], [GROW_WORKER], oom=[{"pid": 7}])},
        {},
        {},
        [],
        {"restart_containers": "apply"},
        "restart worker",
    ),
    (
        "mem-db-grows-never-restarted",
        "memory_leak",
        {"memory": mem([APP1, PGC, REDISC], [], oom=[{"pid": 1}])},
        {},
        {},
        [],
        {"restart_containers": "apply"},
        "restart reflexion-1",
    ),
    (
        "mem-near-limit",
        "memory_leak",
        {"memory": mem([ctr("reflexion-1", pct=95)])},
        {},
        {},
        [],
        {"restart_containers": "apply"},
        "reflexion-1",
    ),
    (
        "mem-host-process-pattern",
        "memory_leak",
        {"memory": mem([APP1], [GROW_HOSTPROC])},
        {"process_pattern": "agent[.]py"},
        {},
        [],
        {"restart_containers": "apply"},
        "restart",
    ),
    ("mem-host-process-no-pattern", "memory_leak", {"memory": mem([APP1], [GROW_HOSTPROC])}, {}, {}, [], {}, "nothing"),
    (
        "mem-restart-tried",
        "memory_leak",
        {"memory": mem([APP1], [GROW_APP])},
        {},
        {},
        ["restart_containers"],
        {"restart_containers": "tried", "raise_memory_limit": "propose"},
        "memory_leak_memory_limit=4g",
    ),
    (
        "mem-restart-and-limit-tried",
        "memory_leak",
        {"memory": mem([APP1], [GROW_APP])},
        {},
        {},
        ["restart_containers", "raise_memory_limit"],
        {"drop_caches": "propose"},
        "memory_relief_allow_drop_caches=true",
    ),
    # LLM API Failures: switch to the backup provider; (backoff, rate limit increase: people)
    ("llm-no-symptom", "llm_api_failures", {"health": UP, "metrics": CALM, "llm": LLM_BAD}, {}, {}, [], {}, "nothing"),
    (
        "llm-fallback",
        "llm_api_failures",
        {"health": UP, "metrics": ERR, "llm": LLM_BAD},
        {},
        {},
        [],
        {"llm_fallback": "apply", "circuit_breaker": "next"},
        "anthropic",
    ),
    (
        "llm-both-fail-breaker",
        "llm_api_failures",
        {"health": UP, "metrics": ERR, "llm": LLM_ALL_BAD},
        {},
        {},
        [],
        {"circuit_breaker": "apply"},
        "circuit breaker",
    ),
    (
        "llm-component-down",
        "llm_api_failures",
        {"health": {"status": "degraded", "components": {"llm": {"status": "down"}}}, "metrics": CALM, "llm": LLM_BAD},
        {},
        {},
        [],
        {"llm_fallback": "apply"},
        "backup",
    ),
    (
        "llm-rate-limited",
        "llm_api_failures",
        {"health": UP, "metrics": ERR, "llm": LLM_RATE},
        {},
        {},
        [],
        {"llm_fallback": "apply", "rate_limit_increase": "manual", "exponential_backoff": "manual"},
        "backup",
    ),
    (
        "llm-auth",
        "llm_api_failures",
        {"health": UP, "metrics": ERR, "llm": LLM_AUTH},
        {},
        {},
        [],
        {"llm_fallback": "apply", "check_api_key": "manual"},
        "backup",
    ),
    (
        "llm-primary-anthropic",
        "llm_api_failures",
        {"health": UP, "metrics": ERR, "llm": {"providers": {"anthropic": {"outcome": "timeout"}, "openai": {"outcome": "ok"}}}},
        {"primary_provider": "anthropic"},
        {},
        [],
        {"llm_fallback": "apply"},
        "FALLBACK_LLM_PROVIDER=openai",
    ),
    (
        "llm-fallback-tried",
        "llm_api_failures",
        {"health": UP, "metrics": ERR, "llm": LLM_BAD},
        {},
        {},
        ["llm_fallback"],
        {"llm_fallback": "tried", "circuit_breaker": "apply"},
        "circuit breaker",
    ),
]


@pytest.mark.parametrize(
    "scenario,evidence,context,switches,tried,modes,summary", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_plan_table(scenario, evidence, context, switches, tried, modes, summary):
    out = plan(scenario, evidence, switches=switches, context=context, tried=tried)
    for action, mode in modes.items():
        assert out["modes"].get(action) == mode, (action, out["modes"], out["summary"])
    if not modes:
        assert not out["symptom"] and out["steps"] == []
    assert summary in out["summary"] or any(summary in (s["title"] + s["why"] + s["command"]) for s in out["steps"]), out
    # at most one lead step (and what goes with it) is applied or proposed; nothing is both
    assert not (out["apply"] and out["proposed"])


def test_table_has_thirty_rows():
    assert len(ROWS) >= 30


def test_proposal_names_the_switch_and_the_command():
    out = plan(
        "high_error_rate", {"metrics": ERR}, context={"deploy_age_hours": 1, "inventory": "inventories/lab", "limit": "web1"}
    )
    step = out["proposed"][0]
    assert step["needs"] == {"rollback_confirm": True}
    assert (
        step["command"]
        == "ansible-playbook -i inventories/lab playbooks/high_error_rate.yml --limit web1 -e rollback_confirm=true"
    )
    assert out["next"]["action"] == "scale"


def test_psql_holder_cleanup_targets_the_empty_application_name():
    out = plan("database_connection_issues", {"pg": pg(util=95, holders=HOG_PSQL)}, switches={"pg_cleanup_confirm": True})
    params = out["apply"][0]["params"]
    assert params["application_names"] == [""] and params["users"] == ["batch"] and params["max_targets"] == 90


@pytest.mark.parametrize(
    "kwargs,option",
    [
        ({"scenario": "disk_full"}, "scenario"),
        ({"switches": {"rollback_confirm": "maybe"}}, "switches.rollback_confirm"),
        ({"switches": {"yolo": True}}, "switches"),
        ({"thresholds": {"error_ratio": 2}}, "thresholds.error_ratio"),
        ({"thresholds": {"error_ratio": "nan"}}, "thresholds.error_ratio"),
        ({"thresholds": {"p95": 1}}, "thresholds"),
        ({"switches": {"memory_leak_memory_limit": "4g; rm -rf /"}}, "memory_leak_memory_limit"),
        (
            {
                "context": {"process_pattern": "("},
                "scenario": "memory_leak",
                "evidence": {"memory": mem([APP1], [GROW_HOSTPROC])},
            },
            "process_pattern",
        ),
    ],
)
def test_bad_input_names_the_option(kwargs, option):
    args = dict(scenario="high_error_rate", evidence={"metrics": ERR})
    args.update(kwargs)
    with pytest.raises(PlanError) as err:
        plan(
            args["scenario"],
            args["evidence"],
            switches=args.get("switches"),
            thresholds=args.get("thresholds"),
            context=args.get("context"),
        )
    assert option in str(err.value)


# verify: (id, scenario, evidence, alerts, since, holds, a substring of a regression)
CHECKS = [
    ("her-holds", "high_error_rate", {"health": UP, "metrics": CALM}, [], None, True, ""),
    ("her-5xx-back", "high_error_rate", {"health": UP, "metrics": ERR}, [], None, False, "5xx share"),
    (
        "her-p95",
        "high_error_rate",
        {"health": UP, "metrics": {"rates": {"error_ratio": 0, "p95_latency_s": 4.0}}},
        [],
        None,
        False,
        "p95",
    ),
    (
        "her-new-alert",
        "high_error_rate",
        {"health": UP, "metrics": CALM},
        [{"state": "firing", "labels": {"alertname": "HighErrorRate"}, "activeAt": "2026-12-02T06:00:05.123456789Z"}],
        1796191200.0,
        False,
        "HighErrorRate",
    ),
    (
        "her-old-alert-ignored",
        "high_error_rate",
        {"health": UP, "metrics": CALM},
        [{"state": "firing", "labels": {"alertname": "HighErrorRate"}, "activeAt": "2026-12-02T05:00:00Z"}],
        1796191200.0,
        True,
        "",
    ),
    (
        "her-pending-ignored",
        "high_error_rate",
        {"health": UP, "metrics": CALM},
        [{"state": "pending", "labels": {"alertname": "HighErrorRate"}, "activeAt": "2026-12-02T07:00:00Z"}],
        1796191200.0,
        True,
        "",
    ),
    (
        "db-zero-sessions-false-resolved",
        "database_connection_issues",
        {"health": UP, "metrics": CALM, "pg": pg(util=95, holders=HOG_PSQL)},
        [],
        None,
        False,
        "connections at 95%",
    ),
    ("db-idle-tx-left", "database_connection_issues", {"health": UP, "pg": pg(idle=1)}, [], None, False, "idle in transaction"),
    ("db-holds", "database_connection_issues", {"health": UP, "metrics": CALM, "pg": pg()}, [], None, True, ""),
    ("mem-growth-not-rechecked", "memory_leak", {"health": UP, "memory": mem([APP1], [GROW_APP])}, [], None, True, ""),
    ("mem-still-near-limit", "memory_leak", {"health": UP, "memory": mem([ctr("reflexion-1", pct=97)])}, [], None, False, "near"),
    (
        "llm-degraded-accepted",
        "llm_api_failures",
        {"health": {"status": "degraded", "components": {"llm": {"status": "degraded"}}}, "metrics": CALM},
        [],
        None,
        True,
        "",
    ),
]


@pytest.mark.parametrize("scenario,evidence,alerts,since,holds,why", [c[1:] for c in CHECKS], ids=[c[0] for c in CHECKS])
def test_check_table(scenario, evidence, alerts, since, holds, why):
    accept = ["healthy", "degraded"] if scenario == "llm_api_failures" else ["healthy"]
    out = check(scenario, evidence, accept_health=accept, alerts=alerts, since=since)
    assert out["holds"] is holds, out
    assert why in " | ".join(out["regressions"])
