"""The incident page renderer (pure): escaping of every value, the fleet roll-up, mitigations, runs, series, index order."""

import re

from ansible_collections.reflexion.incident.plugins.module_utils import _incident_page as page
from ansible_collections.reflexion.incident.plugins.module_utils._incident import fold

ID = "incident-2026-11-26-140311"
EVIL = "<script>alert(1)</script>\"'&"


def events_with(**extra):
    evs = [
        {
            "id": ID,
            "event": "open",
            "at": "2026-11-26T14:03:11Z",
            "user": EVIL,
            "severity": "P1",
            "message": "high_error_rate: " + EVIL,
        },
        {"id": ID, "event": "acknowledge", "at": "2026-11-26T14:04:00Z", "user": "bob"},
        {
            "id": ID,
            "event": "note",
            "at": "2026-11-26T14:06:00Z",
            "user": "bob",
            "message": "mitigation applied: circuit_breaker - " + EVIL,
        },
        {
            "id": ID,
            "event": "status",
            "at": "2026-11-26T14:07:00Z",
            "user": "bob",
            "status": "IDENTIFIED",
            "message": "mitigation: proposed, not applied: roll back " + EVIL + "; to apply it run `x`",
        },
    ]
    evs[-1].update(extra)
    return evs


def no_raw_markup(html):
    body = html.split("<body>", 1)[1]
    assert "<script" not in html
    assert "alert(1)</" not in body
    # every tag in the body is one the renderer writes
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", body))
    assert tags <= {
        "header",
        "div",
        "a",
        "h1",
        "h2",
        "h3",
        "span",
        "section",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "p",
        "pre",
        "figure",
        "figcaption",
        "svg",
        "rect",
        "line",
        "text",
        "polyline",
        "circle",
        "title",
        "ul",
        "li",
    }, tags


