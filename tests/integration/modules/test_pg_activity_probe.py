"""pg_activity_probe against a real PostgreSQL 15 on loopback, with sessions the test opens itself."""

import pytest

from ..pg_redis_servers import (
    APP_PASSWORD,
    MONITOR_PASSWORD,
    fill_connections,
    free_port,
    opened_sessions,
    postgres_server,
    wait_until,
)


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as server:
        yield server


@pytest.fixture
def sessions(pg):
    with opened_sessions(pg) as s:
        yield s


def rxi_only(counts):
    return {k: v for k, v in counts.items() if k.startswith("rxi-")}


def test_quiet_server_is_healthy(run_module, pg):
    r = run_module("pg_activity_probe", pg.monitor_args())
    assert not r.failed, r.output
    assert r["changed"] is False
    assert r["connectable"] is True and r["error"] is None
    assert r["status"] == "healthy", r["reason"]
    assert r["server_version_num"] // 10000 == 15
    assert r["max_connections"] == 30
    assert r["total_connections"] >= 1
    assert r["by_application"].get("reflexion.incident.pg_activity_probe") == 1
    assert r["utilization_pct"] == round(100.0 * r["total_connections"] / 30, 1)
    assert r["long_running"] == [] and r["idle_in_transaction"] == [] and r["blocked"] == []
    assert r["database_sizes"]["reflexion"] > 1000000
    assert any("pg_stat_activity" in q for q in r["queries"])


def test_sees_what_the_test_opened(run_module, pg, sessions):
    sleeper = sessions.sleeper(60)
    idle = sessions.idle_in_transaction()
    holder, waiter = sessions.lock_chain()
    for _dummy in range(2):
        sessions.open(app="rxi-idle")
    assert wait_until(lambda: pg.activity("pid = %d AND wait_event = 'PgSleep'" % sleeper))
    assert wait_until(lambda: pg.activity("pid = %d AND wait_event_type = 'Lock'" % waiter))

    r = run_module("pg_activity_probe", pg.monitor_args(long_running_threshold=0.2, idle_in_transaction_threshold=0))
    assert not r.failed, r.output
    assert r["status"] == "degraded"
    assert rxi_only(r["by_application"]) == {"rxi-sleeper": 1, "rxi-idle-tx": 1, "rxi-lock-holder": 1,
                                             "rxi-lock-waiter": 1, "rxi-idle": 2}
    assert r["by_user"]["rxi_app"] == 6
    assert r["by_state"]["idle in transaction"] >= 2
    assert r["by_database"]["reflexion"] >= 6

    long_pids = {e["pid"]: e for e in r["long_running"]}
    assert sleeper in long_pids and waiter in long_pids
    s = long_pids[sleeper]
    assert s["state"] == "active" and s["wait_event"] == "PgSleep" and s["application_name"] == "rxi-sleeper"
    assert s["client_addr"] == "127.0.0.1" and s["duration"] > 0.2
    assert s["query"] == "SELECT pg_sleep(?) /* rxi long runner */"  # literal masked, comment kept

    idle_pids = sorted(e["pid"] for e in r["idle_in_transaction"])
    assert idle_pids == sorted([idle, holder])

    assert len(r["blocked"]) == 1
    b = r["blocked"][0]
    assert b["pid"] == waiter and b["blocked_by"] == [holder]
    assert b["wait_event_type"] == "Lock"
    assert b["query"] == "UPDATE accounts SET balance = balance - ? WHERE id = ?"
    assert "1 blocked session" in r["reason"] and "2 idle-in-transaction sessions" in r["reason"]


def test_default_threshold_is_five_minutes_and_unmasked_option(run_module, pg, sessions):
    sleeper = sessions.sleeper(30)
    assert wait_until(lambda: pg.activity("pid = %d AND wait_event = 'PgSleep'" % sleeper))
    r = run_module("pg_activity_probe", pg.monitor_args())
    assert r["long_running"] == [] and r["status"] == "healthy"
    r = run_module("pg_activity_probe", pg.monitor_args(long_running_threshold=0, mask_literals=False,
                                                        query_max_length=12))
    entry = [e for e in r["long_running"] if e["pid"] == sleeper][0]
    assert entry["query"] == "SELECT pg_sl..."


