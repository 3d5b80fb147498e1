# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The incident page: one self-contained HTML file per incident and an index of all incidents.

  <dir>/<id>/index.html   the incident page (severity, status, response time, who to notify, evidence per host,
                          mitigations, the status update as sent, inline SVG plots, relative links)
  <dir>/<id>/page.json    the page's summary (id, title, severity, status, times) the index is built from
  <dir>/<id>/samples.jsonl  metric samples (error ratio, p95, memory, connections) taken during the incident
  <dir>/index.html        every incident, open ones first, then by severity, newest first

``render_page`` and ``render_index`` are pure (data in, an HTML string out). Every value is HTML-escaped:
alert, log and probe text is data. No external asset (inline CSS and SVG, no script), a viewport meta for
phones and a print style sheet. ``refresh`` is the I/O: it reads the incident's files under the incident's
lock, renders, and replaces the page and the index atomically (mode 0600). It never raises: a page that
cannot be written is a warning, never a lost event.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import math
import os
import re

try:
    from html import escape as _html_escape
except ImportError:  # pragma: no cover - Python 2 is not supported
    from cgi import escape as _html_escape  # type: ignore

from ansible_collections.reflexion.incident.plugins.module_utils._incident import (
    ID_RE,
    Locked,
    ensure_dir,
    read_events,
    write_atomic,
)
from ansible_collections.reflexion.incident.plugins.module_utils._redact import redact

PAGE_NAME = "index.html"
SUMMARY_NAME = "page.json"
SAMPLES_NAME = "samples.jsonl"
INDEX_NAME = "index.html"
INDEX_LOCK = ".index.lock"
FILE_MODE = 0o600

# Caps: every input the page reads is bounded.
MAX_FILES = 200
MAX_STATUS_BYTES = 65536
MAX_SAMPLES = 5000
MAX_SAMPLE_BYTES = 4 * 1024 * 1024
MAX_PROM_BYTES = 8 * 1024 * 1024
MAX_POINTS = 2000
MAX_SERIES_PER_PLOT = 12
MAX_HOSTS = 500
MAX_INDEX = 500
MAX_TEXT = 2000

SEVERITY_ORDER = {"P0": 0, "P1": 1, "P2": 2, "P3": 3}
# The runbook's severity table (plugins/plugin_utils/_severity.py holds the same figures for classify).
RESPONSE_TIME = {
    "P0": "Immediate (< 15 minutes)",
    "P1": "< 1 hour",
    "P2": "< 4 hours",
    "P3": "< 24 hours",
}
STAKEHOLDERS = ("engineering", "product", "customer_support")
# The communicate role's default escalation (roles/communicate/defaults/main.yml: communicate_escalation).
ESCALATION = {
    "P0": ("On-Call Engineer", "Escalation Manager", "Technical Lead"),
    "P1": ("On-Call Engineer", "Technical Lead"),
    "P2": ("On-Call Engineer",),
    "P3": ("On-Call Engineer",),
}
EMERGENCY = {
    "database_connection_issues": "Database Administrator",
    "llm_api_failures": "Cloud Provider Support",
    "security": "Security Team",
}

# Known series: name -> (title, unit). Any other numeric series is plotted too, with unit "count".
SERIES = {
    "error_ratio": ("5xx error ratio", "ratio"),
    "p95_s": ("p95 latency", "seconds"),
    "latency_p95": ("p95 latency", "seconds"),
    "memory_pct": ("host memory used", "percent"),
    "memory": ("resident memory", "bytes"),
    "db_connections": ("database connections", "count"),
    "db_utilization_pct": ("database connections used", "percent"),
    "db_errors": ("database errors", "per_second"),
}
SERIES_NAME_RE = re.compile(r"\A[a-z0-9_]{1,40}\Z")
PROM_FILE_RE = re.compile(r"\Areview-([a-z0-9_]{1,40})\.json\Z")
URL_RE = re.compile(r"\Ahttps?://[^\s\"'<>`{}|\\^]{1,2040}\Z")
COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
STATUS_CLASS = {"INVESTIGATING": "st-inv", "IDENTIFIED": "st-idf", "MONITORING": "st-mon", "RESOLVED": "st-res"}


