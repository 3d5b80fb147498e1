"""Scenario truth (issue 16) on the lab: what each scenario decides, records and says, on the real services.

- a refused guard is a proposal: the play succeeds, the incident stays IDENTIFIED and its update names the command;
  a second run on the same state changes nothing; the confirmed run applies it on the same incident;
- the database culprit is whoever holds the connections (a client without application_name), and a cleanup
  that matched no session is reported as having changed nothing, never as applied and verified;
- a fix that does not hold during monitoring sends the incident back to IDENTIFIED with the next step proposed;
- a restart belongs to one incident: the next incident of the same kind gets its own restart.
"""

import glob
import json
import os
import subprocess
import time

import psycopg2
import pytest

from ..conftest import BIN, ROOT, ansible_env
from .conftest import GROUP_VARS, INVENTORY, PG, compose, docker_inspect, git, ok, project_containers, recap, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.lab]

APP_PG = dict(PG, user="reflexion", password="reflexion-lab-app", dbname=GROUP_VARS["reflexion_pg_db"])


def records(incidents):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(str(incidents), "*", "record.json")))]


def status_md(incidents):
    paths = sorted(glob.glob(os.path.join(str(incidents), "*", "status.md")))
    assert paths, "no status update under %s" % incidents
    return open(paths[-1]).read()


def scenario_vars(tmp_path, **extra):
    return dict({"reflexion_incident_dir": str(tmp_path / "incidents"),
                 "reflexion_incident_state_dir": str(tmp_path / "state"),
                 "verify_monitor_seconds": 5}, **extra)


def inject(run_playbook, fault, settle=12):
    ok(run_playbook("playbooks/lab_fault.yml", extra_vars={"fault": fault}, inventory=INVENTORY))
    time.sleep(settle)


def test_refused_rollback_is_a_proposal_then_applied_on_the_same_incident(clean_lab, run_playbook, tmp_path):
    inject(run_playbook, "bad_deploy")
    head = git("rev-parse", "HEAD")
    proposal = ok(run_playbook("playbooks/high_error_rate.yml", extra_vars=scenario_vars(tmp_path), inventory=INVENTORY))
    [rec] = records(tmp_path / "incidents")
    assert rec["status"] == "IDENTIFIED", rec
    assert rec["severity"] == "P1", rec
    update = status_md(tmp_path / "incidents")
    assert "**Status**: IDENTIFIED" in update
    assert "proposed, not applied: roll back the recent deployment" in update
    assert "to v1.0.0 needs rollback_confirm=true" in update
    assert "-e rollback_confirm=true`" in update
    assert git("rev-parse", "HEAD") == head, "a proposal rolled back"
    assert "IDENTIFIED: proposed, not applied" in proposal.stdout

    again = run_playbook("playbooks/high_error_rate.yml", extra_vars=scenario_vars(tmp_path), inventory=INVENTORY)
    assert recap(ok(again))["changed"] == 0, again.stdout[-4000:]

    ok(run_playbook("playbooks/high_error_rate.yml", extra_vars=scenario_vars(tmp_path, rollback_confirm="true"),
                    inventory=INVENTORY))
    [rec] = records(tmp_path / "incidents")
    assert rec["status"] == "RESOLVED", rec
    assert [n["message"].split(" - ")[0] for n in rec["notes"]] == ["mitigation applied: rollback"]
    assert git("rev-parse", "HEAD") == git("rev-parse", "v1.0.0^{commit}")


def hold_connections(count, **overrides):
    conns = []
    for _index in range(count):
        conn = psycopg2.connect(**dict(APP_PG, **overrides))
        conn.autocommit = True
        conns.append(conn)
    return conns


def alive(pids):
    conn = psycopg2.connect(**PG)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,))
            return cur.fetchone()[0]
    finally:
        conn.close()


def pg_up():
    try:
        return alive([]) == 0
    except psycopg2.Error:
        return False


def close_all(conns):
    for conn in conns:
        try:
            conn.close()
        except psycopg2.Error:
            pass


def test_connections_held_by_a_client_without_application_name(clean_lab, run_playbook, tmp_path):
    conns = hold_connections(32)  # psycopg2 sets no application_name: a psql or a script, not the app
    try:
        pids = [c.get_backend_pid() for c in conns]
        ok(run_playbook("playbooks/database_connection_issues.yml", extra_vars=scenario_vars(tmp_path), inventory=INVENTORY))
        [rec] = records(tmp_path / "incidents")
        assert rec["status"] == "IDENTIFIED", rec
        update = status_md(tmp_path / "incidents")
        assert "held by application_name='' (none set), user=reflexion" in update, update
        assert "-e pg_cleanup_confirm=true`" in update
        assert alive(pids) == len(pids), "a proposal terminated sessions"

        ok(run_playbook("playbooks/database_connection_issues.yml",
                        extra_vars=scenario_vars(tmp_path, pg_cleanup_confirm=True), inventory=INVENTORY))
        assert alive(pids) == 0, "the holder's sessions are still in pg_stat_activity"
        [rec] = records(tmp_path / "incidents")
        assert rec["status"] == "RESOLVED", rec
        assert "applied and verified" in status_md(tmp_path / "incidents")
    finally:
        close_all(conns)


