"""The incident_timeline callback in a real ansible-playbook run."""

import json
import os

ID = "incident-2026-11-26-140311"
CANARY = "canary-tl-7f3a9b"


def timeline(base):
    with open(os.path.join(base, ID, "timeline.jsonl")) as fh:
        return [json.loads(x) for x in fh.read().splitlines()]


def test_timeline_records_tasks_and_hides_no_log(run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    proc = run_playbook(
        "tests/integration/lifecycle/files/timeline_run.yml",
        extra_vars={"incident_dir": base, "canary": CANARY},
        env={"ANSIBLE_CALLBACKS_ENABLED": "reflexion.incident.incident_timeline"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    raw = open(os.path.join(base, ID, "timeline.jsonl")).read()
    assert CANARY not in raw
    entries = timeline(base)
    by_task = {e["task"]: e for e in entries}
    assert [e["task"] for e in entries] == [
        "Before the incident is known (buffered)",
        "Open the incident",
        "A command that changes something",
        "A hidden task whose result holds a secret",
        "A task printing a key that must be redacted",
        "A failing task",
        "A skipped task",
    ]
    assert by_task["Before the incident is known (buffered)"]["result"] == "msg=starting triage"
    assert by_task["A command that changes something"]["changed"] is True
    assert "stdout=restarted" in by_task["A command that changes something"]["result"]
    assert by_task["A hidden task whose result holds a secret"]["no_log"] is True
    assert by_task["A hidden task whose result holds a secret"]["result"] == "(output hidden by no_log)"
    assert "[REDACTED]" in by_task["A task printing a key that must be redacted"]["result"]
    assert by_task["A failing task"]["failed"] is True and by_task["A failing task"]["status"] == "failed"
    assert by_task["A skipped task"]["status"] == "skipped"
    for e in entries:
        assert e["host"] == "localhost" and e["incident"] == ID
        assert e["start"] <= e["end"]


def test_timeline_from_environment(run_playbook, run_module, tmp_path):
    base = str(tmp_path / "incidents")
    assert not run_module("incident", {"dir": base, "event": "open", "at": "2026-11-26T14:03:11Z"}).failed
    proc = run_playbook(
        "tests/integration/lifecycle/files/timeline_run.yml",
        extra_vars={"incident_dir": str(tmp_path / "elsewhere"), "canary": CANARY},
        env={
            "ANSIBLE_CALLBACKS_ENABLED": "reflexion.incident.incident_timeline",
            "REFLEXION_INCIDENT_DIR": base,
            "REFLEXION_INCIDENT_ID": ID,
        },
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    entries = timeline(base)
    assert len(entries) == 7
    assert entries[0]["task"] == "Before the incident is known (buffered)"


def test_disabled_by_default(run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    proc = run_playbook("tests/integration/lifecycle/files/timeline_run.yml", extra_vars={"incident_dir": base, "canary": CANARY})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert os.path.exists(os.path.join(base, ID, "incident.log"))
    assert not os.path.exists(os.path.join(base, ID, "timeline.jsonl"))
