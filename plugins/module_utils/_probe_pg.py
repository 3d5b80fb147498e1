# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The pg_activity_probe probe's work: its options, their validation and the class that probes. Shared by the
pg_activity_probe module and the triage_probe module (which runs several probes in one invocation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.reflexion.incident.plugins.module_utils._postgres import (
    POSTGRES_COMMON_SPEC,
    classify_activity,
    classify_connect_error,
    connect,
    describe_error,
    psycopg2,
    shorten_query,
    validate_connection_params,
)
from ansible_collections.reflexion.incident.plugins.module_utils._probe import PROBE_COMMON_SPEC, resolve_timeout
from ansible_collections.reflexion.incident.plugins.module_utils._validate import require_finite

SETTINGS_SQL = ("SELECT current_setting('server_version'), current_setting('server_version_num')::int, "
                "current_setting('max_connections')::int, pg_backend_pid()")
ACTIVITY_SQL = """SELECT a.pid, a.datname, a.usename, a.application_name, host(a.client_addr), a.backend_type, a.state,
 a.wait_event_type, a.wait_event,
 EXTRACT(EPOCH FROM (clock_timestamp() - a.query_start))::float8,
 EXTRACT(EPOCH FROM (clock_timestamp() - a.xact_start))::float8,
 CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END,
 a.query
FROM pg_stat_activity a"""
SIZES_SQL = ("SELECT datname, pg_database_size(oid) FROM pg_database "
             "WHERE datallowconn AND has_database_privilege(datname, 'CONNECT') ORDER BY datname")
COLUMNS = ("pid", "database", "user", "application_name", "client_addr", "backend_type", "state",
           "wait_event_type", "wait_event", "query_seconds", "xact_seconds", "blocked_by", "query")


def empty_result():
    return dict(changed=False, status="down", reason="", connectable=False, error=None, error_kind=None,
                server_version=None, server_version_num=None, max_connections=None, total_connections=None,
                total_backends=None, utilization_pct=None, probe_pid=None, by_state={}, by_database={},
                by_user={}, by_application={}, holders=[], holders_other=0, long_running=[], idle_in_transaction=[],
                blocked=[],
                database_sizes={}, queries=[])


# The most holder groups returned (the biggest first); the rest are summed in holders_other.
MAX_HOLDERS = 50


def group_holders(clients, own_pid=None, cap=MAX_HOLDERS):
    """Who holds the connections: client sessions grouped by (application_name, user, client_addr), with the
    count and the states of each group, the biggest first. An empty application_name (psql, a script, a pooler
    that sets none) is a group like any other, so the culprit is found whoever it is. The probe's own session
    is left out. Returns (holders, sessions in the groups past ``cap``)."""
    groups = {}
    for row in clients:
        if own_pid is not None and row["pid"] == own_pid:
            continue
        key = (row["application_name"] or "", row["user"] or "", row["client_addr"] or "")
        group = groups.get(key)
        if group is None:
            group = groups[key] = dict(application_name=key[0], user=key[1], client_addr=key[2] or None,
                                       count=0, by_state={}, databases=[])
        group["count"] += 1
        state = row["state"] or ""
        group["by_state"][state] = group["by_state"].get(state, 0) + 1
        if row["database"] and row["database"] not in group["databases"]:
            group["databases"].append(row["database"])
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["application_name"], g["user"],
                                                     g["client_addr"] or ""))
    for group in ordered:
        group["databases"].sort()
    return ordered[:cap], sum(g["count"] for g in ordered[cap:])


def _count(rows, key):
    counts = {}
    for row in rows:
        name = row[key] if row[key] is not None else ""
        counts[name] = counts.get(name, 0) + 1
    return counts


