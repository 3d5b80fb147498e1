# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The incident record: ids, events, the human log line, folding events into a record, locked appends.

Layout of one incident (docs/incident-record.md):
  <dir>/<id>/incident.log      the runbook's human lines ("Incident acknowledged by bob at ...")
  <dir>/<id>/incident.jsonl    one JSON object per event (the machine twin; the source of truth)
  <dir>/<id>/record.json       the folded record, rewritten atomically after each event (a snapshot)
  <dir>/<id>/timeline.jsonl    task records written by the incident_timeline callback
  <dir>/<id>/.lock             the flock(2) every writer holds while it reads-decides-appends
Directories are created 0700 and files 0600.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import fcntl
import json
import os
import re
import tempfile

# \Z, not $: "$" also matches before a trailing newline, and an id ends up in paths and records.
# [0-9], not \d: \d matches any Unicode digit.
ID_RE = re.compile(r"\Aincident-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6}\Z")
STATUSES = ("INVESTIGATING", "IDENTIFIED", "MONITORING", "RESOLVED")
SEVERITIES = ("P0", "P1", "P2", "P3")
EVENTS = ("open", "acknowledge", "status", "severity", "note")
LOG_NAME = "incident.log"
JSONL_NAME = "incident.jsonl"
RECORD_NAME = "record.json"
TIMELINE_NAME = "timeline.jsonl"
LOCK_NAME = ".lock"
DIR_MODE = 0o700
FILE_MODE = 0o600


class IncidentError(Exception):
    """A request that cannot be honoured; the message names the option at fault."""


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def parse_time(value):
    """ISO 8601 (``2026-11-26T14:03:11Z`` or with an offset) -> aware UTC datetime."""
    text = value.strip().replace("Z", "+00:00")
    try:
        dt = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise IncidentError("at: not an ISO 8601 time: %r" % value) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.astimezone(datetime.timezone.utc).replace(microsecond=0)


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_id(dt):
    """The runbook's channel name style: incident-YYYY-MM-DD-HHMMSS (UTC)."""
    return dt.strftime("incident-%Y-%m-%d-%H%M%S")


def date_text(dt):
    """Like date(1) with no arguments, in UTC: ``Thu Nov 26 14:03:11 UTC 2026``."""
    return "%s %2d %s UTC %d" % (dt.strftime("%a %b"), dt.day, dt.strftime("%H:%M:%S"), dt.year)


def one_line(text):
    return " ".join((text or "").split())


def human_line(event):
    """The runbook's incident.log line for an event."""
    dt = parse_time(event["at"])
    who, when = event["user"], date_text(dt)
    kind = event["event"]
    if kind == "open":
        line = "Incident opened by %s at %s: %s" % (who, when, event.get("severity") or "severity unknown")
        if event.get("message"):
            line += " - %s" % event["message"]
    elif kind == "acknowledge":
        line = "Incident acknowledged by %s at %s" % (who, when)
    elif kind == "status":
        line = "Status %s set by %s at %s" % (event["status"], who, when)
        if event.get("message"):
            line += ": %s" % event["message"]
    elif kind == "severity":
        line = "Severity changed from %s to %s by %s at %s" % (event.get("from") or "none", event["severity"], who, when)
        if event.get("message"):
            line += ": %s" % event["message"]
    else:
        line = "Note by %s at %s: %s" % (who, when, event.get("message", ""))
    return one_line(line)


def empty_record(incident_id):
    return {
        "id": incident_id,
        "title": None,
        "state": None,
        "status": None,
        "severity": None,
        "opened_at": None,
        "opened_by": None,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "resolved_at": None,
        "severity_changes": [],
        "status_changes": [],
        "notes": [],
        "events": 0,
    }


def fold(incident_id, events):
    """Replay events (oldest first) into the record."""
    rec = empty_record(incident_id)
    for ev in events:
        kind = ev.get("event")
        rec["events"] += 1
        if kind == "open":
            rec.update(
                state="open",
                status="INVESTIGATING",
                opened_at=ev["at"],
                opened_by=ev["user"],
                title=ev.get("message"),
                severity=ev.get("severity"),
            )
            rec["status_changes"].append({"status": "INVESTIGATING", "at": ev["at"], "by": ev["user"]})
            if ev.get("severity"):
                rec["severity_changes"].append({"from": None, "to": ev["severity"], "at": ev["at"], "by": ev["user"]})
        elif kind == "acknowledge":
            rec.update(state="acknowledged", acknowledged_at=ev["at"], acknowledged_by=ev["user"])
        elif kind == "status":
            rec["status"] = ev["status"]
            rec["status_changes"].append({"status": ev["status"], "at": ev["at"], "by": ev["user"], "message": ev.get("message")})
            rec["resolved_at"] = ev["at"] if ev["status"] == "RESOLVED" else None
        elif kind == "severity":
            rec["severity_changes"].append(
                {"from": rec["severity"], "to": ev["severity"], "at": ev["at"], "by": ev["user"], "message": ev.get("message")}
            )
            rec["severity"] = ev["severity"]
        elif kind == "note":
            rec["notes"].append({"at": ev["at"], "by": ev["user"], "message": ev.get("message")})
        if ev.get("hosts"):
            # A fleet incident (issue 18): the latest per-host evidence {host: {severity, status, summary}}.
            rec["hosts"] = ev["hosts"]
    return rec


