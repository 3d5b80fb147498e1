# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: incident_timeline
type: notification
short_description: Record every task of a run into the incident's timeline
version_added: 0.1.0
description:
  - Appends one JSON record per task and host (start, end, host, task, action, status, changed, failed,
    a short result) to the incident's store, the same store as M(reflexion.incident.incident) - with the files
    store a line of C(<dir>/<id>/timeline.jsonl), under the same lock; with the PostgreSQL store a row of
    C(reflexion_incident_timeline), so a timeline written by one AWX job is read by the next on another node.
  - "The store: the option O(store) below; else the C(store) a M(reflexion.incident.incident) task of the run
    returned; else the play variable C(reflexion_incident_store); else V(files). The PostgreSQL store is reached
    with O(pg_dsn) and libpq's environment (E(PGHOST), E(PGPORT), E(PGUSER), E(PGPASSWORD), E(PGDATABASE)) -
    the callback never sees a module's O(reflexion.incident.incident#module:login_password), so give the
    connection through the environment (an AWX credential injects it) when the timeline should go to PostgreSQL."
  - "Finding the incident, first match wins: the options below (environment or ansible.cfg);
    the result of a M(reflexion.incident.incident) task in the run (its C(id) and C(path));
    the play variables C(reflexion_incident_id) and C(reflexion_incident_dir)."
  - Tasks that finish before the incident is known are buffered and written once it is known.
  - Respects C(no_log) - the result of a hidden task is never written, only that it ran and its status.
    The short result of other tasks is redacted (keys, tokens, passwords) and cut to 200 characters;
    each value is cut to 4096 characters before it is redacted, so a huge output costs bounded time.
  - "Enable it with C(callbacks_enabled = reflexion.incident.incident_timeline) in ansible.cfg
    or E(ANSIBLE_CALLBACKS_ENABLED=reflexion.incident.incident_timeline)."
requirements:
  - enabled in ansible.cfg (callbacks_enabled) or ANSIBLE_CALLBACKS_ENABLED
  - psycopg2 on the controller for the PostgreSQL store
options:
  store:
    description: The incident store, V(files) or V(postgresql) (see above).
    type: str
    choices: [files, postgresql]
    env:
      - name: REFLEXION_INCIDENT_STORE
    ini:
      - section: callback_incident_timeline
        key: store
  pg_dsn:
    description: A libpq connection string or URI for the PostgreSQL store; empty means libpq's environment.
    type: str
    env:
      - name: REFLEXION_INCIDENT_PG_DSN
    ini:
      - section: callback_incident_timeline
        key: pg_dsn
  incident_dir:
    description: The incidents directory (the incident is C(<incident_dir>/<id>)).
    type: path
    env:
      - name: REFLEXION_INCIDENT_DIR
    ini:
      - section: callback_incident_timeline
        key: incident_dir
  incident_id:
    description: The incident id, C(incident-YYYY-MM-DD-HHMMSS).
    type: str
    env:
      - name: REFLEXION_INCIDENT_ID
    ini:
      - section: callback_incident_timeline
        key: incident_id