class PgActivityProbe(object):
    def __init__(self, params):
        self.p = params

    def entry(self, row, duration):
        return dict(pid=row["pid"], duration=round(duration or 0.0, 3), state=row["state"],
                    wait_event_type=row["wait_event_type"], wait_event=row["wait_event"],
                    application_name=row["application_name"], client_addr=row["client_addr"],
                    database=row["database"], user=row["user"],
                    query=shorten_query(row["query"], self.p["query_max_length"], self.p["mask_literals"]))

    def analyse(self, result, rows, own_pid):
        p = self.p
        clients = [r for r in rows if r["backend_type"] == "client backend"]
        result["total_backends"] = len(rows)
        result["total_connections"] = len(clients)
        result["utilization_pct"] = round(100.0 * len(clients) / result["max_connections"], 1)
        result["by_state"] = _count(clients, "state")
        result["by_database"] = _count(clients, "database")
        result["by_user"] = _count(clients, "user")
        result["by_application"] = _count(clients, "application_name")
        result["holders"], result["holders_other"] = group_holders(clients, own_pid)
        others = [r for r in clients if r["pid"] != own_pid]
        long_running = [r for r in others if r["state"] == "active" and (r["query_seconds"] or 0) > p["long_running_threshold"]]
        result["long_running"] = [self.entry(r, r["query_seconds"])
                                  for r in sorted(long_running, key=lambda r: -(r["query_seconds"] or 0))]
        idle = [r for r in others if (r["state"] or "").startswith("idle in transaction")
                and (r["xact_seconds"] or 0) > p["idle_in_transaction_threshold"]]
        result["idle_in_transaction"] = [self.entry(r, r["xact_seconds"])
                                         for r in sorted(idle, key=lambda r: -(r["xact_seconds"] or 0))]
        blocked = []
        for r in others:
            if r["blocked_by"]:
                e = self.entry(r, r["query_seconds"])
                e["blocked_by"] = sorted(r["blocked_by"])
                blocked.append(e)
        result["blocked"] = sorted(blocked, key=lambda e: -e["duration"])

    def run(self):
        p = self.p
        result = empty_result()
        result["timeout"] = p["timeout"]
        params, statement_ms = bounded(p)
        try:
            conn = connect(params, "reflexion.incident.pg_activity_probe")
        except psycopg2.Error as exc:
            result["error"] = describe_error(exc)
            result["error_kind"] = classify_connect_error(result["error"])
            result["reason"] = "cannot connect (%s): %s" % (result["error_kind"], result["error"])
            return result
        result["connectable"] = True
        try:
            conn.set_session(readonly=True, autocommit=False)
            cur = conn.cursor()
            timeout_sql = "SET LOCAL statement_timeout = %d" % statement_ms
            for sql in (timeout_sql, SETTINGS_SQL):
                cur.execute(sql)
                result["queries"].append(sql)
            (result["server_version"], result["server_version_num"],
             result["max_connections"], own_pid) = cur.fetchone()
            result["probe_pid"] = own_pid
            cur.execute(ACTIVITY_SQL)
            result["queries"].append(ACTIVITY_SQL)
            rows = [dict(zip(COLUMNS, r)) for r in cur.fetchall()]
            if p["database_sizes"]:
                cur.execute(SIZES_SQL)
                result["queries"].append(SIZES_SQL)
                result["database_sizes"] = dict(cur.fetchall())
            conn.rollback()
        except psycopg2.Error as exc:
            result["error"] = describe_error(exc)
            result["error_kind"] = "query_failed"
            result["reason"] = "query failed: %s" % result["error"]
            return result
        finally:
            conn.close()
        self.analyse(result, rows, own_pid)
        result["status"], result["reason"] = classify_activity(result, p)
        return result


def bounded(p):
    """The connection options and the statement timeout (ms) under O(timeout), the probe's total deadline:
    libpq's connect_timeout is at most the whole seconds of it (at least 1), statement_timeout at most all
    of it. Without O(timeout), connect_timeout and statement_timeout as given."""
    statement_ms = p["statement_timeout"]
    if p.get("timeout") is None:
        return p, statement_ms
    params = dict(p)
    params["connect_timeout"] = max(1, min(p["connect_timeout"] or 5, int(p["timeout"])))
    return params, max(1, min(statement_ms, int(p["timeout"] * 1000)))


def validate(module):
    p = module.params
    require_finite(module, argument_spec())
    resolve_timeout(module, None)
    msg = validate_connection_params(p)
    if msg:
        module.fail_json(msg=msg)
    for name in ("long_running_threshold", "idle_in_transaction_threshold"):
        if p[name] < 0:
            module.fail_json(msg="%s: must be 0 or more seconds, got %s" % (name, p[name]))
    if p["query_max_length"] < 0:
        module.fail_json(msg="query_max_length: must be 0 or more, got %d" % p["query_max_length"])
    for name in ("utilization_degraded_pct", "utilization_down_pct"):
        if not 0 < p[name] <= 100:
            module.fail_json(msg="%s: must be a percentage in (0, 100], got %s" % (name, p[name]))
    if p["utilization_degraded_pct"] > p["utilization_down_pct"]:
        module.fail_json(msg="utilization_degraded_pct: must not exceed utilization_down_pct")
    if p["statement_timeout"] < 1:
        module.fail_json(msg="statement_timeout: must be 1 or more milliseconds, got %d" % p["statement_timeout"])


def argument_spec():
    """pg_activity_probe's options, with the options every probe shares."""
    spec = dict(
        long_running_threshold=dict(type="float", default=300.0),
        idle_in_transaction_threshold=dict(type="float", default=60.0),
        mask_literals=dict(type="bool", default=True),
        query_max_length=dict(type="int", default=500),
        utilization_degraded_pct=dict(type="float", default=80.0),
        utilization_down_pct=dict(type="float", default=95.0),
        database_sizes=dict(type="bool", default=True),
        statement_timeout=dict(type="int", default=10000),
    )
    spec.update(POSTGRES_COMMON_SPEC)
    spec.update(PROBE_COMMON_SPEC)
    return spec
