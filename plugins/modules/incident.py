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
  dir:
    description:
      - The incidents directory; the incident lives in C(<dir>/<id>/).
      - Falls back to the environment variable E(REFLEXION_INCIDENT_DIR). The collection's playbooks
        pass C({{ playbook_dir }}/../incidents).
    type: path
    required: true
  id:
    description:
      - The incident id, C(incident-YYYY-MM-DD-HHMMSS).
      - Required for every event but O(event=open), which generates it from O(at) when omitted.
    type: str
  event:
    description: What happened.
    type: str
    choices: [open, acknowledge, status, severity, note]
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
"""

RETURN = r"""
id:
  description: The incident id.
  returned: always
  type: str
  sample: incident-2026-11-26-140311
path:
  description: The incident's directory.
  returned: always
  type: str
  sample: /srv/ops/incidents/incident-2026-11-26-140311
log_file:
  description: The human log, C(incident.log).
  returned: always
  type: str
jsonl_file:
  description: The machine twin, C(incident.jsonl).
  returned: always
  type: str
event:
  description: The event appended (or that would be, in check mode); null when nothing changed.
  returned: always
  type: dict
  sample: {"id": "incident-2026-11-26-140311", "event": "acknowledge", "user": "bob", "at": "2026-11-26T14:05:00Z"}
line:
  description: The human line appended (or that would be); null when nothing changed.
  returned: always
  type: str
  sample: Incident acknowledged by bob at Thu Nov 26 14:05:00 UTC 2026
record:
  description: The incident after this event (id, title, state, status, severity, opened_at, opened_by,
    acknowledged_at, acknowledged_by, resolved_at, severity_changes, status_changes, notes, events).
  returned: always
  type: dict
"""

import getpass
import os

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.reflexion.incident.plugins.module_utils._incident import (
    EVENTS,
    ID_RE,
    JSONL_NAME,
    LOG_NAME,
    SEVERITIES,
    STATUSES,
    IncidentError,
    apply,
    iso,
    make_id,
    parse_time,
    utcnow,
)
from ansible_collections.reflexion.incident.plugins.module_utils._redact import redact


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
    return {
        "id": incident_id,
        "event": p["event"],
        "at": iso(when),
        "user": user,
        "severity": p["severity"],
        "status": p["status"],
        "message": message,
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type="path", required=True, fallback=(env_fallback, ["REFLEXION_INCIDENT_DIR"])),
            id=dict(type="str"),
            event=dict(type="str", default="open", choices=list(EVENTS)),
            severity=dict(type="str", choices=list(SEVERITIES)),
            status=dict(type="str", choices=list(STATUSES)),
            text=dict(type="str"),
            user=dict(type="str"),
            at=dict(type="str"),
        ),
        required_if=[("event", "status", ["status"]), ("event", "severity", ["severity"]), ("event", "note", ["text"])],
        supports_check_mode=True,
    )
    p = module.params
    base = p["dir"]
    if os.path.exists(base) and not os.path.isdir(base):
        module.fail_json(msg="dir: %s exists and is not a directory" % base)
    try:
        request = build_request(p)
        before, after, event, line = apply(base, request, check_mode=module.check_mode)
    except IncidentError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg="dir: cannot write the incident under %s: %s" % (base, exc))
    path = os.path.join(base, request["id"])
    result = dict(
        changed=event is not None,
        id=request["id"],
        path=path,
        log_file=os.path.join(path, LOG_NAME),
        jsonl_file=os.path.join(path, JSONL_NAME),
        event=event,
        line=line,
        record=after,
    )
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
