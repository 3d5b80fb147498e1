"""status_update.yml / the communicate role against a real local webhook receiver."""

import json
import os
import re
import stat

from .receiver import WebhookReceiver

ID = "incident-2026-11-26-140311"
EPOCH = 1795701791  # 2026-11-26 14:03:11 UTC


def open_incident(run_module, base):
    run = run_module("incident", {"dir": base, "event": "open", "at": "2026-11-26T14:03:11Z", "severity": "P1"})
    assert not run.failed, run.output


def update(run_playbook, base, url, **kw):
    ev = {
        "incident_id": ID,
        "reflexion_incident_dir": base,
        "status": "IDENTIFIED",
        "severity": "P1",
        "impact": "20% of API calls fail",
        "root_cause": "DB pool exhausted by v1.1.0",
        "mitigation": "Rolling back to v1.0.0",
        "webhook_url": url,
        "communicate_now_epoch": EPOCH,
    }
    ev.update(kw)
    return run_playbook("playbooks/status_update.yml", extra_vars=ev, args=["-v"])


def test_update_written_posted_and_idempotent(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    open_incident(run_module, base)
    with WebhookReceiver() as hook:
        proc = update(run_playbook, base, hook.url)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        status = open(os.path.join(base, ID, "status.md")).read()
        assert status.startswith("## Incident Update - 2026-11-26 14:03:11 UTC")
        for line in (
            "**Status**: IDENTIFIED",
            "**Impact**: 20% of API calls fail",
            "**Root Cause**: DB pool exhausted by v1.1.0",
            "**Mitigation**: Rolling back to v1.0.0",
            "**Next Update**: 2026-11-26 14:33 UTC",
            "**Incident**: " + ID + " (P1)",
        ):
            assert line in status, line
        assert stat.S_IMODE(os.stat(os.path.join(base, ID, "status.md")).st_mode) == 0o600
        assert len(hook.received) == 1
        assert hook.received[0]["path"].endswith("/hooksecretpath")
        assert hook.json_bodies()[0]["text"].strip() == status.strip()
        # the webhook URL is a secret: never in the output
        assert "hooksecretpath" not in proc.stdout + proc.stderr
        record = json.load(open(os.path.join(base, ID, "record.json")))
        assert record["status"] == "IDENTIFIED"

        again = update(run_playbook, base, hook.url)
        assert again.returncode == 0, again.stdout + again.stderr
        assert re.search(r"changed=0\s", again.stdout)
        assert len(hook.received) == 1

        resolved = update(run_playbook, base, hook.url, status="RESOLVED", mitigation="Rolled back")
        assert resolved.returncode == 0
        assert len(hook.received) == 2
        assert "**Status**: RESOLVED" in hook.json_bodies()[1]["text"]
        assert "**Next Update**: None; the incident is resolved." in open(os.path.join(base, ID, "status.md")).read()


def test_webhook_refusal_is_clear_and_secret_safe(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    open_incident(run_module, base)
    with WebhookReceiver(answer=403) as hook:
        proc = update(run_playbook, base, hook.url)
    assert proc.returncode != 0
    assert "the webhook answered 403" in proc.stdout
    assert "hooksecretpath" not in proc.stdout + proc.stderr
    assert os.path.exists(os.path.join(base, ID, "status.md"))


def test_check_mode_writes_nothing(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    open_incident(run_module, base)
    with WebhookReceiver() as hook:
        ev = {"incident_id": ID, "reflexion_incident_dir": base, "status": "MONITORING", "webhook_url": hook.url}
        proc = run_playbook("playbooks/status_update.yml", extra_vars=ev, check=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert hook.received == []
    assert not os.path.exists(os.path.join(base, ID, "status.md"))
    assert json.load(open(os.path.join(base, ID, "record.json")))["status"] == "INVESTIGATING"