def test_unprivileged_role_sees_no_foreign_query_text(run_module, pg, sessions):
    sleeper = sessions.sleeper(30, app="rxi-super-sleeper", user="postgres", password="rxi-super-pw")
    assert wait_until(lambda: pg.activity("pid = %d AND wait_event = 'PgSleep'" % sleeper))
    r = run_module("pg_activity_probe", dict(login_host=pg.host, port=pg.port, login_user="rxi_app",
                                             login_password=APP_PASSWORD, login_db="reflexion",
                                             long_running_threshold=0))
    assert r["connectable"] is True
    entry = [e for e in r["long_running"] if e["pid"] == sleeper]
    # without pg_monitor another role's state is hidden: it is not listed as active
    assert entry == [] or "insufficient privilege" in (entry[0]["query"] or "")


def test_pg_env_fallbacks_and_password_never_logged(run_module, pg, monkeypatch):
    monkeypatch.setenv("PGHOST", pg.host)
    monkeypatch.setenv("PGPORT", str(pg.port))
    monkeypatch.setenv("PGUSER", "rxi_monitor")
    monkeypatch.setenv("PGPASSWORD", MONITOR_PASSWORD)
    monkeypatch.setenv("PGDATABASE", "reflexion")
    r = run_module("pg_activity_probe", {"connect_timeout": 5})
    assert not r.failed, r.output
    assert r["connectable"] is True and r["by_user"].get("rxi_monitor") == 1
    assert MONITOR_PASSWORD not in r.output


def test_dsn(run_module, pg):
    dsn = "postgresql://rxi_monitor:%s@%s:%d/reflexion" % (MONITOR_PASSWORD, pg.host, pg.port)
    r = run_module("pg_activity_probe", {"dsn": dsn})
    assert r["connectable"] is True and r["status"] == "healthy"
    assert MONITOR_PASSWORD not in r.output


def test_wrong_password_is_auth_failed(run_module, pg):
    r = run_module("pg_activity_probe", pg.monitor_args(login_password="wrong"))
    assert not r.failed
    assert r["status"] == "down" and r["connectable"] is False and r["error_kind"] == "auth_failed"
    assert "password authentication failed" in r["error"]


def test_at_max_connections(run_module, pg):
    held = []
    try:
        # fill every non-reserved slot with real sessions (non-superuser)
        held = fill_connections(lambda: pg.connect(user="rxi_app", password=APP_PASSWORD, application_name="rxi-filler"))
        assert len(held) >= 20
        r = run_module("pg_activity_probe", pg.monitor_args())
        assert not r.failed, r.output
        assert r["status"] == "down" and r["connectable"] is False
        assert r["error_kind"] == "too_many_connections"
        assert "connection slots are reserved" in r["error"] or "too many clients" in r["error"]
        assert "Traceback" not in r.output
        r = run_module("pg_activity_probe", pg.monitor_args(fail_on_unhealthy=True))
        assert r.failed and "too_many_connections" in r["msg"]
    finally:
        for c in held:
            c.close()


def test_server_stopped(run_module, pg):
    pg.stop()
    try:
        r = run_module("pg_activity_probe", pg.monitor_args())
        assert not r.failed, r.output
        assert r["status"] == "down" and r["connectable"] is False
        assert r["error_kind"] == "unreachable" and "refused" in r["error"]
        assert "Traceback" not in r.output
    finally:
        pg.start()
    assert run_module("pg_activity_probe", pg.monitor_args())["connectable"] is True


@pytest.mark.parametrize("args, needle", [
    ({"port": 70000}, "port"),
    ({"port": 0}, "port"),
    ({"long_running_threshold": -1}, "long_running_threshold"),
    ({"idle_in_transaction_threshold": -5}, "idle_in_transaction_threshold"),
    ({"ssl_mode": "sometimes"}, "ssl_mode"),
    ({"dsn": "host=127.0.0.1 port"}, "dsn"),
    ({"dsn": "postgresql://u:p@h/db?nonsense=1"}, "dsn"),
    ({"utilization_down_pct": 150}, "utilization_down_pct"),
    ({"query_max_length": -1}, "query_max_length"),
])
def test_bad_input(run_module, args, needle):
    r = run_module("pg_activity_probe", dict({"login_host": "127.0.0.1", "port": free_port()}, **args))
    assert r.failed
    assert needle in r["msg"]
    assert "Traceback" not in r.output
