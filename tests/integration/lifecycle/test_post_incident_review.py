"""post_incident_review.yml from a real record, with and without a real Prometheus on loopback.

The record is written by the real incident module, the runs by the real incident_timeline callback, the
metrics by real prometheus_client exporters scraped by the Debian prometheus binary (packages-debian.txt).
"""

import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

ID = "incident-2026-11-26-140311"
ROOT_CAUSE = "Suspected: the recent deployment b61cc3c reflexion 1.1.0: new prompt builder"
PROPOSED = "proposed: roll back to v1.0.0; run ansible-playbook playbooks/rollback.yml -e rollback_confirm=true"
SECRET = "rxipirsecret4c1d"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_incident(run_module, base, start, resolve=True):
    """A P2 high_error_rate incident that rises to P1, gets a root cause, a proposal, a mitigation, a fix that
    does not hold during monitoring, and (resolve=True) is resolved 90 minutes after it opened."""

    def at(minutes):
        return iso(start + datetime.timedelta(minutes=minutes))

    incident_id = start.strftime("incident-%Y-%m-%d-%H%M%S")
    steps = [
        {"event": "open", "at": at(0), "severity": "P2", "user": "alice",
         "text": "high_error_rate: API errors affecting multiple users: error ratio 12.0% >= 5.0%"},
        {"event": "acknowledge", "at": at(40), "user": "bob"},
        {"event": "severity", "severity": "P1", "at": at(45), "user": "bob", "text": "many users"},
        {"event": "status", "status": "IDENTIFIED", "at": at(50), "user": "bob", "text": ROOT_CAUSE},
        {"event": "note", "at": at(52), "user": "bob", "text": PROPOSED},
        {"event": "note", "at": at(56), "user": "bob", "text": "mitigation: rollback to v1.0.0 applied"},
        {"event": "status", "status": "MONITORING", "at": at(60), "user": "bob",
         "text": "Fix verified: health healthy, error ratio 0.0"},
        {"event": "status", "status": "IDENTIFIED", "at": at(70), "user": "bob",
         "text": "error ratio 31.0% >= 5.0% during monitoring"},
        {"event": "status", "status": "MONITORING", "at": at(80), "user": "bob",
         "text": "Fix verified: health healthy, error ratio 0.0"},
    ]
    if resolve:
        steps.append({"event": "status", "status": "RESOLVED", "at": at(90), "user": "bob",
                      "text": "No regression over 5 s of monitoring"})
    for step in steps:
        args = dict(step, dir=base)
        if step["event"] != "open":
            args["id"] = incident_id
        run = run_module("incident", args)
        assert not run.failed, run.output
    # the triage report as report_file writes it (sections "Why" and "All evidence"), with a credential that
    # must not reach the review even if a report ever held one
    with open(os.path.join(base, incident_id, "triage-localhost.md"), "w") as fh:
        fh.write(
            "# Triage: high_error_rate on localhost\n\n## Why\n"
            "- API errors affecting multiple users: error ratio 12.0% >= 5.0%\n\n## All evidence\n"
            "- P1 [metrics] API errors affecting multiple users: error ratio 12.0% >= 5.0%\n"
            "- P2 [logs] 777 error line(s) in the logs >= 10\n"
            "- P2 [config] DATABASE_URL=postgresql://app:" + SECRET + "@db:5432/reflexion\n\n## Health\n"
            "- overall: degraded\n"
        )
    return incident_id


def record_run(run_playbook, base, incident_id, tmp_path):
    """A real run recorded by the incident_timeline callback: one task changes, one fails."""
    play = tmp_path / "mitigate_run.yml"
    play.write_text(
        "---\n- name: Mitigate by rollback (test run)\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Roll back the app\n      ansible.builtin.command:\n        cmd: echo rolled back\n"
        "      changed_when: true\n"
        "    - name: Probe the old release\n      ansible.builtin.command:\n        cmd: /bin/false\n"
        "      changed_when: false\n      ignore_errors: true\n"
    )
    proc = run_playbook(str(play), env={"ANSIBLE_CALLBACKS_ENABLED": "reflexion.incident.incident_timeline",
                                        "REFLEXION_INCIDENT_ID": incident_id, "REFLEXION_INCIDENT_DIR": base})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert os.path.exists(os.path.join(base, incident_id, "timeline.jsonl"))