def test_every_value_is_escaped():
    hosts = {EVIL: {"severity": EVIL, "status": EVIL, "summary": EVIL, "metrics": {"error_ratio": 0.5}}}
    evs = events_with(hosts=hosts, ara_url="javascript:alert(1)", playbook=EVIL, ara_playbook_id=EVIL)
    rec = fold(ID, evs)
    extra = {
        "files": ["triage-x.md", EVIL, "../../etc/passwd"],
        "status_update": EVIL,
        "status_state": {"notified": EVIL},
        "samples": [{"at": "2026-11-26T14:05:00Z", "host": EVIL, "metrics": {"p95_s": 1.5}}],
        "generated_at": EVIL,
    }
    html = page.render_page(rec, evs, extra)
    no_raw_markup(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;" in html
    assert 'href="javascript:' not in html
    assert 'href="../../etc/passwd"' not in html and 'href="%s"' % EVIL not in html
    assert '<meta name="viewport"' in html and "@media print" in html and "Content-Security-Policy" in html


def test_fleet_rollup_worst_hosts_first_with_counts():
    hosts = {
        "app3": {"severity": "P3", "status": "healthy", "summary": "ok"},
        "app1": {"severity": "P0", "status": "down", "summary": "5xx 80%"},
        "app2": {"severity": "P1", "status": "degraded", "summary": "5xx 9%"},
        "app4": {"severity": "P1", "status": "degraded", "summary": "5xx 7%"},
    }
    evs = events_with(hosts=hosts)
    rows, counts = page.host_rollup(evs, fold(ID, evs), ["triage-app2.md"])
    assert [r["host"] for r in rows] == ["app1", "app2", "app4", "app3"]
    assert [r.get("report") for r in rows] == [None, "triage-app2.md", None, None]
    assert counts == {"P0": 1, "P1": 2, "P3": 1}
    html = page.render_page(fold(ID, evs), evs, {})
    assert "4 host(s); P0: 1, P1: 2, P3: 1" in html
    assert html.index("app1") < html.index("app2") < html.index("app3")


def test_one_host_from_the_triage_report_without_a_hosts_map():
    evs = events_with()
    rows, counts = page.host_rollup(evs, fold(ID, evs), ["triage-localhost.md", "status.md"])
    assert [(r["host"], r["severity"], r["report"]) for r in rows] == [("localhost", "P1", "triage-localhost.md")]
    assert counts == {"P1": 1}


def test_mitigations_applied_and_proposed():
    applied, proposed = page.mitigations(events_with())
    assert [m["text"] for m in applied] == ["circuit_breaker - " + EVIL]
    assert proposed[0]["text"].startswith("proposed, not applied: roll back")


def test_runs_link_only_http_urls():
    evs = events_with(ara_url="http://127.0.0.1:8001/playbooks/7.html", ara_playbook_id=7, playbook="high_error_rate.yml")
    evs.append(
        {
            "id": ID,
            "event": "note",
            "at": "2026-11-26T14:08:00Z",
            "user": "x",
            "message": "m",
            "runs": [{"id": 8, "url": "javascript:alert(1)"}, {"id": 9, "url": "https://ara.example/playbooks/9.html"}],
        }
    )
    runs = page.runs(evs)
    assert [(r["id"], r["url"]) for r in runs] == [
        (7, "http://127.0.0.1:8001/playbooks/7.html"),
        (8, None),
        (9, "https://ara.example/playbooks/9.html"),
    ]
    html = page.render_page(fold(ID, evs), evs, {})
    assert 'href="http://127.0.0.1:8001/playbooks/7.html"' in html and "javascript:" not in html


def test_every_series_from_events_samples_and_prometheus():
    evs = events_with(metrics={"error_ratio": 0.3})
    samples = [
        {
            "at": "2026-11-26T14:05:00Z",
            "host": "app1",
            "metrics": {"error_ratio": 0.4, "p95_s": 2.0, "memory_pct": 70, "db_connections": 40, "bad name": 1, "x": "nan?"},
        }
    ]
    prom = {
        "memory": {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [{"metric": {"instance": "app:8000"}, "values": [[1795700000, "1048576"], [1795700030, "2097152"]]}],
            },
        }
    }
    plots = page.collect_series(evs, samples, prom)
    assert sorted(plots) == ["db_connections", "error_ratio", "memory", "memory_pct", "p95_s"]
    assert [ln["label"] for ln in plots["error_ratio"]["lines"]] == ["app1", "incident"]
    assert plots["memory"]["lines"][0]["label"] == "prometheus instance=app:8000"
    html = page.render_page(fold(ID, evs), evs, {"samples": samples, "prom": prom})
    assert html.count('<svg class="plot"') == 5
    assert "2.0 MiB" in html


def test_index_open_first_then_severity_then_newest():
    summaries = [
        {"id": "incident-2026-11-20-000000", "severity": "P0", "status": "RESOLVED", "opened_at": "2026-11-20T00:00:00Z"},
        {"id": "incident-2026-11-21-000000", "severity": "P2", "status": "INVESTIGATING", "opened_at": "2026-11-21T00:00:00Z"},
        {"id": "incident-2026-11-22-000000", "severity": "P1", "status": "MONITORING", "opened_at": "2026-11-22T00:00:00Z"},
        {"id": "incident-2026-11-23-000000", "severity": "P2", "status": "IDENTIFIED", "opened_at": "2026-11-23T00:00:00Z"},
        {
            "id": "incident-2026-11-24-000000",
            "severity": None,
            "status": "INVESTIGATING",
            "opened_at": "2026-11-24T00:00:00Z",
            "title": EVIL,
        },
    ]
    order = [s["id"][-13:-7] for s in page.sort_summaries(summaries)]
    assert order == ["-11-22", "-11-23", "-11-21", "-11-24", "-11-20"]
    html = page.render_index(summaries, "now")
    no_raw_markup(html)
    assert "4 open, 5 in all" in html