def esc(value):
    """HTML-escape any value (None -> empty); quotes too, so it is safe in attributes."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(value, sort_keys=True, default=str) if isinstance(value, (dict, list)) else str(value)
    if len(value) > MAX_TEXT:
        value = value[: MAX_TEXT - 3] + "..."
    return _html_escape(value, quote=True)


def _epoch(text):
    """ISO 8601 (or epoch seconds) -> float epoch; None when unreadable."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    if not isinstance(text, str) or not text:
        return None
    try:
        dt = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.timestamp()


def _hhmm(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%H:%M:%S")


def _number(value):
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# ---------------------------------------------------------------- facts from the events


def scenario_of(record):
    title = record.get("title") or ""
    head = title.split(":", 1)[0].strip()
    return head if re.match(r"\A[a-z0-9_]{1,64}\Z", head) else ""


def mitigations(events):
    """(applied, proposed): lists of {at, by, text} from the events' notes and status messages."""
    applied, proposed = [], []
    for ev in events:
        msg = ev.get("message") or ""
        if not isinstance(msg, str):
            continue
        item = {"at": ev.get("at"), "by": ev.get("user"), "text": msg}
        if ev.get("event") == "note" and msg.startswith("mitigation applied:"):
            applied.append(dict(item, text=msg[len("mitigation applied:") :].strip()))
        elif ev.get("event") == "status" and msg.startswith("mitigation:"):
            text = msg[len("mitigation:") :].strip()
            if "proposed, not applied" in text or "next:" in text or "would apply" in text:
                proposed.append(dict(item, text=text))
            else:
                applied.append(dict(item, text=text))
    return applied, proposed


def host_rollup(events, record, files):
    """Per-host evidence: the latest ``hosts`` map of the events, else the hosts of the triage reports.

    Returns (rows, counts): rows [{host, severity, status, summary}] worst first; counts {severity: n}.
    """
    hosts = None
    for ev in events:
        if isinstance(ev.get("hosts"), dict) and ev["hosts"]:
            hosts = ev["hosts"]
    rows = []
    if hosts:
        for name, info in list(hosts.items())[:MAX_HOSTS]:
            info = info if isinstance(info, dict) else {"summary": info}
            row = {"host": name, "severity": info.get("severity"), "status": info.get("status"), "summary": info.get("summary")}
            if "triage-%s.md" % name in files:
                row["report"] = "triage-%s.md" % name
            rows.append(row)
    else:
        for fname in files:
            if fname.startswith("triage-") and fname.endswith(".md"):
                rows.append(
                    {
                        "host": fname[len("triage-") : -3],
                        "severity": record.get("severity"),
                        "status": None,
                        "summary": record.get("title"),
                        "report": fname,
                    }
                )
    rows.sort(key=lambda r: (SEVERITY_ORDER.get(r.get("severity"), 9), str(r["host"])))
    counts = {}
    for r in rows:
        key = r.get("severity") if r.get("severity") in SEVERITY_ORDER else "none"
        counts[key] = counts.get(key, 0) + 1
    return rows, counts


def runs(events):
    """Links to recorded runs (ARA): any event field ara_url / ara_playbook_url / ara_playbook_id / runs."""
    out, seen = [], set()
    for ev in events:
        cands = []
        for key in ("ara_url", "ara_playbook_url"):
            if ev.get(key):
                cands.append(
                    {"url": ev.get(key), "id": ev.get("ara_playbook_id") or ev.get("run_id"), "label": ev.get("playbook")}
                )
        if not cands and (ev.get("ara_playbook_id") or ev.get("run_id")):
            cands.append({"url": None, "id": ev.get("ara_playbook_id") or ev.get("run_id"), "label": ev.get("playbook")})
        for r in ev.get("runs") if isinstance(ev.get("runs"), list) else []:
            if isinstance(r, dict):
                cands.append({"url": r.get("url"), "id": r.get("id"), "label": r.get("playbook") or r.get("label")})
        for c in cands:
            key = (str(c["url"]), str(c["id"]))
            if key in seen:
                continue
            seen.add(key)
            c["at"] = ev.get("at")
            c["url"] = c["url"] if isinstance(c["url"], str) and URL_RE.match(c["url"]) else None
            out.append(c)
    return out[:200]


def collect_series(events, samples, prom):
    """Every series the incident has -> {name: {"title", "unit", "lines": [{"label", "points": [(t, v)]}]}}.

    Sources: ``metrics`` maps in events and in their ``hosts`` entries, the samples taken during the incident
    ({at, host, metrics}), and the Prometheus answers the post-incident review saved (review-<name>.json).
    """
    plots = {}

    def add(name, label, t, v):
        if not (isinstance(name, str) and SERIES_NAME_RE.match(name)):
            return
        v, t = _number(v), _epoch(t)
        if v is None or t is None:
            return
        title, unit = SERIES.get(name, (name.replace("_", " "), "count"))
        plot = plots.setdefault(name, {"title": title, "unit": unit, "lines": {}})
        pts = plot["lines"].setdefault(str(label), [])
        if len(pts) < MAX_POINTS:
            pts.append((t, v))

    for ev in list(events) + list(samples):
        if isinstance(ev.get("metrics"), dict):
            for name, v in ev["metrics"].items():
                add(name, ev.get("host") or "incident", ev.get("at"), v)
        if isinstance(ev.get("hosts"), dict):
            for host, info in list(ev["hosts"].items())[:MAX_HOSTS]:
                if isinstance(info, dict) and isinstance(info.get("metrics"), dict):
                    for name, v in info["metrics"].items():
                        add(name, host, ev.get("at"), v)
    for name, answer in sorted(prom.items()):
        result = ((answer or {}).get("data") or {}).get("result") if isinstance(answer, dict) else None
        for series in (result or [])[:MAX_SERIES_PER_PLOT]:
            if not isinstance(series, dict):
                continue
            labels = series.get("metric") or {}
            label = ",".join("%s=%s" % (k, labels[k]) for k in sorted(labels) if k != "__name__") or name
            for point in (series.get("values") or [])[:MAX_POINTS]:
                if isinstance(point, list) and len(point) == 2:
                    add(name, "prometheus " + label, point[0], point[1])
    out = {}
    for name, plot in plots.items():
        lines = [{"label": k, "points": sorted(v)} for k, v in sorted(plot["lines"].items())][:MAX_SERIES_PER_PLOT]
        out[name] = {"title": plot["title"], "unit": plot["unit"], "lines": lines}
    return out


def fmt_value(value, unit):
    if unit == "ratio":
        return "%.1f%%" % (value * 100)
    if unit == "percent":
        return "%.1f%%" % value
    if unit == "seconds":
        return "%.2f s" % value
    if unit == "bytes":
        for suffix, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
            if abs(value) >= size:
                return "%.1f %s" % (value / size, suffix)
        return "%d B" % value
    if unit == "per_second":
        return "%.2f/s" % value
    return "%g" % round(value, 3)


def svg_plot(name, plot):
    """One inline SVG line chart (no script), a line per series, its legend below."""
    w, h, left, right, top, bottom = 640, 220, 70, 12, 14, 30
    pts = [p for line in plot["lines"] for p in line["points"]]
    t0, t1 = min(p[0] for p in pts), max(p[0] for p in pts)
    v0, v1 = min(0.0, min(p[1] for p in pts)), max(p[1] for p in pts)
    if t1 == t0:
        t0, t1 = t0 - 30, t1 + 30
    if v1 == v0:
        v1 = v0 + (abs(v0) or 1.0)

    def x(t):
        return left + (t - t0) / (t1 - t0) * (w - left - right)

    def y(v):
        return top + (1 - (v - v0) / (v1 - v0)) * (h - top - bottom)

    parts = [
        '<svg class="plot" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">'
        % (w, h, esc(plot["title"])),
        '<rect x="%d" y="%d" width="%d" height="%d" fill="#fff" stroke="#bbb"/>'
        % (left, top, w - left - right, h - top - bottom),
    ]
    for frac in (0.0, 0.5, 1.0):
        v = v0 + frac * (v1 - v0)
        parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>' % (left, w - right, y(v), y(v)))
        parts.append(
            '<text x="%d" y="%.1f" text-anchor="end" font-size="11">%s</text>'
            % (left - 4, y(v) + 4, esc(fmt_value(v, plot["unit"])))
        )
    parts.append('<text x="%d" y="%d" font-size="11">%s</text>' % (left, h - 10, esc(_hhmm(t0) + " UTC")))
    parts.append('<text x="%d" y="%d" font-size="11" text-anchor="end">%s</text>' % (w - right, h - 10, esc(_hhmm(t1) + " UTC")))
    legend = []
    for i, line in enumerate(plot["lines"]):
        color = COLORS[i % len(COLORS)]
        coords = " ".join("%.1f,%.1f" % (x(t), y(v)) for t, v in line["points"])
        if len(line["points"]) > 1:
            parts.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (color, coords))
        for t, v in line["points"][-200:]:
            parts.append(
                '<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s</title></circle>'
                % (x(t), y(v), color, esc("%s %s: %s" % (line["label"], _hhmm(t), fmt_value(v, plot["unit"]))))
            )
        last = line["points"][-1][1]
        legend.append(
            '<li><span class="swatch" style="background:%s"></span>%s (last %s)</li>'
            % (color, esc(line["label"]), esc(fmt_value(last, plot["unit"])))
        )
    parts.append("</svg>")
    return '<figure id="plot-%s"><figcaption>%s</figcaption>%s<ul class="legend">%s</ul></figure>' % (
        esc(name),
        esc(plot["title"]),
        "".join(parts),
        "".join(legend),
    )


