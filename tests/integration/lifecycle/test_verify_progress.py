"""Output for a tired person (issue 21 item 3): verify's waits print progress, never "FAILED - RETRYING"; monitoring
prints one line per check; the samples reach the incident page; the final lines say the outcome, the page and the next
command. Against a real app double on loopback (health degraded for ~3 s, then healthy; real Prometheus exposition).
Budget: about 20 s."""

import json
import os
import textwrap
import threading
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from ..http_fixtures import LoopbackServer

ID = "incident-2026-11-26-140311"
DEGRADED = {"status": "degraded", "components": {"llm": {"status": "down", "error": "provider <b>down</b>"}}}
HEALTHY = {"status": "healthy", "components": {"llm": {"status": "healthy"}}}

PLAYBOOK = textwrap.dedent(
    """\
    - name: Verify a fix against the app double, then the final lines
      hosts: localhost
      gather_facts: false
      tasks:
        - name: Open the incident
          reflexion.incident.incident:
            {dir: "{{ base }}", event: open, severity: P1, at: "2026-11-26T14:03:11Z", text: "high_error_rate: test"}
        - name: Verify, monitor, resolve
          ansible.builtin.include_role:
            name: reflexion.incident.verify
          vars:
            verify_incident_id: %(ID)s
            verify_incident_dir: "{{ base }}"
            verify_health_url: "{{ app }}/health"
            verify_metrics_url: "{{ app }}/metrics"
            verify_sample_interval: 0.5
            verify_wait_delay: 1
            verify_wait_timeout: 30
            verify_monitor_seconds: 2
            verify_monitor_interval: 1
            verify_prometheus_url: ""
        - name: Say the outcome, where the incident page is and what to run next
          ansible.builtin.include_role:
            name: reflexion.incident.communicate
            tasks_from: final
          vars:
            communicate_final_incident_id: %(ID)s
            communicate_final_incidents_dir: "{{ base }}"
            communicate_final_playbook: playbooks/high_error_rate.yml
    """
).replace("%(ID)s", ID)


class Routes(dict):
    """The loopback server's routes: /health answers degraded to its first ``degraded`` requests, then healthy."""

    def __init__(self, degraded):
        super(Routes, self).__init__({"/metrics": (200, b"", 0)})
        self.degraded = degraded
        self.health_hits = 0

    def get(self, key, default=None):
        if key == "/health":
            self.health_hits += 1
            return (200, DEGRADED if self.health_hits <= self.degraded else HEALTHY, 0)
        return super(Routes, self).get(key, default)


class App(object):
    """/health degraded to its first requests, then healthy; /metrics counts 1% 5xx, growing."""

    def __init__(self, degraded):
        self.routes = Routes(degraded)
        self.stop = threading.Event()
        reg = CollectorRegistry()
        self.reqs = Counter("reflexion_requests_total", "requests", ["status"], registry=reg)
        self.hist = Histogram("reflexion_request_duration_seconds", "duration", registry=reg, buckets=(0.05, 0.1, 0.5, 1, 2.5))
        self.reg = reg
        self.thread = threading.Thread(target=self.tick, daemon=True)

    def tick(self):
        while not self.stop.is_set():
            self.reqs.labels(status="200").inc(99)
            self.reqs.labels(status="500").inc(1)
            for _dummy in range(10):
                self.hist.observe(0.08)
            self.routes["/metrics"] = (200, generate_latest(self.reg), 0)
            time.sleep(0.1)


def test_verify_prints_progress_and_the_final_lines(run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    pb = tmp_path / "verify.yml"
    pb.write_text(PLAYBOOK)
    app = App(degraded=2)
    with LoopbackServer(app.routes) as server:
        server.httpd.routes = app.routes
        app.thread.start()
        try:
            run = run_playbook(str(pb), extra_vars={"base": base, "app": server.base}, timeout=120)
        finally:
            app.stop.set()
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert "FAILED - RETRYING" not in out
    assert "verify: waiting 1/30 (" in out and "component(s) down: llm), error ratio n/a" in out, out
    assert "verify: waiting 3/30 (" in out and "health healthy" in out
    assert "error ratio 1.0% (max 5.0%)" in out
    assert "monitoring 1.0/2.0 s (check 1): health healthy, error ratio 1.0%" in out, out
    assert "monitoring 2.0/2.0 s (check 2)" in out
    assert "skipping:" not in out, "skipped tasks are not printed (ansible.cfg display_skipped_hosts = false)"

    d = os.path.join(base, ID)
    record = json.load(open(os.path.join(d, "record.json")))
    assert record["status"] == "RESOLVED"
    samples = [json.loads(x) for x in open(os.path.join(d, "samples.jsonl"))]
    assert len(samples) == 2 and all(abs(s["metrics"]["error_ratio"] - 0.01) < 0.002 for s in samples), samples
    html = open(os.path.join(d, "index.html")).read()
    assert 'id="status">RESOLVED<' in html and html.count('<svg class="plot"') == 2  # error ratio, p95
    # the last three lines of the run (the YAML result format wraps long lines: compare with whitespace folded)
    out = " ".join(out.split())
    assert "OUTCOME: incident %s is RESOLVED (P1): No regression over 2 s of monitoring" % ID in out
    assert "PAGE: %s/index.html (all incidents: %s/index.html)" % (d, base) in out
    assert "NEXT: ansible-playbook -i inventories/local playbooks/post_incident_review.yml -e incident_id=%s" % ID in out