def section(text, heading):
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = text.index(heading + "\n") + len(heading) + 1
    nxt = re.search(r"^#{1,%d} " % len(level), text[start:], re.M)
    return text[start:start + nxt.start()] if nxt else text[start:]


def timeline_rows(review):
    """(when, source, event, details) of every row of the timeline table."""
    rows = []
    for line in section(review, "## Timeline review").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].endswith("UTC") and cells[0][0].isdigit():
            rows.append((cells[0], cells[2], cells[3], cells[5]))
    return rows


def assert_drafted(review, incident_id):
    """What every review of make_incident's record holds (each assertion fails on the old template)."""
    # the timeline: the record's events in order, with UTC times and the time since the open
    rows = timeline_rows(review)
    events = [r[2] for r in rows if r[1] == "record"]
    assert events == [
        "opened", "acknowledged", "severity P2 -> P1", "status IDENTIFIED", "proposed", "mitigation",
        "status MONITORING", "regression", "status MONITORING", "resolved",
    ], rows
    assert [r[0] for r in rows] == sorted(r[0] for r in rows), "timeline not in time order: %r" % rows
    assert re.search(r"^\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \| \+0:40:00 \| record \| acknowledged \| bob \|", review, re.M)
    # the runs from the callback: the play's start, the task that changed, the task that failed
    runs = [(r[2], r[3]) for r in rows if r[1] == "run"]
    assert ("run", "play started: Mitigate by rollback (test run)") in runs, runs
    assert any(e == "task changed" and d.startswith("Roll back the app") for e, d in runs), runs
    assert any(e == "task failed" and d.startswith("Probe the old release") for e, d in runs), runs
    # the root cause drafted from the record (the IDENTIFIED update's text), not a TODO
    rca = section(review, "## Root cause analysis")
    assert "**Draft from the evidence:** " + ROOT_CAUSE in rca
    assert "TODO" not in review
    assert "- Severity reason at triage: API errors affecting multiple users: error ratio 12.0% >= 5.0%" in rca
    factors = section(review, "### Contributing factors")
    assert "- Severity rose from P2 to P1 at +0:45:00 after opening: many users" in factors
    assert "- The fix did not hold: at +1:10:00 the status went back to IDENTIFIED: error ratio 31.0%" in factors
    assert "A mitigation was proposed and needed confirmation (%s, at +0:52:00)" % PROPOSED in factors
    assert "- A recent deploy is named in the evidence: " + ROOT_CAUSE in factors
    # the runbook's action items grouped by horizon, each with this incident's items first
    week = section(review, "### Immediate (within 1 week)")
    assert week.startswith("- [ ] Fix root cause: %s\n" % ROOT_CAUSE), week
    assert "- [ ] Find why the fix did not hold during monitoring (+1:10:00)" in week
    assert "- [ ] Implement additional monitoring" in week
    month = section(review, "### Short-term (within 1 month)")
    assert "- [ ] Decide whether this step may run without confirmation next time: " + PROPOSED in month
    assert "- [ ] Fix or harden: Automation task failed: Probe the old release on localhost" in month
    assert "- [ ] Conduct chaos engineering tests" in month
    quarter = section(review, "### Long-term (within 3 months)")
    assert quarter.startswith("- [ ] Redundancy for the component that failed"), quarter
    assert "- [ ] Team training and process improvements" in quarter
    agenda = section(review, "## Meeting agenda")
    assert "1. Timeline review\n2. Root cause analysis\n3. What went well\n4. What could be improved\n5. Action items" in agenda
    # nothing secret: the report's DSN password is redacted on its way into the review
    assert SECRET not in review
    assert "postgresql://app:[REDACTED]@db:5432/reflexion" in review


