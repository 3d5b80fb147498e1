"""Playbooks under ansible-runner (the engine AWX uses) with survey-style extravars built from the job
templates' surveys, and the set_stats results read back from the runner's artifacts (the
playbook_on_stats event's artifact_data, which AWX hands to workflows).

The scenario and standalone playbooks run in check mode with auto_mitigate=false (nothing changes), with
inventories/local, against a world of their own (see ``world``): never against the shared lab, which the
lab stream of `make test` is faulting and rebuilding at the same time. A playbook whose file is missing
fails the test."""

import glob
import json
import os
import subprocess
import sys

import pytest
import yaml

from ..pg_redis_servers import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = ["high_error_rate", "database_connection_issues", "memory_leak", "llm_api_failures"]
STANDALONE = ["triage", "scale_up", "restart_services", "circuit_breaker", "rollback", "collect_debug_info",
              "status_update", "post_incident_review"]
# playbooks that classify, so AWX workflows can branch on the severity they expose
SEVERITY_PLAYBOOKS = set(SCENARIOS) | {"triage"}
# answers for required survey questions that have no default
INCIDENT_ID = "incident-2026-11-26-000000"
REQUIRED_ANSWERS = {"incident_id": INCIDENT_ID}
# playbooks that work on an existing incident record: the test opens one in a scratch reflexion_incident_dir first
NEEDS_INCIDENT = {"status_update", "post_incident_review"}
# playbooks whose survey defaults act on the compose project's containers (restart_services names a restart
# request): the world's project is brought up for them, and check mode must leave the containers as they were
NEEDS_CONTAINERS = {"restart_services"}
SMOKE_SURVEY = [
    {"variable": "smoke_severity", "type": "multiplechoice", "choices": ["P0", "P1", "P2", "P3"], "default": "P1",
     "required": True},
    {"variable": "smoke_replicas", "type": "integer", "default": 3, "required": False},
    {"variable": "smoke_dry_run", "type": "multiplechoice", "choices": ["true", "false"], "default": "false",
     "required": False},
]


def survey_extravars(spec, answers=None):
    """Extra vars the way AWX sends a survey launched with its defaults: integer -> int, float -> float,
    everything else as text; unanswered optional questions are left out."""
    out = {}
    for q in spec:
        value = (answers or {}).get(q["variable"], q.get("default", ""))
        if value in ("", None):
            if q.get("required"):
                value = REQUIRED_ANSWERS[q["variable"]]
            else:
                continue
        if q["type"] == "integer":
            value = int(value)
        elif q["type"] == "float":
            value = float(value)
        elif q["type"] == "multiselect":
            value = value.split("\n") if isinstance(value, str) else list(value)
        else:
            value = str(value)
        out[q["variable"]] = value
    return out


def stats_artifact(private_data_dir, ident):
    """set_stats data from the runner artifacts: the playbook_on_stats event's artifact_data."""
    events = []
    for path in glob.glob(os.path.join(private_data_dir, "artifacts", ident, "job_events", "*.json")):
        with open(path) as f:
            events.append(json.load(f))
    stats = [e for e in events if e.get("event") == "playbook_on_stats"]
    assert len(stats) == 1, "no playbook_on_stats event among %d runner events" % len(events)
    return stats[0]["event_data"].get("artifact_data", {})


COMPOSE = """services:
  reflexion:
    image: reflexion-incident/molecule:bookworm
    command: sleep infinity
"""


def deployment_repo(path):
    """A deployment checkout with v1.0.0 (stable) and v1.1.0 (running): what rollback.yml plans against,
    with a compose file and .env for the playbooks that scale, restart or open the circuit breaker."""
    git = ["git", "-C", str(path), "-c", "user.email=ci@localhost", "-c", "user.name=ci"]
    os.makedirs(str(path))
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    with open(os.path.join(str(path), "docker-compose.yml"), "w") as f:
        f.write(COMPOSE)
    with open(os.path.join(str(path), ".env"), "w") as f:
        f.write("DISABLE_EXTERNAL_SERVICE=false\n")
    for tag in ("v1.0.0", "v1.1.0"):
        with open(os.path.join(str(path), "RELEASE"), "w") as f:
            f.write(tag + "\n")
        subprocess.run(git + ["add", "-A"], check=True)
        subprocess.run(git + ["commit", "-qm", tag], check=True)
        subprocess.run(git + ["tag", tag], check=True)
    return str(path)


def world(tmp_path):
    """The deployment the playbooks see, all private to one test: a deployment checkout under its own
    compose project name (no container of it runs, except for NEEDS_CONTAINERS), an empty log dir,
    and closed loopback ports for the service, the database, Redis and the providers. That is an outage:
    the probes report it, and in check mode with auto_mitigate=false nothing changes."""
    dead = "http://127.0.0.1:%d" % free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    return {
        "reflexion_compose_project_dir": deployment_repo(tmp_path / "deploy"),
        "reflexion_compose_project_name": "rxi-awx-%d" % os.getpid(),
        "reflexion_base_url": dead,
        "reflexion_health_url": dead + "/health",
        "reflexion_metrics_url": dead + "/metrics",
        "reflexion_log_dir": str(logs),
        "reflexion_pg_host": "127.0.0.1",
        "reflexion_pg_port": free_port(),
        "reflexion_redis_host": "127.0.0.1",
        "reflexion_redis_port": free_port(),
        "reflexion_openai_base_url": dead,
        "reflexion_anthropic_base_url": dead,
        "reflexion_prometheus_url": dead,
    }


