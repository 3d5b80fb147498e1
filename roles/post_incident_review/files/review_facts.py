"""Draft the post-incident review's facts from one incident directory (runs on the controller).

Usage: review_facts.py --dir INCIDENT_DIR --redact-module PATH/_redact.py [--ack-sla JSON] [--resolve-sla JSON]
                       [--due-hours N] [--timeline-limit N] [--metrics review-metrics.json] [--plot-note TEXT]

Reads record.json (required), incident.jsonl, incident.log, timeline.jsonl (the incident_timeline callback),
status.md (the last update) and triage-*.md (the triage reports), and prints one JSON document: the merged
timeline in time order, the SLA figures, the review due date, a root cause drafted from the evidence, the
contributing factors, what went well / could be improved and the action items derived from this incident.
Every string in the output goes through the collection's redaction (_redact.redact) before it is printed.
Exit 0 on success; exit 2 with a message naming the input at fault otherwise (never a traceback).
"""

import argparse
import datetime
import glob
import importlib.util
import json
import os
import re
import sys

# every file is read up to this many bytes; the timeline up to this many lines
READ_CAP = 8 * 1024 * 1024
TIMELINE_LINE_CAP = 50000
TEXT_CAP = 600
EVIDENCE_MAX = 12
UTC = datetime.timezone.utc
SEVERITIES = ("P0", "P1", "P2", "P3")
# Long-term items for the runbook's scenarios (the scenario is the prefix of the incident title)
LONG_TERM = {
    "high_error_rate": "Redundancy for the component that failed (runbook: Redundancy and failover improvements)",
    "database_connection_issues": "Connection pooling and max_connections capacity for the database (who holds the "
    "connections at peak)",
    "memory_leak": "Memory limits and a leak check in CI for the app (runbook: Architecture improvements)",
    "llm_api_failures": "Keep a second LLM provider warm and tested (runbook: Redundancy and failover improvements)",
}


class ReviewError(Exception):
    pass


