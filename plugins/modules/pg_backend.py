#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pg_backend
short_description: Cancel or terminate PostgreSQL sessions, with guard rails
version_added: 0.1.0
description:
  - The runbook's "Kill problematic queries (if safe)" (C(SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ...))
    with the "if safe" built in.
  - Selects sessions from C(pg_stat_activity) by O(pids), O(min_duration), O(states), O(databases), O(users),
    O(application_names) and O(query_pattern) (a session must match every filter given), then cancels their
    query (C(pg_cancel_backend)) or terminates them (C(pg_terminate_backend)).
  - B(Never) touches its own session, backends that are not client backends (autovacuum, walsender, background
    workers...), replication connections, superuser sessions (unless O(allow_superuser=true)) or sessions of
    O(protected_applications). Such sessions are returned in RV(spared) with the reason.
  - O(max_targets) limits the blast radius. When more sessions match, the module fails, lists them, and touches
    none.
  - In check mode it returns the exact sessions it would touch, and touches none.
  - Sessions it terminated are gone, so a second run finds nothing and reports RV(ignore:changed=false).
author:
  - Reflexion SRE team (@reflexion)
extends_documentation_fragment:
  - reflexion.incident.postgres
options:
  action:
    description:
      - V(cancel) cancels the current query and keeps the session; V(terminate) ends the session.
    type: str
    required: true
    choices: [cancel, terminate]
  pids:
    description: Only these backend pids.
    type: list
    elements: int
    default: []
  min_duration:
    description:
      - Only sessions in their current state for at least this many seconds. For V(active) sessions the time counts
        from the start of the query, for sessions idle in a transaction from the start of the transaction, for
        others from the last state change.
    type: float
  states:
    description: Only sessions in these states.
    type: list
    elements: str
    choices: [active, idle, idle in transaction, idle in transaction (aborted), fastpath function call, disabled]
    default: []
  databases:
    description: Only sessions connected to these databases.
    type: list
    elements: str
    default: []
  users:
    description: Only sessions of these roles.
    type: list
    elements: str
    default: []
  application_names:
    description: Only sessions with these application_name values.
    type: list
    elements: str
    default: []
  query_pattern:
    description: Only sessions whose query text matches this Python regular expression (searched, not anchored).
    type: str
  allow_superuser:
    description: Also touch sessions of superusers (the login role must itself be a superuser to do so).
    type: bool
    default: false
  protected_applications:
    description: Sessions with these application_name values are never touched.
    type: list
    elements: str
    default: [pg_dump, pg_restore, pg_basebackup]
  max_targets:
    description:
      - The most sessions one run may touch. When more match, the module fails with the list and touches nothing.
    type: int
    default: 5
  cancel_first:
    description:
      - With O(action=terminate), first cancel the query of each target and wait up to O(cancel_wait) seconds;
        only the sessions still busy afterwards are terminated.
    type: bool
    default: false
  cancel_wait:
    description: Seconds to wait after cancelling, with O(cancel_first=true).
    type: float
    default: 5
  wait_timeout:
    description: Seconds to wait for terminated sessions to disappear from C(pg_stat_activity).
    type: float
    default: 10
attributes:
  check_mode:
    support: full
    description: Lists the sessions that would be touched, and touches none.
  diff_mode:
    support: full
    description: The pids matched before and the pids still there after.
  idempotent:
    support: full
    description: Terminated sessions are gone, so a second run matches nothing (cancelled queries are no longer active).