# ---------------------------------------------------------------- HTML

CSS = """
:root{color-scheme:light;--fg:#1b1b1b;--mut:#555;--bd:#ccc}
*{box-sizing:border-box}
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0;padding:0 12px 40px;
max-width:960px;margin-inline:auto;background:#fafafa}
header{padding:12px 0;border-bottom:2px solid var(--bd)}
h1{font-size:1.35rem;margin:.2em 0;word-break:break-all}
h2{font-size:1.1rem;margin:1.4em 0 .4em;border-bottom:1px solid var(--bd)}
.facts{display:flex;flex-wrap:wrap;gap:8px;margin:.6em 0}
.badge{display:inline-block;white-space:nowrap;padding:4px 10px;border-radius:6px;font-weight:700;color:#fff;background:#666}
.sev-P0{background:#b00020}.sev-P1{background:#d9480f}.sev-P2{background:#b8860b}.sev-P3{background:#2b6cb0}
.st-inv{background:#b00020}.st-idf{background:#d9480f}.st-mon{background:#2b6cb0}.st-res{background:#2f855a}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{border:1px solid var(--bd);padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eee}
.mut{color:var(--mut)}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid var(--bd);padding:8px;font-size:.9rem}
.plot{width:100%;height:auto;max-width:640px;display:block}
figure{margin:0 0 16px}
figcaption{font-weight:600}
.legend{list-style:none;padding:0;margin:4px 0;font-size:.85rem}
.legend li{display:inline-block;margin-right:12px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
a{color:#0b57d0}
@media (max-width:600px){body{font-size:15px;padding:0 6px 30px}th,td{padding:3px 4px}.hide-sm{display:none}}
@media print{body{background:#fff;max-width:none;font-size:11pt}a{color:#000;text-decoration:none}
.badge{color:#000;border:1px solid #000;background:#fff!important}section,figure,tr{break-inside:avoid}.noprint{display:none}}
"""


