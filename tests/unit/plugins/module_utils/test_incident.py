"""The incident record: ids, human lines, folding, idempotence by (id, event), and locked appends."""

import datetime
import json
import multiprocessing
import os
import stat

import pytest

from ansible_collections.reflexion.incident.plugins.module_utils import _incident as inc
from ansible_collections.reflexion.incident.plugins.module_utils._incident_store import FileStore
from ansible_collections.reflexion.incident.plugins.module_utils._incident_store import apply as store_apply

T0 = datetime.datetime(2026, 11, 26, 14, 3, 11, tzinfo=datetime.timezone.utc)
ID = "incident-2026-11-26-140311"


def file_apply(base_dir, request, check_mode=False):
    """The files store's read-decide-append, as the incident module runs it: (before, after, event, line)."""
    before, after, event, line, dummy = store_apply(FileStore(base_dir), request, check_mode=check_mode)
    return before, after, event, line


def req(event, at="2026-11-26T14:03:11Z", **kw):
    base = {"id": ID, "event": event, "at": at, "user": "bob", "severity": None, "status": None, "message": None}
    base.update(kw)
    return base


def test_make_id_and_date_text():
    assert inc.make_id(T0) == ID
    assert inc.ID_RE.match(ID)
    assert inc.date_text(T0) == "Thu Nov 26 14:03:11 UTC 2026"
    assert inc.date_text(T0.replace(day=3)) == "Tue Nov  3 14:03:11 UTC 2026"


def test_acknowledge_line_is_the_runbooks():
    ev = inc.plan(inc.fold(ID, [inc.plan(inc.empty_record(ID), req("open"))]), req("acknowledge", at="2026-11-26T14:05:00Z"))
    assert inc.human_line(ev) == "Incident acknowledged by bob at Thu Nov 26 14:05:00 UTC 2026"


def test_lifecycle_fold():
    events = []
    for r in (
        req("open", severity="P2", message="errors"),
        req("acknowledge", at="2026-11-26T14:10:00Z"),
        req("severity", at="2026-11-26T14:12:00Z", severity="P1"),
        req("status", at="2026-11-26T14:30:00Z", status="IDENTIFIED"),
        req("status", at="2026-11-26T15:00:00Z", status="RESOLVED"),
    ):
        ev = inc.plan(inc.fold(ID, events), r)
        assert ev is not None
        events.append(ev)
    rec = inc.fold(ID, events)
    assert rec["state"] == "acknowledged"
    assert rec["status"] == "RESOLVED"
    assert rec["severity"] == "P1"
    assert rec["acknowledged_at"] == "2026-11-26T14:10:00Z"
    assert rec["resolved_at"] == "2026-11-26T15:00:00Z"
    assert [(c["from"], c["to"]) for c in rec["severity_changes"]] == [(None, "P2"), ("P2", "P1")]
    assert [c["status"] for c in rec["status_changes"]] == ["INVESTIGATING", "IDENTIFIED", "RESOLVED"]
    assert inc.human_line(events[2]) == "Severity changed from P2 to P1 by bob at Thu Nov 26 14:12:00 UTC 2026"


@pytest.mark.parametrize(
    "first,second",
    [
        (req("acknowledge"), req("acknowledge", user="alice")),
        (req("status", status="MONITORING"), req("status", status="MONITORING")),
        (req("severity", severity="P0"), req("severity", severity="P0")),
        (req("note", message="pool at 100%"), req("note", message="pool at 100%")),
    ],
)
def test_idempotent_by_id_and_event(first, second):
    events = [inc.plan(inc.empty_record(ID), req("open", severity="P1"))]
    events.append(inc.plan(inc.fold(ID, events), first))
    assert events[-1] is not None
    assert inc.plan(inc.fold(ID, events), second) is None


def test_open_twice_is_no_change():
    events = [inc.plan(inc.empty_record(ID), req("open"))]
    assert inc.plan(inc.fold(ID, events), req("open")) is None


