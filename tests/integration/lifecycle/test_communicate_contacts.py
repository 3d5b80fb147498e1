"""Issue 16: the runbook's contacts, escalation by severity and external resources in the status update.

Real playbooks/status_update.yml -> roles/communicate, real incident records, a real webhook receiver on 127.0.0.1.
"""

import json
import os

from .receiver import WebhookReceiver

EPOCH = 1795701791  # 2026-11-26 14:03:11 UTC
ONCALL = "Alice Martin, +1 555 0100, @alice"
MANAGER = "Bob Escalade, +1 555 0101"
LEAD = "Tess Lead, @tess"
DBA = "Dan the DBA, +1 555 0199"
CLOUD = "Cloud support case portal, +1 800 555 0000"
SECURITY = "security@example.com"
DASHBOARD = "https://grafana.example.com/d/reflexion"
LOGS = "https://kibana.example.com/app/discover"
STATUS_PAGE = "https://status.example.com"
ALL_CONTACTS = {
    "reflexion_oncall_engineer": ONCALL,
    "reflexion_escalation_manager": MANAGER,
    "reflexion_technical_lead": LEAD,
    "reflexion_database_administrator": DBA,
    "reflexion_cloud_provider_support": CLOUD,
    "reflexion_security_team": SECURITY,
}


def open_incident(run_module, base, severity, title, at="2026-11-26T14:03:11Z"):
    run = run_module("incident", {"dir": base, "event": "open", "at": at, "severity": severity, "text": title})
    assert not run.failed, run.output
    return "incident-" + at[:10] + "-" + at[11:19].replace(":", "")


def update(run_playbook, base, incident_id, url, **kw):
    ev = {
        "incident_id": incident_id,
        "reflexion_incident_dir": base,
        "status": "IDENTIFIED",
        "impact": "20% of API calls fail",
        "root_cause": "DB pool exhausted",
        "mitigation": "Terminating idle sessions",
        "webhook_url": url,
        "communicate_now_epoch": EPOCH,
    }
    ev.update(kw)
    return run_playbook("playbooks/status_update.yml", extra_vars=ev)


def status_md(base, incident_id):
    with open(os.path.join(base, incident_id, "status.md")) as handle:
        return handle.read()


