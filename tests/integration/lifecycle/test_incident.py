"""reflexion.incident.incident through real ansible: files, modes, idempotence, check mode, concurrency."""

import json
import os
import stat

ID = "incident-2026-11-26-140311"


def lines(path):
    with open(path) as fh:
        return fh.read().splitlines()


def test_open_acknowledge_status_severity(run_module, tmp_path):
    base = str(tmp_path / "incidents")
    run = run_module(
        "incident",
        {
            "dir": base,
            "event": "open",
            "at": "2026-11-26T14:03:11Z",
            "severity": "P2",
            "text": "errors rising",
            "user": "alice",
        },
    )
    assert not run.failed, run.output
    assert run["changed"] is True
    assert run["id"] == ID
    d = os.path.join(base, ID)
    assert stat.S_IMODE(os.stat(base).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(d, "incident.log")).st_mode) == 0o600

    ack = {"dir": base, "id": ID, "event": "acknowledge", "user": "bob", "at": "2026-11-26T14:05:00Z"}
    run = run_module("incident", ack)
    assert run["changed"] is True
    assert lines(os.path.join(d, "incident.log"))[-1] == "Incident acknowledged by bob at Thu Nov 26 14:05:00 UTC 2026"
    assert json.loads(lines(os.path.join(d, "incident.jsonl"))[-1])["event"] == "acknowledge"

    # acknowledging twice changes nothing, and writes nothing
    before = open(os.path.join(d, "incident.log")).read()
    run = run_module("incident", dict(ack, user="carol", at="2026-11-26T14:06:00Z"))
    assert not run.failed and run["changed"] is False
    assert run["record"]["acknowledged_by"] == "bob"
    assert open(os.path.join(d, "incident.log")).read() == before

    run = run_module(
        "incident",
        {"dir": base, "id": ID, "event": "severity", "severity": "P1", "user": "bob", "at": "2026-11-26T14:07:00Z"},
        diff=True,
    )
    assert run["changed"] is True
    assert run["record"]["severity"] == "P1"
    run = run_module(
        "incident", {"dir": base, "id": ID, "event": "status", "status": "RESOLVED", "user": "bob", "at": "2026-11-26T15:00:00Z"}
    )
    rec = json.load(open(os.path.join(d, "record.json")))
    assert rec["status"] == "RESOLVED" and rec["resolved_at"] == "2026-11-26T15:00:00Z"
    assert [c["to"] for c in rec["severity_changes"]] == ["P2", "P1"]
    assert len(lines(os.path.join(d, "incident.log"))) == len(lines(os.path.join(d, "incident.jsonl"))) == 4


def test_check_mode_writes_nothing(run_module, tmp_path):
    base = str(tmp_path / "incidents")
    run = run_module("incident", {"dir": base, "event": "open", "at": "2026-11-26T14:03:11Z"}, check=True)
    assert not run.failed, run.output
    assert run["changed"] is True
    assert run["line"].startswith("Incident opened by ")
    assert not os.path.exists(base)


def test_note_is_redacted(run_module, tmp_path):
    base = str(tmp_path / "incidents")
    run_module("incident", {"dir": base, "event": "open", "at": "2026-11-26T14:03:11Z"})
    run = run_module("incident", {"dir": base, "id": ID, "event": "note", "text": "used OPENAI_API_KEY=canary-zz9-secret"})
    assert not run.failed, run.output
    for name in ("incident.log", "incident.jsonl", "record.json"):
        assert "canary-zz9-secret" not in open(os.path.join(base, ID, name)).read()


def test_bad_input_names_option_and_changes_nothing(run_module, tmp_path):
    base = str(tmp_path / "incidents")
    cases = [
        ({"dir": base, "event": "acknowledge"}, "id"),
        ({"dir": base, "id": "INC-1", "event": "open"}, "id"),
        ({"dir": base, "id": ID, "event": "acknowledge"}, "open it first"),
        ({"dir": base, "event": "open", "at": "yesterday"}, "at:"),
        ({"dir": base, "id": ID, "event": "status"}, "status"),
        ({"dir": base, "event": "open", "severity": "P9"}, "severity"),
    ]
    for args, needle in cases:
        run = run_module("incident", args)
        assert run.failed, args
        assert needle in run["msg"], (args, run["msg"])
        assert "Traceback" not in run.output
    assert not os.path.exists(os.path.join(base, ID))


def test_twenty_concurrent_module_runs(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    assert not run_module("incident", {"dir": base, "event": "open", "at": "2026-11-26T14:03:11Z"}).failed
    inv = tmp_path / "writers.yml"
    hosts = "\n".join("        w%02d: {}" % n for n in range(20))
    inv.write_text(
        "all:\n  children:\n    writers:\n      vars:\n        ansible_connection: local\n"
        "        ansible_python_interpreter: '{{ ansible_playbook_python }}'\n      hosts:\n" + hosts + "\n"
    )
    proc = run_playbook(
        "tests/integration/lifecycle/files/concurrent_notes.yml",
        inventory=str(inv),
        extra_vars={"incident_dir": base, "incident_id": ID},
        args=["--forks", "20"],
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    d = os.path.join(base, ID)
    log = lines(os.path.join(d, "incident.log"))
    events = [json.loads(x) for x in lines(os.path.join(d, "incident.jsonl"))]
    assert len(log) == len(events) == 21
    assert sorted(e["user"] for e in events[1:]) == ["w%02d" % n for n in range(20)]
    for line in log[1:]:
        assert line.startswith("Note by w") and line.endswith("y" * 5000)