@pytest.mark.parametrize(
    "request_,msg",
    [
        (req("acknowledge"), "open it first"),
    ],
)
def test_event_before_open_fails(request_, msg):
    with pytest.raises(inc.IncidentError) as err:
        inc.plan(inc.empty_record(ID), request_)
    assert msg in str(err.value)


def test_multiline_message_stays_one_line():
    ev = inc.plan(inc.fold(ID, [inc.plan(inc.empty_record(ID), req("open"))]), req("note", message="a\nb\n\nc"))
    assert "\n" not in inc.human_line(ev)


def test_bad_time_names_option():
    with pytest.raises(inc.IncidentError) as err:
        inc.parse_time("yesterday")
    assert str(err.value).startswith("at:")


def test_apply_writes_files_with_safe_modes(tmp_path):
    base = str(tmp_path / "incidents")
    file_apply(base, req("open", severity="P1"))
    _b, after, ev, line = file_apply(base, req("acknowledge"))
    assert ev["event"] == "acknowledge"
    d = os.path.join(base, ID)
    assert stat.S_IMODE(os.stat(base).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    for name in ("incident.log", "incident.jsonl", "record.json", ".lock"):
        assert stat.S_IMODE(os.stat(os.path.join(d, name)).st_mode) == 0o600, name
    assert open(os.path.join(d, "incident.log")).read().splitlines()[-1] == line
    assert json.load(open(os.path.join(d, "record.json")))["state"] == "acknowledged"
    assert after["acknowledged_by"] == "bob"


def test_check_mode_writes_nothing(tmp_path):
    base = str(tmp_path / "incidents")
    _b, after, ev, line = file_apply(base, req("open"), check_mode=True)
    assert ev["event"] == "open" and line.startswith("Incident opened by bob")
    assert after["state"] == "open"
    assert not os.path.exists(base)


# ---- 20 concurrent writers, real processes


def _writer(args):
    base, n, lines = args
    for i in range(lines):
        # 6 KiB messages: well over PIPE_BUF, so an unlocked or split write would interleave
        msg = ("w%02d-%03d-" % (n, i)) + ("x" * 6000)
        file_apply(base, req("note", at="2026-11-26T14:%02d:%02dZ" % (n, i % 60), user="w%02d" % n, message=msg))


def test_twenty_concurrent_writers_lose_and_tear_nothing(tmp_path):
    base = str(tmp_path / "incidents")
    file_apply(base, req("open", severity="P1"))
    writers, per = 20, 15
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=((base, n, per),)) for n in range(writers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    d = os.path.join(base, ID)
    log = open(os.path.join(d, "incident.log")).read().splitlines()
    jsonl = [json.loads(x) for x in open(os.path.join(d, "incident.jsonl")).read().splitlines()]
    assert len(log) == len(jsonl) == 1 + writers * per
    expected = {("w%02d-%03d-" % (n, i)) + "x" * 6000 for n in range(writers) for i in range(per)}
    got_json = {e["message"] for e in jsonl if e["event"] == "note"}
    got_log = {line.split(": ", 1)[1] for line in log[1:]}
    assert got_json == expected
    assert got_log == expected
    assert all(line.startswith(("Note by w", "Incident opened by")) for line in log)
    assert json.load(open(os.path.join(d, "record.json")))["events"] == 1 + writers * per


@pytest.mark.parametrize("bad", [ID + "\n", ID + "\r\n", "\n" + ID, ID + " ", "incident-\u0662\u0660\u0662\u0666-11-26-140311",
                                 "incident-2026-11-26-1403111", ID + "\n../x"])
def test_id_is_matched_whole(bad):
    """'$' matches before a trailing newline: the id pattern must match the whole string (issue #15)."""
    assert not inc.ID_RE.match(bad)
    assert inc.ID_RE.match(ID)
