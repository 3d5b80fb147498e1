"""Pure logic of the pg_* modules: literal masking, error and activity classification, target selection."""

import re

import pytest

from ansible_collections.reflexion.incident.plugins.module_utils._postgres import (
    classify_activity,
    classify_connect_error,
    connect_kwargs,
    mask_literals,
    select_targets,
    shorten_query,
    validate_connection_params,
)


@pytest.mark.parametrize("sql, expected", [
    ("SELECT * FROM t WHERE id = 42", "SELECT * FROM t WHERE id = ?"),
    ("SELECT 'it''s' , E'a\\'b', 3.5e3", "SELECT '?' , '?', ?"),
    ("SELECT $$secret$$, $tag$x$y$tag$ FROM t2", "SELECT '?', '?' FROM t2"),
    ("SELECT \"col1\" FROM t1 WHERE x = $1", "SELECT \"col1\" FROM t1 WHERE x = $1"),
    ("UPDATE acc SET pw = 'hunter2' -- keep 7\nWHERE id=7", "UPDATE acc SET pw = '?' -- keep 7\nWHERE id=?"),
    ("SELECT pg_sleep(60) /* note 5 */", "SELECT pg_sleep(?) /* note 5 */"),
    ("SELECT x FROM t3 WHERE name = 'unterminated", "SELECT x FROM t3 WHERE name = '?'"),
    ("", ""),
])
def test_mask_literals(sql, expected):
    assert mask_literals(sql) == expected


def test_shorten_query():
    assert shorten_query("SELECT   1,\n 2", 0, True) == "SELECT ?, ?"
    assert shorten_query("SELECT 'abc'", 8, False) == "SELECT '..."
    assert shorten_query(None, 10, True) is None


@pytest.mark.parametrize("message, kind", [
    ("FATAL:  sorry, too many clients already", "too_many_connections"),
    ("FATAL:  remaining connection slots are reserved for non-replication superuser connections", "too_many_connections"),
    ('FATAL:  password authentication failed for user "x"', "auth_failed"),
    ('FATAL:  database "nope" does not exist', "not_found"),
    ('connection to server at "127.0.0.1", port 1 failed: Connection refused', "unreachable"),
    ("timeout expired", "timeout"),
    ("FATAL:  the database system is starting up", "unavailable"),
    ("something else", "error"),
])
def test_classify_connect_error(message, kind):
    assert classify_connect_error(message) == kind


TH = dict(utilization_degraded_pct=80.0, utilization_down_pct=95.0)


@pytest.mark.parametrize("snapshot, status, needle", [
    (dict(utilization_pct=10.0, total_connections=3), "healthy", "3 connection(s)"),
    (dict(utilization_pct=85.0), "degraded", "85%"),
    (dict(utilization_pct=96.0, blocked=[{}]), "down", "1 blocked session"),
    (dict(utilization_pct=1.0, long_running=[{}, {}]), "degraded", "2 long-running queries"),
    (dict(utilization_pct=1.0, idle_in_transaction=[{}]), "degraded", "1 idle-in-transaction session"),
])
def test_classify_activity(snapshot, status, needle):
    got, reason = classify_activity(snapshot, TH)
    assert got == status and needle in reason


def row(pid, **kw):
    base = dict(pid=pid, database="app", user="app", application_name="web", backend_type="client backend",
                state="active", duration=400.0, superuser=False, replication=False, query="SELECT 1")
    base.update(kw)
    return base


def test_select_targets_guards():
    rows = [row(1), row(2, superuser=True), row(3, application_name="pg_dump"), row(4, backend_type="autovacuum worker"),
            row(5, replication=True), row(6), row(7, state="idle"), row(8, duration=10.0)]
    targets, spared = select_targets(rows, dict(states=["active"], min_duration=300), own_pid=6,
                                     protected_applications=["pg_dump"])
    assert [t["pid"] for t in targets] == [1]
    assert dict((s["pid"], s["reason"]) for s in spared) == {
        2: "superuser session (allow_superuser is false)", 3: "protected application pg_dump",
        4: "not a client backend (autovacuum worker)", 5: "replication connection", 6: "own session"}
    targets, _dummy = select_targets(rows, dict(states=["active"], min_duration=300), own_pid=6, allow_superuser=True,
                                     protected_applications=["pg_dump"])
    assert [t["pid"] for t in targets] == [1, 2]


def test_select_targets_filters_combine():
    rows = [row(1, query="SELECT pg_sleep(9)"), row(2, user="batch", query="SELECT pg_sleep(9)"), row(3, database="other")]
    f = dict(users=["app"], query_regex=re.compile("pg_sleep"))
    assert [t["pid"] for t in select_targets(rows, f, own_pid=99)[0]] == [1]
    assert [t["pid"] for t in select_targets(rows, dict(pids=[3, 4]), own_pid=99)[0]] == [3]
    assert [t["pid"] for t in select_targets(rows, dict(databases=["other"]), own_pid=99)[0]] == [3]


def test_connection_params():
    assert "port" in validate_connection_params(dict(port=0))
    assert validate_connection_params(dict(port=5432, connect_timeout=5)) is None
    msg = validate_connection_params(dict(dsn="postgresql://u:s3cret@h/db?bogus=1"))
    assert msg.startswith("dsn:") and "s3cret" not in msg
    kw = connect_kwargs(dict(dsn="dbname=x", login_host="h", port=6543, login_password=None, login_unix_socket="/run/pg"))
    assert kw == dict(dsn="dbname=x", host="/run/pg", port=6543, application_name="reflexion.incident")