notes:
  - The login role needs C(pg_signal_backend) (or membership in the target's role) to signal other roles' sessions,
    and C(pg_monitor) (or C(pg_read_all_stats)) to see their state and query text.
  - At least one filter is required; there is no "everything" switch.
  - Every signal names the selected session by pid, start time and role in the same statement, so a pid that
    was reused by a new session between selection (or the cancel of O(cancel_first)) and the signal is left alone.
seealso:
  - module: reflexion.incident.pg_activity_probe
"""

EXAMPLES = r"""
- name: See which long runners would be killed (check mode first, as the runbook says "if safe")
  reflexion.incident.pg_backend:
    action: terminate
    states: [active]
    min_duration: 300
    login_user: sre
    login_password: "{{ reflexion_pg_password }}"
    login_db: reflexion
  check_mode: true
  register: would_kill

- name: Cancel, then terminate what is still running after 5 s
  reflexion.incident.pg_backend:
    action: terminate
    cancel_first: true
    pids: "{{ would_kill.targets | map(attribute='pid') }}"
    max_targets: 3

- name: End sessions stuck idle in a transaction for more than 10 minutes
  reflexion.incident.pg_backend:
    action: terminate
    states: [idle in transaction]
    min_duration: 600
"""

RETURN = r"""
targets:
  description: The sessions acted on (or, in check mode or when O(max_targets) is exceeded, that would be).
  returned: always
  type: list
  elements: dict
  contains:
    pid:
      description: Backend pid.
      type: int
    database:
      description: Database.
      type: str
    user:
      description: Role.
      type: str
    application_name:
      description: application_name.
      type: str
    client_addr:
      description: Client address, null for a Unix socket.
      type: str
    state:
      description: State when selected.
      type: str
    duration:
      description: Seconds in that state (see O(min_duration)).
      type: float
    query:
      description: The query, truncated to 200 characters, literals masked.
      type: str
    outcome:
      description: >-
        V(cancelled) (query cancelled; with O(cancel_first) the session went quiet), V(terminated) (gone from
        pg_stat_activity), V(signalled) (signal sent, the session was still listed after O(wait_timeout)),
        V(already_gone) (the session ended before the signal; a pid now used by another session, with another
        start time, counts as gone and is never signalled), V(failed) (see C(error)),
        V(would_cancel)/V(would_terminate) in check mode, or
        V(not_touched) when O(max_targets) was exceeded.
      type: str
    error:
      description: The server's error when the outcome is V(failed).
      type: str
spared:
  description: Matching sessions that were not touched, with the reason (own session, superuser, protected application...).
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4711, "application_name": "pg_dump", "user": "backup", "reason": "protected application pg_dump"}]
own_pid:
  description: The module's own backend pid.
  returned: always
  type: int
queries:
  description: The SQL the module ran.
  returned: always
  type: list
  elements: str
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._postgres import (
    PG_STATES,
    POSTGRES_COMMON_SPEC,
    connect,
    describe_error,
    ensure_psycopg2,
    psycopg2,
    select_targets,
    shorten_query,
    validate_connection_params,
)
from ansible_collections.reflexion.incident.plugins.module_utils._validate import require_finite

SESSIONS_SQL = """SELECT a.pid, a.datname, a.usename, a.application_name, host(a.client_addr), a.backend_type, a.state,
 EXTRACT(EPOCH FROM (clock_timestamp() - CASE WHEN a.state = 'active' THEN a.query_start
   WHEN a.state LIKE 'idle in transaction%%' THEN a.xact_start ELSE a.state_change END))::float8,
 COALESCE(r.rolsuper, false), a.pid IN (SELECT pid FROM pg_stat_replication), a.query, a.query_start,
 a.backend_start
FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid"""
COLUMNS = ("pid", "database", "user", "application_name", "client_addr", "backend_type", "state", "duration",
           "superuser", "replication", "query", "query_start", "backend_start")
# A signal goes only to the session that was selected: the pid AND its start time AND its role must still
# match in the statement that sends it. Between selecting (or cancelling) and terminating, the session may
# end and its pid be reused by a new, unrelated session; that one must never be signalled.
SIGNAL_SQL = ("SELECT pg_catalog.%s(a.pid) FROM pg_catalog.pg_stat_activity a"
              " WHERE a.pid = %%s AND a.backend_start = %%s AND a.usename IS NOT DISTINCT FROM %%s")
FILTERS = ("pids", "min_duration", "states", "databases", "users", "application_names", "query_pattern")


