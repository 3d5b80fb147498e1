"""post_incident_review.yml from a real record, with and without a real Prometheus on loopback."""

import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

ID = "incident-2026-11-26-140311"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_incident(run_module, base, start):

    def iso(dt):
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")

    incident_id = start.strftime("incident-%Y-%m-%d-%H%M%S")
    steps = [
        {"event": "open", "at": iso(start), "severity": "P2", "text": "error rate rising", "user": "alice"},
        {"event": "acknowledge", "at": iso(start + datetime.timedelta(minutes=40)), "user": "bob"},
        {
            "event": "severity",
            "severity": "P1",
            "at": iso(start + datetime.timedelta(minutes=45)),
            "user": "bob",
            "text": "many users",
        },
        {"event": "status", "status": "IDENTIFIED", "at": iso(start + datetime.timedelta(minutes=50)), "user": "bob"},
        {"event": "status", "status": "RESOLVED", "at": iso(start + datetime.timedelta(minutes=90)), "user": "bob"},
    ]
    for step in steps:
        args = dict(step, dir=base)
        if step["event"] != "open":
            args["id"] = incident_id
        run = run_module("incident", args)
        assert not run.failed, run.output
    return incident_id


def test_review_without_prometheus(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    incident_id = make_incident(run_module, base, datetime.datetime(2026, 11, 26, 14, 3, 11))
    ev = {
        "incident_id": incident_id,
        "incidents_dir": base,
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
    assert "was unreachable or had no data" in review
    assert not os.path.exists(os.path.join(base, incident_id, "review-metrics.png"))
    again = run_playbook("playbooks/post_incident_review.yml", extra_vars=ev)
    assert re.search(r"changed=0\s", again.stdout), again.stdout


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="needs the Debian prometheus binary")
def test_review_with_a_real_prometheus(run_module, run_playbook, tmp_path):
    port = free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n"
        "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % port
    )
    proc = subprocess.Popen(
        [
            "prometheus",
            "--config.file=%s" % cfg,
            "--storage.tsdb.path=%s" % (tmp_path / "tsdb"),
            "--web.listen-address=127.0.0.1:%d" % port,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = "http://127.0.0.1:%d" % port
        # ready when the memory series the review plots has a few samples (not after a fixed sleep)
        deadline = time.time() + 120
        query = url + "/api/v1/query?query=count_over_time(process_resident_memory_bytes%7Bjob%3D%22self%22%7D%5B1m%5D)"
        samples = 0
        while time.time() < deadline and samples < 3:
            try:
                result = json.loads(urllib.request.urlopen(query, timeout=5).read())["data"]["result"]
                samples = int(float(result[0]["value"][1])) if result else 0
            except (OSError, ValueError, KeyError, IndexError):
                pass
            time.sleep(1)
        assert samples >= 3, "prometheus on %s has not scraped itself 3 times in 120 s" % url
        base = str(tmp_path / "incidents")
        start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0, tzinfo=None) - datetime.timedelta(minutes=1)
        incident_id = make_incident(run_module, base, start)
        ev = {
            "incident_id": incident_id,
            "incidents_dir": base,
            "post_incident_review_prometheus_url": url,
            "post_incident_review_step_seconds": 1,
            "post_incident_review_error_query": 'sum(rate(prometheus_http_requests_total{code=~"5.."}[10s])) or vector(0)',
            "post_incident_review_memory_query": 'process_resident_memory_bytes{job="self"}',
        }
        run = run_playbook("playbooks/post_incident_review.yml", extra_vars=ev)
        assert run.returncode == 0, run.stdout + run.stderr
    finally:
        proc.terminate()
        proc.wait(30)
    png = os.path.join(base, incident_id, "review-metrics.png")
    with open(png, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "![Error rate and memory](review-metrics.png)" in open(os.path.join(base, incident_id, "review.md")).read()