def test_a_cleanup_that_matched_nothing_is_not_resolved(clean_lab, run_playbook, tmp_path):
    # Superuser sessions are spared by pg_cleanup (pg_cleanup_allow_superuser=false): confirmed, it matches nothing.
    conns = hold_connections(32, user=PG["user"], password=PG["password"], application_name="adhoc-report")
    try:
        pids = [c.get_backend_pid() for c in conns]
        ok(run_playbook("playbooks/database_connection_issues.yml",
                        extra_vars=scenario_vars(tmp_path, pg_cleanup_confirm=True), inventory=INVENTORY))
        assert alive(pids) == len(pids)
        [rec] = records(tmp_path / "incidents")
        assert rec["status"] == "IDENTIFIED", rec
        update = status_md(tmp_path / "incidents")
        assert "changed nothing (no session matched the cleanup)" in update, update
        assert "applied and verified" not in update
    finally:
        close_all(conns)


def test_a_fix_that_does_not_hold_goes_back_to_identified(clean_lab, run_playbook, tmp_path):
    inject(run_playbook, "high_error_rate")
    extra = scenario_vars(tmp_path, verify_monitor_seconds=40, verify_monitor_interval=10)
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, INVENTORY),
           os.path.join(ROOT, "playbooks/high_error_rate.yml"), "-e", json.dumps(extra)]
    with open(tmp_path / "run.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=ansible_env(ANSIBLE_STDOUT_CALLBACK="default"), stdout=log,
                                stderr=subprocess.STDOUT, text=True)
        try:
            wait_until(lambda: any(r["status"] == "MONITORING" for r in records(tmp_path / "incidents")), timeout=240,
                       what="the incident in MONITORING")
            # The fault comes back during the monitoring window: the app goes down.
            ok(run_playbook("playbooks/lab_fault.yml", extra_vars={"fault": "app_down"}, inventory=INVENTORY))
            assert proc.wait(timeout=300) == 0, open(tmp_path / "run.log").read()[-6000:]
        finally:
            if proc.poll() is None:
                proc.kill()
    [rec] = records(tmp_path / "incidents")
    assert rec["status"] == "IDENTIFIED", rec
    assert [s["status"] for s in rec["status_changes"]][-2:] == ["MONITORING", "IDENTIFIED"], rec["status_changes"]
    update = status_md(tmp_path / "incidents")
    assert "the fix did not hold: Regression during monitoring" in update, update
    # The plan's next step after the breaker: the lab's checkout is minutes old, so the rollback (guarded).
    assert "next: roll back the recent deployment" in update, update
    assert "-e rollback_confirm=true`" in update
    assert rec["resolved_at"] is None


def app_started():
    return sorted(info["State"]["StartedAt"] for info in docker_inspect(*project_containers("reflexion", all_states=False)))


def test_a_second_incident_gets_its_own_restart(clean_lab, run_playbook, tmp_path):
    def restart(incident):
        return ok(run_playbook("playbooks/restart_services.yml", inventory=INVENTORY, extra_vars={
            "restart_reason": "database_connection_issues: reset the connection pool",
            "restart_incident_id": incident, "reflexion_incident_state_dir": str(tmp_path / "state")}))

    first = app_started()
    restart("incident-2026-12-02-010000")
    second = app_started()
    assert second != first, "the first incident's restart did not restart the app"
    restart("incident-2026-12-02-010000")
    assert app_started() == second, "the same incident restarted twice"
    restart("incident-2026-12-02-020000")
    assert app_started() != second, "the second incident of the same kind got no restart"


@pytest.mark.parametrize("scenario,fault,step", [
    ("memory_leak", "memory_leak", "proposed, not applied: restart "),
    ("llm_api_failures", "llm_rate_limit", "proposed, not applied: switch to the backup API provider"),
])
def test_auto_mitigate_false_from_a_survey_is_a_proposal(clean_lab, run_playbook, tmp_path, scenario, fault, step):
    inject(run_playbook, fault)
    before = app_started()
    # An AWX survey passes the string "false".
    ok(run_playbook("playbooks/%s.yml" % scenario, extra_vars=scenario_vars(tmp_path, auto_mitigate="false"),
                    inventory=INVENTORY))
    [rec] = records(tmp_path / "incidents")
    assert rec["status"] == "IDENTIFIED", rec
    assert rec["notes"] == [], "a proposal recorded an applied mitigation"
    update = status_md(tmp_path / "incidents")
    assert step in update, update
    assert "-e auto_mitigate=true`" in update, update
    assert app_started() == before, "a proposal restarted the app"


def test_database_down_proposes_the_database_restart(clean_lab, run_playbook, tmp_path):
    db = GROUP_VARS["reflexion_db_service"]
    compose("stop", db)
    try:
        ok(run_playbook("playbooks/database_connection_issues.yml", extra_vars=scenario_vars(tmp_path), inventory=INVENTORY))
        [rec] = records(tmp_path / "incidents")
        assert rec["status"] == "IDENTIFIED", rec
        update = status_md(tmp_path / "incidents")
        assert "proposed, not applied: restart the database" in update, update
        assert "-e restart_allow_database=true`" in update, update
        # nothing started it again: the proposal is only words
        states = [info["State"]["Running"] for info in docker_inspect(*project_containers(db))]
        assert states and not any(states), states
    finally:
        compose("start", db)  # the lab's fault=none expects a running database
        wait_until(pg_up, timeout=120, what="PostgreSQL back")
