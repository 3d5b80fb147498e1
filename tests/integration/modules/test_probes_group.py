"""The ``probes`` action group (issue #17): every member accepts the common options (timeout, validate_certs,
fail_on_unhealthy), so ``module_defaults: {group/reflexion.incident.probes: {...}}`` works for all of them.

Each member runs through ansible-playbook against real things on loopback: an HTTP server serving /health,
/metrics and an LLM-style /v1/models, a real PostgreSQL and a real Redis (tests/integration/pg_redis_servers.py),
a log file, the host's memory and disks, a compose project that does not exist, and a directory that is not a git
checkout. Before the fix, the play failed on log_grep with "Unsupported parameters"."""

import json
import time
import uuid

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from ..http_fixtures import LoopbackServer
from ..pg_redis_servers import postgres_server, redis_server

MEMBERS = ("health_probe", "metrics_probe", "log_grep", "llm_api_probe", "pg_activity_probe", "memory_probe",
           "redis_probe", "triage_probe", "disk_probe", "container_probe", "deploy_probe")

PLAYBOOK = """\
- name: Every member of the probes group under one module_defaults
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/reflexion.incident.probes:
      timeout: 3
      validate_certs: false
      fail_on_unhealthy: false
  vars:
    args: {args}
  tasks:
    - name: Health
      reflexion.incident.health_probe: "{{{{ args.health_probe }}}}"
      register: health_probe
    - name: Metrics
      reflexion.incident.metrics_probe: "{{{{ args.metrics_probe }}}}"
      register: metrics_probe
    - name: Logs
      reflexion.incident.log_grep: "{{{{ args.log_grep }}}}"
      register: log_grep
    - name: LLM API
      reflexion.incident.llm_api_probe: "{{{{ args.llm_api_probe }}}}"
      register: llm_api_probe
    - name: PostgreSQL
      reflexion.incident.pg_activity_probe: "{{{{ args.pg_activity_probe }}}}"
      register: pg_activity_probe
    - name: Memory
      reflexion.incident.memory_probe: "{{{{ args.memory_probe }}}}"
      register: memory_probe
    - name: Redis
      reflexion.incident.redis_probe: "{{{{ args.redis_probe }}}}"
      register: redis_probe
    - name: Triage (the common options passed down)
      reflexion.incident.triage_probe: "{{{{ args.triage_probe }}}}"
      register: triage_probe
    - name: Disk
      reflexion.incident.disk_probe: "{{{{ args.disk_probe }}}}"
      register: disk_probe
    - name: Containers
      reflexion.incident.container_probe: "{{{{ args.container_probe }}}}"
      register: container_probe
    - name: Deploys
      reflexion.incident.deploy_probe: "{{{{ args.deploy_probe }}}}"
      register: deploy_probe
    - name: Dump the results
      ansible.builtin.copy:
        content: "{{{{ {{{members}}} | to_json }}}}"
        dest: {dest}
        mode: "0600"
"""


def exposition():
    reg = CollectorRegistry()
    reqs = Counter("reflexion_requests_total", "requests", ["status"], registry=reg)
    reqs.labels(status="200").inc(100)
    return generate_latest(reg)


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def redis():
    with redis_server() as server:
        yield server


