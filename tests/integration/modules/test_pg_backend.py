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


# ------------------------------------------------------------------------ pid reuse between cancel and terminate

class _Caller(object):
    """What BackendSignaller reads from AnsibleModule: the validated params and check_mode."""

    def __init__(self, params):
        self.params = params
        self.check_mode = False


def _signaller(pg, **extra):
    from ansible_collections.reflexion.incident.plugins.module_utils._postgres import connect
    from ansible_collections.reflexion.incident.plugins.modules.pg_backend import BackendSignaller

    params = pg.monitor_args(action="terminate", cancel_first=False, cancel_wait=2.0, wait_timeout=5.0)
    params.update(extra)
    worker = BackendSignaller(_Caller(params))
    worker.conn = connect(params, "rxi-test-signaller")
    worker.conn.autocommit = True
    worker.cur = worker.conn.cursor()
    return worker


@pytest.mark.parametrize("cancel_first", [False, True])
def test_reused_pid_is_never_signalled(pg, sessions, cancel_first):
    """The terminate (and cancel) statement names the selected session by pid AND start time: a session that
    now holds the recorded pid but started at another time (a reused pid) is left alone, and reported gone."""
    import datetime

    other = sessions.sleeper(120, app="rxi-reused-pid")
    assert sleeping(pg, other)
    worker = _signaller(pg, cancel_first=cancel_first)
    try:
        row = worker.sessions([other])[other]
        # what the module recorded when it selected the OLD session that had this pid
        recorded = dict(row, backend_start=row["backend_start"] - datetime.timedelta(seconds=3))
        targets = [worker.public(recorded)]
        worker.act(targets, {other: recorded})
    finally:
        worker.close()
    assert targets[0]["outcome"] == "already_gone", targets
    signals = [q for q in worker.queries if "_backend(a.pid)" in q]
    assert signals and all("backend_start" in q for q in signals), worker.queries
    # the real session that reuses the pid is alive and still running its query (not even cancelled)
    assert pg.activity("pid = %d AND wait_event = 'PgSleep'" % other), "the unrelated session was signalled"


def test_same_session_is_still_terminated(pg, sessions):
    """Control for the test above: with the session's true start time the same step terminates it."""
    victim = sessions.sleeper(120, app="rxi-true-identity")
    assert sleeping(pg, victim)
    worker = _signaller(pg)
    try:
        row = worker.sessions([victim])[victim]
        targets = [worker.public(row)]
        worker.act(targets, {victim: row})
    finally:
        worker.close()
    assert targets[0]["outcome"] == "terminated", targets
    assert alive(pg, [victim]) == []


def test_nan_min_duration_is_refused_and_touches_nothing(run_module, pg, sessions):
    """min_duration=nan used to match every session (a NaN compares false with everything)."""
    pid = sessions.sleeper(120, app="rxi-nan")
    assert sleeping(pg, pid)
    for value in ("nan", "inf", "-inf"):
        r = run_module("pg_backend", pg.monitor_args(action="terminate", application_names=["rxi-nan"],
                                                     min_duration=value))
        assert r.failed, r.output
        assert "min_duration" in r["msg"] and "finite" in r["msg"], r["msg"]
        assert "Traceback" not in r.output
    r = run_module("pg_backend", pg.monitor_args(action="terminate", pids=[pid], wait_timeout="inf"))
    assert r.failed and "wait_timeout" in r["msg"], r.output
    assert alive(pg, [pid]) == [pid]
    assert pg.activity("pid = %d AND wait_event = 'PgSleep'" % pid)
