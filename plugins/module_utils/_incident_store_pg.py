# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The PostgreSQL backend of the incident store (store=postgresql).

Three tables, created on first use (under a global advisory lock, so concurrent first users do not race):

  reflexion_incident_event     (incident_id, seq, event, line, written_at)  append-only; PK (incident_id, seq)
  reflexion_incident_record    (incident_id, record, updated_at)           the folded record, a snapshot
  reflexion_incident_timeline  (incident_id, seq, entry, written_at)       the incident_timeline callback's records

``event``/``record``/``entry`` hold the same JSON text the files backend writes (json.dumps, sorted keys),
so both backends give byte-identical events. An append is one transaction that first takes
``pg_advisory_xact_lock(<namespace>, hashtext(<incident id>))``, then reads the incident's events, decides,
inserts ``seq = count + 1`` and upserts the snapshot: writers of one incident are serialised, the primary
key refuses a duplicate sequence number, and a failed writer leaves nothing behind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.reflexion.incident.plugins.module_utils._incident import IncidentError
from ansible_collections.reflexion.incident.plugins.module_utils._postgres import (
    HAS_PSYCOPG2,
    connect,
    describe_error,
    psycopg2,
    validate_connection_params,
)

# Advisory lock namespace (the first int4 of the two-key form): "rxin" as an integer.
LOCK_NS = 0x7278696E
EVENT_TABLE = "reflexion_incident_event"
RECORD_TABLE = "reflexion_incident_record"
TIMELINE_TABLE = "reflexion_incident_timeline"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS %s (incident_id text NOT NULL, seq integer NOT NULL CHECK (seq > 0), "
    "event text NOT NULL, line text NOT NULL, written_at timestamptz NOT NULL DEFAULT clock_timestamp(), "
    "PRIMARY KEY (incident_id, seq))" % EVENT_TABLE,
    "CREATE TABLE IF NOT EXISTS %s (incident_id text PRIMARY KEY, record text NOT NULL, "
    "updated_at timestamptz NOT NULL DEFAULT clock_timestamp())" % RECORD_TABLE,
    "CREATE TABLE IF NOT EXISTS %s (incident_id text NOT NULL, seq bigserial, entry text NOT NULL, "
    "written_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (incident_id, seq))" % TIMELINE_TABLE,
)


def _err(exc):
    return "store: PostgreSQL incident store: %s" % describe_error(exc)


class PgTransaction(object):
    def __init__(self, store, incident_id, create):
        self.store = store
        self.incident_id = incident_id
        self.create = create
        self.cur = None
        self.events = []

    def __enter__(self):
        conn = self.store.conn
        try:
            self.cur = conn.cursor()
            self.cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_NS, self.incident_id))
            self.events = self.store._read(self.cur, self.incident_id)
        except psycopg2.Error as exc:
            conn.rollback()
            raise IncidentError(_err(exc)) from None
        if not self.create and not self.events:
            conn.rollback()
            raise IncidentError("id: incident %s does not exist in the PostgreSQL store; open it first (event=open)"
                                % self.incident_id)
        return self

    def append(self, event, line, record):
        seq = len(self.events) + 1
        self.cur.execute(
            "INSERT INTO " + EVENT_TABLE + " (incident_id, seq, event, line) VALUES (%s, %s, %s, %s)",
            (self.incident_id, seq, json.dumps(event, sort_keys=True), line),
        )
        self.cur.execute(
            "INSERT INTO " + RECORD_TABLE + " (incident_id, record) VALUES (%s, %s) ON CONFLICT (incident_id) "
            "DO UPDATE SET record = EXCLUDED.record, updated_at = clock_timestamp()",
            (self.incident_id, json.dumps(record, sort_keys=True)),
        )
        self.events.append(event)

    def __exit__(self, exc_type, exc, tb):
        conn = self.store.conn
        if exc_type is None:
            try:
                conn.commit()
            except psycopg2.Error as err:
                conn.rollback()
                raise IncidentError(_err(err)) from None
            return False
        try:
            conn.rollback()
        except psycopg2.Error:
            pass
        if isinstance(exc, psycopg2.Error):
            raise IncidentError(_err(exc)) from None
        return False


class PgStore(object):
    """Events in PostgreSQL. ``params``: the postgres doc fragment's options (login_host, port, ...)."""

    name = "postgresql"

    def __init__(self, params, base_dir=None, application_name="reflexion.incident", read_only=False):
        if not HAS_PSYCOPG2:
            raise IncidentError("store: store=postgresql needs psycopg2 on the host that runs it "
                                "(python3-psycopg2 or psycopg2-binary)")
        problem = validate_connection_params(params)
        if problem:
            raise IncidentError(problem)
        self.base = base_dir
        try:
            self.conn = connect(params, application_name)
        except psycopg2.Error as exc:
            raise IncidentError(_err(exc)) from None
        self.conn.autocommit = False
        self.ready = False
        self._ensure_schema(read_only)

    def _ensure_schema(self, read_only):
        cur = self.conn.cursor()
        try:
            cur.execute("SELECT to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL",
                        (EVENT_TABLE, RECORD_TABLE, TIMELINE_TABLE))
            self.ready = cur.fetchone()[0]
            if not self.ready and not read_only:
                # Concurrent first users: one creates, the others wait and find the tables.
                cur.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_NS,))
                for statement in SCHEMA:
                    cur.execute(statement)
                self.ready = True
            self.conn.commit()
        except psycopg2.Error as exc:
            self.conn.rollback()
            raise IncidentError(_err(exc)) from None

    def location(self, incident_id):
        """Where the incident's files (reports, status updates) go: the files directory when one is given."""
        if self.base:
            return os.path.join(self.base, incident_id)
        return "postgresql:%s/%s" % (EVENT_TABLE, incident_id)

    @staticmethod
    def _read(cur, incident_id):
        cur.execute("SELECT event FROM " + EVENT_TABLE + " WHERE incident_id = %s ORDER BY seq", (incident_id,))
        return [json.loads(row[0]) for row in cur.fetchall()]

    def _query(self, fn, empty=None):
        if not self.ready:
            # check mode before the first write: no table yet, nothing stored yet
            return empty
        try:
            out = fn(self.conn.cursor())
            self.conn.commit()
            return out
        except psycopg2.Error as exc:
            self.conn.rollback()
            raise IncidentError(_err(exc)) from None

    def events(self, incident_id):
        return self._query(lambda cur: self._read(cur, incident_id), [])

    def exists(self, incident_id):
        return bool(self.events(incident_id))

    def transaction(self, incident_id, create):
        return PgTransaction(self, incident_id, create)

    def records(self, limit=1000):
        def q(cur):
            cur.execute("SELECT record FROM (SELECT incident_id, record FROM " + RECORD_TABLE +
                        " ORDER BY incident_id DESC LIMIT %s) r ORDER BY incident_id", (limit,))
            return [json.loads(row[0]) for row in cur.fetchall()]

        return self._query(q, [])

    def append_timeline(self, incident_id, line):
        def q(cur):
            cur.execute("INSERT INTO " + TIMELINE_TABLE + " (incident_id, entry) VALUES (%s, %s)", (incident_id, line))

        return self._query(q)

    def timeline(self, incident_id, limit=5000):
        def q(cur):
            cur.execute("SELECT entry FROM (SELECT seq, entry FROM " + TIMELINE_TABLE + " WHERE incident_id = %s "
                        "ORDER BY seq DESC LIMIT %s) t ORDER BY seq", (incident_id, limit))
            return [json.loads(row[0]) for row in cur.fetchall()]

        return self._query(q, [])

    def close(self):
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass
