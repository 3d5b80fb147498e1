"""Issue 15 (critical): alert text is data, never a template. A real prometheus-alertmanager sends its
webhook to real ansible-rulebook running our rulebook and event source on loopback; the rulebook runs
real playbooks (recorder stand-ins that read every variable they get, the whole ansible_eda.event
included, and the real playbooks/status_update.yml -> roles/communicate, the path of the original
exploit). Jinja and shell payloads go in every label and annotation. Nothing may run: no marker file
appears, and each alert is either refused with a clear reason in the rulebook's log or recorded with
its text reduced (no braces, no shell metacharacters)."""

import json
import os
import re
import subprocess
import sys
import time

from .conftest import ROOT, iso, post
from .test_rulebook import BIN, TOKEN, Rulebook, runs, wait_for_run


def payloads(markers):
    """One value that carries every kind of payload, each aimed at its own marker file."""
    m = str(markers)
    return ("{{ lookup('ansible.builtin.pipe', 'id > %s/jinja') }} "
            "{%% set x = lookup('ansible.builtin.pipe', 'touch %s/jinja_stmt') %%}{# c #} "
            "$(id > %s/shell_subst) `id > %s/shell_tick` ; touch %s/shell_semi" % (m, m, m, m, m))


def am_alert(labels, annotations, resolved=False):
    now = time.time()
    item = {"labels": labels, "annotations": annotations, "startsAt": iso(now - (60 if resolved else 1)),
            "generatorURL": "http://127.0.0.1:9090/graph"}
    if resolved:
        item["endsAt"] = iso(now - 0.5)
    return item


def open_incident(incidents):
    """A real incident record for high_error_rate, made by our incident module (the one status_update updates)."""
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"))
    proc = subprocess.run(
        [os.path.join(BIN, "ansible"), "localhost", "-c", "local", "-i", "localhost,", "-e",
         "ansible_python_interpreter=" + sys.executable, "-m", "reflexion.incident.incident", "-a",
         json.dumps({"dir": str(incidents), "event": "open", "severity": "P1", "text": "high_error_rate: injection test"})],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_jinja_and_shell_payloads_in_every_label_and_annotation_never_run(tmp_path, alertmanager):
    markers = tmp_path / "markers"
    markers.mkdir()
    incidents = tmp_path / "incidents"
    incidents.mkdir()
    open_incident(incidents)
    bad = payloads(markers)

    rb = Rulebook(tmp_path, real=("status_update",), host_vars={"reflexion_incident_dir": str(incidents)})
    try:
        rb.ready()
        token_file = tmp_path / "token"
        token_file.write_text(TOKEN)
        am = alertmanager(rb.base + "/alerts", {"authorization": {"type": "Bearer", "credentials_file": str(token_file)}})
        every = {"summary": bad, "description": bad, "runbook_url": bad}

        def send(*items):
            status, body = post(am.url + "/api/v2/alerts", list(items))
            assert status == 200, body

        # 1. a payload in every label, alertname included: refused (not an accepted alert name)
        send(am_alert({k: bad for k in ("alertname", "instance", "severity", "job", "team")}, every))
        # 2. a known alert name, a payload in instance and every other label: refused (instance)
        send(am_alert({"alertname": "HighErrorRate", "instance": bad, "severity": bad, "job": bad}, every))
        # 3. a known alert name and instance, a payload in severity: refused (severity)
        send(am_alert({"alertname": "ServiceDown", "instance": "app-1:8000", "severity": bad, "job": bad}, every))
        # 4. valid key fields, payloads in every other label and every annotation: runs, text reduced
        good_labels = {"alertname": "HighErrorRate", "instance": "app-1:8000", "severity": "P1", "job": bad, "team": bad}
        send(am_alert(good_labels, every))
        record = wait_for_run(rb.out, "high_error_rate", "app-1:8000", proc=rb.proc, log=rb.log)[0]
        assert record["alert_name"] == "HighErrorRate" and record["severity"] == "P1"
        assert record["labels_passed"] is False and record["annotations_passed"] is False
        texts = [record["summary"], record["event"]["alert"]["labels"]["job"], record["event"]["alert"]["labels"]["team"]]
        texts += list(record["event"]["alert"]["annotations"].values())
        for text in texts:
            assert text.startswith("__ lookup(_ansible.builtin.pipe_, _id _ %s/jinja_) __" % markers), text
            for forbidden in ("{", "}", "$(", "`", ";"):
                assert forbidden not in text, (forbidden, text)
        dumped = json.dumps(record["event"])
        assert "{{" not in dumped and "{%" not in dumped and "{#" not in dumped

        # 5. the same alert resolved: the REAL status_update.yml -> roles/communicate (the original exploit's path)
        send(am_alert(good_labels, every, resolved=True))
        deadline = time.monotonic() + 120
        status_files = []
        while time.monotonic() < deadline and not status_files:
            status_files = [os.path.join(d, "status.md") for d in (str(p) for p in incidents.iterdir())
                            if os.path.isfile(os.path.join(d, "status.md"))]
            assert rb.proc.poll() is None, rb.log()
            time.sleep(0.5)
        assert status_files, "status_update.yml wrote no status.md:\n" + rb.log()
        with open(status_files[0]) as f:
            status_md = f.read()
        assert "RESOLVED" in status_md and "P1" in status_md, status_md
        assert "{{" not in status_md and "{%" not in status_md

        # 6. the refusals are in the rulebook's log, each with its reason; nothing ran for them
        #    (and both playbooks ran to their end without a failed task)
        log_deadline = time.monotonic() + 60
        while time.monotonic() < log_deadline and (rb.log().count("refused alert") < 3 or rb.log().count("PLAY RECAP") < 2):
            time.sleep(0.5)
        log = rb.log()
        assert "labels.alertname: " in log and "is not one of the accepted alerts" in log, log
        assert "labels.instance: " in log and "is not host[:port]" in log, log
        assert "labels.severity: " in log and "is not one of P0, P1, P2, P3" in log, log
        assert runs(rb.out, "restart_services") == [], log
        assert len(runs(rb.out, "high_error_rate")) == 1, log
        recaps = re.findall(r"localhost\s+: ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)", log)
        assert len(recaps) == 2 and all(r == ("0", "0") for r in recaps), log
    finally:
        rb.stop()

    # nothing ran, anywhere: no marker file, and no payload ever executed
    assert sorted(os.listdir(markers)) == [], rb.log()
