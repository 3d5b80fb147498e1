"""Issue 16: "Next Update" is a promise. The next update is due at update time + interval while the incident is
open; playbooks/status_update.yml -e heartbeat=true publishes exactly then (changed=0 before), and a duplicate
inside the interval is not published. Time is driven through communicate_now_epoch.

Real playbooks/status_update.yml -> roles/communicate, real incident records, a real webhook receiver on 127.0.0.1.
"""

import json
import os
import re

from .receiver import WebhookReceiver

EPOCH = 1795701791  # 2026-11-26 14:03:11 UTC
ID = "incident-2026-11-26-140311"
ONCALL = "Alice Martin, @alice"


def open_incident(run_module, base, at="2026-11-26T14:03:11Z", severity="P1", title="high_error_rate: errors 12%"):
    run = run_module("incident", {"dir": base, "event": "open", "at": at, "severity": severity, "text": title})
    assert not run.failed, run.output
    return "incident-" + at[:10] + "-" + at[11:19].replace(":", "")


def run(run_playbook, base, url, now, **kw):
    ev = {"reflexion_incident_dir": base, "webhook_url": url, "communicate_now_epoch": now, "reflexion_oncall_engineer": ONCALL}
    ev.update(kw)
    proc = run_playbook("playbooks/status_update.yml", extra_vars=ev)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def update(run_playbook, base, url, now, **kw):
    ev = {"incident_id": ID, "status": "IDENTIFIED", "impact": "12% of API calls fail",
          "root_cause": "provider timeouts", "mitigation": "Circuit breaker open"}
    ev.update(kw)
    return run(run_playbook, base, url, now, **ev)


def changed(proc):
    found = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", proc.stdout)
    assert found, proc.stdout
    return int(found.group(1))


def said(proc):
    """The run's output with line wrapping undone (the default callback folds long messages)."""
    return " ".join(proc.stdout.split())


def read(base, name, incident_id=ID):
    with open(os.path.join(base, incident_id, name)) as handle:
        return handle.read()


