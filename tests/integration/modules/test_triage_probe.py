"""triage_probe: every probe in one invocation, against real servers on loopback and real log files.

Each probe's entry must be what its own module returns for the same options (minus timing fields),
secrets inside the sub-dictionaries must never reach the output, and bad options name the probe.
"""

import pytest

from ..http_fixtures import LoopbackServer
from ..pg_redis_servers import MONITOR_PASSWORD, postgres_server, redis_server

HEALTH = {"status": "healthy", "components": {"db": {"status": "healthy", "latency_ms": 1.0}}}
METRICS = (b'# TYPE reflexion_requests_total counter\n'
           b'reflexion_requests_total{status="200"} 90\nreflexion_requests_total{status="500"} 10\n')
API_KEY = "sk-rxi-batch-secret-5e1f"

# fields that differ between two runs of the same probe
VOLATILE = {"timings", "latency_ms", "elapsed_ms", "duration_ms", "ping_ms", "sampled_at", "collected_at", "now",
            "uptime_in_seconds", "connections", "sessions", "by_state", "by_user", "by_application",
            "total_connections", "utilization_pct", "database_sizes", "reason", "info", "queries", "containers",
            "processes", "host", "leak_suspects", "providers", "blocking", "probe_pid"}


@pytest.fixture(scope="module")
def http():
    routes = {"/health": (200, HEALTH, 0), "/metrics": (200, METRICS, 0), "/v1/models": (200, {"data": []}, 0)}
    with LoopbackServer(routes) as srv:
        yield srv


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def rds():
    with redis_server() as server:
        yield server


def stable(value):
    """``value`` without the fields that change from run to run, at any depth."""
    if isinstance(value, dict):
        return dict((k, stable(v)) for k, v in value.items()
                    if k not in VOLATILE and k not in ("changed", "invocation", "action"))
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def test_all_probes_at_once_equal_the_modules(run_module, http, pg, rds, tmp_path):
    log = tmp_path / "app.log"
    log.write_text("2026-11-26T10:00:00Z INFO ok\n2026-11-26T10:00:01Z ERROR upstream timeout id=42\n")
    options = {
        "health": {"urls": [http.base + "/health"], "detailed": True},
        "metrics": {"urls": [http.base + "/metrics"], "prefix": "reflexion_"},
        "logs": {"paths": [str(log)], "patterns": ["errors", "network"]},
        "pg": pg.monitor_args(),
        # slow_ms: a 50 ms median PING (the default) is easy to miss on a loaded 2-core machine
        "redis": {"login_host": rds.host, "login_port": rds.port, "slow_ms": 5000},
        "memory": {"samples": 1, "compose_project": "rxi-no-such-project"},
        "llm": {"providers": [{"name": "openai", "base_url": http.base, "api_key": API_KEY}]},
    }
    batch = run_module("triage_probe", options, verbosity=3)
    assert not batch.failed, batch.output
    assert batch["changed"] is False
    assert sorted(batch["probes"]) == sorted(options)
    assert sorted(batch["timings_ms"]) == sorted(options)
    for probe, module in (("health", "health_probe"), ("metrics", "metrics_probe"), ("logs", "log_grep"),
                          ("pg", "pg_activity_probe"), ("redis", "redis_probe"), ("llm", "llm_api_probe")):
        alone = run_module(module, options[probe])
        assert not alone.failed, alone.output
        assert stable(batch["probes"][probe]) == stable(alone.result), probe
    probes = batch["probes"]
    assert probes["health"]["status"] == "healthy"
    assert probes["logs"]["counts"] == {"errors": 1, "network": 1}
    assert probes["logs"]["files"][0]["workers"] == 1  # never forks from the threaded batch
    assert probes["pg"]["connectable"] is True
    assert probes["redis"]["connectable"] is True
    assert probes["llm"]["providers"]["openai"]["outcome"] == "ok"
    # -vvv prints the invocation: the secrets inside the sub-dictionaries are masked there too
    assert API_KEY not in batch.output and MONITOR_PASSWORD not in batch.output


def test_a_dead_service_is_evidence_not_a_failure(run_module):
    r = run_module("triage_probe", {"health": {"urls": ["http://127.0.0.1:1/health"]},
                                    "redis": {"login_host": "127.0.0.1", "login_port": 1}})
    assert not r.failed, r.output
    assert r["status"] == "down"
    assert r["probes"]["health"]["status"] == "down" and r["probes"]["redis"]["status"] == "down"
    assert "health:" in r["reason"] and "redis:" in r["reason"]
    failing = run_module("triage_probe", {"health": {"urls": ["http://127.0.0.1:1/health"]}, "fail_on_unhealthy": True})
    assert failing.failed and "unhealthy" in failing["msg"]


@pytest.mark.parametrize("args,needle", [
    ({"fail_on_unhealthy": False}, "give at least one probe"),
    ({"health": {"urls": []}}, "health: urls: give at least one URL"),
    ({"pg": {"login_port": "abc", "login_password": "pw-never-shown"}}, "pg (pg_activity_probe options)"),
    ({"llm": {"providers": [{"name": "bogus"}]}}, "llm (llm_api_probe options)"),
    ({"logs": {"paths": ["/tmp/x.log"], "patterns": ["(unclosed"]}}, "logs: patterns"),
    ({"memory": {"samples": 0}}, "memory: samples"),
    ({"health": {"urls": ["http://x/"], "no_such_option": 1}}, "no_such_option"),
])
def test_bad_input_names_the_probe(run_module, args, needle):
    r = run_module("triage_probe", args)
    assert r.failed
    assert needle in r["msg"], r["msg"]
    assert "Traceback" not in r.output
    assert "pw-never-shown" not in r["msg"]