def test_module_defaults_reach_every_member(run_playbook, pg, redis, tmp_path):
    log = tmp_path / "app.log"
    log.write_text("2026-12-02T06:00:00Z INFO ok\n2026-12-02T06:00:01Z ERROR upstream timeout\n"
                   "2026-12-02T06:00:02Z ERROR connection refused\n")
    routes = {"/health": (200, {"status": "healthy"}, 0), "/metrics": (200, exposition(), 0),
              "/v1/models": (200, {"data": [{"id": "gpt-4o-mini"}]}, 0)}
    with LoopbackServer(routes) as http:
        args = {
            "health_probe": {"urls": [http.base + "/health"]},
            "metrics_probe": {"urls": [http.base + "/metrics"]},
            "log_grep": {"paths": [str(log)], "patterns": ["errors"]},
            "llm_api_probe": {"providers": [{"name": "openai", "base_url": http.base, "api_key": "rxi-not-a-key"}]},
            "pg_activity_probe": pg.monitor_args(),
            "memory_probe": {"containers": False},
            "redis_probe": {"login_host": redis.host, "login_port": redis.port},
            "triage_probe": {"logs": {"paths": [str(log)], "timeout": 7},
                             "redis": {"login_host": redis.host, "login_port": redis.port},
                             "health": {"urls": [http.base + "/health"]}},
            "disk_probe": {"paths": [str(tmp_path)]},
            "container_probe": {"compose_project": "rxi-none-%s" % uuid.uuid4().hex[:12]},
            "deploy_probe": {"path": str(tmp_path)},
        }
        dump = tmp_path / "results.json"
        book = tmp_path / "play.yml"
        book.write_text(PLAYBOOK.format(args=json.dumps(args), dest=dump,
                                        members=", ".join("'%s': %s" % (m, m) for m in MEMBERS)))
        # the invocation (module_args after module_defaults) injected into each result
        proc = run_playbook(str(book), env={"ANSIBLE_INJECT_INVOCATION": "1"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "Unsupported parameters" not in out and "Traceback" not in out
    results = json.loads(dump.read_text())
    assert sorted(results) == sorted(MEMBERS)
    for name, result in results.items():
        assert not result.get("failed"), (name, result)
        given = result["invocation"]["module_args"]
        # module_defaults reached the module: the three common options as the group set them
        assert (given["timeout"], given["validate_certs"], given["fail_on_unhealthy"]) == (3.0, False, False), name

    # where the deadline is observable, the probe reports it was applied
    logs = results["log_grep"]
    assert logs["timeout"] == 3.0 and logs["timed_out"] is False and logs["total_matches"] == 2
    assert results["redis_probe"]["timeout"] == 3.0 and results["redis_probe"]["connectable"] is True
    assert results["redis_probe"]["pings_sent"] == 5
    pgr = results["pg_activity_probe"]
    assert pgr["timeout"] == 3.0 and pgr["connectable"] is True
    # statement_timeout (10000 ms by default) is capped by the 3 s deadline
    assert pgr["queries"][0] == "SET LOCAL statement_timeout = 3000"
    assert results["memory_probe"]["timeout"] == 3.0
    assert results["health_probe"]["status"] == "healthy"
    assert any(m["name"] == "reflexion_requests_total" for m in results["metrics_probe"]["metrics"])
    assert results["deploy_probe"]["is_git_repo"] is False
    assert results["container_probe"]["containers"] == [] or results["container_probe"]["status"] != "healthy"
    # triage_probe passes the common options down where the sub-probe does not set its own
    probes = results["triage_probe"]["probes"]
    assert probes["redis"]["timeout"] == 3.0 and probes["redis"]["connectable"] is True
    assert probes["logs"]["timeout"] == 7.0  # its own value wins over the group's
    assert probes["health"]["status"] == "healthy"


def test_log_grep_deadline_stops_the_scan(run_module, tmp_path):
    """A scan that cannot finish within O(timeout) stops, reports partial counts and says so (never hangs)."""
    line = b"2026-12-02T06:00:00Z ERROR request id=%08d failed upstream=alpha path=/v1/chat\n"
    big = tmp_path / "a-big.log"
    with open(big, "wb") as f:
        for chunk in range(400):
            f.write(b"".join(line % (chunk * 1000 + i) for i in range(1000)))
    (tmp_path / "b-next.log").write_bytes(line % 1)
    size = big.stat().st_size
    started = time.monotonic()
    r = run_module("log_grep", {"paths": [str(tmp_path / "*.log")], "patterns": [r"id=\d+ failed upstream=[a-z]+"],
                                "timeout": 0.01, "workers": 1})
    elapsed = time.monotonic() - started
    assert not r.failed, r.output[-3000:]
    res = r.result
    assert res["timed_out"] is True and res["timeout"] == 0.01
    assert res["bytes_scanned"] < size  # stopped inside the first file
    assert res["status"] != "healthy" and "[truncated]" in res["reason"]  # partial evidence is never "healthy"
    first, second = res["files"]
    assert any("[truncated]" in w for w in first["warnings"])
    assert second["skipped"].startswith("not scanned: the deadline")
    assert elapsed < 60  # bounded: not a hang


def test_common_options_accepted_by_probes_without_tls(run_module, tmp_path):
    """validate_certs is accepted (and ignored) by the probes that make no TLS connection."""
    (tmp_path / "app.log").write_text("INFO ok\n")
    r = run_module("log_grep", {"paths": [str(tmp_path / "app.log")], "validate_certs": False, "timeout": 5})
    assert not r.failed and r.result["status"] == "healthy" and r.result["timeout"] == 5.0, r.output[-2000:]
    r = run_module("disk_probe", {"paths": [str(tmp_path)], "validate_certs": False, "max_workers": 2})
    assert not r.failed and r.result["status"] in ("healthy", "degraded"), r.output[-2000:]
