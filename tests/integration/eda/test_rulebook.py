"""The real rulebook (extensions/eda/rulebooks/reflexion_alerts.yml) under real ansible-rulebook (JDK 17):
alerts POSTed to its webhook run the mapped playbook, with the validated alert fields as extra vars; repeats
are throttled per alert name (whatever the instance); a resolved alert runs the status update. The playbooks
are tiny stand-ins that record what they received (reflexion_eda_playbook_dir points at them), so this runs
without the lab."""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml

from .conftest import ROOT, alert, free_port, payload, post, wait_http

RULEBOOK = os.path.join(ROOT, "extensions", "eda", "rulebooks", "reflexion_alerts.yml")
BIN = os.path.dirname(sys.executable)
TOKEN = "rulebook-test-token-51d2"  # test-only credential
MAPPING = {
    "HighErrorRate": "high_error_rate",
    "DatabaseConnectionFailures": "database_connection_issues",
    "HighMemoryUsage": "memory_leak",
    "LLMAPIFailures": "llm_api_failures",
    "ServiceDown": "restart_services",
}


def recorder_playbook(name):
    """A playbook that writes what the rulebook passed it into $EDA_TEST_OUT/<name>-<instance>-<time>.json."""
    # It reads every variable it was given, the whole ansible_eda.event included: a template inside any
    # of them would be rendered here (the canary of the issue 15 tests).
    record = ("{{ {'playbook': '%s', 'alert_name': reflexion_alert_name, 'status': reflexion_alert_status,"
              " 'instance': reflexion_alert_instance, 'severity': reflexion_alert_severity,"
              " 'summary': reflexion_alert_summary | default(''), 'starts_at': reflexion_alert_starts_at,"
              " 'fingerprint': reflexion_alert_fingerprint, 'rule': ansible_eda.rule,"
              " 'labels_passed': reflexion_alert_labels is defined,"
              " 'annotations_passed': reflexion_alert_annotations is defined,"
              " 'event': ansible_eda.event, 'event_alertname': ansible_eda.event.alert.labels.alertname,"
              " 'update_status': status | default(''), 'update_severity': severity | default(''),"
              " 'restart_reason': restart_reason | default(''), 'restart_app': restart_app | default('')} | to_json }}" % name)
    dest = ("{{ lookup('ansible.builtin.env', 'EDA_TEST_OUT') }}/%s-"
            "{{ reflexion_alert_instance | replace(':', '_') }}-{{ now(utc=true).strftime('%%H%%M%%S%%f') }}.json" % name)
    return [{
        "name": "Record the alert (test stand-in for %s)" % name,
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [{"name": "Write what the rulebook passed", "ansible.builtin.copy": {
            "dest": dest, "content": record, "mode": "0600"}}],
    }]


def runs(out, name, instance=None):
    pattern = "%s-%s-*.json" % (name, instance.replace(":", "_") if instance else "*")
    found = []
    for path in sorted(glob.glob(os.path.join(out, pattern))):
        with open(path) as f:
            found.append(json.load(f))
    return found


def wait_for_run(out, name, instance, count=1, proc=None, log=None, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = runs(out, name, instance)
        if len(found) >= count:
            return found
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.3)
    raise AssertionError("%s for %s did not run %d time(s); ansible-rulebook output:\n%s"
                         % (name, instance, count, log() if log else ""))


class Rulebook(object):
    """ansible-rulebook running the rulebook; ``real`` names playbooks copied from playbooks/ instead of
    recorder stand-ins, ``host_vars`` go to localhost in the inventory."""

    def __init__(self, tmp_path, rulebook=RULEBOOK, real=(), host_vars=None):
        if not shutil.which("java"):
            pytest.skip("no java on PATH (Debian package openjdk-17-jre-headless)")
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.out = str(tmp_path / "out")
        self.books = str(tmp_path / "playbooks")
        os.makedirs(self.out)
        os.makedirs(self.books)
        for name in list(MAPPING.values()) + ["status_update"]:
            if name in real:
                shutil.copy(os.path.join(ROOT, "playbooks", name + ".yml"), self.books)
                continue
            with open(os.path.join(self.books, name + ".yml"), "w") as f:
                yaml.safe_dump(recorder_playbook(name), f, sort_keys=False)
        inventory = tmp_path / "hosts.yml"
        localhost = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        localhost.update(host_vars or {})
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": localhost}}}))
        varsfile = tmp_path / "vars.yml"
        varsfile.write_text(yaml.safe_dump({"reflexion_eda_token": TOKEN, "reflexion_eda_port": self.port,
                                            "reflexion_eda_playbook_dir": self.books}))
        self.log_path = str(tmp_path / "rulebook.log")
        env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"), EDA_TEST_OUT=self.out,
                   ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
        env.pop("REFLEXION_WEBHOOK_URL", None)
        self.cmd = [os.path.join(BIN, "ansible-rulebook"), "-r", rulebook, "-i", str(inventory),
                    "--vars", str(varsfile), "-v"]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def ready(self):
        try:
            wait_http(self.base + "/", timeout=120, proc=self.proc)
        except AssertionError as exc:
            raise AssertionError("%s\n%s" % (exc, self.log())) from None
        return self

    def send(self, *alerts):
        status, body = post(self.base + "/alerts", payload(*alerts), {"Authorization": "Bearer " + TOKEN})
        assert status == 202, (status, body, self.log())

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


