"""playbooks/status_update.yml as AWX runs it for EDA Controller and for the workflow (issue 19): an empty
incident_id (an unanswered survey question, or "" sent by a caller) and a workflow's reflexion_incident_id
(triage's set_stats) both find the right incident instead of failing or writing to an incident named ""."""

import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
           PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
ENV.pop("REFLEXION_WEBHOOK_URL", None)


def ansible(*args, timeout=180):
    proc = subprocess.run(list(args), cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=timeout, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def open_incidents(tmp_path, incidents_dir, titles):
    """Open incident records with our incident module (one ansible-playbook run)."""
    play = [{"name": "Open incidents", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Open %s" % iid, "reflexion.incident.incident": {
            "dir": incidents_dir, "id": iid, "event": "open", "severity": "P1", "text": title}}
        for iid, title in titles.items()]}]
    book = tmp_path / "open.yml"
    book.write_text(json.dumps(play))
    rc, out = ansible(os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventories", "local"), str(book))
    assert rc == 0, out


def status_update(incidents_dir, tmp_path, **extra):
    varsfile = tmp_path / "extra.json"
    extra = dict(extra, reflexion_incident_dir=incidents_dir)
    extra.setdefault("status", "RESOLVED")
    if extra["status"] is None:  # the workflow's last node names no status
        del extra["status"]
    varsfile.write_text(json.dumps(extra))
    return ansible(os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventories", "local"),
                   os.path.join(ROOT, "playbooks", "status_update.yml"), "-e", "@" + str(varsfile))


def updated(incidents):
    return sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(incidents, "*", "status.md")))


def test_status_update_finds_the_incident_without_an_id(tmp_path):
    incidents = str(tmp_path / "incidents")
    open_incidents(tmp_path, incidents, {"incident-2026-11-26-100000": "high_error_rate: error ratio 43.8%",
                                         "incident-2026-11-26-110000": "memory_leak: rss growing",
                                         "incident-2026-11-26-120000": "triage: P1"})
    # 1. EDA Controller for a resolved alert: incident_id "" (an empty answer) -> the alert's scenario's incident
    rc, out = status_update(incidents, tmp_path, incident_id="", reflexion_alert_name="HighErrorRate",
                            reflexion_alert_status="resolved", reflexion_alert_severity="P1")
    assert rc == 0, out
    assert updated(incidents) == ["incident-2026-11-26-100000"], out
    # 2. the workflow's status update node: triage's set_stats reflexion_incident_id, incident_id unanswered
    rc, out = status_update(incidents, tmp_path, incident_id="", reflexion_incident_id="incident-2026-11-26-120000")
    assert rc == 0, out
    assert updated(incidents) == ["incident-2026-11-26-100000", "incident-2026-11-26-120000"], out
    with open(os.path.join(incidents, "incident-2026-11-26-120000", "status.md")) as f:
        assert "RESOLVED" in f.read()
    assert sorted(p for p in os.listdir(incidents) if p.startswith("incident-")) == [
        "incident-2026-11-26-100000", "incident-2026-11-26-110000", "incident-2026-11-26-120000"]


def test_an_update_without_status_keeps_the_incidents_own(tmp_path):
    """The workflow's last node sends no status: a RESOLVED incident stays RESOLVED (it used to send MONITORING,
    and the playbook's own default, INVESTIGATING, would have reopened it too)."""
    incidents = str(tmp_path / "incidents")
    iid = "incident-2026-11-26-130000"
    open_incidents(tmp_path, incidents, {iid: "high_error_rate: error ratio 43.8%"})
    rc, out = status_update(incidents, tmp_path, reflexion_incident_id=iid)  # status RESOLVED
    assert rc == 0, out
    rc, out = status_update(incidents, tmp_path, incident_id="", reflexion_incident_id=iid, status=None,
                            mitigation="The high_error_rate mitigation ran after approval (AWX workflow).")
    assert rc == 0, out
    with open(os.path.join(incidents, iid, "status.md")) as f:
        text = f.read()
    assert "RESOLVED" in text and "INVESTIGATING" not in text and "MONITORING" not in text, text
    with open(os.path.join(incidents, iid, "incident.jsonl")) as f:
        statuses = [json.loads(line).get("status") for line in f if line.strip()]
    assert [s for s in statuses if s][-1] == "RESOLVED", statuses
