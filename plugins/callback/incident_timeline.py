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
  - Appends one JSON line per task and host (start, end, host, task, action, status, changed, failed,
    a short result) to C(<dir>/<id>/timeline.jsonl), under the same lock as M(reflexion.incident.incident).
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
options:
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
    locked_append,
)
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

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super(CallbackModule, self).set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self.incident_dir = self.get_option("incident_dir") or None
        incident_id = self.get_option("incident_id")
        self.incident_id = incident_id if incident_id and ID_RE.match(incident_id) else None

    # --- where the incident is

    def _adopt(self, incident_id=None, incident_dir=None):
        if not self.incident_id and incident_id and ID_RE.match(str(incident_id)):
            self.incident_id = str(incident_id)
        if not self.incident_dir and incident_dir:
            self.incident_dir = str(incident_dir)
        self._flush()

    def v2_playbook_on_play_start(self, play):
        self.play_name = play.get_name()
        pvars = play.vars or {}
        ident, pdir = pvars.get("reflexion_incident_id"), pvars.get("reflexion_incident_dir")
        # only literal values: play vars are not templated here
        ident = ident if isinstance(ident, str) and "{{" not in ident else None
        pdir = pdir if isinstance(pdir, str) and "{{" not in pdir else None
        self._adopt(ident, pdir)

    # --- recording

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.starts[task._uuid] = _now()

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def _record(self, result, status):
        task = result._task
        res = result._result or {}
        action = task.action
        if action in INCIDENT_ACTIONS and res.get("id") and res.get("path") and not res.get("failed"):
            self._adopt(res["id"], os.path.dirname(res["path"]))
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
        if not (self.incident_id and self.incident_dir and self.pending):
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

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        if self.pending:
            self._display.warning(
                "incident_timeline: %d task record(s) not written: no incident id/dir was found "
                "(set REFLEXION_INCIDENT_ID and REFLEXION_INCIDENT_DIR, or run reflexion.incident.incident)" % len(self.pending)
            )
