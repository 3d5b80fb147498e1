"""Faults survived: playbooks/triage.yml against loopback services this test controls (never the lab).

A healthy world (loopback HTTP app with /health, /metrics and fake LLM /v1/models, a real PostgreSQL, a
real Redis, a clean app.log) is broken one fault at a time; triage must complete (no traceback), and the
report must carry the fault as evidence with the expected severity and source.
"""

import datetime
import gzip
import os
import re

import psycopg2
import pytest

from ..http_fixtures import LoopbackServer
from ..pg_redis_servers import APP_PASSWORD, MONITOR_PASSWORD, fill_connections, postgres_server, redis_server

HEALTHY = {
    "/health": (200, {"status": "healthy", "components": {"db": {"status": "healthy"}, "redis": {"status": "healthy"},
                                                          "llm": {"status": "healthy"}}}, 0),
    "/metrics": (200, b'reflexion_requests_total{status="200"} 10\n', 0),
    "/v1/models": (200, {"data": [{"id": "gpt-test"}]}, 0),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    logs = root / "logs"
    logs.mkdir()
    (logs / "app.log").write_text("2026-11-27T00:00:00Z INFO started\n")
    with postgres_server() as pg, redis_server() as redis, LoopbackServer(dict(HEALTHY)) as web:
        yield {"root": root, "logs": logs, "pg": pg, "redis": redis, "web": web}


def extra_vars(w, incidents, **over):
    e = {
        "reflexion_base_url": w["web"].base, "reflexion_health_url": w["web"].base + "/health",
        "reflexion_metrics_url": w["web"].base + "/metrics", "reflexion_log_dir": str(w["logs"]),
        "reflexion_pg_host": "127.0.0.1", "reflexion_pg_port": w["pg"].port, "reflexion_pg_user": "rxi_monitor",
        "reflexion_pg_password": MONITOR_PASSWORD, "reflexion_pg_db": "reflexion",
        "reflexion_redis_host": "127.0.0.1", "reflexion_redis_port": w["redis"].port,
        "reflexion_openai_base_url": w["web"].base, "reflexion_anthropic_base_url": w["web"].base,
        "reflexion_compose_project_name": "rxi-hard-none",
        "triage_metrics_sample_interval": 0, "triage_memory_samples": 1, "triage_incident_dir": str(incidents),
        # the host's kernel log is shared with every other test (a container OOM-killed by another stream an
        # hour ago is real evidence, but not of this world): only this test's own minute counts
        "triage_memory_oom_since": 1,
        "triage_open_incident_at": "P3",
    }
    e.update(over)
    return e


def evidence(report_text):
    """[(severity, source, reason)] from the report's 'All evidence' section."""
    section = report_text.split("## All evidence", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^- (P[0-3]) \[(\w+)\] (.*)$", section, re.M)


def triage(run_playbook, w, tmp_path, env=None, inventory="inventories/local", **over):
    incidents = tmp_path / "incidents"
    proc = run_playbook("playbooks/triage.yml", extra_vars=extra_vars(w, incidents, **over), env=env,
                        inventory=inventory)
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out[-4000:]
    reports = sorted(incidents.rglob("triage-localhost.md"))
    assert reports, out[-4000:]
    return proc, evidence(reports[0].read_text())


def has(ev, severity, source, text=""):
    return any(s == severity and src == source and text in reason for s, src, reason in ev)


def test_baseline_is_healthy(run_playbook, world, tmp_path):
    proc, ev = triage(run_playbook, world, tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not [e for e in ev if e[0] in ("P0", "P1")], ev


def test_app_down(run_playbook, world, tmp_path):
    proc, ev = triage(run_playbook, world, tmp_path, reflexion_health_url="http://127.0.0.1:1/health",
                      reflexion_metrics_url="http://127.0.0.1:1/metrics")
    assert proc.returncode == 0
    assert has(ev, "P0", "health", "health check down"), ev


def test_postgres_at_max_connections(run_playbook, world, tmp_path):
    pg = world["pg"]
    conns = []
    try:
        conns = fill_connections(lambda: psycopg2.connect(host=pg.host, port=pg.port, user="rxi_app",  # every non-superuser slot
                                                          password=APP_PASSWORD, dbname="reflexion", connect_timeout=30))
        assert len(conns) >= 20
        proc, ev = triage(run_playbook, world, tmp_path)
    finally:
        for c in conns:
            c.close()
    assert proc.returncode == 0
    assert [e for e in ev if e[1] == "database" and e[0] in ("P0", "P1")], ev


def test_redis_down(run_playbook, world, tmp_path):
    proc, ev = triage(run_playbook, world, tmp_path, reflexion_redis_port=1)
    assert proc.returncode == 0
    assert has(ev, "P0", "redis", "redis unreachable"), ev


def test_docker_socket_unavailable(run_playbook, world, tmp_path):
    proc, ev = triage(run_playbook, world, tmp_path, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert proc.returncode == 0
    # Real evidence, not a word of a task name ("memory" is in the triage task's name, issue 16): the memory
    # probe reports the engine it could not reach, in the report's Memory section, and triage went on.
    report = next((tmp_path / "incidents").rglob("triage-localhost.md")).read_text()
    memory = report.split("\n## Memory\n", 1)[1].split("\n## ", 1)[0]
    assert "degraded: cannot reach the Docker engine at unix:///nonexistent/docker.sock" in memory, memory


def test_corrupt_gz_log(run_playbook, world, tmp_path):
    # Stamped within the last minutes, so triage's log_grep (since: 1h) reads them.
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M").encode()
    data = gzip.compress(b"".join(b"%s:%02dZ ERROR boom %d\n" % (stamp, i % 60, i) for i in range(2000)))
    (world["logs"] / "app.log.1.gz").write_bytes(data[: len(data) // 2])
    (world["logs"] / "broken.log").write_bytes(data[: len(data) // 2])
    try:
        proc, ev = triage(run_playbook, world, tmp_path, triage_log_paths=[str(world["logs"] / "*.log"),
                                                                           str(world["logs"] / "*.gz")])
    finally:
        os.unlink(str(world["logs"] / "app.log.1.gz"))
        os.unlink(str(world["logs"] / "broken.log"))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert [e for e in ev if e[1] == "logs"], ev


def test_host_unreachable_in_multi_host_inventory(run_playbook, world, tmp_path):
    inv = tmp_path / "inventory.yml"
    inv.write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
        "    rxi-hard-unreachable:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n"
        "      ansible_connection: ssh\n      ansible_user: nobody\n")
    proc, ev = triage(run_playbook, world, tmp_path, inventory=str(inv),
                      env={"ANSIBLE_SSH_ARGS": "-o ConnectTimeout=3", "ANSIBLE_TIMEOUT": "3"})
    assert "rxi-hard-unreachable" in proc.stdout and "unreachable=1" in proc.stdout.replace(" ", "")
    assert proc.returncode == 4  # ansible's "a host was unreachable"; the reachable host completed
    assert not [e for e in ev if e[0] in ("P0", "P1")], ev


def test_postgres_down(run_playbook, world, tmp_path):
    pg = world["pg"]
    pg.stop()
    try:
        proc, ev = triage(run_playbook, world, tmp_path)
    finally:
        pg.start()
    assert proc.returncode == 0
    assert has(ev, "P0", "database", "database unreachable"), ev


def test_disk_full_while_bundling(run_module, tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    rc = os.system("mount -t tmpfs -o size=1m,mode=0700 rxi-hard-tmpfs %s 2>/dev/null" % mnt)
    # make test runs as root (it starts dockerd and installs Debian packages): mounting a tmpfs must work
    assert rc == 0, "cannot mount a 1 MiB tmpfs on %s (run the tests as root): the disk-full case was not tested" % mnt
    try:
        big = tmp_path / "big.log"
        big.write_text("".join("line %07d %s\n" % (i, os.urandom(32).hex()) for i in range(45000)))
        r = run_module("debug_bundle", {"incident_id": "incident-2026-01-01-000000", "dest_dir": str(mnt),
                                        "min_free_mb": 0, "max_item_bytes": 4 * 1024 * 1024,
                                        "max_bundle_bytes": 8 * 1024 * 1024,
                                        "items": [{"name": "big", "files": [str(big)], "lines": 100000}]})
        assert r.failed and "disk full" in r["msg"], r.output[-3000:]
        assert "Traceback" not in r.output
        assert os.listdir(str(mnt)) == []  # no partial bundle left behind
    finally:
        os.system("umount %s" % mnt)
