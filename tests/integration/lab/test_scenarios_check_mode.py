"""`--check` runs a whole runbook scenario, with every guard open, and changes nothing in the real state.

For each scenario the lab gets the fault that makes the playbook choose its most destructive mitigation;
the test snapshots the real state (containers with their start times and limits, the compose .env, the
checked-out commit, the runaway client's backends in pg_stat_activity), runs the scenario playbook with
--check and the guards set (rollback_confirm, pg_cleanup_confirm, drop caches allowed), then snapshots
again. The playbook must say which mitigation it chose, so the dry run is not vacuous, and must have left
no incident record behind (only its triage report, the dry run's output).
"""

import hashlib
import os
import time

import psycopg2
import pytest

from .conftest import DEPLOY_DIR, INVENTORY, PG, PROJECT, docker_inspect, git, ok, project_containers

pytestmark = [pytest.mark.docker, pytest.mark.lab]

GUARDS_OPEN = {
    "rollback_confirm": True,
    "pg_cleanup_confirm": True,
    "restart_allow_database": True,
    "memory_relief_allow_drop_caches": True,
    "verify_monitor_seconds": 5,
}

# scenario playbook, lab fault, the start of the "plan: apply: ..." line the playbook must print
CASES = [
    ("high_error_rate", "bad_deploy", "plan: apply: roll back"),
    ("database_connection_issues", "db_connections", "plan: apply: terminate the"),
    ("memory_leak", "memory_leak", "plan: apply: restart "),
    ("llm_api_failures", "llm_rate_limit", "plan: apply: switch to the backup"),
]


def worker_backends():
    """pids of the runaway client's sessions (application_name reflexion-worker)."""
    conn = psycopg2.connect(**PG)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE application_name = 'reflexion-worker'")
            return sorted(row[0] for row in cur.fetchall())
    finally:
        conn.close()


def snapshot():
    containers = {}
    for info in docker_inspect(*project_containers(all_states=True)):
        containers[info["Name"]] = {
            "id": info["Id"],
            "started": info["State"]["StartedAt"],
            "running": info["State"]["Running"],
            "image": info["Image"],
            "memory": info["HostConfig"]["Memory"],
            "cpus": info["HostConfig"]["NanoCpus"],
        }
    with open(os.path.join(DEPLOY_DIR, ".env"), "rb") as handle:
        env_sha = hashlib.sha256(handle.read()).hexdigest()
    return {"containers": containers, "env": env_sha, "head": git("rev-parse", "HEAD"), "workers": worker_backends()}


@pytest.mark.parametrize("scenario,fault,mitigation", CASES, ids=[case[0] for case in CASES])
def test_check_mode_changes_nothing(clean_lab, run_playbook, tmp_path, scenario, fault, mitigation):
    ok(run_playbook("playbooks/lab_fault.yml", extra_vars={"fault": fault}, inventory=INVENTORY))
    # Let the fault settle (the runaway client stops taking slots after 5 s; the leak and errors need traffic).
    time.sleep(12)
    before = snapshot()
    extra = dict(GUARDS_OPEN, reflexion_incident_dir=str(tmp_path / "incidents"),
                 reflexion_incident_state_dir=str(tmp_path / "state"))
    proc = ok(run_playbook("playbooks/%s.yml" % scenario, extra_vars=extra, inventory=INVENTORY, check=True))
    after = snapshot()

    assert mitigation in proc.stdout, proc.stdout[-6000:]
    assert after == before, "--check changed the real state of %s" % PROJECT
    # The triage report is the dry run's output (written in check mode by design, roles/triage/tasks/report.yml);
    # no incident record, log or state may appear.
    written = [os.path.join(d, f) for d, _s, files in os.walk(tmp_path) for f in files]
    assert [w for w in written if not os.path.basename(w).startswith("triage-")] == [], written
