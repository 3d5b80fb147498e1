"""Secret canaries: unique values planted where secrets live, searched for in everything the playbooks leave.

Planted: OPENAI_API_KEY / ANTHROPIC_API_KEY / DATABASE_URL (with a password) / REDIS_PASSWORD in the
environment; the PostgreSQL and Redis passwords the probes really log in with (reflexion_pg_password,
reflexion_redis_password); a compose project .env (config file); app.log lines that print the secrets;
the arguments of a running process. Run: triage.yml, collect_debug_info.yml, status_update.yml and
post_incident_review.yml with -vvv, and triage.yml once more under ansible-runner. Searched: stdout and
stderr, the incident directory (log, jsonl, record, timeline, reports, status, review, the debug bundle
unpacked) and the runner artifacts. Expected: 0 found.
"""

import datetime
import io
import os
import subprocess
import sys
import tarfile
import uuid

import pytest

from ..conftest import ROOT, ansible_env
from ..http_fixtures import LoopbackServer
from ..pg_redis_servers import redis_server

TAG = uuid.uuid4().hex[:12]
CANARIES = {
    "openai": "sk-rxicanaryopenai%s" % TAG,
    "anthropic": "sk-ant-rxicanaryanthropic%s" % TAG,
    "database_url": "rxicanarydburl%s" % TAG,
    "redis": "rxicanaryredis%s" % TAG,
    "pg": "rxicanarypg%s" % TAG,
    "config": "rxicanaryconfig%s" % TAG,
    "log": "rxicanarylog%s" % TAG,
    "argv": "rxicanaryargv%s" % TAG,
}


def found_in(text):
    return sorted(name for name, value in CANARIES.items() if value in text)


def context(text):
    """Where the canaries sit in ``text`` (for the failure message)."""
    out = []
    for value in CANARIES.values():
        i = text.find(value)
        if i >= 0:
            out.append(text[max(0, i - 120):i + len(value) + 20])
    return out


def scan_tree(root):
    """(path, canary names) for every file under root that holds a canary; .tar.gz bundles are unpacked."""
    hits = []
    for base, _dirs, files in os.walk(root):
        for f in files:
            path = os.path.join(base, f)
            with open(path, "rb") as fh:
                data = fh.read()
            names = found_in(data.decode("utf-8", "replace"))
            if names:
                hits.append((path, names, context(data.decode("utf-8", "replace"))))
            if f.endswith((".tar.gz", ".tgz")):
                with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                    for member in tar.getmembers():
                        if member.isfile():
                            inner = tar.extractfile(member).read().decode("utf-8", "replace")
                            names = found_in(inner)
                            if names:
                                hits.append((path + "!" + member.name, names, context(inner)))
    return hits


@pytest.fixture(scope="module")
def secrets_world(pg, tmp_path_factory):
    """Real servers and files holding the canaries."""
    root = tmp_path_factory.mktemp("canary")
    conn = pg.connect(dbname="postgres")
    conn.cursor().execute("CREATE ROLE rxi_canary LOGIN PASSWORD %s IN ROLE pg_monitor", (CANARIES["pg"],))
    conn.close()
    logs = root / "logs"
    logs.mkdir()
    # Stamped now, so triage's log_grep (since: 1h) really reads them.
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    (logs / "app.log").write_text(
        "%s ERROR openai call failed api_key=%s\n"
        "%s ERROR db connect failed postgresql://app:%s@db:5432/reflexion\n"
        "%s ERROR network Authorization: Bearer %s\n"
        % (now, CANARIES["log"], now, CANARIES["database_url"], now, CANARIES["openai"]))
    project = root / "project"
    project.mkdir()
    (project / ".env").write_text("OPENAI_API_KEY=%s\nPOSTGRES_PASSWORD=%s\n" % (CANARIES["config"], CANARIES["pg"]))
    (project / "compose.yml").write_text("services: {}\n")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(900)", "--api-key=" + CANARIES["argv"],
                             "--password", CANARIES["argv"]])
    routes = {
        "/health": (200, {"status": "healthy", "components": {"db": {"status": "healthy"}}}, 0),
        "/health?detailed=true": (200, {"status": "healthy"}, 0),
        "/metrics": (200, b'reflexion_requests_total{status="200"} 10\n', 0),
        "/v1/models": (200, {"data": [{"id": "gpt-test"}]}, 0),
    }
    try:
        with redis_server(password=CANARIES["redis"]) as redis, LoopbackServer(routes) as web:
            env = {
                "OPENAI_API_KEY": CANARIES["openai"],
                "ANTHROPIC_API_KEY": CANARIES["anthropic"],
                "DATABASE_URL": "postgresql://app:%s@127.0.0.1:%d/reflexion" % (CANARIES["database_url"], pg.port),
                "REDIS_PASSWORD": CANARIES["redis"],
                "REDIS_URL": "redis://:%s@127.0.0.1:%d/0" % (CANARIES["redis"], redis.port),
            }
            extra = {
                "reflexion_base_url": web.base,
                "reflexion_health_url": web.base + "/health",
                "reflexion_metrics_url": web.base + "/metrics",
                "reflexion_log_dir": str(logs),
                "reflexion_pg_host": "127.0.0.1", "reflexion_pg_port": pg.port, "reflexion_pg_user": "rxi_canary",
                "reflexion_pg_password": CANARIES["pg"], "reflexion_pg_db": "reflexion",
                "reflexion_redis_host": "127.0.0.1", "reflexion_redis_port": redis.port,
                "reflexion_redis_password": CANARIES["redis"],
                "reflexion_openai_base_url": web.base, "reflexion_anthropic_base_url": web.base,
                "reflexion_compose_project_dir": str(project), "reflexion_compose_project_name": "rxi-hard-canary",
                "reflexion_prometheus_url": "http://127.0.0.1:1",
                "triage_metrics_sample_interval": 0, "triage_memory_samples": 1,
                "triage_incident_dir": str(root / "incidents"), "reflexion_incident_dir": str(root / "incidents"),
                "debug_bundle_remote_dir": str(root / "remote"),
                "triage_open_incident_at": "P3",
            }
            yield {"root": root, "env": env, "extra": extra, "incidents": root / "incidents"}
    finally:
        proc.kill()
        proc.wait()


