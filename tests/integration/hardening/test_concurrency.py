"""Concurrent runs against one incident: two triage runs and two status updates at once lose nothing and
tear nothing (every incident.jsonl line is whole JSON, incident.log has one line per event, both
status updates are in the record)."""

import json
import os
import subprocess

from ..conftest import ROOT, ansible_env
from ..http_fixtures import LoopbackServer

ROUTES = {
    "/health": (503, {"status": "down"}, 0),
    "/metrics": (200, b'reflexion_requests_total{status="500"} 10\n', 0),
}


def incident_ids(incidents):
    """The incidents in the directory (it also holds the incident index, index.html, and its lock)."""
    return sorted(n for n in os.listdir(str(incidents)) if n.startswith("incident-"))


def start(playbook, extra):
    cmd = [os.path.join(os.path.dirname(__import__("sys").executable), "ansible-playbook"), "-i",
           os.path.join(ROOT, "inventories/local"), os.path.join(ROOT, playbook), "-e", json.dumps(extra)]
    return subprocess.Popen(cmd, cwd=ROOT, env=ansible_env(ANSIBLE_STDOUT_CALLBACK="default"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_triage_and_two_status_updates_at_once(run_playbook, tmp_path):
    incidents = tmp_path / "incidents"
    logs = tmp_path / "logs"
    logs.mkdir()
    with LoopbackServer(dict(ROUTES)) as web:
        base = {"reflexion_health_url": web.base + "/health", "reflexion_metrics_url": web.base + "/metrics",
                "reflexion_log_dir": str(logs), "triage_probe_database": False, "triage_probe_redis": False,
                "triage_probe_memory": False, "triage_probe_llm": False, "triage_metrics_sample_interval": 0,
                "triage_incident_dir": str(incidents), "reflexion_incident_dir": str(incidents)}
        first = run_playbook("playbooks/triage.yml", extra_vars=base)
        assert first.returncode == 0, first.stdout[-3000:]
        (incident_id,) = incident_ids(incidents)
        procs = [start("playbooks/triage.yml", base), start("playbooks/triage.yml", base)]
        for status in ("IDENTIFIED", "MONITORING"):
            procs.append(start("playbooks/status_update.yml", dict(base, incident_id=incident_id, status=status)))
        outs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-3000:]
        assert "Traceback" not in out
    assert incident_ids(incidents) == [incident_id]  # both triage runs reused the open incident
    path = incidents / incident_id
    jsonl = path.joinpath("incident.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in jsonl]  # a torn line would not parse
    log = path.joinpath("incident.log").read_text().splitlines()
    assert len(log) == len(events), (log, events)
    statuses = [e.get("status") for e in events if e.get("event") == "status"]
    assert "IDENTIFIED" in statuses and "MONITORING" in statuses, events
    assert len([e for e in events if e.get("event") == "acknowledge"]) == 1, events
    record = json.loads(path.joinpath("record.json").read_text())
    assert record["id"] == incident_id