HOSTS_MAX = 1000
HOST_TEXT_MAX = 512
HOST_NAME_RE = re.compile(r"\A[A-Za-z0-9_.:\[\]-]{1,255}\Z")


def normalize_hosts(hosts):
    """Validate the per-host evidence map of a fleet incident; returns a clean copy (raises IncidentError).

    ``hosts``: {inventory host: {"severity": P0-P3 or None, "status": str, "summary": str}}, at most
    HOSTS_MAX hosts, texts cut at HOST_TEXT_MAX characters. Other keys are dropped.
    """
    if not hosts:
        return None
    if not isinstance(hosts, dict):
        raise IncidentError("hosts: must be a mapping of host name to {severity, status, summary}")
    if len(hosts) > HOSTS_MAX:
        raise IncidentError("hosts: at most %d hosts, got %d" % (HOSTS_MAX, len(hosts)))
    out = {}
    for name, entry in hosts.items():
        name = str(name)
        if not HOST_NAME_RE.match(name):
            raise IncidentError("hosts: %r is not a host name" % name[:64])
        if not isinstance(entry, dict):
            raise IncidentError("hosts: the entry of %s must be a mapping {severity, status, summary}" % name)
        severity = entry.get("severity") or None
        if severity is not None and severity not in SEVERITIES:
            raise IncidentError("hosts: severity of %s must be one of %s, got %r"
                                % (name, ", ".join(SEVERITIES), str(severity)[:16]))
        out[name] = {
            "severity": severity,
            "status": str(entry.get("status") or "")[:HOST_TEXT_MAX],
            "summary": str(entry.get("summary") or "")[:HOST_TEXT_MAX],
        }
    return out


def plan(record, request):
    """Decide the event to append for ``request`` given the current record; None when nothing changes.

    ``request``: event, user, at (ISO), severity, status, message. Idempotent by (incident id, event):
    open/acknowledge happen once, a status or severity equal to the current one is no change, and
    the same note text is recorded once.
    """
    kind = request["event"]
    base = {"id": record["id"], "event": kind, "at": request["at"], "user": request["user"]}
    if request.get("hosts") and kind in ("open", "severity"):
        base["hosts"] = request["hosts"]
    if kind == "open":
        if record["state"] is not None:
            return None
        base.update(severity=request.get("severity"), message=request.get("message"))
        return base
    if record["state"] is None:
        raise IncidentError("id: incident %s does not exist; open it first (event=open)" % record["id"])
    if kind == "acknowledge":
        if record["state"] == "acknowledged":
            return None
        return base
    if kind == "status":
        if not request.get("status"):
            raise IncidentError("status: required when event=status")
        if record["status"] == request["status"]:
            return None
        base.update(status=request["status"], message=request.get("message"))
        return base
    if kind == "severity":
        if not request.get("severity"):
            raise IncidentError("severity: required when event=severity")
        if record["severity"] == request["severity"]:
            return None
        base.update(severity=request["severity"], message=request.get("message"), **{"from": record["severity"]})
        return base
    if kind == "note":
        if not request.get("message"):
            raise IncidentError("message: required when event=note")
        if any(n.get("message") == request["message"] for n in record["notes"]):
            return None
        base.update(message=request["message"])
        return base
    raise IncidentError("event: unknown event %r" % kind)


# ---------------------------------------------------------------- I/O


def ensure_dir(path):
    """mkdir -p with 0700 for the directories we create. Returns True when something was created."""
    created = False
    if not os.path.isdir(path):
        parent = os.path.dirname(os.path.abspath(path))
        if parent and not os.path.isdir(parent):
            created = ensure_dir(parent) or created
        try:
            os.mkdir(path, DIR_MODE)
            os.chmod(path, DIR_MODE)
            created = True
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
    return created


class Locked(object):
    """``with Locked(incident_dir):`` holds an exclusive flock on <incident_dir>/.lock."""

    def __init__(self, incident_dir):
        self.path = os.path.join(incident_dir, LOCK_NAME)
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
        return False


def append_line(path, line):
    """Append one line with a single O_APPEND write (looping only on a short write). Caller holds the lock."""
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    try:
        written = os.write(fd, data)
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)


def locked_append(incident_dir, path, line):
    """Take the incident's lock and append one line (used by the timeline callback)."""
    ensure_dir(incident_dir)
    with Locked(incident_dir):
        append_line(path, line)


def read_events(incident_dir):
    path = os.path.join(incident_dir, JSONL_NAME)
    events = []
    if not os.path.exists(path):
        return events
    with open(path) as fh:
        for raw in fh:
            raw = raw.strip()
            if raw:
                try:
                    events.append(json.loads(raw))
                except ValueError:
                    raise IncidentError("dir: %s holds a line that is not JSON: %r" % (path, raw[:80])) from None
    return events


def write_atomic(directory, name, text):
    """Write ``text`` to ``directory/name`` through a temporary file and a rename (readers never see half of it)."""
    fd, tmp = tempfile.mkstemp(prefix=".%s." % name, dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, FILE_MODE)
        os.rename(tmp, os.path.join(directory, name))
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return os.path.join(directory, name)


def write_record(incident_dir, record):
    write_atomic(incident_dir, RECORD_NAME, json.dumps(record, indent=2, sort_keys=True) + "\n")


def load(incident_dir, incident_id):
    return fold(incident_id, read_events(incident_dir))
