#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: incident
short_description: Open, acknowledge and update an incident record (incident.log plus a JSON-lines twin)
version_added: 0.1.0
description:
  - The runbook's "Initial Response" record keeping. O(event=open) creates the incident (id in the
    runbook's style, C(incident-YYYY-MM-DD-HHMMSS), UTC); O(event=acknowledge) moves it from
    C(open) to C(acknowledged) and appends the runbook's line
    C(Incident acknowledged by <user> at <date>) to C(incident.log); O(event=status) sets
    INVESTIGATING, IDENTIFIED, MONITORING or RESOLVED; O(event=severity) records a severity change;
    O(event=note) appends a note.
  - Every event is appended as a human line to C(<dir>/<id>/incident.log) and as a JSON object to
    C(<dir>/<id>/incident.jsonl) (the source of truth); C(record.json) is the folded record,
    rewritten atomically. Appends hold an exclusive C(flock) on C(<dir>/<id>/.lock) and write each
    line with one C(O_APPEND) write, so concurrent writers lose and tear no line.
  - Idempotent by (incident id, event). Opening or acknowledging twice, setting the current status
    or severity again, or repeating the same note changes nothing.
  - Directories are created with mode 0700 and files with mode 0600. The record belongs on the
    controller; run this module with C(delegate_to=localhost) (and usually C(run_once=true)).
  - Notes and messages are redacted (API keys, tokens, passwords) before they are written.
author:
  - Reflexion SRE team (@reflexion)
