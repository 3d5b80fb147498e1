"""Issue 22 (labels): containers are picked by their compose labels, never by their names, and what the layout
cannot do is refused with one line before anything is tried (check mode too).

One throw-away compose project (rxi-hard-lbl, ports 127.0.0.1:18961-18962) shaped like a deployment we did not
create: fixed container_names (rxi-hard-lbl-web, and rxi-hard-lbl-postgres for the database), services named
neither "reflexion" nor "postgres" (web, database), one replica, release tags not shaped vX.Y.Z. Built from
molecule/shared_mitigation/compose_app (the files are copied), removed with its images in teardown.

- memory_relief: the database container, the biggest one, is never planned (check mode), and naming it is refused
  with one line; its StartedAt is unchanged.
- scale: a service with a container_name is refused with one line, in check mode and for real, and becomes a
  proposal with scale_fail_on_refusal=false; the replica count and StartedAt are unchanged.
- memory_leak.yml (check mode): a really growing app container whose name has no <project>-<service>-<n> shape is
  the symptom, and the plan restarts it, never the database.
- rollback: tags not shaped vX.Y.Z are a one-line proposal (rollback_fail_on_refusal=false), in check mode too.
- llm_fallback: a proof URL that answers 404 falls back to the health endpoint and says so; the fix is not failed.
"""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request

import pytest

from ..conftest import BIN, ROOT, ansible_env
from .compose_fixture import FIXTURE, sh
from .conftest import json_tasks, write_playbook

PROJECT = "rxi-hard-lbl"
WEB_PORT, DB_PORT = 18961, 18962
WEB, DB = PROJECT + "-web", PROJECT + "-postgres"

COMPOSE = """\
# A deployment we did not create: fixed container names, services named neither reflexion nor postgres.
services:
  web:
    build: .
    container_name: %(web)s
    environment:
      ROLE: app
      DISABLE_EXTERNAL_SERVICE: ${DISABLE_EXTERNAL_SERVICE:-false}
      FALLBACK_LLM_PROVIDER: ${FALLBACK_LLM_PROVIDER:-}
      PRIMARY_LLM_FAILING: ${PRIMARY_LLM_FAILING:-false}
    ports:
      - "127.0.0.1:%(web_port)d:8000"
    mem_limit: 768m
    stop_grace_period: 3s
  database:
    build: .
    container_name: %(db)s
    environment:
      ROLE: db
    ports:
      - "127.0.0.1:%(db_port)d:8000"
    stop_grace_period: 3s
""" % dict(web=WEB, db=DB, web_port=WEB_PORT, db_port=DB_PORT)


