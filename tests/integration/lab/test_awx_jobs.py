"""Jobs as AWX runs them (issue 19 item 2): four ansible-runner jobs share one incident through the store.

triage -> a mitigation (playbooks/restart_services.yml: the app replicas restarted) -> status_update ->
post_incident_review, each an ansible-runner job in its own fresh private data directory that is deleted when the
job ends, against the lab. The jobs share nothing but the incident store:

- files: a store directory outside every private data directory (AWX: "Paths to expose to isolated jobs");
- postgresql: a loopback PostgreSQL (tests/integration/pg_redis_servers.py), reached the way the AWX
  credential injects it (REFLEXION_INCIDENT_STORE, REFLEXION_INCIDENT_PG_DSN in the job's environment); each
  job's reflexion_incident_dir is inside its own private data directory, so nothing else survives.

At the end there is one incident (one id) whose events and timeline hold every job's work, in job order.
Run it with the lab lock held (flock /tmp/reflexion-lab.lock ...): the mitigation job restarts the lab's app
replicas (once per incident: the restart role's marker), and waits until they are healthy again.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from ..pg_redis_servers import SUPER_PASSWORD, postgres_server
from .conftest import INVENTORY, ROOT, docker_inspect, health, project_containers

JOBS = ("triage", "restart_services", "status_update", "post_incident_review")
SCENARIO = "rxi_store_awx"


@pytest.fixture(scope="module")
def running_lab(request):
    """The lab answering on 127.0.0.1:8000: the session's lab when nothing answers (a fresh stream), else the one
    running (triage only reads it, whatever its health; the mitigation restarts the app replicas)."""
    try:
        code, _body, _h = health()
        up = bool(code)
    except Exception:  # noqa: BLE001 - not up at all
        up = False
    if not up:
        request.getfixturevalue("lab")
    return True


def app_started_at():
    """Container id -> StartedAt of the lab's app replicas (a restart changes every one)."""
    ids = project_containers("reflexion", all_states=False)
    assert ids, "no app replica running"
    return dict((c["Id"], c["State"]["StartedAt"]) for c in docker_inspect(*ids))


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as server:
        yield server