class BackendSignaller(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.queries = []
        self.conn = None
        self.cur = None

    def execute(self, sql, args=None):
        self.queries.append(self.cur.mogrify(sql, args).decode("utf-8") if args else sql)
        self.cur.execute(sql, args)

    def sessions(self, pids=None):
        sql = SESSIONS_SQL + (" WHERE a.pid = ANY(%s)" if pids is not None else "")
        self.execute(sql, (list(pids),) if pids is not None else None)
        return dict((r[0], dict(zip(COLUMNS, r))) for r in self.cur.fetchall())

    @staticmethod
    def public(row):
        return dict(pid=row["pid"], database=row["database"], user=row["user"],
                    application_name=row["application_name"], client_addr=row["client_addr"], state=row["state"],
                    duration=round(row["duration"] or 0.0, 3), query=shorten_query(row["query"], 200, True))

    def signal(self, func, entry, original):
        """Send ``func`` to the session ``original`` (a row of sessions()) only if it is still that session.

        Sets the entry's outcome to V(already_gone) when no backend has that pid, start time and role any more."""
        try:
            self.execute(SIGNAL_SQL % func, (original["pid"], original["backend_start"], original["user"]))
            row = self.cur.fetchone()
        except psycopg2.Error as exc:
            entry["outcome"], entry["error"] = "failed", describe_error(exc)
            return False
        if row is None:
            entry["outcome"] = "already_gone"
            return False
        return bool(row[0])

    @staticmethod
    def same_session(row, original):
        """``row`` (or None) is still the session ``original``, not a new session that reuses its pid."""
        return row is not None and row["backend_start"] == original["backend_start"]

    def identified(self, rows, originals):
        """``rows`` by pid, without the rows of new sessions that reuse a selected pid."""
        return dict((pid, row) for pid, row in rows.items() if self.same_session(row, originals[pid]))

    def wait(self, pids, done, timeout, originals):
        """Poll until done(row_or_None, pid) holds for every pid or timeout; returns the last rows (a pid now
        used by another session counts as gone)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.identified(self.sessions(pids), originals)
            if all(done(rows.get(pid), pid) for pid in pids) or time.monotonic() >= deadline:
                return rows
            time.sleep(0.1)

    def act(self, targets, originals):
        p = self.p
        live = [t for t in targets if "outcome" not in t]
        if p["action"] == "cancel" or p["cancel_first"]:
            for t in live:
                self.signal("pg_cancel_backend", t, originals[t["pid"]])
            live = [t for t in live if "outcome" not in t]
            if p["action"] == "cancel":
                for t in live:
                    t["outcome"] = "cancelled"
                return

            def quiet(row, pid):
                before = originals[pid]
                return row is None or row["state"] != "active" or row["query_start"] != before["query_start"]

            rows = self.wait([t["pid"] for t in live], quiet, p["cancel_wait"], originals)
            for t in live:
                row = rows.get(t["pid"])
                if row is None or (row["state"] != "active" and not (row["state"] or "").startswith("idle in transaction")):
                    t["outcome"] = "cancelled"
            live = [t for t in live if "outcome" not in t]
        for t in live:
            self.signal("pg_terminate_backend", t, originals[t["pid"]])
        live = [t for t in live if "outcome" not in t]
        if live:
            rows = self.wait([t["pid"] for t in live], lambda row, pid: row is None, p["wait_timeout"], originals)
            for t in live:
                t["outcome"] = "terminated" if t["pid"] not in rows else "signalled"

    def run(self):
        p = self.p
        self.conn = connect(p, "reflexion.incident.pg_backend")
        self.conn.autocommit = True  # every poll must see a fresh pg_stat_activity snapshot
        self.cur = self.conn.cursor()
        self.execute("SET statement_timeout = 10000")
        self.execute("SELECT pg_backend_pid()")
        own_pid = self.cur.fetchone()[0]
        rows = self.sessions()
        filters = dict((k, p[k]) for k in FILTERS if k != "query_pattern")
        filters["query_regex"] = re.compile(p["query_pattern"]) if p["query_pattern"] else None
        chosen, spared = select_targets(sorted(rows.values(), key=lambda r: r["pid"]), filters, own_pid,
                                        p["allow_superuser"], p["protected_applications"])
        targets = [self.public(r) for r in chosen]
        result = dict(changed=False, targets=targets, spared=spared, own_pid=own_pid, queries=self.queries,
                      diff=dict(before=dict(pids=[t["pid"] for t in targets]), after=dict(pids=[t["pid"] for t in targets])))
        if len(targets) > p["max_targets"]:
            for t in targets:
                t["outcome"] = "not_touched"
            result["failed"] = True
            result["msg"] = ("max_targets: %d sessions match (pids %s), more than max_targets=%d; nothing was touched"
                             % (len(targets), ", ".join(str(t["pid"]) for t in targets), p["max_targets"]))
            return result
        if self.module.check_mode:
            for t in targets:
                t["outcome"] = "would_" + p["action"]
            result["changed"] = bool(targets)
            result["diff"]["after"]["pids"] = [] if p["action"] == "terminate" else result["diff"]["after"]["pids"]
            return result
        originals = dict((r["pid"], r) for r in chosen)
        self.act(targets, originals)
        result["changed"] = any(t["outcome"] in ("cancelled", "terminated", "signalled") for t in targets)
        if p["action"] == "terminate":
            still = self.identified(self.sessions([t["pid"] for t in targets]), originals) if targets else {}
            result["diff"]["after"]["pids"] = sorted(still)
        failed = [t for t in targets if t["outcome"] == "failed"]
        if failed:
            result["failed"] = True
            result["msg"] = "could not signal %d session(s): %s" % (
                len(failed), "; ".join("%d: %s" % (t["pid"], t["error"]) for t in failed))
        return result

    def close(self):
        if self.conn is not None:
            self.conn.close()


def validate(module):
    p = module.params
    require_finite(module, module.argument_spec)
    msg = validate_connection_params(p)
    if msg:
        module.fail_json(msg=msg)
    if not any(p[k] not in (None, [], "") for k in FILTERS):
        module.fail_json(msg="give at least one filter: %s" % ", ".join(FILTERS))
    bad = [pid for pid in p["pids"] if pid <= 0 or pid > 2147483647]
    if bad:
        module.fail_json(msg="pids: backend pids are positive integers (at most 2147483647), got %s" % bad)
    for name in ("min_duration", "cancel_wait", "wait_timeout"):
        if p[name] is not None and p[name] < 0:
            module.fail_json(msg="%s: must be 0 or more seconds, got %s" % (name, p[name]))
    if p["max_targets"] < 1:
        module.fail_json(msg="max_targets: must be 1 or more, got %d" % p["max_targets"])
    if p["query_pattern"]:
        try:
            re.compile(p["query_pattern"])
        except re.error as exc:
            module.fail_json(msg="query_pattern: not a valid regular expression: %s" % exc)


def main():
    argument_spec = dict(
        action=dict(type="str", required=True, choices=["cancel", "terminate"]),
        pids=dict(type="list", elements="int", default=[]),
        min_duration=dict(type="float"),
        states=dict(type="list", elements="str", choices=PG_STATES, default=[]),
        databases=dict(type="list", elements="str", default=[]),
        users=dict(type="list", elements="str", default=[]),
        application_names=dict(type="list", elements="str", default=[]),
        query_pattern=dict(type="str"),
        allow_superuser=dict(type="bool", default=False),
        protected_applications=dict(type="list", elements="str", default=["pg_dump", "pg_restore", "pg_basebackup"]),
        max_targets=dict(type="int", default=5),
        cancel_first=dict(type="bool", default=False),
        cancel_wait=dict(type="float", default=5.0),
        wait_timeout=dict(type="float", default=10.0),
    )
    argument_spec.update(POSTGRES_COMMON_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    ensure_psycopg2(module)
    validate(module)
    worker = BackendSignaller(module)
    try:
        result = worker.run()
    except psycopg2.Error as exc:
        module.fail_json(msg="PostgreSQL: %s" % describe_error(exc), changed=False, queries=worker.queries)
    finally:
        worker.close()
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
