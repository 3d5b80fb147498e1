"""Guardrails of the destructive actions, proven on real state.

- pg_backend terminate (real PostgreSQL 15 on loopback): check mode lists and spares; max_targets refuses
  the whole batch; the sessions are still in pg_stat_activity.
- restart (own compose project rxi-hard-guard): off by default (no restart_reason), check mode first,
  the database restart refused without restart_allow_database: container StartedAt unchanged.
- scale: scale-down refused without scale_allow_down, dry run in check mode: replica count unchanged.
- rollback: refused without rollback_confirm, plan only in check mode: git HEAD and containers unchanged.
- memory_relief: no container restart below memory_relief_min_usage_mb (512 MB), drop_caches only with
  memory_relief_allow_drop_caches and never in check mode: StartedAt unchanged, a cached file stays resident
  (fincore).
"""

import os
import subprocess

import pytest

from ..pg_redis_servers import opened_sessions, wait_until
from .compose_fixture import ComposeProject
from .conftest import json_tasks, tree_state, write_playbook

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
JSON = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}


@pytest.fixture(scope="module")
def project():
    proj = ComposeProject("rxi-hard-guard", "127.0.0.1:18951-18954:8000")
    try:
        proj.create()
        proj.up(replicas=2)
        yield proj
    finally:
        proj.destroy()


@pytest.fixture
def sessions(pg):
    with opened_sessions(pg) as s:
        yield s


def sleeping(pg, pids):
    where = "pid IN (%s) AND wait_event = 'PgSleep'" % ",".join(str(p) for p in pids)
    return sorted(r[0] for r in pg.activity(where))


def role_book(tmp_path, role, role_vars, proj, state_dir):
    play_vars = {
        "reflexion_compose_project_dir": proj.dir,
        "reflexion_compose_project_name": proj.name,
        "reflexion_app_service": "app",
        "reflexion_db_service": "db",
        "reflexion_incident_state_dir": str(state_dir),
        "reflexion_health_url": "http://127.0.0.1:18951/health",
    }
    return write_playbook(tmp_path / ("%s.yml" % role), "localhost", [
        {"name": "Run the role", "ansible.builtin.include_role": {"name": "reflexion.incident." + role},
         "vars": role_vars},
    ], play_vars=play_vars)


def outcome(proc):
    results = list(json_tasks(proc.stdout))
    failed = [r.get("msg", "") for n, h, r in results if r.get("failed")]
    changed = [n for n, h, r in results if r.get("changed")]
    return failed, changed


# --- pg_backend ------------------------------------------------------------------------------------

def test_pg_backend_check_mode_first_touches_nobody(run_module, pg, sessions):
    pids = [sessions.sleeper(600, app="rxi-hard-batch") for dummy in range(2)]
    assert wait_until(lambda: sleeping(pg, pids) == sorted(pids))
    r = run_module("pg_backend", pg.monitor_args(action="terminate", application_names=["rxi-hard-batch"]),
                   check=True)
    assert not r.failed, r.output
    assert sorted(t["pid"] for t in r["targets"]) == sorted(pids)
    assert set(t["outcome"] for t in r["targets"]) == {"would_terminate"}
    assert sleeping(pg, pids) == sorted(pids)


def test_pg_backend_blast_radius_refuses_the_batch(run_module, pg, sessions):
    pids = [sessions.sleeper(600, app="rxi-hard-batch") for dummy in range(3)]
    assert wait_until(lambda: sleeping(pg, pids) == sorted(pids))
    r = run_module("pg_backend", pg.monitor_args(action="terminate", application_names=["rxi-hard-batch"],
                                                 max_targets=2))
    assert r.failed and "max_targets" in r["msg"]
    assert sleeping(pg, pids) == sorted(pids)


def test_pg_backend_default_blast_radius_is_five(run_module, pg, sessions):
    pids = [sessions.sleeper(600, app="rxi-hard-many") for dummy in range(6)]
    assert wait_until(lambda: sleeping(pg, pids) == sorted(pids))
    r = run_module("pg_backend", pg.monitor_args(action="terminate", application_names=["rxi-hard-many"]))
    assert r.failed and "max_targets=5" in r["msg"]
    assert sleeping(pg, pids) == sorted(pids)


# --- restart ---------------------------------------------------------------------------------------

def test_restart_off_by_default(run_playbook, project, tmp_path):
    before = {"app": project.started("app"), "db": project.started("db")}
    proc = run_playbook(role_book(tmp_path, "restart", {}, project, tmp_path / "state"), env=JSON)
    failed, changed = outcome(proc)
    assert proc.returncode == 0 and not failed and not changed, proc.stdout[-3000:]
    assert {"app": project.started("app"), "db": project.started("db")} == before
    assert not (tmp_path / "state").exists()