def test_review_without_prometheus(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    incident_id = make_incident(run_module, base, datetime.datetime(2026, 11, 26, 14, 3, 11))
    record_run(run_playbook, base, incident_id, tmp_path)
    ev = {
        "incident_id": incident_id,
        "reflexion_incident_dir": base,
        "post_incident_review_prometheus_url": "http://127.0.0.1:%d" % free_port(),
    }
    proc = run_playbook("playbooks/post_incident_review.yml", extra_vars=ev)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    review = open(os.path.join(base, incident_id, "review.md")).read()
    assert "# Post-Incident Review (draft): " + incident_id in review
    # worst severity P1: acknowledge SLA 1h, took 40 min -> met; resolved in 1h30 against 24h
    assert "| Time to acknowledge | 0h 40m | 1h 00m (runbook response time) | yes |" in review
    assert "| Time to resolve | 1h 30m | 24h 00m" in review
    assert "| 2026-11-26T14:48:11Z | P2 | P1 | bob | many users |" in review
    assert "Incident acknowledged by bob at Thu Nov 26 14:43:11 UTC 2026" in review
    for heading in (
        "## Root cause analysis",
        "## What went well",
        "## What could be improved",
        "### Immediate (within 1 week)",
        "### Short-term (within 1 month)",
        "### Long-term (within 3 months)",
    ):
        assert heading in review
    # due 48 h after the record's resolved time (15:33:11 on the 26th), shown at the top
    assert review.split("\n")[2] == (
        "**Review due: 2026-11-28 15:33:11 UTC** (48 h after the incident was resolved at 2026-11-26 15:33:11 UTC;"
        " runbook: hold the review within 48 hours)"
    )
    assert "| 2026-11-26 14:48:11 UTC | +0:45:00 | record | severity P2 -> P1 | bob | many users |" in review
    assert "| 2026-11-26 15:33:11 UTC | +1:30:00 | record | resolved | bob | No regression over 5 s of monitoring |" in review
    assert_drafted(review, incident_id)
    assert "was unreachable or had no data" in review
    assert not os.path.exists(os.path.join(base, incident_id, "review-metrics.png"))
    again = run_playbook("playbooks/post_incident_review.yml", extra_vars=ev)
    assert re.search(r"changed=0\s", again.stdout), again.stdout
    assert open(os.path.join(base, incident_id, "review.md")).read() == review


def test_review_due_date_of_an_open_incident(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    incident_id = make_incident(run_module, base, datetime.datetime(2026, 11, 26, 14, 3, 11), resolve=False)
    proc = run_playbook("playbooks/post_incident_review.yml", extra_vars={
        "incident_id": incident_id, "reflexion_incident_dir": base, "post_incident_review_prometheus_url": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    review = open(os.path.join(base, incident_id, "review.md")).read()
    assert review.split("\n")[2] == (
        "**Review due: 2026-11-28 14:03:11 UTC** (48 h after the incident was opened at 2026-11-26 14:03:11 UTC;"
        " it is not resolved yet; runbook: hold the review within 48 hours)"
    )
    assert "- Not resolved when this draft was written (status MONITORING)" in section(review, "### Contributing factors")


EXPORTER = r"""
import sys, time
from prometheus_client import Counter, Gauge, Histogram, start_http_server
port, with_pg = int(sys.argv[1]), sys.argv[2] == "pg"
REQ = Counter("reflexion_requests_total", "HTTP requests answered, by status code", ["status"])
DUR = Histogram("reflexion_request_duration_seconds", "HTTP request duration",
                buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DBE = Counter("reflexion_db_errors_total", "Database errors, by kind", ["kind"])
if with_pg:
    ACT = Gauge("pg_stat_activity_count", "connections by state", ["datname", "state"])
    ACT.labels("reflexion", "active").set(7)
    ACT.labels("reflexion", "idle").set(3)
start_http_server(port, addr="127.0.0.1")
i = 0
while True:
    i += 1
    REQ.labels("200").inc()
    DUR.observe(0.03 if with_pg else 0.3)
    if i % 4 == 0:
        REQ.labels("500").inc()
        DBE.labels("connect").inc()
    time.sleep(0.05)
"""


def prom_query(url, query):
    data = urllib.request.urlopen(url + "/api/v1/query?query=" + urllib.parse.quote(query), timeout=5).read()
    return json.loads(data)["data"]["result"]


def test_review_with_a_real_prometheus(run_module, run_playbook, tmp_path):
    # packages-debian.txt installs it: missing is a failure, not a skip
    assert shutil.which("prometheus"), "needs the Debian prometheus binary (packages-debian.txt)"
    port, exp1, exp2 = free_port(), free_port(), free_port()
    cfg = tmp_path / "prometheus.yml"
    # the first exporter carries a target label holding a credential: it must not reach the review
    cfg.write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: reflexion\n    static_configs:\n"
        "      - targets: ['127.0.0.1:%d']\n        labels: {dsn: 'postgresql://app:%s@db:5432/reflexion'}\n"
        "      - targets: ['127.0.0.1:%d']\n" % (exp1, SECRET, exp2)
    )
    procs = [subprocess.Popen([sys.executable, "-c", EXPORTER, str(exp1), "pg"]),
             subprocess.Popen([sys.executable, "-c", EXPORTER, str(exp2), "nopg"])]
    procs.append(subprocess.Popen(
        ["prometheus", "--config.file=%s" % cfg, "--storage.tsdb.path=%s" % (tmp_path / "tsdb"),
         "--web.listen-address=127.0.0.1:%d" % port],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ))
    url = "http://127.0.0.1:%d" % port
    try:
        # ready when both exporters' request rates and latency histograms have values (not after a fixed sleep)
        deadline = time.time() + 120
        ready = False
        while time.time() < deadline and not ready:
            try:
                ready = len(prom_query(url, 'rate(reflexion_requests_total{job="reflexion",status="500"}[1m]) > 0')) == 2 \
                    and len(prom_query(url, 'count_over_time(up{job="reflexion"}[1m]) >= 4')) == 2
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(1)
        assert ready, "prometheus on %s has not scraped both exporters in 120 s" % url
        base = str(tmp_path / "incidents")
        start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0, tzinfo=None) - datetime.timedelta(minutes=1)
        incident_id = make_incident(run_module, base, start)
        record_run(run_playbook, base, incident_id, tmp_path)
        # the role's default queries (the lab app's metric names), one point per second
        ev = {"incident_id": incident_id, "reflexion_incident_dir": base, "post_incident_review_prometheus_url": url,
              "post_incident_review_step_seconds": 1}
        run = run_playbook("playbooks/post_incident_review.yml", extra_vars=ev)
        assert run.returncode == 0, run.stdout + run.stderr
        again = run_playbook("playbooks/post_incident_review.yml", extra_vars=ev)
        assert again.returncode == 0, again.stdout + again.stderr
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    assert re.search(r"changed=0\s", again.stdout), again.stdout
    inc = os.path.join(base, incident_id)
    with open(os.path.join(inc, "review-metrics.png"), "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    review = open(os.path.join(inc, "review.md")).read()
    assert "![Metrics over the incident window](review-metrics.png)" in review
    one, two = "instance=127.0.0.1:%d" % exp1, "instance=127.0.0.1:%d" % exp2
    # every series of every query has its legend: one line per instance, per connection state
    for heading in ("### 5xx error ratio", "### p95 latency", "### database errors"):
        legends = re.findall(r"^\| (.+?) \| \d+ \|", section(review, heading), re.M)
        assert sorted(legends) == sorted([one, two]), (heading, legends)
    memory = re.findall(r"^\| (.+?) \| \d+ \|", section(review, "### resident memory"), re.M)
    assert sorted(memory) == sorted(["dsn=postgresql://app:[REDACTED]@db:5432/reflexion, " + one, two]), memory
    connections = re.findall(r"^\| (.+?) \| \d+ \|", section(review, "### database connections"), re.M)
    assert sorted(connections) == ["state=active", "state=idle"], connections
    assert "| state=active | " in review and " | 7 | 7 | 7 |" in section(review, "### database connections")
    # p95 per instance: 30 ms observations land in the 50 ms bucket, 300 ms ones in the 500 ms bucket
    p95 = section(review, "### p95 latency")
    assert re.search(r"^\| %s \| \d+ \| [\d.]+ ms \| [2-5][\d.]* ms \|" % re.escape(one), p95, re.M), p95
    assert re.search(r"^\| %s \| \d+ \| [\d.]+ ms \| [2-5]\d\d[\d.]* ms \|" % re.escape(two), p95, re.M), p95
    assert_drafted(review, incident_id)
    for name in [n for n in os.listdir(inc) if n.startswith("review")]:  # review.md, the plot, the saved answers
        with open(os.path.join(inc, name), "rb") as fh:
            assert SECRET.encode() not in fh.read(), name