def _doc(title, body):
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:\">"
        '<meta name="generator" content="reflexion.incident">'
        "<title>%s</title><style>%s</style></head><body>\n%s\n</body></html>\n" % (esc(title), CSS, body)
    )


def _badge(kind, value):
    cls = (
        ("sev-%s" % value)
        if kind == "severity" and value in SEVERITY_ORDER
        else STATUS_CLASS.get(value, "")
        if kind == "status"
        else ""
    )
    return '<span class="badge %s" id="%s">%s</span>' % (cls, kind, esc(value or "unknown"))


def _link(name, label=None):
    """A relative link to a file of the incident (the name is checked: a plain file name only)."""
    if not re.match(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,200}\Z", name or ""):
        return esc(label or name)
    return '<a href="%s">%s</a>' % (esc(name), esc(label or name))


def _table(head, rows):
    thead = "<thead><tr>%s</tr></thead>" % "".join("<th>%s</th>" % esc(h) for h in head) if any(head) else ""
    out = ["<table>%s<tbody>" % thead]
    for row in rows:
        out.append("<tr>%s</tr>" % "".join("<td>%s</td>" % cell for cell in row))
    out.append("</tbody></table>")
    return "".join(out)


def render_page(record, events, extra=None):
    """The incident page as an HTML string. ``record``: the folded record; ``events``: the events oldest first;
    ``extra``: files (names in the incident directory), status_update (status.md text), status_state (status.json),
    samples (metric samples), prom ({name: Prometheus answer}), generated_at (ISO)."""
    extra = extra or {}
    files = sorted(extra.get("files") or [])
    sev, status = record.get("severity"), record.get("status")
    scenario = scenario_of(record)
    body = []
    body.append(
        '<header><div class="mut"><a class="noprint" href="../index.html">All incidents</a></div>'
        '<h1 id="incident-id">%s</h1><div id="title">%s</div>'
        '<div class="facts">%s %s <span class="badge" id="state">%s</span></div>'
        '<div class="mut">opened %s by %s%s%s; page generated %s</div></header>'
        % (
            esc(record.get("id")),
            esc(record.get("title") or ""),
            _badge("severity", sev),
            _badge("status", status),
            esc(record.get("state") or ""),
            esc(record.get("opened_at")),
            esc(record.get("opened_by")),
            ("; acknowledged %s by %s" % (esc(record.get("acknowledged_at")), esc(record.get("acknowledged_by"))))
            if record.get("acknowledged_at")
            else "; not acknowledged",
            ("; resolved %s" % esc(record.get("resolved_at"))) if record.get("resolved_at") else "",
            esc(extra.get("generated_at")),
        )
    )

    # Response time and who to notify
    state = extra.get("status_state") if isinstance(extra.get("status_state"), dict) else {}
    notified = state.get("notified") or ""
    who = list(ESCALATION.get(sev, ()))
    if scenario in EMERGENCY:
        who.append(EMERGENCY[scenario])
    rows = [
        ("Respond within", esc(RESPONSE_TIME.get(sev, "unknown (no severity)"))),
        ("Notify (runbook)", esc(", ".join(STAKEHOLDERS) if sev in ("P0", "P1") else "nobody beyond on-call (P2/P3)")),
        ("Escalation (communicate defaults)", esc(", ".join(who) or "none")),
        ("Notified in the last update", esc(notified or "no contact configured (communicate_* contacts)")),
    ]
    if state.get("next_update_at"):
        rows.append(
            (
                "Next update due",
                esc(
                    datetime.datetime.fromtimestamp(int(_number(state["next_update_at"]) or 0), datetime.timezone.utc).strftime(
                        "%Y-%m-%d %H:%M UTC"
                    )
                ),
            )
        )
    body.append('<section id="respond"><h2>Respond</h2>%s</section>' % _table(("", ""), rows))

    # Evidence per host
    hrows, counts = host_rollup(events, record, files)
    count_text = ", ".join("%s: %d" % (k, counts[k]) for k in sorted(counts, key=lambda s: SEVERITY_ORDER.get(s, 9)))
    body.append(
        '<section id="hosts"><h2>Evidence per host</h2><p>%d host(s); %s</p>%s</section>'
        % (
            len(hrows),
            esc(count_text or "no host evidence yet"),
            _table(
                ("Host", "Severity", "Status", "Evidence"),
                [
                    (
                        _link(r["report"], r["host"]) if r.get("report") else esc(r["host"]),
                        esc(r.get("severity") or ""),
                        esc(r.get("status") or ""),
                        esc(redact(str(r.get("summary") or ""))[0]),
                    )
                    for r in hrows
                ],
            )
            if hrows
            else "",
        )
    )

    # Mitigations
    applied, proposed = mitigations(events)
    body.append(
        '<section id="mitigations"><h2>Mitigations</h2><h3>Applied</h3>%s<h3>Proposed</h3>%s</section>'
        % (
            _table(("When", "By", "What"), [(esc(m["at"]), esc(m["by"]), esc(m["text"])) for m in applied])
            if applied
            else '<p class="mut">none applied</p>',
            _table(("When", "By", "What"), [(esc(m["at"]), esc(m["by"]), esc(m["text"])) for m in proposed])
            if proposed
            else '<p class="mut">none proposed</p>',
        )
    )

    # Status updates and history
    update = extra.get("status_update")
    body.append(
        '<section id="updates"><h2>Status update as sent</h2>%s</section>'
        % ('<pre id="status-update">%s</pre>' % esc(update) if update else '<p class="mut">no update published yet</p>')
    )
    body.append(
        '<section id="history"><h2>Status and severity history</h2>%s%s</section>'
        % (
            _table(
                ("When", "Status", "By", "Message"),
                [
                    (esc(c.get("at")), esc(c.get("status")), esc(c.get("by")), esc(c.get("message") or ""))
                    for c in record.get("status_changes") or []
                ],
            ),
            _table(
                ("When", "Severity", "By", "Why"),
                [
                    (
                        esc(c.get("at")),
                        esc("%s -> %s" % (c.get("from") or "none", c.get("to"))),
                        esc(c.get("by")),
                        esc(c.get("message") or ""),
                    )
                    for c in record.get("severity_changes") or []
                ],
            ),
        )
    )

    # Plots
    plots = collect_series(events, extra.get("samples") or [], extra.get("prom") or {})
    body.append(
        '<section id="plots"><h2>Metrics</h2>%s</section>'
        % (
            "".join(svg_plot(n, plots[n]) for n in sorted(plots))
            if plots
            else '<p class="mut">no metric samples recorded yet</p>'
        )
    )

    # Links
    groups = [
        ("Reports", [f for f in files if f.endswith(".md")]),
        ("Debug bundles", [f for f in files if f.startswith("debug-bundle-")]),
        ("Record and runs", [f for f in files if f in ("incident.log", "incident.jsonl", "record.json", "timeline.jsonl")]),
        ("Review plots and data", [f for f in files if f.startswith("review-")]),
    ]
    items = []
    for label, names in groups:
        if names:
            items.append("<li>%s: %s</li>" % (esc(label), ", ".join(_link(n) for n in names)))
    run_links = runs(events)
    for r in run_links:
        text = "run %s%s" % (r.get("id") or "", (" (%s)" % r["label"]) if r.get("label") else "")
        items.append(
            '<li>ARA: %s <span class="mut">%s</span></li>'
            % (('<a href="%s">%s</a>' % (esc(r["url"]), esc(text))) if r.get("url") else esc(text), esc(r.get("at")))
        )
    body.append('<section id="links"><h2>Links</h2><ul>%s</ul></section>' % ("".join(items) or '<li class="mut">none yet</li>'))

    # Event log
    body.append(
        '<section id="events"><h2>Events</h2>%s</section>'
        % _table(
            ("When", "Event", "By", "Detail"),
            [
                (
                    esc(e.get("at")),
                    esc(e.get("event")),
                    esc(e.get("user")),
                    esc(" ".join(str(e.get(k)) for k in ("status", "severity", "message") if e.get(k))),
                )
                for e in events[-500:]
            ],
        )
    )
    return _doc("%s %s %s" % (sev or "", status or "", record.get("id") or ""), "\n".join(body))


