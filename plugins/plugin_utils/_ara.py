# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this plugin_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""Run history with ARA (issue 21): the pure parts of the reflexion.incident.ara callback.

- ``incident_labels``: the ARA labels of a run from an incident record (incident id, scenario, severity);
- ``merge_labels``: a playbook's labels with ours replaced (a severity change replaces ``severity:P2``);
- ``secret_values``/``scrub``: a task result made safe to store: the values of the run's variables whose
  names say secret are masked wherever they appear, values under a secret-looking key are masked, and
  every string goes through ``_redact.redact`` (DSN passwords, bearer tokens, provider keys, ``password=...``);
- ``safe_defaults``: ARA's settings that keep vars files, extra vars and facts out of its database;
- ``run_line``: the line appended to ``<incident>/runs.jsonl`` (the incident page links the runs from it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleError

from ansible_collections.reflexion.incident.plugins.module_utils._redact import MASK, redact, sensitive_name

# Labels we own: replaced, never duplicated, when the incident changes during a run.
LABEL_PREFIXES = ("incident:", "scenario:", "severity:")
SCENARIO_RE = re.compile(r"\A([a-z][a-z0-9_]{0,62}):")
SEVERITY_RE = re.compile(r"\AP[0-3]\Z")
# ARA's label and name columns hold 255 characters.
LABEL_MAX = 254
# A result nested deeper than this is stored as a placeholder (bounded work on pathological results).
MAX_DEPTH = 32
RUNS_NAME = "runs.jsonl"

# ARA's own settings (environment variables, lists are comma separated), set only where the user set nothing.
#  - facts: none stored (ansible_env and friends carry tokens);
#  - CLI arguments: extra vars and every password-ish argument;
#  - files: the playbook and role files are stored verbatim, vars files are not: group_vars, host_vars,
#    vars/ and vars_files, inventories, and any file whose name says vault or secret. `.ansible/tmp` is
#    ARA's own default (module payloads); ARA swaps it for the configured local temp directory.
SAFE_DEFAULTS = {
    "ARA_IGNORED_FACTS": "all",
    "ARA_IGNORED_ARGUMENTS": "extra_vars,vault_password_files,vault_ids,become_password_file,"
                             "connection_password_file,private_key_file",
    "ARA_IGNORED_FILES": ".ansible/tmp,"
                         "regex:/(group_vars|host_vars|vars|inventory|inventories)/,"
                         "regex:(?i)(vault|secret|passw|credential|token)[^/]*$",
    "ARA_RECORD_TASK_CONTENT": "true",
}


def safe_defaults(environ):
    """The ARA_* settings to add to ``environ`` (those the user already set are left alone)."""
    return dict((k, v) for k, v in SAFE_DEFAULTS.items() if not environ.get(k))


def scenario_of(record):
    """The scenario of an incident: the triage role opens it with the title ``<scenario>: <reason>``."""
    match = SCENARIO_RE.match(str((record or {}).get("title") or ""))
    return match.group(1) if match else None


def incident_labels(record):
    """Labels for an incident record (the ``record`` returned by reflexion.incident.incident)."""
    record = record or {}
    labels = []
    if record.get("id"):
        labels.append("incident:%s" % record["id"])
    scenario = scenario_of(record)
    if scenario:
        labels.append("scenario:%s" % scenario)
    severity = record.get("severity")
    if severity and SEVERITY_RE.match(str(severity)):
        labels.append("severity:%s" % severity)
    return [label[:LABEL_MAX] for label in labels]


def merge_labels(current, ours):
    """``current`` labels (names) without the ones we own, plus ``ours``, order kept, no duplicates."""
    out = []
    for label in list(current or []):
        if label.startswith(LABEL_PREFIXES) or label in out:
            continue
        out.append(label)
    for label in ours:
        if label not in out:
            out.append(label)
    return out


def secret_values(variables, found=None, depth=0, limit=1000):
    """The string values of ``variables`` held under names that say secret (masked wherever they appear).

    Values that are still templates or shorter than 6 characters are left out (too common to mask)."""
    found = set() if found is None else found
    if depth > 8 or len(found) >= limit:
        return found
    if isinstance(variables, dict):
        for key, value in variables.items():
            if isinstance(key, str) and sensitive_name(key):
                _strings(value, found, depth + 1, limit)
            elif isinstance(value, (dict, list, tuple)):
                secret_values(value, found, depth + 1, limit)
    elif isinstance(variables, (list, tuple)):
        for value in variables:
            secret_values(value, found, depth + 1, limit)
    return found


def _strings(value, found, depth, limit):
    if depth > 8 or len(found) >= limit:
        return
    if isinstance(value, dict):
        for item in value.values():
            _strings(item, found, depth + 1, limit)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _strings(item, found, depth + 1, limit)
    elif isinstance(value, str) or type(value).__name__ == "AnsibleVaultEncryptedUnicode":
        try:
            text = str(value)
        except AnsibleError:  # a vault value that cannot be decrypted here is not in any result either
            return
        if len(text) >= 6 and "{{" not in text and "{%" not in text:
            found.add(text)


def mask(text, secrets):
    """``text`` with every known secret value replaced by MASK, longest first."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def scrub(value, secrets=(), depth=0):
    """A copy of ``value`` (a task result) with secrets masked; the input is not modified.

    ``secrets``: known secret values (``secret_values``), sorted longest first."""
    if depth > MAX_DEPTH:
        return "(nested too deep: not stored)"
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, str) and sensitive_name(key) and item not in (None, "", [], {}) \
                    and not isinstance(item, bool):
                out[key] = MASK
            else:
                out[key] = scrub(item, secrets, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [scrub(item, secrets, depth + 1) for item in value]
    if isinstance(value, str):
        return redact(mask(value, secrets))[0]
    return value


def playbook_url(base, playbook_id):
    """The ARA web page of a recorded playbook, or None without a server to show it."""
    if not base or playbook_id is None:
        return None
    return "%s/playbooks/%s.html" % (str(base).rstrip("/"), int(playbook_id))


def run_line(at, incident_id, playbook_id, url, playbook, labels, status, database=None):
    """One line of ``runs.jsonl``: field ``ara_playbook_id`` (int) and ``ara_url`` (str or null)."""
    line = {
        "at": at,
        "event": "run",
        "incident": incident_id,
        "ara_playbook_id": playbook_id,
        "ara_url": url,
        "playbook": playbook,
        "labels": list(labels),
        "status": status,
    }
    if database:
        line["ara_database"] = database
    return line