class Deployment(object):
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix=PROJECT + "-")

    def git(self, *args):
        return sh(["git", "-C", self.dir, "-c", "user.name=labels", "-c", "user.email=labels@localhost"]
                  + list(args)).stdout.strip()

    def compose(self, *args, **kw):
        return sh(["docker", "compose", "--project-directory", self.dir, "-p", PROJECT] + list(args), **kw)

    def create(self):
        for f in ("app.py", "Dockerfile"):
            shutil.copy(os.path.join(FIXTURE, f), self.dir)
        with open(os.path.join(self.dir, "compose.yml"), "w") as f:
            f.write(COMPOSE)
        with open(os.path.join(self.dir, ".gitignore"), "w") as f:
            f.write(".env\n")
        self.git("init", "--quiet")
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", "first")
        self.git("tag", "release-1")
        with open(os.path.join(self.dir, "VERSION"), "w") as f:
            f.write("2\n")
        self.git("add", "VERSION")
        self.git("commit", "--quiet", "-m", "second")
        self.git("tag", "release-2")
        with open(os.path.join(self.dir, ".env"), "w") as f:
            f.write("DISABLE_EXTERNAL_SERVICE=false\n")

    def up(self):
        self.compose("up", "-d", "--build", "--wait", "--wait-timeout", "120")

    def started(self, service):
        ids = sh(["docker", "ps", "-q", "--filter", "label=com.docker.compose.project=" + PROJECT,
                  "--filter", "label=com.docker.compose.service=" + service]).stdout.split()
        data = json.loads(sh(["docker", "inspect"] + ids).stdout) if ids else []
        return sorted((c["Name"].lstrip("/"), c["State"]["StartedAt"]) for c in data)

    def destroy(self):
        self.compose("down", "--rmi", "local", "--volumes", "--remove-orphans", "--timeout", "3", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def deploy():
    d = Deployment()
    try:
        d.create()
        d.up()
        yield d
    finally:
        d.destroy()


def leak(port, mb):
    req = urllib.request.Request("http://127.0.0.1:%d/leak?mb=%d" % (port, mb), data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def site_vars(tmp_path, deploy):
    """What a copy of inventories/example says for this deployment."""
    return {
        "reflexion_compose_project_dir": deploy.dir,
        "reflexion_compose_project_name": PROJECT,
        "reflexion_app_service": "web",
        "reflexion_db_service": "database",
        "reflexion_redis_service": "cache",
        "reflexion_base_url": "http://127.0.0.1:%d" % WEB_PORT,
        "reflexion_health_url": "http://127.0.0.1:%d/health" % WEB_PORT,
        "reflexion_metrics_url": "http://127.0.0.1:%d/metrics" % WEB_PORT,
        "reflexion_incident_state_dir": str(tmp_path / "state"),
    }


class Run(object):
    def __init__(self, playbook, extra_vars, check=False):
        cmd = [os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventories/local"), str(playbook),
               "-e", json.dumps(extra_vars)]
        if check:
            cmd.append("--check")
        proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"),
                              capture_output=True, text=True, timeout=300, check=False)
        self.rc, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr
        self.results = [(n.split(" : ", 1)[-1], r) for n, h, r in json_tasks(proc.stdout)]
        self.failed = [r.get("msg", "") for n, r in self.results if r.get("failed") and not r.get("ignore_errors")]

    def msgs(self, task):
        return [r.get("msg") for n, r in self.results if n == task and not r.get("skipped")]

    def ran(self, task):
        return any(n == task and not r.get("skipped") for n, r in self.results)

    def tail(self):
        return (self.stdout + self.stderr)[-3000:]


def role_run(tmp_path, deploy, role, role_vars, check=False):
    book = write_playbook(tmp_path / (role + ".yml"), "localhost", [
        {"name": "Run the role", "ansible.builtin.include_role": {"name": "reflexion.incident." + role}}])
    extra = site_vars(tmp_path, deploy)
    extra.update(role_vars)
    return Run(book, extra, check=check)


@pytest.fixture
def site(deploy):
    return deploy


# --- memory_relief: the database is protected by its service label, whatever its container is called ----------

def test_memory_relief_never_plans_the_database_container(site, tmp_path):
    leak(DB_PORT, 150)  # the database container is now the biggest of the project
    before = site.started("database")
    run = role_run(tmp_path, site, "memory_relief", {"memory_relief_min_usage_mb": 0}, check=True)
    assert not run.failed, run.tail()
    decision = " ".join(run.msgs("Report the decision"))
    assert "would restart %s" % WEB in decision, decision
    assert DB not in decision, decision
    assert site.started("database") == before


def test_memory_relief_refuses_a_protected_container_by_name(site, tmp_path):
    before = site.started("database")
    for check in (True, False):
        run = role_run(tmp_path, site, "memory_relief", {"memory_relief_container": DB, "memory_relief_min_usage_mb": 0},
                       check=check)
        assert run.rc != 0 and len(run.failed) == 1, run.tail()
        msg = run.failed[0]
        assert "\n" not in msg.strip() and "protected service database" in msg and "restart_allow_database" in msg, msg
    assert site.started("database") == before


# --- scale: a fixed container_name cannot scale; one line, before trying ------------------------------------------

def test_scale_refuses_a_container_name_service_with_one_line(site, tmp_path):
    before = site.started("web")
    for check in (True, False):
        run = role_run(tmp_path, site, "scale", {"scale_replicas": 3}, check=check)
        assert run.rc != 0 and len(run.failed) == 1, run.tail()
        msg = run.failed[0]
        assert "\n" not in msg.strip() and len(msg) < 500, msg
        assert "fixed container_name (%s)" % WEB in msg and "restart" in msg, msg
        assert not run.ran("Scale the service with docker compose up --scale (service and count from the role vars)")
    proposal = role_run(tmp_path, site, "scale", {"scale_replicas": 3, "scale_fail_on_refusal": False})
    assert proposal.rc == 0 and not proposal.failed, proposal.tail()
    assert any("fixed container_name" in (m or "") for m in proposal.msgs("Report the refusal as a proposal"))
    assert site.started("web") == before


# --- memory_leak.yml: a growing app container found by its labels ------------------------------------------------

def test_memory_leak_symptom_found_by_label(site, tmp_path):
    stop = threading.Event()
    grown = []

    def grow():  # a real leak: +2 MiB every 0.5 s, at most 500 MiB (the limit is 768m)
        while not stop.is_set() and sum(grown) < 500:
            leak(WEB_PORT, 2)
            grown.append(2)
            stop.wait(0.5)

    (tmp_path / "logs").mkdir()
    extra = site_vars(tmp_path, site)
    extra.update({"reflexion_log_dir": str(tmp_path / "logs"), "triage_incident_dir": str(tmp_path / "incidents"),
                  "triage_probe_database": False, "triage_probe_redis": False, "triage_metrics_sample_interval": 0,
                  "memory_leak_samples": 4, "memory_leak_interval": 1.5})
    db_before = site.started("database")
    thread = threading.Thread(target=grow, daemon=True)
    thread.start()
    try:
        run = Run(os.path.join(ROOT, "playbooks", "memory_leak.yml"), extra, check=True)
    finally:
        stop.set()
        thread.join(10)
    assert not run.failed, run.tail()
    assert run.ran("Acknowledge the incident"), run.tail()
    # the symptom is the growing container itself, found by its labels (not an OOM kill or a full container)
    symptom = [r for n, r in run.results
               if n == "Is the symptom there (a growing app replica or app process, a container near its limit, or an OOM kill)?"]
    assert symptom and symptom[0]["symptom"], symptom
    assert any(s.startswith("memory growing: ") for s in symptom[0]["symptoms"]), symptom[0]["symptoms"]
    # the app's replicas are the ones to relieve: chosen by their compose labels (reflexion.incident.plan)
    decided = [r for n, r in run.results if n == "Decide which containers to relieve (reflexion.incident.plan)"]
    targets = [s["params"]["targets"] for r in decided for s in r["steps"] if s["action"] == "restart_containers"]
    assert targets and WEB in targets[0], targets
    assert not run.ran("No symptom, nothing to mitigate"), run.tail()
    shown = json.dumps(run.msgs("Show the diagnosis and the plan"))
    assert "apply: restart %s" % WEB in shown, shown
    assert DB not in shown.split("plan:")[-1], shown
    assert site.started("database") == db_before


# --- rollback: tags not shaped vX.Y.Z ------------------------------------------------------------------------------

def test_rollback_without_semver_tags_is_a_proposal(site, tmp_path):
    head = site.git("rev-parse", "HEAD")
    refused = role_run(tmp_path, site, "rollback", {}, check=True)
    assert refused.rc != 0 and len(refused.failed) == 1, refused.tail()
    assert "no stable release tag" in refused.failed[0] and "\n" not in refused.failed[0].strip()
    proposal = role_run(tmp_path, site, "rollback", {"rollback_fail_on_refusal": False}, check=True)
    assert proposal.rc == 0 and not proposal.failed, proposal.tail()
    assert any("no stable release tag" in (m or "") for m in proposal.msgs("Report the refusal as a proposal"))
    assert site.git("rev-parse", "HEAD") == head


# --- llm_fallback: a proof URL that does not exist falls back to the health endpoint ------------------------------

def test_llm_fallback_proof_404_falls_back_to_health(site, tmp_path):
    run = role_run(tmp_path, site, "llm_fallback", {
        "llm_fallback_verify_url": "http://127.0.0.1:%d/no-such-proof" % WEB_PORT,
        "llm_fallback_wait_timeout": 30})
    assert run.rc == 0 and not run.failed, run.tail()
    said = " ".join(run.msgs("Say that the proof falls back to the health endpoint"))
    assert "answered 404" in said and "/health" in said, said
    with open(os.path.join(site.dir, ".env")) as f:
        assert "FALLBACK_LLM_PROVIDER=anthropic" in f.read()
    with urllib.request.urlopen("http://127.0.0.1:%d/health" % WEB_PORT, timeout=10) as resp:
        assert resp.status == 200


# --- high_error_rate.yml: a mitigation the layout cannot do is a proposal in the status update -------------------

@pytest.mark.parametrize("window_h,mitigation", [(24, "rollback"), (0, "scale")])
def test_high_error_rate_proposes_what_the_layout_cannot_do(site, tmp_path, window_h, mitigation):
    stop = threading.Event()

    def fail():  # a 5xx share far above 5% while the metrics are sampled
        while not stop.wait(0.05):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/fail" % WEB_PORT, timeout=5)
            except urllib.error.HTTPError:
                pass
    (tmp_path / "logs").mkdir()
    extra = site_vars(tmp_path, site)
    extra.update({"reflexion_log_dir": str(tmp_path / "logs"), "triage_incident_dir": str(tmp_path / "incidents"),
                  "triage_probe_database": False, "triage_probe_redis": False, "triage_probe_memory": False,
                  "triage_probe_llm": False, "triage_metrics_sample_interval": 2,
                  "high_error_rate_recent_deploy_hours": window_h})
    before, head = site.started("web"), site.git("rev-parse", "HEAD")
    thread = threading.Thread(target=fail, daemon=True)
    thread.start()
    try:
        run = Run(os.path.join(ROOT, "playbooks", "high_error_rate.yml"), extra, check=True)
    finally:
        stop.set()
        thread.join(10)
    assert run.rc == 0 and not run.failed, run.tail()
    # the incident record says what the layout refused and that nothing was applied (check mode writes no file):
    # the guarded rollback is a proposal carrying the role's refusal; the scale that cannot scale changed nothing
    recorded = [r["event"]["message"] for n, r in run.results
                if n == "Record the outcome (IDENTIFIED unless verified; RESOLVED was recorded by verify)"]
    assert recorded and (mitigation + ": ") in recorded[0], recorded
    if mitigation == "rollback":
        assert recorded[0].startswith("mitigation: proposed, not applied: roll back"), recorded
    else:
        assert recorded[0].startswith("mitigation: scale up") and "changed nothing (scale: " in recorded[0], recorded
    assert site.started("web") == before and site.git("rev-parse", "HEAD") == head
