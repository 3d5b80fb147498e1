"""The incident_timeline callback fed the way the task queue manager feeds it: a real Play, Task and Host, and
ansible-core's own CallbackTaskResult; its options are set through ansible's config manager from its
DOCUMENTATION. The timeline it writes is read back from disk (files store)."""

import inspect
import json
import os

import pytest
import yaml
from ansible import constants as C  # noqa: N812 (ansible-core's own name for it)
from ansible.executor.task_result import CallbackTaskResult
from ansible.inventory.host import Host
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play import Play
from ansible.playbook.task import Task

from ansible_collections.reflexion.incident.plugins.callback import incident_timeline

NAME = "reflexion.incident.incident_timeline"
ID = "incident-2026-01-02-030405"
LOADER = DataLoader()
C.config.initialize_plugin_configuration_definitions(
    "callback", NAME, yaml.safe_load(incident_timeline.DOCUMENTATION)["options"])


def task(name, action="ansible.builtin.command", no_log=False):
    return Task.load({"name": name, "action": action, "args": {}, "no_log": no_log}, loader=LOADER)


def result(host, a_task, data):
    """A CallbackTaskResult as the task queue manager builds it (its constructor changed in ansible-core 2.21)."""
    if "utr" in inspect.signature(CallbackTaskResult.__init__).parameters:
        from ansible._internal._task import UnifiedTaskResult
        return CallbackTaskResult(host, a_task, UnifiedTaskResult.from_action_result_dict(dict(data)))
    return CallbackTaskResult(host, a_task, dict(data), a_task.dump_attrs())


def callback(**direct):
    cb = incident_timeline.CallbackModule()
    cb._load_name = NAME  # what the plugin loader sets
    cb.set_options(direct=direct)
    return cb


def run(cb, host, a_task, data, status="ok"):
    cb.v2_playbook_on_task_start(a_task, False)
    hook = {"ok": cb.v2_runner_on_ok, "failed": cb.v2_runner_on_failed, "skipped": cb.v2_runner_on_skipped,
            "unreachable": cb.v2_runner_on_unreachable}[status]
    hook(result(host, a_task, data))


def timeline(incidents, ident=ID):
    path = os.path.join(str(incidents), ident, "timeline.jsonl")
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture
def host():
    return Host("web1")


def test_options_place_every_task_in_the_incident_timeline(tmp_path, host):
    cb = callback(incident_dir=str(tmp_path), incident_id=ID)
    play = Play.load({"name": "Triage", "hosts": "all"}, loader=LOADER)
    cb.v2_playbook_on_play_start(play)
    run(cb, host, task("Probe health"), {"changed": False, "status": "degraded", "msg": "HTTP 503"})
    run(cb, host, task("Restart the app"), {"changed": True, "rc": 1, "msg": "exit 1"}, status="failed")
    run(cb, host, task("Maybe"), {"skipped": True, "skip_reason": "Conditional result was False"}, status="skipped")
    run(cb, host, task("Reach"), {"unreachable": True, "msg": "ssh: timeout"}, status="unreachable")
    lines = timeline(tmp_path)
    assert [(e["task"], e["status"], e["failed"]) for e in lines] == [
        ("Probe health", "ok", False), ("Restart the app", "failed", True), ("Maybe", "skipped", False),
        ("Reach", "unreachable", True)]
    first = lines[0]
    assert first["play"] == "Triage" and first["host"] == "web1" and first["action"] == "ansible.builtin.command"
    assert first["incident"] == ID and first["changed"] is False and lines[1]["changed"] is True
    assert first["result"] == "msg=HTTP 503; status=degraded"
    assert first["start"] <= first["end"]


def test_tasks_before_the_incident_is_known_are_buffered_then_written(tmp_path, host):
    cb = callback()
    cb.v2_playbook_on_play_start(Play.load({"name": "Scenario", "hosts": "all"}, loader=LOADER))
    run(cb, host, task("Detect"), {"changed": False, "msg": "probes ran"})
    assert not os.path.exists(os.path.join(str(tmp_path), ID))
    path = os.path.join(str(tmp_path), ID)  # the incident module returns the incident directory
    run(cb, host, task("Open the incident", action="reflexion.incident.incident"),
        {"changed": True, "id": ID, "path": path})
    assert [e["task"] for e in timeline(tmp_path)] == ["Detect", "Open the incident"]


def test_literal_play_vars_name_the_incident_and_templates_do_not(tmp_path, host):
    templated = callback()
    templated.v2_playbook_on_play_start(Play.load({"name": "P", "hosts": "all", "vars": {
        "reflexion_incident_id": "{{ lookup('env', 'X') }}", "reflexion_incident_dir": str(tmp_path)}}, loader=LOADER))
    run(templated, host, task("One"), {"msg": "x"})
    assert templated.incident_id is None and len(templated.pending) == 1
    literal = callback()
    literal.v2_playbook_on_play_start(Play.load({"name": "P", "hosts": "all", "vars": {
        "reflexion_incident_id": ID, "reflexion_incident_dir": str(tmp_path)}}, loader=LOADER))
    run(literal, host, task("Two"), {"msg": "y"})
    assert [e["task"] for e in timeline(tmp_path)] == ["Two"]


def test_no_log_hides_the_result_and_secrets_are_redacted(tmp_path, host):
    cb = callback(incident_dir=str(tmp_path), incident_id=ID)
    cb.v2_playbook_on_play_start(Play.load({"name": "P", "hosts": "all"}, loader=LOADER))
    run(cb, host, task("Hidden", no_log=True), {"changed": False, "msg": "password=hunter2hunter2"})
    run(cb, host, task("Shown"), {"changed": False, "msg": "failed: OPENAI_API_KEY=abc123def456ghi"})
    hidden, shown = timeline(tmp_path)
    assert hidden["no_log"] is True and hidden["result"] == "(output hidden by no_log)"
    text = json.dumps([hidden, shown])
    assert "hunter2" not in text and "abc123def456ghi" not in text
    assert "OPENAI_API_KEY=[REDACTED]" in shown["result"]


def test_a_bad_incident_id_option_is_ignored(tmp_path, host):
    cb = callback(incident_dir=str(tmp_path), incident_id="../../etc")
    assert cb.incident_id is None
    run(cb, host, task("One"), {"msg": "x"})
    assert os.listdir(str(tmp_path)) == []
