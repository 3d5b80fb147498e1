"""Plot every series of every Prometheus query_range answer into one PNG, one panel per query (controller).

Usage: plot_metrics.py --panels JSON --answers-dir DIR --out PNG --summary JSON_OUT --title TITLE
                       --redact-module PATH [--marks JSON] [--resolved-at ISO]

--panels: a list of {"name", "title", "unit", "query"}; the answer of each query is read from
DIR/review-<name>.json ({"status": "error", "error": why} when the query failed). unit: ratio (plotted in %), seconds,
bytes, per_second or count. --marks: [[label, ISO time or null], ...] drawn as vertical lines (opened,
acknowledged, resolved). Each series of a panel gets its own line and legend entry, labelled by the labels
that tell the series apart. The summary (every panel, every series' legend and figures, redacted) is
written to --summary for the review; --resolved-at is stored in it so the role knows when to redraw.
Exit 0 and print "plotted N series" when at least one series has points; exit 3 (summary still written)
when no query returned data; exit 2 on bad arguments.
"""

import argparse
import datetime
import importlib.util
import json
import math
import os
import re
import sys

NAME_RE = re.compile(r"\A[a-z0-9_]{1,40}\Z")
SERIES_CAP = 50  # series per panel; the rest are counted, not drawn
READ_CAP = 64 * 1024 * 1024
UNITS = {
    "ratio": ("%", 100.0, "%.2f%%"),
    "seconds": ("ms", 1000.0, "%.1f ms"),
    "bytes": ("MiB", 1.0 / (1024 * 1024), "%.1f MiB"),
    "per_second": ("/s", 1.0, "%.3f/s"),
    "count": ("", 1.0, "%.0f"),
}


