"""The review draft post_incident_review wrote from the incident prepare recorded: its timeline, root cause, SLA
and due date match the record, and the canary secret of the record's texts and the triage report is not in it."""

import re

DIR = "/tmp/rxi-pir/incidents/incident-2026-11-20-101500"
REVIEW = DIR + "/review.md"
CANARY = "rxih1canary5e7a"


def section(text, heading):
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = len(heading.split(" ")[0])
    start = text.index(heading + "\n") + len(heading) + 1
    nxt = re.search(r"^#{1,%d} " % level, text[start:], re.M)
    return text[start:start + nxt.start()] if nxt else text[start:]


def timeline(text):
    """(when, since open, source, event, by, details) of every row of the timeline table."""
    rows = []
    for line in section(text, "## Timeline review").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("2026-"):
            rows.append(tuple(cells))
    return rows


def test_the_review_is_a_private_file_for_this_incident(host):
    review = host.file(REVIEW)
    assert review.is_file
    assert review.mode == 0o600
    assert review.content_string.startswith("# Post-Incident Review (draft): incident-2026-11-20-101500\n")


def test_the_timeline_lists_every_event_of_the_record_in_order(host):
    rows = timeline(host.file(REVIEW).content_string)
    events = [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
    assert events == [
        ("2026-11-20 10:15:00 UTC", "+0:00:00", "record", "opened", "alice"),
        ("2026-11-20 10:25:00 UTC", "+0:10:00", "record", "acknowledged", "bob"),
        ("2026-11-20 10:30:00 UTC", "+0:15:00", "record", "severity P2 -> P1", "bob"),
        ("2026-11-20 10:40:00 UTC", "+0:25:00", "record", "status IDENTIFIED", "bob"),
        ("2026-11-20 10:45:00 UTC", "+0:30:00", "record", "note", "bob"),
        ("2026-11-20 10:50:00 UTC", "+0:35:00", "record", "mitigation", "bob"),
        ("2026-11-20 11:00:00 UTC", "+0:45:00", "record", "status MONITORING", "bob"),
        ("2026-11-20 11:45:00 UTC", "+1:30:00", "record", "resolved", "bob"),
    ], rows


def test_the_root_cause_is_drafted_from_the_identified_status(host):
    rca = section(host.file(REVIEW).content_string, "## Root cause analysis")
    assert "**Draft from the evidence:** Suspected: the recent deployment b61cc3c reflexion 1.1.0: new prompt builder" in rca
    assert "status IDENTIFIED at 2026-11-20 10:40:00 UTC" in rca
    # the triage report's evidence is quoted, its credential masked
    evidence = section(rca, "### Evidence")
    assert "- Triage evidence: P2 [config] REFLEXION_PG_PASSWORD=[REDACTED]" in evidence, evidence


def test_the_sla_and_the_due_date_follow_the_record(host):
    text = host.file(REVIEW).content_string
    assert "**Review due: 2026-11-22 11:45:00 UTC**" in text
    sla = section(text, "## Response against the SLA")
    assert re.search(r"^\| Time to acknowledge \| 0h 10m \| 1h 00m .*\| yes \|$", sla, re.M), sla
    assert re.search(r"^\| Time to resolve \| 1h 30m \| 24h 00m .*\| yes \|$", sla, re.M), sla


def test_no_secret_reaches_the_review(host):
    # the canary is really in the input (the triage report as a probe would have written it) ...
    assert CANARY in host.file(DIR + "/triage-localhost.md").content_string
    text = host.file(REVIEW).content_string
    # ... and nowhere in the review: the DSN password, the API key and the report's password are masked
    assert CANARY not in text
    assert "postgresql://app:[REDACTED]@db:5432/reflexion" in text
    assert "OPENAI_API_KEY=[REDACTED]" in text
    assert host.run("grep -rl %s %s", CANARY, DIR).stdout.split() == [DIR + "/triage-localhost.md"]