options:
  store:
    description:
      - Where the incident's events live (docs/incident-record.md, docs/awx.md "Where incidents live").
      - V(files) (the default) keeps today's layout under O(dir), appends under C(flock).
      - V(postgresql) appends rows to the tables C(reflexion_incident_event) (append-only),
        C(reflexion_incident_record) and C(reflexion_incident_timeline), created on first use, in one
        transaction under C(pg_advisory_xact_lock) per incident, so several execution nodes or controllers
        share one incident. Connects with O(login_host), O(port), O(login_user), O(login_password),
        O(login_db) or O(dsn) (and libpq's E(PGHOST), E(PGPORT), E(PGUSER), E(PGPASSWORD), E(PGDATABASE)).
        Needs psycopg2 on the host that runs the module (the controller, with C(delegate_to=localhost)).
      - Both give the same ids, the same events and the same record.
      - Falls back to the environment variable E(REFLEXION_INCIDENT_STORE).
    type: str
    choices: [files, postgresql]
    default: files
  dir:
    description:
      - The incidents directory; the incident lives in C(<dir>/<id>/). Required with O(store=files).
      - With O(store=postgresql) it is optional and only names where the incident's other files
        (reports, status updates) go; RV(path) is C(<dir>/<id>) then.
      - Falls back to the environment variable E(REFLEXION_INCIDENT_DIR). The collection's roles pass
        the variable C(reflexion_incident_dir) (default C(<project>/incidents); on AWX set it to a path
        outside the job's private data directory, see docs/awx.md).
    type: path
  login_user:
    description:
      - Role to connect to the PostgreSQL store as (O(store=postgresql)). Falls back to E(PGUSER), then to the
        operating system user. It needs CREATE on the database the first time (the tables are created on first
        use), then SELECT and INSERT/UPDATE on them. (Here O(user) is who did the event, not the database role.)
    type: str
    aliases: []
  dsn:
    description:
      - A libpq connection string or URI (C(host=... port=... dbname=...), C(postgresql://...)) for O(store=postgresql).
      - Options given explicitly override the same keys of the DSN. Treated as a secret because it may hold a password.
      - Falls back to E(REFLEXION_INCIDENT_PG_DSN), which the incident_timeline callback reads too.
    type: str
  id:
    description:
      - The incident id, C(incident-YYYY-MM-DD-HHMMSS).
      - Required for every event but O(event=open), which generates it from O(at) when omitted.
    type: str
  event:
    description:
      - What happened.
      - V(read) and V(list) write nothing. V(read) returns the incident's RV(record), RV(events) and RV(timeline);
        V(list) returns RV(incidents), the records of the newest 1000 incidents in the store. Roles read
        incidents this way so that they work with either O(store).
    type: str
    choices: [open, acknowledge, status, severity, note, read, list]
    default: open
  severity:
    description: The severity for O(event=open) (optional there) and O(event=severity) (required there).
    type: str
    choices: [P0, P1, P2, P3]
  status:
    description: The new status, required for O(event=status). V(RESOLVED) sets the resolution time.
    type: str
    choices: [INVESTIGATING, IDENTIFIED, MONITORING, RESOLVED]
  text:
    description: The title (O(event=open)), the note (O(event=note), required there) or a comment on a change.
    type: str
  user:
    description: Who did it; defaults to the user the module runs as (the runbook's C($(whoami))).
    type: str
  at:
    description: When it happened, ISO 8601; defaults to now (UTC).
    type: str
  hosts:
    description:
      - "A fleet incident's per-host evidence: a mapping host -> C(severity), C(status), C(summary) (at most 1000 hosts; texts are
        cut at 512 characters and redacted). Kept on the O(event=open) and O(event=severity) events as C(hosts); the
        record's C(hosts) is the latest one. The triage role passes every host of the play, the incident's severity
        being the worst of them (docs/operator/ssh-fleet.md)."
      - Ignored by the other events.
    type: dict
extends_documentation_fragment:
  - reflexion.incident.postgres
attributes:
  check_mode:
    support: full
    description: Reports the event that would be appended and writes nothing (no directory, no file).
  diff_mode:
    support: full
    description: Shows the record before and after.
  idempotent:
    support: full
    description: Repeating an event that already happened changes nothing.
notes:
  - The PostgreSQL connection options only matter with O(store=postgresql).
  - Times in the record are UTC. The human line uses the format of C(date) with no arguments, in UTC.
seealso:
  - module: reflexion.incident.classify
"""

EXAMPLES = r"""
- name: Open the incident on the controller
  reflexion.incident.incident:
    dir: "{{ playbook_dir }}/../incidents"
    event: open
    severity: "{{ severity.severity }}"
    text: API error rate above 5%
  delegate_to: localhost
  run_once: true
  register: incident

- name: Acknowledge the incident (runbook, Initial Response step 1)
  reflexion.incident.incident:
    dir: "{{ playbook_dir }}/../incidents"
    id: "{{ incident.id }}"
    event: acknowledge
  delegate_to: localhost
  run_once: true

- name: Root cause found
  reflexion.incident.incident:
    dir: "{{ playbook_dir }}/../incidents"
    id: "{{ incident.id }}"
    event: status
    status: IDENTIFIED
    text: v1.1.0 exhausts the DB pool
  delegate_to: localhost
  run_once: true

- name: Read the incident back (works with either store)
  reflexion.incident.incident:
    dir: "{{ reflexion_incident_dir }}"
    id: "{{ incident.id }}"
    event: read
  delegate_to: localhost
  run_once: true
  register: current

- name: Open an incident in the shared PostgreSQL store (AWX with several execution nodes)
  reflexion.incident.incident:
    store: postgresql
    login_host: incidents-db.internal
    login_user: reflexion_incident
    login_password: "{{ reflexion_incident_pg_password }}"
    login_db: reflexion_ops
    event: open
    severity: P1
    text: "high_error_rate: error ratio 43.8%"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
id:
  description: The incident id.
  returned: when O(id) is known (not with O(event=list))
  type: str
  sample: incident-2026-11-26-140311
store:
  description: The store used, V(files) or V(postgresql).
  returned: always
  type: str
  sample: files
path:
  description:
    - The incident's directory (where its reports and status updates go). With O(store=postgresql) and no O(dir),
      C(postgresql:reflexion_incident_event/<id>).
  returned: when O(id) is known (not with O(event=list))
  type: str
  sample: /srv/ops/incidents/incident-2026-11-26-140311
log_file:
  description: The human log, C(incident.log); null with O(store=postgresql) (the line is in the event table).
  returned: when O(id) is known
  type: str
jsonl_file:
  description: The machine twin, C(incident.jsonl); null with O(store=postgresql).
  returned: when O(id) is known
  type: str
event:
  description: The event appended (or that would be, in check mode); null when nothing changed.
  returned: when O(event) is not V(read) or V(list)
  type: dict
  sample: {"id": "incident-2026-11-26-140311", "event": "acknowledge", "user": "bob", "at": "2026-11-26T14:05:00Z"}
line:
  description: The human line appended (or that would be); null when nothing changed.
  returned: when O(event) is not V(read) or V(list)
  type: str
  sample: Incident acknowledged by bob at Thu Nov 26 14:05:00 UTC 2026
record:
  description: The incident after this event (id, title, state, status, severity, opened_at, opened_by,
    acknowledged_at, acknowledged_by, resolved_at, severity_changes, status_changes, notes, events; and C(hosts),
    the latest per-host map, on a fleet incident opened with O(hosts)).
  returned: when O(id) is known (not with O(event=list))
  type: dict
events:
  description: Every event of the incident, oldest first (free-form objects with at least C(id), C(event), C(at), C(user)).
  returned: with O(event=read)
  type: list
  elements: dict
timeline:
  description: The task records of the incident_timeline callback, oldest first (the newest 5000).
  returned: with O(event=read)
  type: list
  elements: dict
incidents:
  description: The records of the newest 1000 incidents in the store, oldest id first.
  returned: with O(event=list)
  type: list
  elements: dict
"""

import getpass
import os

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.reflexion.incident.plugins.module_utils import _incident_page
from ansible_collections.reflexion.incident.plugins.module_utils._incident import (
    EVENTS,
    ID_RE,
    JSONL_NAME,
    LOG_NAME,
    SEVERITIES,
    STATUSES,
    IncidentError,
    fold,
    iso,
    make_id,
    normalize_hosts,
    parse_time,
    utcnow,
)
from ansible_collections.reflexion.incident.plugins.module_utils._incident_store import STORES, apply, open_store
from ansible_collections.reflexion.incident.plugins.module_utils._postgres import POSTGRES_COMMON_SPEC
from ansible_collections.reflexion.incident.plugins.module_utils._redact import redact

READS = ("read", "list")
PG_OPTIONS = tuple(POSTGRES_COMMON_SPEC)


def argument_spec():
    spec = dict(
        store=dict(type="str", default="files", choices=list(STORES), fallback=(env_fallback, ["REFLEXION_INCIDENT_STORE"])),
        dir=dict(type="path", fallback=(env_fallback, ["REFLEXION_INCIDENT_DIR"])),
        id=dict(type="str"),
        event=dict(type="str", default="open", choices=list(EVENTS) + list(READS)),
        severity=dict(type="str", choices=list(SEVERITIES)),
        status=dict(type="str", choices=list(STATUSES)),
        text=dict(type="str"),
        user=dict(type="str"),
        at=dict(type="str"),
        hosts=dict(type="dict"),
    )
    for name, opt in POSTGRES_COMMON_SPEC.items():
        opt = dict(opt)
        # "user" is this module's actor; the database role is login_user only.
        opt["aliases"] = [a for a in opt.get("aliases", []) if a not in spec]
        if not opt["aliases"]:
            del opt["aliases"]
        spec[name] = opt
    # the incident_timeline callback reads the same variable, so one setting serves both
    spec["dsn"]["fallback"] = (env_fallback, ["REFLEXION_INCIDENT_PG_DSN"])
    return spec


def build_request(p):
    """Validate parameters and turn them into an event request (raises IncidentError)."""
    when = parse_time(p["at"]) if p["at"] else utcnow()
    incident_id = p["id"]
    if not incident_id:
        if p["event"] != "open":
            raise IncidentError("id: required when event=%s" % p["event"])
        incident_id = make_id(when)
    if not ID_RE.match(incident_id):
        raise IncidentError("id: must look like incident-YYYY-MM-DD-HHMMSS, got %r" % incident_id)
    try:
        user = p["user"] or getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    message = redact(p["text"])[0] if p["text"] else None
    hosts = normalize_hosts(p["hosts"])
    if hosts:
        for entry in hosts.values():
            entry["summary"] = redact(entry["summary"])[0]
    return {
        "hosts": hosts,
        "id": incident_id,
        "event": p["event"],
        "at": iso(when),
        "user": user,
        "severity": p["severity"],
        "status": p["status"],
        "message": message,
    }


class IncidentAction(object):
    """One call of the module: open the store, read or append, describe the result."""

    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.store = None

    def open_store(self):
        p = self.p
        pg = dict((k, p[k]) for k in PG_OPTIONS)
        read_only = self.module.check_mode or p["event"] in READS
        return open_store(p["store"], base_dir=p["dir"], pg_params=pg, application_name="reflexion.incident.incident",
                          read_only=read_only)

    def describe(self, incident_id):
        files = self.store.name == "files"
        path = self.store.location(incident_id)
        return dict(
            id=incident_id,
            path=path,
            log_file=os.path.join(path, LOG_NAME) if files else None,
            jsonl_file=os.path.join(path, JSONL_NAME) if files else None,
        )

    def event_written(self, record, events):
        """Called once after an event is written (never in check mode, never when nothing changed)."""
        # The incident page (docs/operator/incident-page.md): files store -> re-read under the lock (None).
        if self.p["dir"]:
            _incident_page.refresh(record, None if self.store.name == "files" else events, self.p["dir"], warn=self.module.warn)

    def run(self):
        p = self.p
        if p["event"] == "list":
            return dict(changed=False, store=self.store.name, incidents=self.store.records())
        if p["event"] == "read":
            if not p["id"]:
                raise IncidentError("id: required when event=read")
            if not ID_RE.match(p["id"]):
                raise IncidentError("id: must look like incident-YYYY-MM-DD-HHMMSS, got %r" % p["id"])
            events = self.store.events(p["id"])
            if not events:
                raise IncidentError("id: incident %s does not exist in the %s store" % (p["id"], self.store.name))
            result = dict(changed=False, store=self.store.name, record=fold(p["id"], events), events=events,
                          timeline=self.store.timeline(p["id"]))
            result.update(self.describe(p["id"]))
            return result
        request = build_request(p)
        before, after, event, line, events = apply(self.store, request, check_mode=self.module.check_mode)
        if event is not None and not self.module.check_mode:
            self.event_written(after, events)
        result = dict(changed=event is not None, store=self.store.name, event=event, line=line, record=after)
        result.update(self.describe(request["id"]))
        if self.module._diff:
            result["diff"] = dict(before=before, after=after)
        return result


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("event", "status", ["status"]), ("event", "severity", ["severity"]), ("event", "note", ["text"]),
                     ("store", "files", ["dir"])],
        supports_check_mode=True,
    )
    action = IncidentAction(module)
    try:
        action.store = action.open_store()
        result = action.run()
    except IncidentError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg="dir: cannot write the incident under %s: %s" % (module.params["dir"], exc))
    finally:
        if action.store is not None:
            action.store.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