def read_store(store_env, incident_dir, incident_id=None, event="read"):
    """The store's answer, from a separate process running the real module (as a later AWX job would)."""
    args = {"event": event, "dir": incident_dir}
    if incident_id:
        args["id"] = incident_id
    fd, path = tempfile.mkstemp(prefix="rxi-store-read-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, fh)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "collections"), **store_env)
    try:
        proc = subprocess.run([sys.executable, "-m", "ansible_collections.reflexion.incident.plugins.modules.incident", path],
                              env=env, capture_output=True, text=True, timeout=60, check=False)
    finally:
        os.unlink(path)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not result.get("failed"), result
    return result


def run_job(playbook, extravars, store_env, shared_dir, check=False):
    """One AWX-like job: a fresh private data directory, deleted afterwards. Returns (status, rc, stdout, files)."""
    import ansible_runner

    pdd = tempfile.mkdtemp(prefix="rxi-store-awx-job-")
    try:
        job_dir = shared_dir or os.path.join(pdd, "incidents")  # pg: the files of this job die with it
        extravars = dict(extravars, reflexion_incident_dir=job_dir)
        envvars = dict(
            store_env,
            ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
            ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"),
            ANSIBLE_CALLBACKS_ENABLED="reflexion.incident.incident_timeline",
            PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
            ANSIBLE_NOCOLOR="1",
        )
        if extravars.get("incident_id"):
            envvars["REFLEXION_INCIDENT_ID"] = extravars["incident_id"]
            envvars["REFLEXION_INCIDENT_DIR"] = job_dir
        r = ansible_runner.run(private_data_dir=pdd, playbook=os.path.join(ROOT, "playbooks", playbook + ".yml"),
                               inventory=os.path.join(ROOT, INVENTORY), extravars=extravars, envvars=envvars,
                               cmdline="--check" if check else None, quiet=True, ident="job", timeout=600)
        out = r.stdout.read()
        produced = {}
        for dirpath, _dirs, names in os.walk(job_dir):
            for name in names:
                if name.endswith(".md"):
                    with open(os.path.join(dirpath, name)) as fh:
                        produced[name] = fh.read()
        return r.status, r.rc, out, produced
    finally:
        shutil.rmtree(pdd, ignore_errors=True)
        assert not os.path.exists(pdd)


@pytest.mark.parametrize("store", ["files", "postgresql"])
def test_four_runner_jobs_share_one_incident(store, running_lab, pg, tmp_path):
    if store == "files":
        shared = str(tmp_path / "exposed" / "incidents")  # outside every private data directory
        store_env = {"REFLEXION_INCIDENT_STORE": "files"}
    else:
        shared = None
        admin = pg.connect(dbname="postgres")
        admin.cursor().execute("CREATE DATABASE rxi_store_awx")
        admin.close()
        dsn = "host=%s port=%d user=postgres password=%s dbname=rxi_store_awx" % (pg.host, pg.port, SUPER_PASSWORD)
        store_env = {"REFLEXION_INCIDENT_STORE": "postgresql", "REFLEXION_INCIDENT_PG_DSN": dsn}
    reader_dir = shared or str(tmp_path / "reader")

    # 1. triage opens the incident (any severity: the lab is healthy)
    status, rc, out, files = run_job("triage", {"triage_scenario": SCENARIO, "triage_open_incident_at": "P3"},
                                     store_env, shared)
    assert status == "successful" and rc == 0, out[-4000:]
    listed = read_store(store_env, reader_dir, event="list")["incidents"]
    assert len(listed) == 1 and listed[0]["title"].startswith(SCENARIO + ":"), listed
    incident_id = listed[0]["id"]
    assert any(name.startswith("triage-") for name in files), sorted(files)

    # 2. a mitigation, as its own job: the app replicas restarted (a real restart; the job waits until they are
    #    healthy again)
    started = app_started_at()
    status, rc, out, files = run_job("restart_services", {"restart_reason": "rxi-store-" + store.replace("postgresql", "pg"),
                                                          "restart_incident_id": incident_id,
                                                          "incident_id": incident_id}, store_env, shared)
    assert status == "successful" and rc == 0, out[-4000:]
    after = app_started_at()
    assert sorted(after) == sorted(started) and all(after[c] != started[c] for c in started), (started, after)
    notes = [e.get("message") for e in read_store(store_env, reader_dir, incident_id)["events"] if e["event"] == "note"]
    assert any(n and n.startswith("mitigation applied: restart_app") for n in notes), notes

    # 3. status_update finds the incident in the store and records the status
    status, rc, out, files = run_job("status_update", {"incident_id": incident_id, "status": "MONITORING",
                                                       "impact": "none (test)", "mitigation": "app restarted"},
                                     store_env, shared)
    assert status == "successful" and rc == 0, out[-4000:]
    assert "MONITORING" in files.get("status.md", ""), sorted(files)

    # 4. post_incident_review drafts from the store (record, events, timeline)
    status, rc, out, files = run_job("post_incident_review", {"incident_id": incident_id,
                                                              "post_incident_review_prometheus_url": ""},
                                     store_env, shared)
    assert status == "successful" and rc == 0, out[-4000:]
    review = files.get("review.md", "")
    assert incident_id in review and "MONITORING" in review, review[:3000]

    # one consistent incident: one id, the events of the jobs that write events, every job in the timeline, in order
    assert [r["id"] for r in read_store(store_env, reader_dir, event="list")["incidents"]] == [incident_id]
    final = read_store(store_env, reader_dir, incident_id)
    kinds = [e["event"] for e in final["events"]]
    assert kinds[:2] == ["open", "acknowledge"] and kinds[-1] == "status", kinds
    assert final["record"]["status"] == "MONITORING" and final["record"]["state"] == "acknowledged"
    assert all(e["id"] == incident_id for e in final["events"])
    at = [e["at"] for e in final["events"]]
    assert at == sorted(at)
    plays = []
    for entry in final["timeline"]:
        assert entry["incident"] == incident_id
        if not plays or plays[-1] != entry["play"]:
            plays.append(entry["play"])
    firsts = [next(i for i, p in enumerate(plays) if p == want) for want in (
        "Triage the reflexion service", "Restart the app (and, guarded, the database)", "Publish an incident update",
        "Draft the post-incident review")]
    assert firsts == sorted(firsts), plays  # the four jobs, in the order they ran
    if store == "files":
        assert [n for n in os.listdir(shared) if n.startswith("incident-")] == [incident_id]
