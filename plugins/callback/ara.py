# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ara
type: notification
short_description: Record every run in ARA, labelled with its incident, with secrets kept out
version_added: 0.1.0
description:
  - "Run history with ARA (ARA Records Ansible, U(https://ara.recordsansible.org)): an opt-in switch around
    ARA's own callback. Off by default: with O(enabled) false this callback does nothing and does not
    import ARA. The lab demo (C(make demo)) turns it on."
  - "When on, every playbook run is recorded by ARA's C(ara_default) callback (the C(ara) package, pinned in
    C(requirements.txt)), by default with ARA's offline client into SQLite, see O(database). The ARA API
    server (for example with PostgreSQL) is used with ARA's own settings, E(ARA_API_CLIENT=http) and
    E(ARA_API_SERVER), docs/operator/run-history.md."
  - "Once a M(reflexion.incident.incident) task of the run returns its record (triage's record step), the
    ARA playbook is labelled C(incident:<id>), C(scenario:<scenario>) and C(severity:<P0-P3>) (the labels
    follow a severity change), named C(<scenario> <id>) when it has no name, and a line with
    C(ara_playbook_id) and C(ara_url) is appended to C(<incident>/runs.jsonl) when the run is labelled and
    when it ends (C(status) running, completed or failed)."
  - "Nothing secret is stored: results hidden by C(no_log) reach ARA hidden; every other result is scrubbed
    first (values under a key that names a secret are masked, DSN passwords, bearer tokens and provider keys
    in text are redacted). Unless set otherwise, ARA stores no facts (E(ARA_IGNORED_FACTS=all)), no extra
    vars or password file arguments (E(ARA_IGNORED_ARGUMENTS)) and not the content of vars files,
    inventories or files named like vault/secret/password/token (E(ARA_IGNORED_FILES)). Playbook and role
    files are stored verbatim: keep secrets in vars files or a vault."
  - "The callback is listed in C(callbacks_enabled) of the collection's C(ansible.cfg); elsewhere enable
    it with C(callbacks_enabled = reflexion.incident.ara) or E(ANSIBLE_CALLBACKS_ENABLED)."
requirements:
  - ara[server] (pip), only when O(enabled) is true
options:
  enabled:
    description: Record runs in ARA. Read as a boolean (V(1), V(true), V(yes)).
    type: bool
    default: false
    env:
      - name: REFLEXION_ARA
    ini:
      - section: callback_ara
        key: enabled
  database:
    description:
      - The SQLite database of ARA's offline client (sets E(ARA_DATABASE_NAME) when that is not set).
      - Without it, ARA's default, C(~/.ara/server/ansible.sqlite).
    type: path
    env:
      - name: REFLEXION_ARA_DATABASE
    ini:
      - section: callback_ara
        key: database
  url:
    description:
      - The base URL of an ARA web interface showing this database, for the C(ara_url) of C(runs.jsonl)
        (C(<url>/playbooks/<id>.html)).
      - Without it, E(ARA_API_SERVER) when E(ARA_API_CLIENT=http); with the offline client C(ara_url) is null
        (C(ara-manage runserver 127.0.0.1:8001) serves the SQLite database).
    type: str
    env:
      - name: REFLEXION_ARA_URL
    ini:
      - section: callback_ara
        key: url
