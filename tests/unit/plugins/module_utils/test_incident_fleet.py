"""Issue 18: a fleet incident's per-host map (pure logic of _incident: normalize_hosts, plan, fold)."""

import pytest

from ansible_collections.reflexion.incident.plugins.module_utils import _incident as inc


def test_normalize_hosts_keeps_the_three_fields_and_caps_text():
    out = inc.normalize_hosts({"host2": {"severity": "P1", "status": "degraded", "summary": "x" * 2000, "extra": 1},
                               "host1": {"severity": None}})
    assert out == {"host2": {"severity": "P1", "status": "degraded", "summary": "x" * inc.HOST_TEXT_MAX},
                   "host1": {"severity": None, "status": "", "summary": ""}}
    assert inc.normalize_hosts({}) is None and inc.normalize_hosts(None) is None


@pytest.mark.parametrize("bad", ["host1", {"host1": "P1"}, {"host1": {"severity": "P9"}}, {"a b": {"severity": "P1"}},
                                 {"h%d" % i: {} for i in range(inc.HOSTS_MAX + 1)}])
def test_normalize_hosts_refuses_naming_hosts(bad):
    with pytest.raises(inc.IncidentError, match=r"^hosts: "):
        inc.normalize_hosts(bad)


def test_open_and_severity_events_carry_the_map_and_the_record_keeps_the_latest():
    first = {"host1": {"severity": "P3", "status": "healthy", "summary": ""},
             "host2": {"severity": "P1", "status": "degraded", "summary": "llm down"}}
    later = dict(first, host3={"severity": "P0", "status": "down", "summary": "outage"})
    rec = inc.empty_record("incident-2026-01-01-000000")
    ev_open = inc.plan(rec, {"event": "open", "at": "2026-01-01T00:00:00Z", "user": "u", "severity": "P1",
                             "message": "t", "hosts": first})
    assert ev_open["hosts"] == first
    rec = inc.fold(rec["id"], [ev_open])
    assert rec["hosts"] == first and rec["severity"] == "P1"
    ev_sev = inc.plan(rec, {"event": "severity", "at": "2026-01-01T00:01:00Z", "user": "u", "severity": "P0", "hosts": later})
    rec = inc.fold(rec["id"], [ev_open, ev_sev])
    assert rec["hosts"] == later and rec["severity"] == "P0"
    # other events never carry it; a single-host incident has no "hosts" in its record
    ev_note = inc.plan(rec, {"event": "note", "at": "2026-01-01T00:02:00Z", "user": "u", "message": "n", "hosts": later})
    assert "hosts" not in ev_note
    single = inc.plan(inc.empty_record(rec["id"]), {"event": "open", "at": "2026-01-01T00:00:00Z", "user": "u"})
    assert "hosts" not in inc.fold(rec["id"], [single])