def test_no_canary_leaks_anywhere(run_playbook, secrets_world):
    w = secrets_world
    outputs = {}
    triage = run_playbook("playbooks/triage.yml", extra_vars=w["extra"], args=("-vvv",), env=w["env"])
    outputs["triage -vvv"] = triage
    assert triage.returncode == 0, triage.stdout[-3000:] + triage.stderr[-2000:]
    # the incidents (the directory also holds the incident index, index.html, and its lock)
    incidents = sorted(n for n in os.listdir(str(w["incidents"])) if n.startswith("incident-"))
    assert len(incidents) == 1, incidents
    incident_id = incidents[0]
    extra = dict(w["extra"], incident_id=incident_id)
    outputs["status_update -vvv"] = run_playbook("playbooks/status_update.yml", extra_vars=dict(
        extra, status="IDENTIFIED", impact="LLM calls fail", root_cause="provider key rotated",
        mitigation="fallback provider"), args=("-vvv",), env=w["env"])
    outputs["collect_debug_info -vvv"] = run_playbook("playbooks/collect_debug_info.yml", extra_vars=extra,
                                                      args=("-vvv",), env=w["env"])
    outputs["post_incident_review -vvv"] = run_playbook("playbooks/post_incident_review.yml", extra_vars=extra,
                                                        args=("-vvv",), env=w["env"])
    for name, proc in outputs.items():
        assert proc.returncode == 0, "%s failed:\n%s\n%s" % (name, proc.stdout[-3000:], proc.stderr[-2000:])

    # what the runs produced, so the scan below reads real artefacts
    produced = set(os.listdir(str(w["incidents"] / incident_id)))
    assert {"incident.log", "incident.jsonl", "record.json", "status.md", "review.md"} <= produced, produced
    assert any(f.startswith("triage-") for f in produced)
    assert any(f.endswith(".tar.gz") for f in produced) or os.path.isdir(str(w["incidents"] / incident_id / "debug"))
    # the canaries were really there to be leaked: the app log line matched, the passwords logged in
    assert "openai call failed" in outputs["triage -vvv"].stdout
    assert "rxi_canary" in outputs["triage -vvv"].stdout

    leaks = []
    for name, proc in outputs.items():
        for where, text in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            if found_in(text):
                leaks.append(("%s %s" % (name, where), found_in(text), context(text)))
    leaks += scan_tree(str(w["root"] / "incidents"))
    assert leaks == [], "\n".join(repr(leak) for leak in leaks)


def test_no_canary_leaks_under_ansible_runner(secrets_world, tmp_path):
    import ansible_runner

    w = secrets_world
    env = ansible_env()
    env.update(w["env"])
    env["ANSIBLE_STDOUT_CALLBACK"] = "default"
    incidents = tmp_path / "incidents"
    extra = dict(w["extra"], triage_incident_dir=str(incidents), reflexion_incident_dir=str(incidents))
    runner_dir = tmp_path / "runner"
    runner_dir.mkdir()
    r = ansible_runner.run(private_data_dir=str(runner_dir), playbook=os.path.join(ROOT, "playbooks", "triage.yml"),
                           inventory=os.path.join(ROOT, "inventories", "local", "hosts.yml"), extravars=extra,
                           envvars=env, verbosity=3, quiet=True, project_dir=ROOT)
    assert r.status == "successful", r.stdout.read()[-3000:]
    artifacts = runner_dir / "artifacts"
    assert any(artifacts.rglob("job_events/*.json"))
    assert any(incidents.rglob("triage-*.md"))
    # ansible-runner itself dumps the process environment it ran with into artifacts/<ident>/command
    # (mode 0600), whatever the playbook does: that file is the runner's copy of its input, like
    # env/envvars. It is checked for its mode; every other artifact and output is searched.
    commands = list(artifacts.rglob("command"))
    assert commands and all(oct(c.stat().st_mode & 0o777) == "0o600" for c in commands)
    hits = [h for h in scan_tree(str(artifacts)) if os.path.basename(h[0]) != "command"]
    hits += scan_tree(str(incidents))
    assert hits == [], "\n".join(repr(h) for h in hits)