def summary_of(record):
    return {
        k: record.get(k) for k in ("id", "title", "severity", "status", "state", "opened_at", "resolved_at", "acknowledged_by")
    }


def sort_summaries(summaries):
    """Open incidents first, then by severity (P0 first), then newest first."""
    return sorted(
        summaries,
        key=lambda s: (
            s.get("status") == "RESOLVED",
            SEVERITY_ORDER.get(s.get("severity"), 9),
            -(_epoch(s.get("opened_at")) or 0),
            str(s.get("id")),
        ),
    )


def render_index(summaries, generated_at=None):
    rows = []
    for s in sort_summaries(summaries):
        ident = s.get("id") or ""
        link = '<a href="%s/index.html">%s</a>' % (esc(ident), esc(ident)) if ID_RE.match(ident) else esc(ident)
        rows.append(
            (
                link,
                _badge("severity", s.get("severity")).replace(' id="severity"', ""),
                _badge("status", s.get("status")).replace(' id="status"', ""),
                esc(s.get("title") or ""),
                esc(s.get("opened_at")),
                esc(s.get("resolved_at") or ""),
            )
        )
    open_count = sum(1 for s in summaries if s.get("status") != "RESOLVED")
    body = '<header><h1>Incidents</h1><div class="mut">%d open, %d in all; generated %s</div></header>%s' % (
        open_count,
        len(summaries),
        esc(generated_at),
        _table(("Incident", "Severity", "Status", "Title", "Opened", "Resolved"), rows) if rows else "<p>No incident.</p>",
    )
    return _doc("Incidents (%d open)" % open_count, body)