def test_restart_database_needs_allow(run_playbook, project, tmp_path):
    before = project.started("db")
    assert before
    proc = run_playbook(role_book(tmp_path, "restart", {"restart_reason": "hardening", "restart_app": False,
                                                        "restart_database": True}, project, tmp_path / "state"),
                        env=JSON)
    failed, changed = outcome(proc)
    assert proc.returncode != 0 and failed and "restart_allow_database" in failed[0], proc.stdout[-3000:]
    assert changed == []
    assert project.started("db") == before
    assert not (tmp_path / "state").exists()


def test_restart_check_mode_first(run_playbook, project, tmp_path):
    before = {"app": project.started("app"), "db": project.started("db")}
    proc = run_playbook(role_book(tmp_path, "restart", {"restart_reason": "hardening", "restart_database": True,
                                                        "restart_allow_database": True}, project,
                                  tmp_path / "state"), check=True, env=JSON)
    failed, changed = outcome(proc)
    assert proc.returncode == 0 and not failed, proc.stdout[-3000:]
    assert "would restart app, db" in proc.stdout
    assert {"app": project.started("app"), "db": project.started("db")} == before
    assert not (tmp_path / "state").exists() or tree_state(str(tmp_path / "state")) == {}


# --- scale -----------------------------------------------------------------------------------------

def test_scale_down_needs_allow(run_playbook, project, tmp_path):
    before = project.started("app")
    assert len(before) == 2
    proc = run_playbook(role_book(tmp_path, "scale", {"scale_replicas": 1}, project, tmp_path / "state"), env=JSON)
    failed, changed = outcome(proc)
    assert proc.returncode != 0 and failed and "scale_allow_down" in failed[0], proc.stdout[-3000:]
    assert project.started("app") == before


def test_scale_down_check_mode_first(run_playbook, project, tmp_path):
    before = project.started("app")
    proc = run_playbook(role_book(tmp_path, "scale", {"scale_replicas": 0, "scale_allow_down": True}, project,
                                  tmp_path / "state"), check=True, env=JSON)
    failed, changed = outcome(proc)
    assert proc.returncode == 0 and not failed, proc.stdout[-3000:]
    assert "would scale app from 2 to 0" in proc.stdout
    assert project.started("app") == before


# --- rollback --------------------------------------------------------------------------------------

def test_rollback_needs_confirm(run_playbook, project, tmp_path):
    head, started = project.head(), project.started("app")
    proc = run_playbook(role_book(tmp_path, "rollback", {}, project, tmp_path / "state"), env=JSON)
    failed, changed = outcome(proc)
    assert proc.returncode != 0 and failed and "rollback_confirm" in failed[-1], proc.stdout[-3000:]
    assert project.head() == head == project.git("rev-parse", "v1.1.0")
    assert project.started("app") == started


def test_rollback_check_mode_shows_the_plan_only(run_playbook, project, tmp_path):
    head, started = project.head(), project.started("app")
    proc = run_playbook(role_book(tmp_path, "rollback", {"rollback_confirm": True}, project, tmp_path / "state"),
                        check=True, env=JSON)
    failed, changed = outcome(proc)
    assert proc.returncode == 0 and not failed, proc.stdout[-3000:]
    assert "would roll back v1.1.0 -> v1.0.0" in proc.stdout
    assert project.head() == head
    assert project.started("app") == started


# --- memory_relief (drop_caches, container restart) ------------------------------------------------

def resident_bytes(path):
    """Bytes of ``path`` in the page cache (fincore): drop_caches would take them to ~0."""
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", path], capture_output=True,
                         text=True, check=True).stdout
    return int(out.split()[0])


@pytest.fixture
def cached_file(tmp_path):
    path = tmp_path / "cached.bin"
    path.write_bytes(os.urandom(8 * 1024 * 1024))
    with open(str(path), "rb") as f:
        while f.read(1 << 20):
            pass
    assert resident_bytes(str(path)) >= 4 * 1024 * 1024
    return str(path)


def test_memory_relief_off_by_default(run_playbook, project, tmp_path, cached_file):
    started = project.started("app")
    proc = run_playbook(role_book(tmp_path, "memory_relief", {}, project, tmp_path / "state"), env=JSON)
    failed, changed = outcome(proc)
    assert proc.returncode == 0 and not failed, proc.stdout[-3000:]
    assert changed == []
    assert "drop_caches skipped: set memory_relief_allow_drop_caches=true" in proc.stdout
    assert "below memory_relief_min_usage_mb=512" in proc.stdout
    assert project.started("app") == started
    assert resident_bytes(cached_file) >= 4 * 1024 * 1024


def test_memory_relief_check_mode_first(run_playbook, project, tmp_path, cached_file):
    started = project.started("app")
    target = project.container_names("app")[0]
    proc = run_playbook(role_book(tmp_path, "memory_relief", {"memory_relief_allow_drop_caches": True,
                                                              "memory_relief_min_usage_mb": 0,
                                                              "memory_relief_container": target},
                                  project, tmp_path / "state"), check=True, env=JSON)
    failed, changed = outcome(proc)
    assert proc.returncode == 0 and not failed, proc.stdout[-3000:]
    assert "Check mode: would restart %s" % target in proc.stdout
    assert "Check mode: drop_caches is never run in check mode." in proc.stdout
    assert project.started("app") == started
    assert resident_bytes(cached_file) >= 4 * 1024 * 1024


