#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pg_activity_probe
short_description: Read PostgreSQL activity - connections, long-running queries, idle transactions, lock chains
version_added: 0.1.0
description:
  - The runbook's "Database Issues" queries (C(SELECT count(*) FROM pg_stat_activity) and the long-running
    query list) as one read-only probe.
  - Connects, and runs its queries in a B(read-only) transaction that it rolls back.
  - Reports the server version, max_connections, client connections and utilization, counts by state,
    database, user and application, long-running queries, sessions idle in a transaction, blocked sessions with
    the pids that block them (C(pg_blocking_pids)), and database sizes.
  - A server that cannot be reached is reported as RV(status=down) with RV(connectable=false) and the error;
    the task fails only with O(fail_on_unhealthy=true).
author:
  - Reflexion SRE team (@reflexion)
extends_documentation_fragment:
  - reflexion.incident.probe
  - reflexion.incident.postgres
options:
  long_running_threshold:
    description:
      - An active query running for more than this many seconds is listed in RV(long_running).
      - The runbook uses five minutes.
    type: float
    default: 300
  idle_in_transaction_threshold:
    description:
      - A session idle in a transaction for more than this many seconds is listed in RV(idle_in_transaction).
    type: float
    default: 60
  mask_literals:
    description:
      - Replace string and number literals in reported query texts with C(?), so that data and secrets in
        queries do not end up in reports.
    type: bool
    default: true
  query_max_length:
    description:
      - Query texts are cut to this many characters (0 keeps them whole).
    type: int
    default: 500
  utilization_degraded_pct:
    description: Client connections at or above this percentage of max_connections make the status V(degraded).
    type: float
    default: 80
  utilization_down_pct:
    description: Client connections at or above this percentage of max_connections make the status V(down).
    type: float
    default: 95
  database_sizes:
    description: Report the size of every database the login role may connect to.
    type: bool
    default: true
  statement_timeout:
    description: Milliseconds each query of the probe may take.
    type: int
    default: 10000
notes:
  - Counts and utilization consider client backends only (C(backend_type = 'client backend')), which are what
    max_connections limits; the probe's own session is counted but never listed.
seealso:
  - module: reflexion.incident.pg_backend
"""

EXAMPLES = r"""
- name: Check database connections and long-running queries (runbook, Database Issues)
  reflexion.incident.pg_activity_probe:
    login_host: 127.0.0.1
    port: 5432
    login_user: monitor
    login_password: "{{ reflexion_pg_password }}"
    login_db: reflexion
  register: pg

- name: Show what is stuck
  ansible.builtin.debug:
    msg: "{{ pg.long_running | map(attribute='pid') }} blocked: {{ pg.blocked | map(attribute='pid') }}"

- name: Stricter thresholds, full query texts
  reflexion.incident.pg_activity_probe:
    long_running_threshold: 30
    idle_in_transaction_threshold: 10
    mask_literals: false
    fail_on_unhealthy: true
"""

RETURN = r"""
status:
  description: V(healthy), V(degraded) (long-running, idle-in-transaction or blocked sessions, or high utilization) or V(down).
  returned: always
  type: str
  sample: degraded
reason:
  description: Why, in one line.
  returned: always
  type: str
  sample: "1 long-running query; 1 blocked session"
connectable:
  description: Whether the probe could connect and read.
  returned: always
  type: bool
error:
  description: The error when RV(connectable) is false (or a query failed), else null.
  returned: always
  type: str
  sample: "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused"
error_kind:
  description: >-
    The kind of failure: V(unreachable), V(too_many_connections), V(auth_failed), V(not_found), V(timeout),
    V(unavailable), V(query_failed) or V(error); null when connected.
  returned: always
  type: str
server_version:
  description: The server's version string (C(server_version)).
  returned: always
  type: str
  sample: "15.8 (Debian 15.8-0+deb12u1)"
server_version_num:
  description: The server's version as a number.
  returned: always
  type: int
  sample: 150008
max_connections:
  description: The server's max_connections.
  returned: always
  type: int
  sample: 100
