# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The incident store: where events live. Two backends with the same semantics (docs/incident-record.md).

- ``FileStore`` (store=files, the default): ``<dir>/<id>/incident.jsonl`` etc., appends under flock(2).
- ``PgStore`` (store=postgresql, _incident_store_pg.py): rows appended in one transaction under
  ``pg_advisory_xact_lock`` per incident.

Both are append-only: an event is never rewritten. Every backend offers the same small API:
``events(id)`` (read, [] when absent), ``transaction(id, create)`` (a context manager whose object has
``events`` and ``append(event, line, record)``), ``records(limit)``, ``append_timeline(id, line)``,
``timeline(id, limit)``, ``location(id)`` and ``close()``. ``apply()`` below is the one read-decide-append
routine both use, so the same request gives the same event, the same id and the same record.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.reflexion.incident.plugins.module_utils._incident import (
    ID_RE,
    JSONL_NAME,
    LOG_NAME,
    TIMELINE_NAME,
    IncidentError,
    Locked,
    append_line,
    empty_record,
    ensure_dir,
    fold,
    human_line,
    plan,
    read_events,
    write_record,
)

STORES = ("files", "postgresql")
# Caps: how many incidents a listing returns, how many timeline records a read returns.
LIST_MAX = 1000
TIMELINE_MAX = 5000


class FileTransaction(object):
    def __init__(self, store, incident_id):
        self.store = store
        self.incident_id = incident_id
        self.path = store.location(incident_id)
        self.lock = Locked(self.path)
        self.events = []

    def __enter__(self):
        self.lock.__enter__()
        self.events = read_events(self.path)
        return self

    def append(self, event, line, record):
        append_line(os.path.join(self.path, JSONL_NAME), json.dumps(event, sort_keys=True))
        append_line(os.path.join(self.path, LOG_NAME), line)
        write_record(self.path, record)
        self.events.append(event)

    def __exit__(self, *exc):
        return self.lock.__exit__(*exc)


class FileStore(object):
    """Today's layout: one directory per incident under ``base_dir``."""

    name = "files"

    def __init__(self, base_dir):
        if not base_dir:
            raise IncidentError("dir: required when store=files")
        if os.path.exists(base_dir) and not os.path.isdir(base_dir):
            raise IncidentError("dir: %s exists and is not a directory" % base_dir)
        self.base = base_dir

    def location(self, incident_id):
        return os.path.join(self.base, incident_id)

    def exists(self, incident_id):
        return os.path.isdir(self.location(incident_id))

    def events(self, incident_id):
        return read_events(self.location(incident_id)) if self.exists(incident_id) else []

    def transaction(self, incident_id, create):
        if not create and not self.exists(incident_id):
            raise IncidentError("id: incident %s does not exist in %s; open it first (event=open)" % (incident_id, self.base))
        ensure_dir(self.base)
        ensure_dir(self.location(incident_id))
        return FileTransaction(self, incident_id)

    def ids(self):
        if not os.path.isdir(self.base):
            return []
        names = os.listdir(self.base)
        return sorted(n for n in names if ID_RE.match(n) and os.path.isfile(os.path.join(self.base, n, JSONL_NAME)))

    def records(self, limit=LIST_MAX):
        """The folded records, newest id last, at most ``limit`` (the newest ones)."""
        return [fold(i, self.events(i)) for i in self.ids()[-limit:]]

    def append_timeline(self, incident_id, line):
        path = self.location(incident_id)
        ensure_dir(path)
        with Locked(path):
            append_line(os.path.join(path, TIMELINE_NAME), line)

    def timeline(self, incident_id, limit=TIMELINE_MAX):
        path = os.path.join(self.location(incident_id), TIMELINE_NAME)
        if not os.path.isfile(path):
            return []
        out = []
        with open(path) as fh:
            for raw in fh:
                raw = raw.strip()
                if not raw:
                    continue
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    continue
        return out[-limit:]

    def close(self):
        pass


def open_store(store, base_dir=None, pg_params=None, application_name="reflexion.incident", read_only=False):
    """The backend named by ``store``; raises IncidentError naming the option at fault.

    ``read_only`` (check mode, reads): the PostgreSQL backend then creates no table; a missing table reads as empty."""
    if store in (None, "", "files"):
        return FileStore(base_dir)
    if store == "postgresql":
        from ansible_collections.reflexion.incident.plugins.module_utils._incident_store_pg import PgStore

        return PgStore(pg_params or {}, base_dir=base_dir, application_name=application_name, read_only=read_only)
    raise IncidentError("store: must be one of %s, got %r" % (", ".join(STORES), store))


def apply(store, request, check_mode=False):
    """Read, decide and append in one locked step.

    Returns (before, after, event_or_None, line_or_None, events) where ``events`` is the full history
    after the call (what a renderer needs).
    """
    incident_id = request["id"]
    if check_mode:
        history = store.events(incident_id)
        before = fold(incident_id, history) if history else empty_record(incident_id)
        if not history and request["event"] != "open":
            # A dry run did not write the open that precedes this event either: plan as if it had.
            history = [{"id": incident_id, "event": "open", "at": request["at"], "user": request["user"]}]
            before = fold(incident_id, history)
        event = plan(before, request)
        events = history + [event] if event else history
        after = fold(incident_id, events) if event else before
        return before, after, event, human_line(event) if event else None, events
    with store.transaction(incident_id, create=request["event"] == "open") as tx:
        events = list(tx.events)
        before = fold(incident_id, events)
        event = plan(before, request)
        if event is None:
            return before, before, None, None, events
        line = human_line(event)
        events.append(event)
        after = fold(incident_id, events)
        tx.append(event, line, after)
    return before, after, event, line, events