def load_redact(path):
    spec = importlib.util.spec_from_file_location("reflexion_plot_redact", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.redact


def read_answer(path, redact):
    """(result list, None) from a saved query_range answer, or (None, why) when the query failed.

    The saved answer is rewritten redacted (a label value may hold a credential, e.g. a DSN target label)."""
    if not path or not os.path.isfile(path):
        return None, "no answer saved"
    with open(path, "rb") as fh:
        raw = fh.read(READ_CAP).decode("utf-8", "replace")
    clean = redact(raw, None)[0]  # no line cap: an answer is one long JSON line
    if clean != raw:
        with open(path, "w") as fh:
            fh.write(clean)
    try:
        data = json.loads(clean)
    except ValueError:
        return None, "the answer is not JSON"
    if not isinstance(data, dict):
        return None, "the answer is not a JSON object"
    if data.get("status") == "error":
        return None, str(data.get("error") or "error")
    inner = data.get("data")
    result = inner.get("result") if isinstance(inner, dict) else None
    return (result, None) if isinstance(result, list) else (None, "no result in the answer")


def parse_iso(value):
    """ISO 8601 UTC (2026-11-26T14:03:11Z) -> epoch seconds, or None."""
    try:
        return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


def legends(result):
    """One legend per series: the labels that differ between the series (all labels when there is one)."""
    labels = [dict((k, v) for k, v in (s.get("metric") or {}).items() if k != "__name__") for s in result]
    keys = sorted(set(k for lab in labels for k in lab))
    if len(labels) > 1:
        keys = [k for k in keys if len(set(lab.get(k) for lab in labels)) > 1] or keys
    out = []
    for lab in labels:
        text = ", ".join("%s=%s" % (k, lab[k]) for k in keys if k in lab)
        out.append(text or "(no labels)")
    return out


def points(series):
    pts = []
    for pair in series.get("values") or []:
        try:
            ts, value = float(pair[0]), float(pair[1])
        except (TypeError, ValueError, IndexError):
            continue
        if math.isnan(value) or math.isinf(value):
            continue
        pts.append((ts, value))
    return pts


def when(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def build(panels, answers_dir, redact):
    """[(panel summary, [(legend, points)])] for every panel."""
    out = []
    for panel in panels:
        unit = panel.get("unit") if panel.get("unit") in UNITS else "count"
        dummy, scale, fmt = UNITS[unit]
        summary = {"name": panel.get("name"), "title": panel.get("title") or panel.get("name"), "unit": unit,
                   "query": panel.get("query") or "", "series": [], "note": ""}
        name = str(panel.get("name") or "")
        path = os.path.join(answers_dir, "review-%s.json" % name) if NAME_RE.match(name) else ""
        result, error = read_answer(path, redact)
        drawn = []
        if not summary["query"]:
            summary["note"] = "not queried: no query configured"
        elif result is None:
            summary["note"] = "query failed: %s" % " ".join(error.split())[:300]
        elif not result:
            summary["note"] = "no series in the window (does this metric exist where Prometheus scrapes?)"
        else:
            names = legends(result)
            for series, legend in list(zip(result, names))[:SERIES_CAP]:
                pts = points(series)
                legend = redact(legend)[0]
                row = {"legend": legend, "points": len(pts)}
                if pts:
                    peak = max(pts, key=lambda p: p[1])
                    row.update(min=fmt % (min(p[1] for p in pts) * scale), max=fmt % (peak[1] * scale),
                               last=fmt % (pts[-1][1] * scale), peak_at=when(peak[0]))
                else:
                    row.update(min="n/a", max="n/a", last="n/a", peak_at="n/a")
                summary["series"].append(row)
                drawn.append((legend, pts))
            if len(result) > SERIES_CAP:
                summary["note"] = "%d more series not drawn (cap %d)" % (len(result) - SERIES_CAP, SERIES_CAP)
        summary["title"] = redact(str(summary["title"]))[0]
        summary["query"] = redact(str(summary["query"]))[0]
        summary["note"] = redact(summary["note"])[0]
        out.append((summary, drawn))
    return out


def draw(built, marks, title, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [(s, d) for s, d in built if any(pts for _legend, pts in d)]
    fig, axes = plt.subplots(len(shown), 1, sharex=True, figsize=(11, 2.8 * len(shown) + 0.6), squeeze=False)
    for ax, (summary, drawn) in zip(axes[:, 0], shown):
        label, scale, dummy = UNITS[summary["unit"]]
        for legend, pts in drawn:
            if pts:
                ax.plot([datetime.datetime.fromtimestamp(p[0], datetime.timezone.utc) for p in pts],
                        [p[1] * scale for p in pts], label=legend, linewidth=1.2)
        for _name, epoch in marks:
            ax.axvline(datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc), color="grey", linestyle="--",
                       linewidth=0.8)
        ax.set_ylabel("%s%s" % (summary["title"], " (%s)" % label if label else ""), fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    top = axes[0, 0]
    top.set_title(title)
    for name, epoch in marks:
        top.annotate(name, xy=(datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc), 1), xycoords=("data",
                     "axes fraction"), fontsize=7, color="grey", rotation=90, va="top", ha="right")
    axes[-1, 0].set_xlabel("time (UTC)")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(out, format="png", dpi=100)
    plt.close(fig)
    os.chmod(out, 0o600)
    return sum(1 for s, d in shown for _legend, pts in d if pts)


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--panels", required=True)
    p.add_argument("--answers-dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--summary", required=True)
    p.add_argument("--title", default="")
    p.add_argument("--redact-module", required=True)
    p.add_argument("--marks", default="[]")
    p.add_argument("--resolved-at", default="")
    args = p.parse_args(argv[1:])
    try:
        panels, marks = json.loads(args.panels), json.loads(args.marks)
        if not isinstance(panels, list) or not all(isinstance(x, dict) for x in panels):
            raise ValueError
        marks = [(str(m[0]), parse_iso(m[1])) for m in marks]
        marks = [(name, epoch) for name, epoch in marks if epoch is not None]
    except (ValueError, TypeError, IndexError):
        print("post_incident_review_queries: a list of {name, title, unit, query} is required", file=sys.stderr)
        return 2
    if not os.path.isfile(args.redact_module):
        print("redact-module: %s does not exist" % args.redact_module, file=sys.stderr)
        return 2
    redact = load_redact(args.redact_module)
    built = build(panels, args.answers_dir, redact)
    title = redact(args.title)[0]
    plotted = 0
    if any(pts for _s, d in built for _legend, pts in d):
        plotted = draw(built, marks, title, args.out)
    summary = {"resolved_at": args.resolved_at, "plotted_series": plotted, "panels": [s for s, _d in built]}
    tmp = args.summary + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(summary, fh, indent=1, sort_keys=True)
        fh.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, args.summary)
    if not plotted:
        print("no data in the window: plot skipped")
        return 3
    print("plotted %d series" % plotted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