def test_p0_notifies_oncall_manager_and_lead_p2_only_oncall(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    p0 = open_incident(run_module, base, "P0", "high_error_rate: API errors 43%", at="2026-11-26T14:03:11Z")
    p2 = open_incident(run_module, base, "P2", "high_error_rate: API errors 6%", at="2026-11-26T15:03:11Z")
    with WebhookReceiver() as hook:
        # no -e severity: the update takes the record's severity, and escalates by it
        proc = update(run_playbook, base, p0, hook.url, **ALL_CONTACTS)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        proc = update(run_playbook, base, p2, hook.url, **ALL_CONTACTS)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        texts = [b["text"] for b in hook.json_bodies()]
    assert len(texts) == 2
    first, second = status_md(base, p0), status_md(base, p2)
    assert texts[0].strip() == first.strip() and texts[1].strip() == second.strip()

    assert "**Incident**: %s (P0)" % p0 in first
    assert ("**Notified (P0)**: On-Call Engineer (%s); Escalation Manager (%s); Technical Lead (%s)"
            % (ONCALL, MANAGER, LEAD)) in first
    assert "**Incident**: %s (P2)" % p2 in second
    assert "**Notified (P2)**: On-Call Engineer (%s)\n" % ONCALL in second
    for absent in (MANAGER, LEAD, "Escalation Manager", "Technical Lead"):
        assert absent not in second, absent
    # high_error_rate has no emergency contact
    for text in (first, second):
        for absent in (DBA, CLOUD, SECURITY):
            assert absent not in text, absent


def test_scenario_emergency_contact_from_record_and_from_the_command_line(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    db = open_incident(run_module, base, "P2", "database_connection_issues: pool 97% used", at="2026-11-26T14:03:11Z")
    llm = open_incident(run_module, base, "P3", "llm_api_failures: openai 429", at="2026-11-26T14:04:11Z")
    sec = open_incident(run_module, base, "P1", "high_error_rate: odd traffic", at="2026-11-26T14:05:11Z")
    with WebhookReceiver() as hook:
        for incident_id, extra in ((db, {}), (llm, {}), (sec, {"scenario": "security"})):
            extra.update(ALL_CONTACTS)
            proc = update(run_playbook, base, incident_id, hook.url, **extra)
            assert proc.returncode == 0, proc.stdout + proc.stderr
        texts = [b["text"] for b in hook.json_bodies()]
    assert len(texts) == 3
    assert "**Notified (P2)**: On-Call Engineer (%s); Database Administrator (%s)\n" % (ONCALL, DBA) in texts[0]
    assert "**Notified (P3)**: On-Call Engineer (%s); Cloud Provider Support (%s)\n" % (ONCALL, CLOUD) in texts[1]
    assert ("**Notified (P1)**: On-Call Engineer (%s); Technical Lead (%s); Security Team (%s)\n"
            % (ONCALL, LEAD, SECURITY)) in texts[2]
    assert DBA not in texts[1] + texts[2] and CLOUD not in texts[0] + texts[2] and SECURITY not in texts[0] + texts[1]


def test_unconfigured_contacts_and_links_are_left_out(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    bare = open_incident(run_module, base, "P0", "database_connection_issues: pool 99% used", at="2026-11-26T14:03:11Z")
    some = open_incident(run_module, base, "P0", "database_connection_issues: pool 99% used", at="2026-11-26T14:04:11Z")
    with WebhookReceiver() as hook:
        proc = update(run_playbook, base, bare, hook.url)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        proc = update(run_playbook, base, some, hook.url, reflexion_oncall_engineer=ONCALL,
                      reflexion_monitoring_dashboard_url=DASHBOARD)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        texts = [b["text"] for b in hook.json_bodies()]
    nothing, partial = status_md(base, bare), status_md(base, some)
    assert texts[0].strip() == nothing.strip() and texts[1].strip() == partial.strip()
    for text in (nothing, partial):
        for absent in ("[Contact", "Escalation Manager", "Technical Lead", "Database Administrator",
                       "Log Aggregation", "Status Page", LOGS, STATUS_PAGE):
            assert absent not in text, absent
    assert "Notified" not in nothing and "Monitoring Dashboard" not in nothing
    assert nothing.rstrip().endswith("**Next Update**: 2026-11-26 14:33 UTC")
    assert "**Notified (P0)**: On-Call Engineer (%s)\n" % ONCALL in partial
    assert "**Monitoring Dashboard**: %s" % DASHBOARD in partial

    # every resource configured: each named with the runbook's label, in the runbook's order
    with WebhookReceiver() as hook:
        proc = update(run_playbook, base, some, hook.url, reflexion_oncall_engineer=ONCALL,
                      reflexion_monitoring_dashboard_url=DASHBOARD, reflexion_log_aggregation_url=LOGS,
                      reflexion_status_page_url=STATUS_PAGE)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert len(hook.received) == 1  # the links changed: a new update
    text = status_md(base, some)
    assert ("**Monitoring Dashboard**: %s\n\n**Log Aggregation**: %s\n\n**Status Page**: %s\n"
            % (DASHBOARD, LOGS, STATUS_PAGE)) in text


def test_contact_is_data_not_a_template(run_module, run_playbook, tmp_path):
    """A contact that reaches the role as an unrendered template (an untrusted source) is refused, never run."""
    base = str(tmp_path / "incidents")
    incident_id = open_incident(run_module, base, "P0", "high_error_rate: API errors 43%")
    marker = tmp_path / "marker"
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(
        "incident_id: %s\nreflexion_incident_dir: %s\ncommunicate_now_epoch: %d\n"
        "reflexion_oncall_engineer: !unsafe \"{{ lookup('ansible.builtin.pipe', 'touch %s') }}\"\n"
        % (incident_id, base, EPOCH, marker))
    with WebhookReceiver() as hook:
        proc = run_playbook("playbooks/status_update.yml", args=["-e", "@" + str(vars_file),
                                                                 "-e", json.dumps({"webhook_url": hook.url})])
        assert hook.received == []
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "communicate_oncall_engineer: one line of text" in out
    assert "Traceback" not in out
    assert not marker.exists()
    assert not os.path.exists(os.path.join(base, incident_id, "status.md"))


def test_long_contact_is_refused_before_anything_is_written(run_module, run_playbook, tmp_path):
    base = str(tmp_path / "incidents")
    incident_id = open_incident(run_module, base, "P0", "high_error_rate: API errors 43%")
    with WebhookReceiver() as hook:
        proc = update(run_playbook, base, incident_id, hook.url, reflexion_technical_lead="x" * 257)
        assert hook.received == []
    assert proc.returncode != 0
    assert "communicate_technical_lead: one line of text of at most 256 characters" in proc.stdout
    assert not os.path.exists(os.path.join(base, incident_id, "status.md"))
    with open(os.path.join(base, incident_id, "record.json")) as handle:
        assert json.load(handle)["status"] == "INVESTIGATING"