def container_starts(project):
    """container id -> State.StartedAt of the compose project's containers (a restart changes it)."""
    ids = subprocess.run(["docker", "ps", "-q", "--filter", "label=com.docker.compose.project=" + project],
                         capture_output=True, text=True, check=True, timeout=60).stdout.split()
    if not ids:
        return {}
    data = json.loads(subprocess.run(["docker", "inspect"] + ids, capture_output=True, text=True, check=True,
                                     timeout=60).stdout)
    return {c["Id"]: c["State"]["StartedAt"] for c in data}


def open_incident(incidents_dir, incident_id):
    """Open the incident record the playbook works on, with our incident module."""
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-i", os.path.join(ROOT, "inventories", "local"),
         "-m", "reflexion.incident.incident",
         "-a", json.dumps({"dir": incidents_dir, "id": incident_id, "event": "open", "severity": "P2",
                           "text": "ansible-runner test"})],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                 PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def run(playbook, extravars, tmp_path, check=False):
    import ansible_runner

    pdd = tmp_path / "runner"
    pdd.mkdir()
    envvars = {
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, "collections"),
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        "ANSIBLE_NOCOLOR": "1",
    }
    local = os.path.join(ROOT, "inventories", "local")
    r = ansible_runner.run(private_data_dir=str(pdd), playbook=playbook, inventory=local, extravars=extravars,
                           envvars=envvars, cmdline="--check" if check else None, quiet=True, ident="job",
                           timeout=1800)
    return r, str(pdd)


def test_smoke_playbook_survey_in_set_stats_out(tmp_path):
    extravars = survey_extravars(SMOKE_SURVEY, {"smoke_severity": "P1"})
    assert extravars == {"smoke_severity": "P1", "smoke_replicas": 3, "smoke_dry_run": "false"}
    r, pdd = run(os.path.join(HERE, "playbooks", "set_stats_smoke.yml"), extravars, tmp_path)
    assert r.status == "successful" and r.rc == 0, r.stdout.read()
    # what the runner wrote to disk, as AWX reads it
    with open(os.path.join(pdd, "artifacts", "job", "status")) as f:
        assert f.read().strip() == "successful"
    with open(os.path.join(pdd, "env", "extravars")) as f:
        assert yaml.safe_load(f) == extravars
    data = stats_artifact(pdd, "job")
    assert data == {"reflexion_severity": "P1", "reflexion_replicas": 6, "reflexion_dry_run": False}
    assert r.stats["ok"] == {"localhost": 2} and not r.stats["failures"]


def test_smoke_playbook_rejects_wrongly_typed_survey_answers(tmp_path):
    """A text answer where the survey says integer fails the run (the typed extravars matter)."""
    r, pdd = run(os.path.join(HERE, "playbooks", "set_stats_smoke.yml"),
                 {"smoke_severity": "P1", "smoke_replicas": "3", "smoke_dry_run": "false"}, tmp_path)
    assert r.status == "failed" and r.rc != 0
    assert stats_artifact(pdd, "job") == {}


@pytest.mark.parametrize("name", SCENARIOS + STANDALONE)
def test_playbook_under_ansible_runner_with_its_survey(name, tmp_path):
    path = os.path.join(ROOT, "playbooks", name + ".yml")
    # issue 16: every playbook exists now; a missing one is a failure, not a skip
    assert os.path.isfile(path), "playbooks/%s.yml is missing (awx/job_templates/%s.yml runs it)" % (name, name)
    with open(os.path.join(ROOT, "awx", "job_templates", name + ".yml")) as f:
        jt = yaml.safe_load(f)
    spec = (jt.get("related") or {}).get("survey_spec", {}).get("spec", [])
    extravars = survey_extravars(spec, {"auto_mitigate": "false"})
    # like a job template's own extra_vars: keep incident records out of the checkout
    incidents = tmp_path / "incidents"
    extravars["reflexion_incident_dir"] = str(incidents)
    if name in NEEDS_INCIDENT:
        # status_update's incident_id is optional (an alert has none; issue 19): answer it as an operator would
        if not extravars.get("incident_id"):
            extravars["incident_id"] = REQUIRED_ANSWERS["incident_id"]
        open_incident(str(incidents), extravars["incident_id"])
    extravars.update(world(tmp_path))
    compose = ["docker", "compose", "--project-directory", extravars["reflexion_compose_project_dir"],
               "-p", extravars["reflexion_compose_project_name"]]
    started = None
    if name in NEEDS_CONTAINERS:
        subprocess.run(compose + ["up", "-d", "--wait", "--wait-timeout", "60"], check=True, capture_output=True,
                       timeout=120)
        started = container_starts(extravars["reflexion_compose_project_name"])
        assert started
    try:
        r, pdd = run(path, extravars, tmp_path, check=True)
        assert r.status == "successful" and r.rc == 0, r.stdout.read()[-4000:]
        if started is not None:
            assert container_starts(extravars["reflexion_compose_project_name"]) == started
    finally:
        if name in NEEDS_CONTAINERS:
            subprocess.run(compose + ["down", "--timeout", "1"], check=False, capture_output=True, timeout=120)
    data = stats_artifact(pdd, "job")
    if name in SEVERITY_PLAYBOOKS:
        severities = {k: v for k, v in data.items() if "severity" in k}
        assert severities, "playbooks/%s.yml exposes no severity with set_stats: %r" % (name, data)
        assert all(v in ("P0", "P1", "P2", "P3") for v in severities.values()), severities