def load_redact(path):
    if not os.path.isfile(path):
        raise ReviewError("redact-module: %s does not exist (the collection's plugins/module_utils/_redact.py)" % path)
    spec = importlib.util.spec_from_file_location("reflexion_review_redact", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.redact


def read_text(path):
    """The file's text (at most READ_CAP bytes), or None when it does not exist."""
    try:
        with open(path, "rb") as fh:
            return fh.read(READ_CAP).decode("utf-8", "replace")
    except FileNotFoundError:
        return None


def parse_time(value):
    """ISO 8601 (with Z, an offset or fractions of a second) -> aware UTC datetime, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if m:
        text = m.group(1) + m.group(3)  # seconds are enough for a review (and 3.9's fromisoformat is strict)
    try:
        dt = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def utc(dt):
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC") if dt else "n/a"


def since(dt, origin):
    """Signed h:mm:ss from origin to dt."""
    if not dt or not origin:
        return "n/a"
    secs = int((dt - origin).total_seconds())
    sign = "-" if secs < 0 else "+"
    secs = abs(secs)
    return "%s%d:%02d:%02d" % (sign, secs // 3600, secs % 3600 // 60, secs % 60)


def dur(minutes):
    if minutes is None:
        return "n/a"
    return "%dh %02dm" % (int(minutes // 60), int(round(minutes % 60)))


def one_line(text, cap=TEXT_CAP):
    text = " ".join(str(text or "").split())
    return text if len(text) <= cap else text[: cap - 3] + "..."


def unique(items):
    out = []
    for i in items:
        if i not in out:
            out.append(i)
    return out


def message_kind(text):
    """What a status/note message says: proposed, verification, regression, no_effect, mitigation, other."""
    t = (text or "").lower().strip()
    if not t:
        return "other"
    if t.startswith("proposed") or "proposed:" in t or "needs confirmation" in t or "not applied" in t:
        return "proposed"
    if t.startswith("fix verified") or t.startswith("no regression") or "verified" in t:
        return "verification"
    if "regress" in t or "did not hold" in t or "came back" in t:
        return "regression"
    if "changed nothing" in t or "no effect" in t or "acted on 0" in t or "acted on zero" in t:
        return "no_effect"
    if t.startswith("mitigation") or t.startswith("applied") or " applied" in t:
        return "mitigation"
    return "other"


# ---------------------------------------------------------------- inputs


def read_events(incident_dir, record):
    """The record's events oldest first: incident.jsonl when present, else rebuilt from record.json."""
    text = read_text(os.path.join(incident_dir, "incident.jsonl"))
    events = []
    if text:
        for raw in text.splitlines():
            raw = raw.strip()
            if not raw:
                continue
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            if isinstance(ev, dict) and ev.get("event"):
                events.append(ev)
    if events:
        return events
    if record.get("opened_at"):
        events.append({"event": "open", "at": record["opened_at"], "user": record.get("opened_by"),
                       "severity": record.get("severity_changes", [{}])[0].get("to") if record.get("severity_changes")
                       else record.get("severity"), "message": record.get("title")})
    if record.get("acknowledged_at"):
        events.append({"event": "acknowledge", "at": record["acknowledged_at"], "user": record.get("acknowledged_by")})
    for c in (record.get("severity_changes") or [])[1:]:
        events.append({"event": "severity", "at": c.get("at"), "user": c.get("by"), "from": c.get("from"),
                       "severity": c.get("to"), "message": c.get("message")})
    for c in (record.get("status_changes") or [])[1:]:
        events.append({"event": "status", "at": c.get("at"), "user": c.get("by"), "status": c.get("status"),
                       "message": c.get("message")})
    for n in record.get("notes") or []:
        events.append({"event": "note", "at": n.get("at"), "user": n.get("by"), "message": n.get("message")})
    events.sort(key=lambda e: parse_time(e.get("at")) or datetime.datetime.max.replace(tzinfo=UTC))
    return events


def read_runs(incident_dir):
    """The incident_timeline callback's task records (at most TIMELINE_LINE_CAP of them)."""
    text = read_text(os.path.join(incident_dir, "timeline.jsonl")) or ""
    tasks = []
    for raw in text.splitlines()[:TIMELINE_LINE_CAP]:
        raw = raw.strip()
        if not raw:
            continue
        try:
            t = json.loads(raw)
        except ValueError:
            continue
        if isinstance(t, dict):
            tasks.append(t)
    return tasks


def read_status(incident_dir):
    """The last update's fields (Impact, Root Cause, Mitigation, ...) from status.md."""
    text = read_text(os.path.join(incident_dir, "status.md")) or ""
    fields = {}
    for m in re.finditer(r"^\*\*([A-Za-z ]{1,40})\*\*:\s*(.*)$", text, re.M):
        fields[m.group(1).strip().lower()] = one_line(m.group(2))
    return fields


def read_triage(incident_dir):
    """Sections of every triage-<host>.md: {heading: [bullet, ...]} merged over hosts, and the severities seen."""
    sections = {}
    for path in sorted(glob.glob(os.path.join(incident_dir, "triage-*.md")))[:50]:
        heading = None
        for line in (read_text(path) or "").splitlines():
            if line.startswith("## "):
                heading = line[3:].strip().lower()
                continue
            if heading and line.startswith("- "):
                item = one_line(line[2:])
                bucket = sections.setdefault(heading, [])
                if item not in bucket:
                    bucket.append(item)
    return sections


# ---------------------------------------------------------------- the review


class Review(object):
    def __init__(self, incident_dir, ack_sla, resolve_sla, due_hours, timeline_limit, metrics_path, stored=None):
        self.dir = incident_dir
        if stored is not None:
            # The incident store's answer (reflexion.incident.incident event=read, files or PostgreSQL):
            # record, events and timeline come from it, the other files (status.md, triage-*.md) from the directory.
            raw = json.dumps(stored.get("record"))
        else:
            raw = read_text(os.path.join(incident_dir, "record.json"))
        if raw is None:
            raise ReviewError("post_incident_review_incident_id: no record.json in %s (is the incident id right?)"
                              % incident_dir)
        try:
            self.record = json.loads(raw)
        except ValueError:
            raise ReviewError("post_incident_review_incident_id: %s/record.json is not JSON" % incident_dir) from None
        if not isinstance(self.record, dict):
            raise ReviewError("post_incident_review_incident_id: %s/record.json is not an object" % incident_dir)
        self.ack_sla, self.resolve_sla = ack_sla, resolve_sla
        self.due_hours, self.timeline_limit = due_hours, timeline_limit
        self.metrics_path = metrics_path
        if stored is not None:
            self.events = [e for e in stored.get("events") or [] if isinstance(e, dict) and e.get("event")]
            self.runs = [t for t in (stored.get("timeline") or [])[:TIMELINE_LINE_CAP] if isinstance(t, dict)]
        else:
            self.events = read_events(incident_dir, self.record)
            self.runs = read_runs(incident_dir)
        self.status = read_status(incident_dir)
        self.triage = read_triage(incident_dir)
        r = self.record
        self.opened = parse_time(r.get("opened_at"))
        self.acked = parse_time(r.get("acknowledged_at"))
        self.resolved = parse_time(r.get("resolved_at"))
        sevs = [c.get("to") for c in r.get("severity_changes") or [] if c.get("to") in SEVERITIES]
        if r.get("severity") in SEVERITIES:
            sevs.append(r["severity"])
        self.worst = min(sevs) if sevs else "P3"
        self.scenario = (r.get("title") or "").split(":", 1)[0].strip()

    # --- facts

    def minutes(self, end):
        return (end - self.opened).total_seconds() / 60 if end and self.opened else None

    def sla(self):
        ack, res = self.minutes(self.acked), self.minutes(self.resolved)
        ack_t, res_t = self.ack_sla.get(self.worst), self.resolve_sla.get(self.worst)

        def met(took, target):
            if took is None or target is None:
                return "n/a"
            return "yes" if took <= float(target) else "NO"

        return {
            "ack_took": dur(ack), "ack_target": dur(ack_t), "ack_met": met(ack, ack_t), "ack_minutes": ack,
            "resolve_took": dur(res), "resolve_target": dur(res_t), "resolve_met": met(res, res_t),
            "resolve_minutes": res,
        }

    def due(self):
        if self.resolved:
            base, basis = self.resolved, "resolved"
            why = "%d h after the incident was resolved at %s" % (self.due_hours, utc(self.resolved))
        elif self.opened:
            base, basis = self.opened, "opened"
            why = "%d h after the incident was opened at %s; it is not resolved yet" % (self.due_hours, utc(self.opened))
        else:
            return {"at": "unknown", "basis": "none", "why": "the record has neither an open nor a resolve time"}
        return {"at": utc(base + datetime.timedelta(hours=self.due_hours)), "basis": basis, "why": why}

    def record_rows(self):
        """The record's events as timeline rows, each classified."""
        rows, last_status = [], None
        for seq, ev in enumerate(self.events):
            at = parse_time(ev.get("at"))
            kind, msg, who = ev.get("event"), one_line(ev.get("message")), ev.get("user") or ""
            mkind = message_kind(msg)
            if kind == "open":
                label, text = "opened", "%s%s" % (ev.get("severity") or "severity unknown", (" - " + msg) if msg else "")
            elif kind == "acknowledge":
                label, text = "acknowledged", ""
            elif kind == "severity":
                label = "severity %s -> %s" % (ev.get("from") or "none", ev.get("severity"))
                text = msg
            elif kind == "status":
                status = ev.get("status")
                if status == "RESOLVED":
                    label = "resolved"
                elif last_status in ("MONITORING", "RESOLVED") and status in ("IDENTIFIED", "INVESTIGATING"):
                    label, mkind = "regression", "regression"
                elif mkind in ("proposed", "mitigation", "regression", "no_effect"):
                    label = {"no_effect": "mitigation (no effect)"}.get(mkind, mkind)
                else:
                    label = "status %s" % status
                text = msg if label in ("resolved", "status %s" % status) else "%s (status %s)" % (msg, status)
                last_status = status
            elif kind == "note":
                label = {"no_effect": "mitigation (no effect)", "other": "note",
                         "verification": "note"}.get(mkind, mkind)
                text = msg
            else:
                label, text = str(kind), msg
            rows.append({"at": at, "seq": (0, seq), "source": "record", "event": label, "kind": mkind,
                         "status": ev.get("status"), "by": who, "text": text, "msg": msg})
        return rows

    def run_rows(self):
        """Runs from the incident_timeline callback: each play's start, and every task that changed or failed."""
        rows, last_play = [], None
        for seq, t in enumerate(self.runs):
            at = parse_time(t.get("start")) or parse_time(t.get("end"))
            play = t.get("play") or "(play)"
            if play != last_play:
                rows.append({"at": at, "seq": (1, seq, 0), "source": "run", "event": "run", "kind": "run",
                             "by": t.get("host") or "", "text": "play started: %s" % one_line(play)})
                last_play = play
            if t.get("failed") or t.get("status") in ("failed", "unreachable"):
                label = "task failed"
            elif t.get("changed"):
                label = "task changed"
            else:
                continue
            text = one_line(t.get("task"))
            if t.get("result"):
                text += " - " + one_line(t.get("result"), 200)
            rows.append({"at": at, "seq": (1, seq, 1), "source": "run", "event": label, "kind": label,
                         "by": t.get("host") or "", "text": text})
        return rows

    def timeline(self):
        rows = self.record_rows()
        runs = self.run_rows()
        dropped = max(0, len(runs) - self.timeline_limit)
        rows += runs[: self.timeline_limit]
        far = datetime.datetime.max.replace(tzinfo=UTC)
        rows.sort(key=lambda r: (r["at"] or far, r["seq"]))
        out = []
        for r in rows:
            out.append({"when": utc(r["at"]), "since_open": since(r["at"], self.opened), "source": r["source"],
                        "event": r["event"], "by": one_line(r["by"], 80), "text": r["text"].replace("|", "/")})
        return out, dropped

    # --- the draft

    def root_cause(self, rows):
        """(draft, where it came from)."""
        rc = self.status.get("root cause", "")
        if rc and rc.lower().rstrip(".") not in ("under investigation", "unknown", "n/a", "tbd", "todo"):
            return rc, "the last status update (status.md, Root Cause)"
        for r in reversed(rows):
            if r["kind"] != "other" or not r["msg"]:
                continue
            if r.get("status") == "IDENTIFIED" or (r["event"] == "note" and "cause" in r["msg"].lower()):
                return r["msg"], "the record (%s at %s)" % (r["event"], utc(r["at"]))
        why = self.triage.get("why") or []
        if why:
            return why[0], "the triage report's severity reason"
        title = self.record.get("title") or ""
        if title:
            return title.split(":", 1)[-1].strip(), "the incident's title"
        return "", "nothing in the record"

    def evidence(self):
        items = []
        for c in self.record.get("severity_changes") or []:
            if c.get("message"):
                items.append("Severity %s -> %s: %s" % (c.get("from") or "none", c.get("to"), one_line(c["message"])))
        for w in self.triage.get("why") or []:
            items.append("Severity reason at triage: %s" % w)
        for e in self.triage.get("all evidence") or []:
            items.append("Triage evidence: %s" % e)
        for key in ("recent deploys", "recent deployments", "deploys"):
            for d in self.triage.get(key) or []:
                items.append("Recent deploy: %s" % d)
        if self.status.get("impact"):
            items.append("Impact (last update): %s" % self.status["impact"])
        if self.status.get("mitigation"):
            items.append("Mitigation (last update): %s" % self.status["mitigation"])
        return unique(items)[:EVIDENCE_MAX]

    def analyse(self, rows, sla):
        factors, improve, well = [], [], []
        week, month, quarter = [], [], []
        rc, rc_from = self.root_cause(rows)
        if rc:
            week.append("Fix root cause: %s" % rc)
        # response times
        if sla["ack_met"] == "NO":
            msg = "Acknowledged after %s, over the %s response time of %s" % (
                sla["ack_took"], self.worst, sla["ack_target"])
            factors.append(msg)
            improve.append(msg + ": why did paging take that long?")
            month.append("Review on-call paging and escalation: %s" % msg.lower())
        elif sla["ack_met"] == "yes":
            well.append("Acknowledged in %s, within the %s response time of %s" % (sla["ack_took"], self.worst,
                                                                                   sla["ack_target"]))
        elif not self.acked:
            factors.append("The incident was never acknowledged in the record")
            improve.append("Acknowledge every incident (runbook: Acknowledge the incident)")
        if sla["resolve_met"] == "NO":
            msg = "Resolved after %s, over the %s target of %s" % (sla["resolve_took"], self.worst,
                                                                   sla["resolve_target"])
            factors.append(msg)
            improve.append(msg)
        elif sla["resolve_met"] == "yes":
            well.append("Resolved in %s, within the %s target of %s" % (
                sla["resolve_took"], self.worst, sla["resolve_target"]))
        if not self.resolved:
            factors.append("Not resolved when this draft was written (status %s)" % (self.record.get("status") or "?"))
        # severity rising after the open
        for c in (self.record.get("severity_changes") or [])[1:]:
            if c.get("from") in SEVERITIES and c.get("to") in SEVERITIES and c["to"] < c["from"]:
                at = parse_time(c.get("at"))
                msg = "Severity rose from %s to %s at %s after opening%s" % (
                    c["from"], c["to"], since(at, self.opened), (": " + one_line(c["message"])) if c.get("message") else "")
                factors.append(msg)
                month.append("Detect it earlier: %s" % msg[0].lower() + msg[1:])
        # proposals, mitigations, regressions
        for i, p in enumerate(rows):
            if p["kind"] != "proposed":
                continue
            later = [r for r in rows[i + 1:] if r["kind"] == "mitigation"]
            if later:
                factors.append("A mitigation was proposed and needed confirmation (%s, at %s); the next mitigation was "
                               "applied %s later (%s)" % (p["msg"], since(p["at"], self.opened),
                                                          since(later[0]["at"], p["at"]).lstrip("+"), later[0]["msg"]))
                improve.append("Time lost waiting for confirmation of: %s" % p["msg"])
            else:
                factors.append("A mitigation was proposed and not applied: %s (at %s)" % (
                    p["msg"], since(p["at"], self.opened)))
                week.append("Decide on the proposed mitigation: %s" % p["msg"])
            month.append("Decide whether this step may run without confirmation next time: %s" % p["msg"])
        verified = None
        for r in rows:
            if r["kind"] == "regression":
                msg = "The fix did not hold: at %s the status went back to %s%s" % (
                    since(r["at"], self.opened), r.get("status") or "an earlier status",
                    (": " + r["msg"]) if r["msg"] else "")
                factors.append(msg)
                improve.append(msg)
                week.append("Find why the fix did not hold during monitoring (%s)" % since(r["at"], self.opened))
            elif r["kind"] == "no_effect":
                factors.append("A mitigation changed nothing: %s (at %s)" % (r["msg"], since(r["at"], self.opened)))
                improve.append("Choose a mitigation that acts on the symptom: %s" % r["msg"])
            elif r["kind"] == "verification":
                verified = r["msg"]
        if verified:
            well.append("The fix was verified (last check: %s)" % verified)
        # recent deploys
        deploy_lines = [e for e in self.evidence() if "deploy" in e.lower()]
        if rc and "deploy" in rc.lower():
            deploy_lines.insert(0, rc)
        if deploy_lines:
            factors.append("A recent deploy is named in the evidence: %s" % deploy_lines[0])
            month.append("Add a canary or a pre-deploy check that would have caught: %s" % deploy_lines[0])
        # automation
        failed = [t for t in self.runs if t.get("failed") or t.get("status") in ("failed", "unreachable")]
        if self.runs:
            plays = len(set(t.get("play") for t in self.runs))
            well.append("Automation recorded %d task(s) in %d play(s), %d failed" % (
                len(self.runs), plays, len(failed)))
        seen = set()
        for t in failed:
            key = (t.get("task"), t.get("host"))
            if key in seen:
                continue
            seen.add(key)
            msg = "Automation task failed: %s on %s" % (one_line(t.get("task"), 120), t.get("host") or "?")
            improve.append(msg)
            month.append("Fix or harden: %s" % msg)
        if self.scenario in LONG_TERM:
            quarter.append(LONG_TERM[self.scenario])
        return {
            "root_cause": rc, "root_cause_from": rc_from, "factors": unique(factors), "went_well": unique(well),
            "improve": unique(improve),
            "actions": {"week": unique(week), "month": unique(month), "quarter": unique(quarter)},
        }

    def metrics(self):
        if not self.metrics_path:
            return None
        text = read_text(self.metrics_path)
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def build(self):
        r = self.record
        rows_all = self.record_rows()
        timeline, dropped = self.timeline()
        sla = self.sla()
        facts = {
            "id": r.get("id"), "title": r.get("title") or "(none)", "severity": r.get("severity") or "unknown",
            "worst": self.worst, "status": r.get("status") or "unknown",
            "opened": utc(self.opened), "opened_by": r.get("opened_by") or "",
            "acknowledged": utc(self.acked) if self.acked else "never", "acknowledged_by": r.get("acknowledged_by") or "",
            "resolved": utc(self.resolved) if self.resolved else "not resolved",
            "scenario": self.scenario, "sla": sla, "due": self.due(),
            "timeline": timeline, "timeline_dropped": dropped,
            "evidence": self.evidence(),
            "severity_changes": [dict((k, one_line(v)) for k, v in c.items()) for c in r.get("severity_changes") or []],
            "status_changes": [dict((k, one_line(v)) for k, v in c.items()) for c in r.get("status_changes") or []],
            "log": [line for line in (read_text(os.path.join(self.dir, "incident.log")) or "").splitlines()
                    if line.strip()][:5000],
            "tasks": [dict((k, (one_line(v, 200) if isinstance(v, str) else v)) for k, v in t.items())
                      for t in self.runs[: self.timeline_limit]],
            "tasks_total": len(self.runs),
            "metrics": self.metrics(),
        }
        facts.update(self.analyse(rows_all, sla))
        return facts


def scrub(value, redact):
    """Redact every string in value (any depth); markdown table cells keep no '|'."""
    if isinstance(value, str):
        return redact(value)[0]
    if isinstance(value, list):
        return [scrub(v, redact) for v in value]
    if isinstance(value, dict):
        return dict((k, scrub(v, redact)) for k, v in value.items())
    return value


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--redact-module", required=True)
    p.add_argument("--ack-sla", default="{}")
    p.add_argument("--resolve-sla", default="{}")
    p.add_argument("--due-hours", type=int, default=48)
    p.add_argument("--timeline-limit", type=int, default=200)
    p.add_argument("--metrics", default="")
    p.add_argument("--plot-note", default="no plot: no Prometheus URL was given")
    p.add_argument("--store-stdin", action="store_true",
                   help="read {record, events, timeline} (the incident store's answer) as JSON from stdin")
    args = p.parse_args(argv[1:])
    try:
        redact = load_redact(args.redact_module)
        try:
            ack_sla, resolve_sla = json.loads(args.ack_sla), json.loads(args.resolve_sla)
        except ValueError:
            raise ReviewError("post_incident_review_ack_sla_minutes/post_incident_review_resolve_sla_minutes: "
                              "not a mapping of severity to minutes") from None
        stored = None
        if args.store_stdin:
            try:
                stored = json.loads(sys.stdin.read(READ_CAP * 4))
            except ValueError:
                raise ReviewError("post_incident_review_incident_id: the incident store's answer is not JSON") from None
            if not isinstance(stored, dict) or not isinstance(stored.get("record"), dict):
                raise ReviewError("post_incident_review_incident_id: the incident store returned no record")
        facts = Review(args.dir, ack_sla, resolve_sla, args.due_hours, args.timeline_limit, args.metrics,
                       stored=stored).build()
        facts["plot_note"] = one_line(args.plot_note)
    except ReviewError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(json.dumps(scrub(facts, redact), sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
