"""reflexion.incident.dry_run: check mode from every source, the one idiom every mitigation role uses."""

import json
import os
import subprocess

from ..conftest import BIN, ROOT, ansible_env, json_callback_document

PLAY = [{
    "name": "dry_run from every source", "hosts": "localhost", "gather_facts": False,
    "tasks": [
        {"name": "plain", "reflexion.incident.dry_run": None, "register": "plain"},
        {"name": "keyword on the task", "reflexion.incident.dry_run": None, "check_mode": True, "register": "task_kw"},
        {"name": "keyword on a block", "check_mode": True, "block": [
            {"name": "in the block", "reflexion.incident.dry_run": None, "register": "block_kw"}]},
        {"name": "forced off on the task", "reflexion.incident.dry_run": None, "check_mode": False, "register": "off"},
        {"name": "bad argument", "reflexion.incident.dry_run": {"nonsense": 1}, "register": "bad", "ignore_errors": True},
        {"name": "results", "ansible.builtin.debug": {"msg": {
            "plain": "{{ plain.dry_run }}", "task_kw": "{{ task_kw.dry_run }}", "block_kw": "{{ block_kw.dry_run }}",
            "off": "{{ off.dry_run }}", "bad": "{{ bad.msg }}", "changed": "{{ plain.changed }}"}}},
    ]}]


def run(tmp_path, *args):
    book = tmp_path / "book.yml"
    book.write_text(json.dumps(PLAY))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventories/local"),
                           str(book)] + list(args), cwd=ROOT, env=ansible_env(), capture_output=True, text=True,
                          timeout=120, check=False)
    doc = json_callback_document(proc.stdout)
    tasks = doc["plays"][0]["tasks"]
    return tasks[-1]["hosts"]["localhost"]["msg"], proc


def test_each_source_of_check_mode(tmp_path):
    msg, proc = run(tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert msg["plain"] is False and msg["off"] is False and msg["changed"] is False
    assert msg["task_kw"] is True and msg["block_kw"] is True
    assert "nonsense" in msg["bad"] and "Traceback" not in proc.stdout + proc.stderr


def test_check_flag_is_a_dry_run_unless_forced_off(tmp_path):
    msg, proc = run(tmp_path, "--check")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert msg["plain"] is True and msg["task_kw"] is True and msg["block_kw"] is True
    assert msg["off"] is False