# ---------------------------------------------------------------- I/O


def _read_capped(path, cap):
    with open(path, "rb") as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        return None
    return data.decode("utf-8", "replace")


def read_samples(incident_dir):
    path = os.path.join(incident_dir, SAMPLES_NAME)
    out = []
    if not os.path.isfile(path):
        return out
    with open(path, "rb") as fh:
        data = fh.read(MAX_SAMPLE_BYTES)
    for raw in data.decode("utf-8", "replace").splitlines()[-MAX_SAMPLES:]:
        try:
            item = json.loads(raw)
        except ValueError:
            continue
        if isinstance(item, dict):
            out.append(item)
    return out


def gather(incident_dir):
    """What the page shows besides the events: the files, the last update, the samples, the review's answers."""
    names = []
    for name in sorted(os.listdir(incident_dir))[: MAX_FILES * 2]:
        if (
            not name.startswith(".")
            and name not in (PAGE_NAME, SUMMARY_NAME)
            and os.path.isfile(os.path.join(incident_dir, name))
        ):
            names.append(name)
    names = names[:MAX_FILES]
    extra = {
        "files": names,
        "samples": read_samples(incident_dir),
        "prom": {},
        "generated_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if "status.md" in names:
        text = _read_capped(os.path.join(incident_dir, "status.md"), MAX_STATUS_BYTES)
        extra["status_update"] = redact(text)[0] if text is not None else "(status.md is larger than %d bytes)" % MAX_STATUS_BYTES
    if "status.json" in names:
        try:
            extra["status_state"] = json.loads(_read_capped(os.path.join(incident_dir, "status.json"), MAX_STATUS_BYTES) or "{}")
        except ValueError:
            extra["status_state"] = {}
    for name in names:
        m = PROM_FILE_RE.match(name)
        if m and m.group(1) != "metrics":
            text = _read_capped(os.path.join(incident_dir, name), MAX_PROM_BYTES)
            try:
                extra["prom"][m.group(1)] = json.loads(text) if text else {}
            except ValueError:
                pass
    return extra


def write_index(pages_dir):
    """Rebuild <pages_dir>/index.html from every incident's page.json (else its record.json)."""
    summaries = []
    for name in sorted(os.listdir(pages_dir), reverse=True):
        if not ID_RE.match(name) or len(summaries) >= MAX_INDEX:
            continue
        for fname in (SUMMARY_NAME, "record.json"):
            path = os.path.join(pages_dir, name, fname)
            if os.path.isfile(path):
                try:
                    data = json.loads(_read_capped(path, MAX_STATUS_BYTES * 16) or "{}")
                except (ValueError, OSError):
                    continue
                if isinstance(data, dict):
                    summaries.append(summary_of(data))
                    break
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with IndexLock(pages_dir):
        return write_atomic(pages_dir, INDEX_NAME, render_index(summaries, now))


class IndexLock(Locked):
    def __init__(self, pages_dir):
        super(IndexLock, self).__init__(pages_dir)
        self.path = os.path.join(pages_dir, INDEX_LOCK)


def write_page(record, events, pages_dir):
    """Render and write the page and the index; returns the page's path. Raises OSError/ValueError."""
    incident_id = record.get("id") or ""
    if not ID_RE.match(incident_id):
        raise ValueError("id: not an incident id: %r" % incident_id)
    incident_dir = os.path.join(pages_dir, incident_id)
    ensure_dir(incident_dir)
    with Locked(incident_dir):
        if events is None:
            events = read_events(incident_dir)
        extra = gather(incident_dir)
        page = write_atomic(incident_dir, PAGE_NAME, render_page(record, events, extra))
        write_atomic(incident_dir, SUMMARY_NAME, json.dumps(summary_of(record), sort_keys=True))
    write_index(pages_dir)
    return page


def refresh(record, events, pages_dir, warn=None):
    """Regenerate the incident page and the index after an event. Never raises: returns the page path, or
    None after calling ``warn(message)`` (the event itself is already written)."""
    try:
        return write_page(record, events, pages_dir)
    except Exception as exc:  # noqa: BLE001 - a page is a view; it must never lose or fail an event
        if warn:
            warn("incident page not written under %s: %s" % (pages_dir, exc))
        return None


def add_sample(pages_dir, incident_id, sample):
    """Append one metric sample {at, host, metrics: {name: number}} to <id>/samples.jsonl under the lock."""
    incident_dir = os.path.join(pages_dir, incident_id)
    line = json.dumps(sample, sort_keys=True)
    with Locked(incident_dir):
        fd = os.open(os.path.join(incident_dir, SAMPLES_NAME), os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
        finally:
            os.close(fd)