def test_next_update_is_update_time_plus_interval_and_due_then(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    open_incident(run_module, base)
    with WebhookReceiver() as hook:
        update(run_playbook, base, hook.url, EPOCH, communicate_update_interval_minutes=45)
        status = read(base, "status.md")
        assert "**Next Update**: 2026-11-26 14:48 UTC" in status  # 14:03:11 + 45 min
        state = json.loads(read(base, "status.json"))
        assert state["published_at"] == EPOCH and state["next_update_at"] == EPOCH + 45 * 60
        assert len(hook.received) == 1

        # the same update one second before the promised time: a duplicate, nothing published
        early = update(run_playbook, base, hook.url, EPOCH + 45 * 60 - 1, communicate_update_interval_minutes=45)
        assert changed(early) == 0
        assert len(hook.received) == 1
        assert read(base, "status.md") == status

        # at the promised time the same update is due again: published, with the next promise
        due = update(run_playbook, base, hook.url, EPOCH + 45 * 60, communicate_update_interval_minutes=45)
        assert changed(due) > 0
        assert len(hook.received) == 2
        again = read(base, "status.md")
        assert again.startswith("## Incident Update - 2026-11-26 14:48:11 UTC")
        assert "**Next Update**: 2026-11-26 15:33 UTC" in again
        assert hook.json_bodies()[1]["text"].strip() == again.strip()


def test_heartbeat_publishes_only_when_due_and_is_idempotent(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    open_incident(run_module, base)
    with WebhookReceiver() as hook:
        update(run_playbook, base, hook.url, EPOCH)
        first = read(base, "status.md")
        assert len(hook.received) == 1

        # not due (29:59 later): changed=0, nothing posted, nothing rewritten
        quiet = run(run_playbook, base, hook.url, EPOCH + 1799, heartbeat=True, incident_id=ID)
        assert changed(quiet) == 0, quiet.stdout
        assert "the next update is due at 2026-11-26 14:33:11 UTC" in said(quiet)
        assert len(hook.received) == 1
        assert read(base, "status.md") == first

        # due: the last update again, with the new time and the next promise (and without -e status/impact...)
        beat = run(run_playbook, base, hook.url, EPOCH + 1800, heartbeat=True, incident_id=ID)
        assert changed(beat) > 0
        assert len(hook.received) == 2
        second = read(base, "status.md")
        assert second.startswith("## Incident Update - 2026-11-26 14:33:11 UTC")
        for line in ("**Status**: IDENTIFIED", "**Impact**: 12% of API calls fail",
                     "**Root Cause**: provider timeouts", "**Mitigation**: Circuit breaker open",
                     "**Next Update**: 2026-11-26 15:03 UTC",
                     "**Notified (P1)**: On-Call Engineer (%s)" % ONCALL):
            assert line in second, line
        assert hook.json_bodies()[1]["text"].strip() == second.strip()

        # a second run at the same time: idempotent
        repeat = run(run_playbook, base, hook.url, EPOCH + 1800, heartbeat=True, incident_id=ID)
        assert changed(repeat) == 0
        assert len(hook.received) == 2
        assert read(base, "status.md") == second
        assert json.loads(read(base, "status.json"))["next_update_at"] == EPOCH + 3600


def test_heartbeat_without_incident_id_updates_every_open_incident_that_is_due(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    assert open_incident(run_module, base, at="2026-11-26T14:03:11Z") == ID
    silent_id = open_incident(run_module, base, at="2026-11-26T13:00:00Z", severity="P0",
                              title="database_connection_issues: pool 99% used")
    resolved_id = open_incident(run_module, base, at="2026-11-26T12:00:00Z")
    rec = run_module("incident", {"dir": base, "id": resolved_id, "event": "status", "status": "RESOLVED"})
    assert not rec.failed, rec.output
    with WebhookReceiver() as hook:
        # ID got an update at 14:03:11; silent_id (opened 13:00) never did; resolved_id is over
        update(run_playbook, base, hook.url, EPOCH)
        assert len(hook.received) == 1
        beat = run(run_playbook, base, hook.url, EPOCH + 60, heartbeat=True)
        assert changed(beat) > 0
        # only silent_id is due (its first update was due one interval after it opened)
        assert len(hook.received) == 2
        text = hook.json_bodies()[1]["text"]
        assert text.startswith("## Incident Update - 2026-11-26 14:04:11 UTC")
        assert "**Incident**: %s (P0)" % silent_id in text
        assert "**Status**: INVESTIGATING" in text
        assert not os.path.exists(os.path.join(base, resolved_id, "status.md"))

        again = run(run_playbook, base, hook.url, EPOCH + 60, heartbeat=True)
        assert changed(again) == 0
        assert len(hook.received) == 2


def test_resolved_incident_gets_no_heartbeat_and_resolution_is_not_repeated(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    open_incident(run_module, base)
    with WebhookReceiver() as hook:
        update(run_playbook, base, hook.url, EPOCH, status="RESOLVED", mitigation="Rolled back")
        assert "**Next Update**: None; the incident is resolved." in read(base, "status.md")
        assert json.loads(read(base, "status.json"))["next_update_at"] is None
        for now in (EPOCH + 1800, EPOCH + 86400):
            beat = run(run_playbook, base, hook.url, now, heartbeat=True, incident_id=ID)
            assert changed(beat) == 0
            assert "no update published; the incident is resolved" in said(beat)
            same = update(run_playbook, base, hook.url, now, status="RESOLVED", mitigation="Rolled back")
            assert changed(same) == 0
        assert len(hook.received) == 1


def test_refused_post_is_retried_by_the_next_run(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    open_incident(run_module, base)
    with WebhookReceiver(answer=503) as hook:
        ev = {"reflexion_incident_dir": base, "webhook_url": hook.url, "communicate_now_epoch": EPOCH, "incident_id": ID,
              "status": "IDENTIFIED"}
        proc = run_playbook("playbooks/status_update.yml", extra_vars=ev)
        assert proc.returncode != 0 and "the webhook answered 503" in proc.stdout
        assert not os.path.exists(os.path.join(base, ID, "status.json"))
        hook.httpd.answer = 200
        retry = run_playbook("playbooks/status_update.yml", extra_vars=ev)
        assert retry.returncode == 0, retry.stdout + retry.stderr
        assert len(hook.received) == 2
        assert "**Status**: IDENTIFIED" in hook.json_bodies()[1]["text"]
        assert json.loads(read(base, "status.json"))["published_at"] == EPOCH