total_connections:
  description: Client backends, the probe's own session included.
  returned: always
  type: int
  sample: 12
total_backends:
  description: Every row of pg_stat_activity (background workers included), like the runbook's count.
  returned: always
  type: int
utilization_pct:
  description: RV(total_connections) as a percentage of RV(max_connections).
  returned: always
  type: float
  sample: 12.0
probe_pid:
  description: The pid of the probe's own backend.
  returned: always
  type: int
by_state:
  description: Client backends per state.
  returned: always
  type: dict
  sample: {"active": 2, "idle": 8, "idle in transaction": 1}
by_database:
  description: Client backends per database.
  returned: always
  type: dict
by_user:
  description: Client backends per role.
  returned: always
  type: dict
by_application:
  description: Client backends per application_name (the empty string when unset).
  returned: always
  type: dict
long_running:
  description: Active queries over O(long_running_threshold), longest first.
  returned: always
  type: list
  elements: dict
  contains:
    pid:
      description: Backend pid.
      type: int
    duration:
      description: Seconds since the query started.
      type: float
    state:
      description: Backend state.
      type: str
    wait_event_type:
      description: Wait event type, or null.
      type: str
    wait_event:
      description: Wait event, or null.
      type: str
    application_name:
      description: The client's application_name.
      type: str
    client_addr:
      description: Client address, null for a Unix socket.
      type: str
    database:
      description: Database name.
      type: str
    user:
      description: Role name.
      type: str
    query:
      description: The query, truncated and (with O(mask_literals)) masked.
      type: str
idle_in_transaction:
  description:
    - Sessions idle in a transaction for more than O(idle_in_transaction_threshold).
    - Same keys as RV(long_running); C(duration) counts from the start of the transaction.
  returned: always
  type: list
  elements: dict
blocked:
  description: Sessions waiting on a lock; same keys as RV(long_running) plus C(blocked_by), the pids that block them.
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4242, "blocked_by": [4240], "duration": 12.5, "wait_event_type": "Lock", "wait_event": "relation"}]
database_sizes:
  description: Bytes per database (only databases the role may connect to).
  returned: always
  type: dict
  sample: {"reflexion": 8561123}
queries:
  description: The SQL the probe ran.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._postgres import (
    POSTGRES_COMMON_SPEC,
    classify_activity,
    classify_connect_error,
    connect,
    describe_error,
    ensure_psycopg2,
    psycopg2,
    shorten_query,
    validate_connection_params,
)
from ansible_collections.reflexion.incident.plugins.module_utils._probe import PROBE_COMMON_SPEC, finish

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
                by_user={}, by_application={}, long_running=[], idle_in_transaction=[], blocked=[],
                database_sizes={}, queries=[])


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
        try:
            conn = connect(p, "reflexion.incident.pg_activity_probe")
        except psycopg2.Error as exc:
            result["error"] = describe_error(exc)
            result["error_kind"] = classify_connect_error(result["error"])
            result["reason"] = "cannot connect (%s): %s" % (result["error_kind"], result["error"])
            return result
        result["connectable"] = True
        try:
            conn.set_session(readonly=True, autocommit=False)
            cur = conn.cursor()
            timeout_sql = "SET LOCAL statement_timeout = %d" % p["statement_timeout"]
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


def validate(module):
    p = module.params
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


def main():
    argument_spec = dict(
        long_running_threshold=dict(type="float", default=300.0),
        idle_in_transaction_threshold=dict(type="float", default=60.0),
        mask_literals=dict(type="bool", default=True),
        query_max_length=dict(type="int", default=500),
        utilization_degraded_pct=dict(type="float", default=80.0),
        utilization_down_pct=dict(type="float", default=95.0),
        database_sizes=dict(type="bool", default=True),
        statement_timeout=dict(type="int", default=10000),
    )
    argument_spec.update(POSTGRES_COMMON_SPEC)
    argument_spec.update(PROBE_COMMON_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    ensure_psycopg2(module)
    validate(module)
    result = PgActivityProbe(module.params).run()
    finish(module, result)


if __name__ == "__main__":
    main()