# --- Security II (#15): guards read with | bool; the lab never touches a project without its marker ---------
# The values go in as extra vars (-e JSON), as AWX passes survey answers: strings from multiple-choice and text
# fields, a boolean from JSON. Check mode: the old code's guards let "false" through and planned the action.

FALSE_VALUES = ["false", "no", "0", False, "off"]


def guard_book(tmp_path, role, proj, name, tasks_from=None):
    include = {"name": "reflexion.incident." + role}
    if tasks_from:
        include["tasks_from"] = tasks_from
    return write_playbook(tmp_path / ("%s.yml" % name), "localhost", [
        {"name": "Run the role", "ansible.builtin.include_role": include}], play_vars={
        "reflexion_compose_project_dir": proj.dir, "reflexion_compose_project_name": proj.name,
        "reflexion_app_service": "app", "reflexion_db_service": "db",
        "reflexion_incident_state_dir": str(tmp_path / ("state-" + name)),
        "reflexion_health_url": "http://127.0.0.1:18951/health"})


def test_scale_allow_down_false_strings_are_refused(run_playbook, project, tmp_path):
    before = project.started("app")
    assert len(before) == 2
    for n, value in enumerate(FALSE_VALUES):
        proc = run_playbook(guard_book(tmp_path, "scale", project, "scale%d" % n), check=True, env=JSON,
                            extra_vars={"scale_replicas": 0, "scale_allow_down": value})
        failed, changed = outcome(proc)
        assert proc.returncode != 0 and failed and "scale_allow_down" in failed[-1], (value, proc.stdout[-3000:])
        assert "would scale app from 2 to 0" not in proc.stdout, value
    assert project.started("app") == before


def test_restart_database_false_strings_select_the_app_only(run_playbook, project, tmp_path):
    before = {"app": project.started("app"), "db": project.started("db")}
    for n, value in enumerate(FALSE_VALUES):
        proc = run_playbook(guard_book(tmp_path, "restart", project, "restart%d" % n), check=True, env=JSON,
                            extra_vars={"restart_reason": "guards", "restart_database": value,
                                        "restart_allow_database": True})
        failed, changed = outcome(proc)
        assert proc.returncode == 0 and not failed, (value, proc.stdout[-3000:])
        assert "would restart app for 'guards'" in proc.stdout, (value, proc.stdout[-3000:])
        assert "app, db" not in proc.stdout, value
        # restart_allow_database read the same way: a real database restart request stays refused
        proc = run_playbook(guard_book(tmp_path, "restart", project, "restartdb%d" % n), env=JSON,
                            extra_vars={"restart_reason": "guards", "restart_app": False, "restart_database": True,
                                        "restart_allow_database": value})
        failed, changed = outcome(proc)
        assert proc.returncode != 0 and failed and "restart_allow_database" in failed[0], (value, proc.stdout[-3000:])
    # restart_app and restart_database both "false": nothing to restart, refused (the old code restarted both)
    proc = run_playbook(guard_book(tmp_path, "restart", project, "restartnone"), check=True, env=JSON,
                        extra_vars={"restart_reason": "guards", "restart_app": "false", "restart_database": "false"})
    failed, changed = outcome(proc)
    assert proc.returncode != 0 and failed and "restart_app or restart_database" in failed[0], proc.stdout[-3000:]
    assert {"app": project.started("app"), "db": project.started("db")} == before


def test_lab_absent_refuses_a_project_without_the_lab_marker(run_playbook, project, tmp_path):
    """A compose project under the lab's name that the lab did not make (no io.reflexion.lab=true): refused,
    containers, volumes and the log directory stay."""
    before = {"app": project.started("app"), "db": project.started("db")}
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text("production log line\n")
    book = write_playbook(tmp_path / "lab.yml", "localhost", [
        {"name": "Run the lab role", "ansible.builtin.include_role": {"name": "reflexion.lab.lab"}}])
    proc = run_playbook(book, env=JSON, extra_vars={
        "lab_state": "absent", "lab_remove_volumes": True, "lab_remove_images": True,
        "lab_project_name": project.name, "lab_deploy_dir": project.dir, "lab_root": str(tmp_path / "labroot"),
        "lab_log_dir": str(logs)})
    failed, changed = outcome(proc)
    assert proc.returncode != 0 and failed, proc.stdout[-3000:]
    assert "lab_state=absent refused" in failed[0] and "io.reflexion.lab=true" in failed[0], failed[0]
    assert changed == []
    assert {"app": project.started("app"), "db": project.started("db")} == before
    assert (logs / "app.log").read_text() == "production log line\n"
    assert os.path.exists(os.path.join(project.dir, "compose.yml"))