@pytest.fixture
def rulebook(tmp_path):
    rb = Rulebook(tmp_path)
    try:
        yield rb.ready()
    finally:
        rb.stop()


def test_rulebook_maps_every_alert_to_its_playbook_and_throttles(rulebook):
    out = rulebook.out
    # 1. a firing HighErrorRate runs high_error_rate with the alert's labels and annotations as extra vars
    rulebook.send(alert("HighErrorRate", "app-1:8000", severity="P1"))
    first = wait_for_run(out, "high_error_rate", "app-1:8000", proc=rulebook.proc, log=rulebook.log)[0]
    assert first["alert_name"] == "HighErrorRate"
    assert first["status"] == "firing"
    assert first["instance"] == "app-1:8000"
    assert first["severity"] == "P1"
    assert first["summary"] == "HighErrorRate on app-1:8000"
    assert first["starts_at"] == "2026-11-26T10:00:00.000Z"
    # issue 15: only validated scalars, never the labels/annotations dicts
    assert first["labels_passed"] is False and first["annotations_passed"] is False
    assert first["event"]["alert"]["labels"] == {"alertname": "HighErrorRate", "instance": "app-1:8000",
                                                 "severity": "P1", "job": "reflexion"}
    assert first["rule"] == "HighErrorRate firing runs high_error_rate"
    assert first["event_alertname"] == "HighErrorRate"

    # 2. the same alert again (Alertmanager's repeat) is throttled; an unmapped alert runs nothing.
    #    Events are handled in order and playbooks one after another, so once the ServiceDown run that
    #    was sent afterwards is there, a throttle failure would already show as a second run.
    rulebook.send(alert("HighErrorRate", "app-1:8000", severity="P1"))
    rulebook.send(alert("Watchdog", "prometheus:9090", severity="P3"))
    rulebook.send(alert("ServiceDown", "app-1:8000", severity="P0"))
    down = wait_for_run(out, "restart_services", "app-1:8000", proc=rulebook.proc, log=rulebook.log)[0]
    assert down["alert_name"] == "ServiceDown" and down["severity"] == "P0"
    # issue 16: roles/restart restarts nothing without a reason; the rule names a fixed request (never alert text)
    assert down["restart_reason"] == "ServiceDown alert" and down["restart_app"] is True, down
    assert first["restart_reason"] == "", first
    assert len(runs(out, "high_error_rate", "app-1:8000")) == 1, rulebook.log()
    assert runs(out, "*", "prometheus:9090") == []

    # 3. issue 15: the throttle is per alert name. Varying the instance label (anyone who reaches
    #    Alertmanager writes it) no longer opens a new throttle bucket per value.
    for n in range(2, 6):
        rulebook.send(alert("HighErrorRate", "app-%d:8000" % n))
    rulebook.send(alert("HighMemoryUsage", "mark-1:9100"))
    wait_for_run(out, "memory_leak", "mark-1:9100", proc=rulebook.proc, log=rulebook.log)
    assert len(runs(out, "high_error_rate")) == 1, rulebook.log()

    # 4. the other alerts each reach their own playbook
    for name in ("DatabaseConnectionFailures", "LLMAPIFailures"):
        rulebook.send(alert(name, "node-1:9100"))
        got = wait_for_run(out, MAPPING[name], "node-1:9100", proc=rulebook.proc, log=rulebook.log)[0]
        assert got["alert_name"] == name

    # 5. a resolved alert posts a status update (and does not re-run the scenario)
    rulebook.send(alert("HighErrorRate", "app-1:8000", status="resolved"))
    update = wait_for_run(out, "status_update", "app-1:8000", proc=rulebook.proc, log=rulebook.log)[0]
    assert update["status"] == "resolved" and update["alert_name"] == "HighErrorRate"
    assert update["rule"] == "A resolved reflexion alert posts a status update"
    assert update["update_status"] == "RESOLVED" and update["update_severity"] == "P1"
    assert first["update_status"] == ""
    assert len(runs(out, "high_error_rate", "app-1:8000")) == 1
    assert TOKEN not in rulebook.log()


def test_rulebook_source_rejects_a_bad_token(rulebook):
    status, _body = post(rulebook.base + "/alerts", payload(alert("ServiceDown")), {"Authorization": "Bearer wrong"})
    assert status == 401
    status, _body = post(rulebook.base + "/alerts", b"{oops", {"Authorization": "Bearer " + TOKEN})
    assert status == 400
    # prove the engine is still alive and nothing ran for the rejected alert
    rulebook.send(alert("HighMemoryUsage", "app-9:8000"))
    wait_for_run(rulebook.out, "memory_leak", "app-9:8000", proc=rulebook.proc, log=rulebook.log)
    assert runs(rulebook.out, "restart_services") == []
