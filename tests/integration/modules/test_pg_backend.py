"""pg_backend against a real PostgreSQL 15: what it terminates and what it spares, read back from pg_stat_activity."""

import pytest

from ..pg_redis_servers import SUPER_PASSWORD, free_port, opened_sessions, postgres_server, wait_until


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as server:
        yield server


@pytest.fixture
def sessions(pg):
    with opened_sessions(pg) as s:
        yield s


def alive(pg, pids):
    return sorted(r[0] for r in pg.activity("pid IN (%s)" % ",".join(str(p) for p in pids)))


def sleeping(pg, pid):
    return wait_until(lambda: pg.activity("pid = %d AND wait_event = 'PgSleep'" % pid))


def test_terminates_long_runner_spares_protected_and_superuser(run_module, pg, sessions):
    victim = sessions.sleeper(120, app="rxi-report")
    protected = sessions.sleeper(120, app="rxi-backup")
    superuser = sessions.sleeper(120, app="rxi-dba", user="postgres", password=SUPER_PASSWORD)
    short = sessions.open(app="rxi-short").get_backend_pid()  # idle, not a long runner
    for pid in (victim, protected, superuser):
        assert sleeping(pg, pid)

    args = pg.monitor_args(action="terminate", states=["active"], min_duration=0.1, query_pattern="pg_sleep",
                           protected_applications=["rxi-backup"])
    r = run_module("pg_backend", args)
    assert not r.failed, r.output
    assert r["changed"] is True
    assert [(t["pid"], t["outcome"]) for t in r["targets"]] == [(victim, "terminated")]
    assert r["targets"][0]["query"] == "SELECT pg_sleep(?) /* rxi long runner */"
    spared = dict((s["pid"], s["reason"]) for s in r["spared"])
    assert spared[protected] == "protected application rxi-backup"
    assert spared[superuser].startswith("superuser session")
    assert short not in spared
    # the real state: only the victim is gone
    assert alive(pg, [victim, protected, superuser, short]) == sorted([protected, superuser, short])

    again = run_module("pg_backend", args)
    assert not again.failed, again.output
    assert again["changed"] is False and again["targets"] == []
    assert alive(pg, [protected, superuser, short]) == sorted([protected, superuser, short])


def test_never_its_own_session(run_module, pg):
    r = run_module("pg_backend", pg.monitor_args(action="terminate", application_names=["reflexion.incident.pg_backend"]))
    assert not r.failed, r.output
    assert r["changed"] is False and r["targets"] == []
    assert [s["reason"] for s in r["spared"]] == ["own session"]
    assert r["spared"][0]["pid"] == r["own_pid"]


def test_max_targets_refuses_and_touches_nothing(run_module, pg, sessions):
    pids = [sessions.sleeper(120, app="rxi-batch") for _dummy in range(3)]
    for pid in pids:
        assert sleeping(pg, pid)
    r = run_module("pg_backend", pg.monitor_args(action="terminate", application_names=["rxi-batch"], max_targets=2))
    assert r.failed
    assert "max_targets" in r["msg"] and "3 sessions match" in r["msg"] and "nothing was touched" in r["msg"]
    assert sorted(t["pid"] for t in r["targets"]) == sorted(pids)
    assert all(t["outcome"] == "not_touched" for t in r["targets"])
    assert alive(pg, pids) == sorted(pids)
    assert len(pg.activity("application_name = 'rxi-batch' AND wait_event = 'PgSleep'")) == 3


def test_check_mode_lists_targets_and_leaves_every_session_alive(run_module, pg, sessions):
    pids = [sessions.sleeper(120, app="rxi-batch") for _dummy in range(2)]
    idle = sessions.idle_in_transaction()
    for pid in pids:
        assert sleeping(pg, pid)
    r = run_module("pg_backend", pg.monitor_args(action="terminate", users=["rxi_app"]), check=True, diff=True)
    assert not r.failed, r.output
    assert r["changed"] is True
    assert sorted(t["pid"] for t in r["targets"]) == sorted(pids + [idle])
    assert all(t["outcome"] == "would_terminate" for t in r["targets"])
    assert r["diff"]["after"]["pids"] == []
    assert alive(pg, pids + [idle]) == sorted(pids + [idle])
    assert len(pg.activity("application_name = 'rxi-batch' AND state = 'active'")) == 2


def test_cancel_keeps_the_session(run_module, pg, sessions):
    pid = sessions.sleeper(120, app="rxi-cancel-me")
    assert sleeping(pg, pid)
    r = run_module("pg_backend", pg.monitor_args(action="cancel", pids=[pid]))
    assert not r.failed, r.output
    assert r["changed"] is True and r["targets"][0]["outcome"] == "cancelled"
    # the session is still there, its query is no longer running
    rows = wait_until(lambda: pg.activity("pid = %d AND state = 'idle'" % pid))
    assert rows and rows[0][0] == pid
    again = run_module("pg_backend", pg.monitor_args(action="cancel", pids=[pid], states=["active"]))
    assert again["changed"] is False


def test_cancel_first_then_terminate_idle_in_transaction(run_module, pg, sessions):
    runner = sessions.sleeper(120, app="rxi-cf")
    idle = sessions.idle_in_transaction(app="rxi-cf")
    assert sleeping(pg, runner)
    r = run_module("pg_backend", pg.monitor_args(action="terminate", application_names=["rxi-cf"], cancel_first=True,
                                                 cancel_wait=15))  # ends as soon as the session is quiet
    assert not r.failed, r.output
    outcomes = dict((t["pid"], t["outcome"]) for t in r["targets"])
    # the long runner went idle after the cancel and was left alone; the idle transaction had to be terminated
    assert outcomes == {runner: "cancelled", idle: "terminated"}
    assert alive(pg, [runner, idle]) == [runner]


def test_unreachable_server_fails_cleanly(run_module):
    r = run_module("pg_backend", {"login_host": "127.0.0.1", "port": free_port(), "action": "terminate", "pids": [1]})
    assert r.failed and "PostgreSQL" in r["msg"] and "refused" in r["msg"]
    assert "Traceback" not in r.output


@pytest.mark.parametrize("args, needle", [
    ({"action": "terminate", "states": ["sleeping"]}, "states"),
    ({"action": "terminate", "min_duration": -1}, "min_duration"),
    ({"action": "terminate"}, "at least one filter"),
    ({"action": "kill", "pids": [1]}, "action"),
    ({"action": "terminate", "pids": [1], "port": 99999}, "port"),
    ({"action": "terminate", "pids": [1], "max_targets": 0}, "max_targets"),
    ({"action": "terminate", "query_pattern": "(unclosed"}, "query_pattern"),
    ({"action": "terminate", "pids": [1], "dsn": "dbname"}, "dsn"),
])
def test_bad_input(run_module, args, needle):
    r = run_module("pg_backend", dict({"login_host": "127.0.0.1", "port": free_port()}, **args))
    assert r.failed
    assert needle in r["msg"]
    assert "Traceback" not in r.output