"""

import datetime
import json
import os

from ansible.plugins.callback import CallbackBase

from ansible_collections.reflexion.incident.plugins.module_utils._incident import (
    ID_RE,
    TIMELINE_NAME,
    IncidentError,
    locked_append,
)
from ansible_collections.reflexion.incident.plugins.module_utils._incident_store import open_store
from ansible_collections.reflexion.incident.plugins.module_utils._redact import redact

SHORT_KEYS = ("msg", "reason", "severity", "status", "line", "rc", "stdout")
SHORT_MAX = 200
# each value is cut to this many characters before it is redacted (the summary shows SHORT_MAX of them)
PRE_CUT = 4096
INCIDENT_ACTIONS = ("reflexion.incident.incident", "incident")


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def short_result(result):
    """A one-line summary of a task result, redacted and cut to SHORT_MAX characters."""
    parts = []
    for key in SHORT_KEYS:
        value = result.get(key)
        if value in (None, "", [], {}):
            continue
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
        if len(text) > PRE_CUT:
            # bounded work whatever the task printed (a 200 MB stdout): cut first, at a space so that a token
            # is kept or dropped whole, then redact the little that can be shown
            cut = text[:PRE_CUT]
            text = cut.rsplit(None, 1)[0] if len(cut.split(None, 1)) > 1 else cut
        parts.append("%s=%s" % (key, " ".join(text.split())))
        if len(parts) == 2:
            break
    text = redact("; ".join(parts), line_cap=PRE_CUT)[0]
    return text if len(text) <= SHORT_MAX else text[: SHORT_MAX - 3] + "..."


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "reflexion.incident.incident_timeline"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        self.incident_id = None
        self.incident_dir = None
        self.starts = {}
        self.pending = []
        self.play_name = None
        self.store = None
        self.pg_dsn = None
        self._pg = None
        self._pg_failed = False

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super(CallbackModule, self).set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self.incident_dir = self.get_option("incident_dir") or None
        self.store = self.get_option("store") or None
        self.pg_dsn = self.get_option("pg_dsn") or None
        incident_id = self.get_option("incident_id")
        self.incident_id = incident_id if incident_id and ID_RE.match(incident_id) else None

    # --- where the incident is

    def _adopt(self, incident_id=None, incident_dir=None, store=None):
        if not self.store and store in ("files", "postgresql"):
            self.store = store
        if not self.incident_id and incident_id and ID_RE.match(str(incident_id)):
            self.incident_id = str(incident_id)
        if not self.incident_dir and incident_dir:
            self.incident_dir = str(incident_dir)
        self._flush()

    def v2_playbook_on_play_start(self, play):
        self.play_name = play.get_name()
        pvars = play.vars or {}
        ident, pdir = pvars.get("reflexion_incident_id"), pvars.get("reflexion_incident_dir")
        pstore = pvars.get("reflexion_incident_store")
        # only literal values: play vars are not templated here
        ident = ident if isinstance(ident, str) and "{{" not in ident else None
        pdir = pdir if isinstance(pdir, str) and "{{" not in pdir else None
        self._adopt(ident, pdir, pstore if isinstance(pstore, str) else None)

    # --- recording

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.starts[task._uuid] = _now()

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def _record(self, result, status):
        task = result._task
        res = result._result or {}
        action = task.action
        if action in INCIDENT_ACTIONS and res.get("id") and res.get("path") and not res.get("failed"):
            store = res.get("store")
            path = res["path"]
            pdir = None if path.startswith("postgresql:") else os.path.dirname(path)
            self._adopt(res["id"], pdir, store)
        hidden = bool(task.no_log) or bool(res.get("_ansible_no_log"))
        entry = {
            "start": self.starts.get(task._uuid),
            "end": _now(),
            "play": self.play_name,
            "task": task.get_name(),
            "action": action,
            "host": result._host.get_name(),
            "status": status,
            "changed": bool(res.get("changed")),
            "failed": status in ("failed", "unreachable"),
        }
        if hidden:
            entry["no_log"] = True
            entry["result"] = "(output hidden by no_log)"
        else:
            entry["result"] = short_result(res)
        self.pending.append(entry)
        self._flush()

    def _flush(self):
        if not (self.incident_id and self.pending):
            return
        if self.store == "postgresql":
            self._flush_pg()
            return
        if not self.incident_dir:
            return
        incident_path = os.path.join(self.incident_dir, self.incident_id)
        path = os.path.join(incident_path, TIMELINE_NAME)
        pending, self.pending = self.pending, []
        for entry in pending:
            entry["incident"] = self.incident_id
            try:
                locked_append(incident_path, path, json.dumps(entry, sort_keys=True))
            except OSError as exc:
                self._display.warning("incident_timeline: cannot write %s: %s" % (path, exc))
                return

    def _flush_pg(self):
        """Rows of reflexion_incident_timeline in the PostgreSQL store (one connection for the run)."""
        pending, self.pending = self.pending, []
        if self._pg_failed:
            return
        try:
            if self._pg is None:
                params = {"dsn": self.pg_dsn, "connect_timeout": 5}
                self._pg = open_store("postgresql", pg_params=params, application_name="reflexion.incident.incident_timeline")
            for entry in pending:
                entry["incident"] = self.incident_id
                self._pg.append_timeline(self.incident_id, json.dumps(entry, sort_keys=True))
        except IncidentError as exc:
            # once per run, not once per task: the run goes on without its timeline
            self._pg_failed = True
            self._display.warning("incident_timeline: cannot write the timeline of %s to PostgreSQL: %s"
                                  % (self.incident_id, exc))

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        if self._pg is not None:
            self._pg.close()
            self._pg = None
        if self.pending:
            self._display.warning(
                "incident_timeline: %d task record(s) not written: no incident id/dir was found "
                "(set REFLEXION_INCIDENT_ID and REFLEXION_INCIDENT_DIR, or run reflexion.incident.incident)" % len(self.pending)
            )
