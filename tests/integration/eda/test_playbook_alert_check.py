"""Issue 15: each playbook the EDA rulebook runs checks the reflexion_alert_* variables again before it
uses them, and stops with the variable's name when one is not a valid alert value. Run for real with
ansible-playbook, the values loaded with -e @file as ansible-rulebook passes them."""

import json
import os
import subprocess
import sys

import pytest

from .conftest import ROOT

BIN = os.path.dirname(sys.executable)
GOOD = {
    "reflexion_alert_name": "HighErrorRate",
    "reflexion_alert_status": "firing",
    "reflexion_alert_instance": "app-1:8000",
    "reflexion_alert_severity": "P1",
    "reflexion_alert_fingerprint": "9f3c0a1b2c3d4e5f",
    "reflexion_alert_starts_at": "2026-11-26T10:00:00.000Z",
    "reflexion_alert_summary": "HighErrorRate on app-1:8000",
}
CASES = [
    ("high_error_rate", "reflexion_alert_instance", "app-1,app-2:8000"),
    ("database_connection_issues", "reflexion_alert_name", "Watchdog"),
    ("memory_leak", "reflexion_alert_severity", "critical"),
    ("llm_api_failures", "reflexion_alert_status", "pending"),
    ("restart_services", "reflexion_alert_fingerprint", "zz-not-hex"),
    ("status_update", "reflexion_alert_starts_at", "yesterday"),
    ("status_update", "reflexion_alert_summary", "a; touch /tmp/x $(id)"),
    ("high_error_rate", "reflexion_alert_instance", "app-1:8000\nall"),
]


@pytest.mark.parametrize("playbook, var, value", CASES, ids=["%s-%s" % (c[0], c[1]) for c in CASES])
def test_playbook_refuses_a_bad_alert_variable_before_anything_runs(tmp_path, playbook, var, value):
    extra = dict(GOOD, **{var: value})
    extra_file = tmp_path / "extravars.json"
    extra_file.write_text(json.dumps(extra))
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"))
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", "ansible_python_interpreter=" + sys.executable, "-e", "@" + str(extra_file),
         "-e", "reflexion_incident_dir=" + str(tmp_path / "incidents"),
         os.path.join(ROOT, "playbooks", playbook + ".yml")],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "%s: not a valid alert value" % var in out, out
    # the check (roles/alert_check) comes first: nothing else ran (no triage, no restart, no status file).
    # The only task before it is roles/settings validating its own defaults against its argument spec.
    tasks = [line for line in out.splitlines() if line.startswith("TASK [")]
    assert any("Check the alert passed by the EDA rulebook" in t for t in tasks), out
    settings = "TASK [reflexion.incident.settings : Validating arguments against arg spec 'main'"
    others = [t for t in tasks if not t.startswith(settings)]
    assert others and all(t.startswith("TASK [reflexion.incident.alert_check : ") for t in others), tasks
    assert not (tmp_path / "incidents").exists()