"""

import datetime
import json
import os

from ansible.errors import AnsibleError
from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import callback_loader

from ansible_collections.reflexion.incident.plugins.module_utils._incident import ID_RE, locked_append
from ansible_collections.reflexion.incident.plugins.plugin_utils._ara import (
    RUNS_NAME,
    incident_labels,
    merge_labels,
    playbook_url,
    run_line,
    safe_defaults,
    scenario_of,
    scrub,
    secret_values,
)

INCIDENT_ACTIONS = ("reflexion.incident.incident", "incident")
# ARA's callback methods, forwarded as they are (results go through _Scrubbed first).
FORWARD = (
    "v2_playbook_on_start",
    "v2_playbook_on_handler_task_start",
    "v2_playbook_on_task_start",
    "v2_runner_on_start",
    "v2_playbook_on_include",
)
RESULTS = (
    "v2_runner_on_ok",
    "v2_runner_on_failed",
    "v2_runner_on_skipped",
    "v2_runner_on_unreachable",
    "v2_runner_item_on_ok",
    "v2_runner_item_on_failed",
    "v2_runner_item_on_skipped",
)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Scrubbed(object):
    """A task result as ARA reads it (``_result``/``result``), with secrets scrubbed; the rest delegated."""

    def __init__(self, result, secrets):
        self._orig = result
        self._result = scrub(result._result or {}, secrets)
        self.result = self._result

    def __getattr__(self, name):
        return getattr(self._orig, name)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "reflexion.incident.ara"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        self.ara = None
        self.url = None
        self.database = None
        self.incident = None
        self.labels = []
        self.play = None
        self.secrets = set()
        self.secrets_sorted = []
        self.secrets_of = set()

    # --- set up
    def set_options(self, task_keys=None, var_options=None, direct=None):
        super(CallbackModule, self).set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self.disabled = not self.get_option("enabled")
        if self.disabled:
            return
        try:
            import ara.plugins.callback as ara_callbacks
        except ImportError:
            self._display.warning("reflexion.incident.ara: REFLEXION_ARA is on but the ara package is missing "
                                  "(pip install -r requirements.txt); runs are not recorded")
            self.disabled = True
            return
        database = self.get_option("database")
        if database and not os.environ.get("ARA_DATABASE_NAME"):
            database = os.path.abspath(os.path.expanduser(database))
            os.makedirs(os.path.dirname(database), mode=0o700, exist_ok=True)
            os.environ["ARA_DATABASE_NAME"] = database
        os.environ.update(safe_defaults(os.environ))
        client = os.environ.get("ARA_API_CLIENT", "offline")
        if client == "offline":
            self.database = os.environ.get("ARA_DATABASE_NAME") or os.path.join(
                os.environ.get("ARA_BASE_DIR") or os.path.expanduser("~/.ara/server"), "ansible.sqlite")
        self.url = self.get_option("url") or (
            os.environ.get("ARA_API_SERVER", "http://127.0.0.1:8000") if client == "http" else None)
        callback_loader.add_directory(list(ara_callbacks.__path__)[0])
        self.ara = callback_loader.get("ara_default")
        if self.ara is None:
            self._display.warning("reflexion.incident.ara: ARA's ara_default callback was not found; runs are not recorded")
            self.disabled = True
            return
        self.ara.set_options()

    # --- forwarding to ARA's callback
    def _forward(self, name, *args, **kwargs):
        if self.ara is not None:
            getattr(self.ara, name)(*args, **kwargs)

    def v2_playbook_on_play_start(self, play):
        self.play = play
        self.secrets_of = set()
        self._forward("v2_playbook_on_play_start", play)
        # ARA sets the labels of each play from its settings: put ours back
        self._apply_labels()

    def v2_playbook_on_stats(self, stats):
        self._forward("v2_playbook_on_stats", stats)
        if self.incident:
            failed = any(stats.failures.values()) or any(stats.dark.values())
            self._write_run("failed" if failed else "completed")

    def _learn_secrets(self, result):
        """The values of this host's variables named like secrets (inventory, vars files, extra vars, facts)."""
        host = result._host
        before = len(self.secrets)
        if host.get_name() not in self.secrets_of and self.play is not None:
            self.secrets_of.add(host.get_name())
            try:
                variables = self.play._variable_manager.get_vars(play=self.play, host=host, include_hostvars=False)
                secret_values(variables, self.secrets)
            except AnsibleError as exc:  # never fail the run; results are still redacted by pattern
                self._display.warning("reflexion.incident.ara: cannot read the variables of %s: %s" % (host, exc))
        secret_values((result._result or {}).get("ansible_facts") or {}, self.secrets)
        if len(self.secrets) != before:
            self.secrets_sorted = sorted(self.secrets, key=len, reverse=True)

    def _result(self, name, result, **kwargs):
        if self.ara is None:
            return
        self._learn_secrets(result)
        self._forward(name, _Scrubbed(result, self.secrets_sorted), **kwargs)
        if name == "v2_runner_on_ok":
            self._adopt(result)

    # --- the incident
    def _adopt(self, result):
        task = result._task
        res = result._result or {}
        if task.action not in INCIDENT_ACTIONS or res.get("failed") or not isinstance(res.get("record"), dict):
            return
        record = res["record"]
        if not (res.get("path") and record.get("id") and ID_RE.match(str(record["id"]))):
            return
        first = self.incident is None or self.incident["id"] != record["id"]
        self.incident = {"id": record["id"], "dir": str(res["path"]), "scenario": scenario_of(record)}
        labels = incident_labels(record)
        if labels == self.labels and not first:
            return
        self.labels = labels
        self._apply_labels(name=True)
        if first:
            self._write_run("running")

    def _apply_labels(self, name=False):
        if not (self.ara is not None and self.labels and getattr(self.ara, "playbook", None)):
            return
        try:
            playbook = self.ara.playbook
            current = [label["name"] for label in playbook.get("labels") or []]
            wanted = merge_labels(current, self.labels)
            changes = {}
            if sorted(wanted) != sorted(current):
                changes["labels"] = wanted
            if name and not playbook.get("name"):
                changes["name"] = ("%s %s" % (self.incident["scenario"] or os.path.basename(playbook.get("path") or ""),
                                              self.incident["id"])).strip()[:254]
            if changes:
                self.ara.playbook = self.ara.client.patch("/api/v1/playbooks/%s" % playbook["id"], **changes)
        except Exception as exc:  # noqa: BLE001 - an ARA outage (HTTP, database) must not fail the incident's run
            self._display.warning("reflexion.incident.ara: cannot label the ARA playbook: %s" % exc)

    def _write_run(self, status):
        playbook = getattr(self.ara, "playbook", None) or {}
        if not (self.incident and playbook.get("id")):
            return
        line = run_line(_now(), self.incident["id"], playbook["id"], playbook_url(self.url, playbook["id"]),
                        playbook.get("path"), self.labels, status, self.database)
        path = os.path.join(self.incident["dir"], RUNS_NAME)
        try:
            locked_append(self.incident["dir"], path, json.dumps(line, sort_keys=True))
        except OSError as exc:
            self._display.warning("reflexion.incident.ara: cannot write %s: %s" % (path, exc))


def _forwarder(name):
    def method(self, *args, **kwargs):
        self._forward(name, *args, **kwargs)
    method.__name__ = name
    return method


def _result_forwarder(name):
    def method(self, result, **kwargs):
        self._result(name, result, **kwargs)
    method.__name__ = name
    return method


for _name in FORWARD:
    setattr(CallbackModule, _name, _forwarder(_name))
for _name in RESULTS:
    setattr(CallbackModule, _name, _result_forwarder(_name))
