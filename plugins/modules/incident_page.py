#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: incident_page
short_description: Record a metric sample and regenerate an incident's HTML page and the incidents index
version_added: 0.3.0
description:
  - The incident page C(<dir>/<id>/index.html) is a self-contained HTML file (inline CSS and SVG plots, no
    script, no external asset; readable on a phone, printable) showing the severity and status with their
    history, the runbook's response time and who to notify, the evidence per host, the mitigations applied
    and proposed, the last status update as sent, a plot of every metric series and relative links to the
    reports, the debug bundles, the record and the recorded runs. C(<dir>/index.html) lists every incident,
    open ones first, then by severity.
  - M(reflexion.incident.incident) regenerates both after every event it writes. This module regenerates them
    on demand (the scenario playbooks call it at the end, so files written after the last event, such as the
    status update's C(status.json) or a debug bundle, are linked) and appends metric samples
    (O(metrics)) to C(<dir>/<id>/samples.jsonl), which the page plots.
  - Every value on the page is HTML-escaped; text from alerts, logs and probes is data.
  - Run it on the controller (C(delegate_to=localhost), C(run_once=true)).
author:
  - Reflexion SRE team (@reflexion)
options:
  dir:
    description:
      - The incidents directory; the page, the index and the samples live in C(<dir>/<id>/) whatever the store.
      - Falls back to the environment variable E(REFLEXION_INCIDENT_DIR).
    type: path
    required: true
  store:
    description:
      - Where the incident's events are read from, as for M(reflexion.incident.incident) (O(store=postgresql)
        connects with the same options and environment). The page is drawn from them.
      - Falls back to the environment variable E(REFLEXION_INCIDENT_STORE).
    type: str
    choices: [files, postgresql]
    default: files
  login_host:
    description:
      - Host of the PostgreSQL store (O(store=postgresql)). Falls back to E(PGHOST). (Here O(host) is the
        sample's host, so this option has no C(host) alias.)
    type: str
    aliases: []
  login_user:
    description:
      - Role to connect to the PostgreSQL store as (O(store=postgresql)). Falls back to E(PGUSER).
    type: str
    aliases: []
  dsn:
    description:
      - A libpq connection string or URI for O(store=postgresql). Treated as a secret.
      - Falls back to E(REFLEXION_INCIDENT_PG_DSN).
    type: str
  id:
    description:
      - The incident id, C(incident-YYYY-MM-DD-HHMMSS).
      - The incident must exist (M(reflexion.incident.incident) opened it).
    type: str
    required: true
  metrics:
    description:
      - "A metric sample to record before the page is drawn, series name to number, for example
        C({error_ratio: 0.31, p95_s: 1.2, memory_pct: 71, db_connections: 42})."
      - Names are 1 to 40 characters of a-z, 0-9 and _; values are numbers (empty values are dropped). At most 20 series.
      - Known names get their title and unit on the page (C(error_ratio) ratio, C(p95_s) seconds,
        C(memory_pct) and C(db_utilization_pct) percent, C(db_connections) count); others are plotted as counts.
    type: dict
  host:
    description: The host the sample was measured on (the plot draws one line per host).
    type: str
    default: incident
  at:
    description: When the sample was measured (ISO 8601); default now.
    type: str
extends_documentation_fragment:
  - reflexion.incident.postgres
attributes:
  check_mode:
    support: full
    description: In check mode nothing is written; the paths are returned.
  diff_mode:
    support: none
    description: Nothing to diff.
  platform:
    support: full
    description: Runs on the controller, where the incidents directory is.
    platforms: posix
notes:
  - Neither drawing the page (a view of the record) nor recording a sample (an observation, like the run's
    timeline) is a change, so a second run of a scenario on the same state reports C(changed=0).
"""

EXAMPLES = r"""
- name: Record what triage measured and redraw the page
  reflexion.incident.incident_page:
    dir: "{{ playbook_dir | dirname }}/incidents"
    id: "{{ triage_incident_id }}"
    host: "{{ inventory_hostname }}"
    metrics:
      error_ratio: "{{ triage_metrics.rates.error_ratio | default(omit) }}"
      p95_s: "{{ triage_metrics.rates.p95_latency_s | default(omit) }}"
  delegate_to: localhost

- name: Redraw the page and the index at the end of a scenario
  reflexion.incident.incident_page:
    dir: "{{ playbook_dir | dirname }}/incidents"
    id: incident-2026-11-26-140311
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
page:
  description: The incident page.
  returned: always
  type: str
  sample: /srv/incidents/incident-2026-11-26-140311/index.html
index:
  description: The index of every incident.
  returned: always
  type: str
  sample: /srv/incidents/index.html
sample:
  description: The sample recorded (C(at), C(host), C(metrics)), or null when O(metrics) was empty.
  returned: always
  type: dict
  sample: {at: "2026-11-26T14:05:00Z", host: app1, metrics: {error_ratio: 0.31}}
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.reflexion.incident.plugins.module_utils import _incident_page as page
from ansible_collections.reflexion.incident.plugins.module_utils._incident import (
    ID_RE,
    IncidentError,
    fold,
    iso,
    parse_time,
    utcnow,
)
from ansible_collections.reflexion.incident.plugins.module_utils._incident_store import STORES, open_store
from ansible_collections.reflexion.incident.plugins.module_utils._postgres import POSTGRES_COMMON_SPEC

MAX_SERIES = 20
HOST_RE = re.compile(r"\A[A-Za-z0-9_.:\[\]-]{1,255}\Z")


class IncidentPage(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params

    def validate(self):
        p = self.p
        if not ID_RE.match(p["id"] or ""):
            self.module.fail_json(msg="id: must look like incident-YYYY-MM-DD-HHMMSS, got %r" % (p["id"] or "")[:80])
        if os.path.exists(p["dir"]) and not os.path.isdir(p["dir"]):
            self.module.fail_json(msg="dir: %s exists and is not a directory" % p["dir"])
        if not HOST_RE.match(p["host"] or ""):
            self.module.fail_json(msg="host: 1 to 255 characters of letters, digits and _.:[]-")
        metrics = {}
        for name, value in (p["metrics"] or {}).items():
            if not page.SERIES_NAME_RE.match(str(name)):
                self.module.fail_json(
                    msg="metrics: series names are 1 to 40 characters of a-z, 0-9 and _, got %r" % str(name)[:60]
                )
            if value in (None, ""):
                continue
            number = page._number(value)
            if number is None:
                self.module.fail_json(msg="metrics: %s must be a number" % name)
            metrics[str(name)] = number
        if len(metrics) > MAX_SERIES:
            self.module.fail_json(msg="metrics: at most %d series per sample" % MAX_SERIES)
        try:
            at = iso(parse_time(p["at"])) if p["at"] else iso(utcnow())
        except IncidentError as exc:
            self.module.fail_json(msg=str(exc))
        return metrics, at

    def run(self):
        metrics, at = self.validate()
        base, incident_id = self.p["dir"], self.p["id"]
        incident_dir = os.path.join(base, incident_id)
        sample = {"at": at, "host": self.p["host"], "metrics": metrics} if metrics else None
        result = dict(
            # a sample is an observation, like the timeline: not a change of the system (a second run of a
            # scenario on the same state reports changed=0)
            changed=False,
            page=os.path.join(incident_dir, page.PAGE_NAME),
            index=os.path.join(base, page.INDEX_NAME),
            sample=sample,
        )
        if self.module.check_mode:
            return result
        p = self.p
        try:
            store = open_store(p["store"], base_dir=base, pg_params=dict((k, p[k]) for k in POSTGRES_COMMON_SPEC),
                               application_name="reflexion.incident.incident_page", read_only=True)
        except IncidentError as exc:
            self.module.fail_json(msg=str(exc))
        try:
            events = store.events(incident_id)
        except IncidentError as exc:
            self.module.fail_json(msg=str(exc))
        finally:
            store.close()
        if not events:
            self.module.fail_json(
                msg="id: incident %s does not exist in the %s store; open it first (reflexion.incident.incident)"
                % (incident_id, store.name)
            )
        try:
            if sample:
                page.ensure_dir(incident_dir)  # with store=postgresql the pages dir may not exist yet
                page.add_sample(base, incident_id, sample)
            page.write_page(fold(incident_id, events), events, base)
        except (OSError, ValueError, IncidentError) as exc:
            self.module.fail_json(msg="dir: cannot write the incident page under %s: %s" % (base, exc))
        return result


def argument_spec():
    spec = dict(
        dir=dict(type="path", required=True, fallback=(env_fallback, ["REFLEXION_INCIDENT_DIR"])),
        store=dict(type="str", default="files", choices=list(STORES), fallback=(env_fallback, ["REFLEXION_INCIDENT_STORE"])),
        id=dict(type="str", required=True),
        metrics=dict(type="dict"),
        host=dict(type="str", default="incident"),
        at=dict(type="str"),
    )
    for name, opt in POSTGRES_COMMON_SPEC.items():
        opt = dict(opt)
        # "host" is the sample's host here; the database host is login_host only.
        opt["aliases"] = [a for a in opt.get("aliases", []) if a not in spec and a != "user"]
        if not opt["aliases"]:
            del opt["aliases"]
        spec[name] = opt
    spec["dsn"]["fallback"] = (env_fallback, ["REFLEXION_INCIDENT_PG_DSN"])
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.exit_json(**IncidentPage(module).run())


if __name__ == "__main__":
    main()
