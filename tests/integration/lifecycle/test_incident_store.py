"""The incident store (issue 19): files and PostgreSQL give the same record; concurrent writers lose nothing.

Every writer is a separate OS process running the real module (``python -m`` of
reflexion.incident.incident with an args file, as Ansible's module runner does), against a real PostgreSQL
on loopback (tests/integration/pg_redis_servers.py) and a real directory.
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile

import pytest

from ..pg_redis_servers import SUPER_PASSWORD, postgres_server

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ID = "incident-2026-11-26-140311"
WRITERS = 20
OPENERS = 10
EVENTS = [
    dict(event="open", at="2026-11-26T14:03:11Z", severity="P2", text="high_error_rate: errors rising", user="alice"),
    dict(event="acknowledge", at="2026-11-26T14:05:00Z", user="bob"),
    dict(event="severity", at="2026-11-26T14:07:00Z", severity="P1", text="error ratio 43.8%", user="bob"),
    dict(event="note", at="2026-11-26T14:08:00Z", text="mitigation applied: circuit_breaker", user="bob"),
    dict(event="acknowledge", at="2026-11-26T14:09:00Z", user="carol"),  # no change: already acknowledged
    dict(event="status", at="2026-11-26T15:00:00Z", status="RESOLVED", user="bob"),
]


@pytest.fixture(scope="module")
def pg():
    with postgres_server() as server:
        yield server


def pg_args(server, dbname="reflexion"):
    return dict(store="postgresql", login_host=server.host, port=server.port, login_user="postgres",
                login_password=SUPER_PASSWORD, login_db=dbname)


def module_cmd(args, check=False):
    """Write the args file; return the command of one module process."""
    payload = dict(args)
    if check:
        payload["_ansible_check_mode"] = True
    fd, path = tempfile.mkstemp(prefix="rxi-store-args-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, fh)
    return [sys.executable, "-m", "ansible_collections.reflexion.incident.plugins.modules.incident", path], path


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = os.path.join(ROOT, "collections")
    for name in ("REFLEXION_INCIDENT_STORE", "REFLEXION_INCIDENT_DIR", "REFLEXION_INCIDENT_PG_DSN", "PGHOST", "PGPORT",
                 "PGUSER", "PGPASSWORD", "PGDATABASE"):
        e.pop(name, None)
    return e


def parse(proc):
    out = proc.stdout.strip().splitlines()
    assert out, "rc=%s, no output; stderr: %s" % (proc.returncode, proc.stderr[-2000:])
    result = json.loads(out[-1])
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return result


def run(args, check=False):
    cmd, path = module_cmd(args, check)
    try:
        return parse(subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=60, check=False))
    finally:
        os.unlink(path)


def run_many(arg_list):
    """Start every process first, then wait: they run at the same time."""
    started = []
    done = []
    try:
        for args in arg_list:
            cmd, path = module_cmd(args)
            started.append((subprocess.Popen(cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
                            path))
        for proc, _path in started:
            out, err = proc.communicate(timeout=120)
            done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    finally:
        for proc, path in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.unlink(path)
    return [parse(p) for p in done]


def pg_rows(server, incident_id, table="reflexion_incident_event", column="event", dbname="reflexion"):
    conn = server.connect(dbname=dbname)
    cur = conn.cursor()
    cur.execute("SELECT seq, %s FROM %s WHERE incident_id = %%s ORDER BY seq" % (column, table), (incident_id,))
    rows = cur.fetchall()
    conn.close()
    return rows


def test_same_record_from_both_backends(pg, tmp_path):
    base = str(tmp_path / "incidents")
    stores = {"files": dict(store="files", dir=base), "postgresql": pg_args(pg)}
    # the two backends side by side (each one's events in order), to keep the test quick
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = dict((name, pool.submit(lambda c: [run(dict(c, id=ID, **ev) if ev["event"] != "open" else dict(c, **ev))
                                                     for ev in EVENTS], conn)) for name, conn in stores.items())
        results = dict((name, f.result()) for name, f in futures.items())
    for name, res in results.items():
        assert not any(r.get("failed") for r in res), (name, res)
        assert [r["changed"] for r in res] == [True, True, True, True, False, True], name
        assert res[0]["id"] == ID and res[0]["store"] == name
    files, pgres = results["files"], results["postgresql"]
    assert [r["record"] for r in files] == [r["record"] for r in pgres]
    assert [r["event"] for r in files] == [r["event"] for r in pgres]
    assert [r["line"] for r in files] == [r["line"] for r in pgres]
    final = files[-1]["record"]
    assert final["status"] == "RESOLVED" and final["acknowledged_by"] == "bob" and final["events"] == 5

    # the stored events are the same bytes: incident.jsonl lines == the rows of reflexion_incident_event
    with open(os.path.join(base, ID, "incident.jsonl")) as fh:
        file_lines = fh.read().splitlines()
    rows = pg_rows(pg, ID)
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    assert [r[1] for r in rows] == file_lines
    assert [r[1] for r in pg_rows(pg, ID, column="line")] == open(os.path.join(base, ID, "incident.log")).read().splitlines()
    with open(os.path.join(base, ID, "record.json")) as fh:
        assert json.load(fh) == json.loads(_record_row(pg, ID))

    # event=read and event=list give the same answers from both
    reads = dict(zip(stores, run_many([dict(conn, id=ID, event="read") for conn in stores.values()])))
    assert reads["files"]["record"] == reads["postgresql"]["record"] == final
    assert reads["files"]["events"] == reads["postgresql"]["events"]
    assert len(reads["files"]["events"]) == 5 and reads["files"]["changed"] is False
    lists = dict(zip(stores, run_many([dict(conn, event="list") for conn in stores.values()])))
    assert [r["id"] for r in lists["files"]["incidents"]] == [r["id"] for r in lists["postgresql"]["incidents"]] == [ID]
    assert lists["files"]["incidents"] == lists["postgresql"]["incidents"]

    # a missing incident: the same refusal from both, naming the option
    for res in run_many([dict(conn, id="incident-2026-11-26-999999", event="note", text="x") for conn in stores.values()]):
        assert res.get("failed") and res["msg"].startswith("id: incident incident-2026-11-26-999999 does not exist"), res


def _record_row(server, incident_id):
    conn = server.connect()
    cur = conn.cursor()
    cur.execute("SELECT record FROM reflexion_incident_record WHERE incident_id = %s", (incident_id,))
    (text,) = cur.fetchone()
    conn.close()
    return text


@pytest.mark.parametrize("store", ["files", "postgresql"])
def test_twenty_concurrent_writers(pg, tmp_path, store):
    """10 processes open the same incident (same second, no id), then 20 append a note each: nothing lost or torn."""
    base = str(tmp_path / "incidents")
    if store == "files":
        conn = dict(store="files", dir=base)
    else:
        admin = pg.connect(dbname="postgres")
        admin.cursor().execute("CREATE DATABASE rxi_store_conc")
        admin.close()
        conn = pg_args(pg, dbname="rxi_store_conc")  # a fresh database: the writers also race to create the tables
    at = "2026-11-27T09:00:00Z"
    opens = run_many([dict(conn, event="open", at=at, severity="P2", text="db: pool exhausted", user="w%d" % i)
                      for i in range(OPENERS)])
    assert not any(r.get("failed") for r in opens), [r.get("msg") for r in opens if r.get("failed")]
    incident_id = "incident-2026-11-27-090000"
    assert {r["id"] for r in opens} == {incident_id}
    assert sum(1 for r in opens if r["changed"]) == 1  # exactly one writer opened it

    notes = run_many([dict(conn, id=incident_id, event="note", text="writer %02d: " % i + "x" * 3000, user="w%d" % i,
                           at="2026-11-27T09:01:%02dZ" % i) for i in range(WRITERS)])
    assert not any(r.get("failed") for r in notes), [r.get("msg") for r in notes if r.get("failed")]
    assert all(r["changed"] for r in notes)

    final = run(dict(conn, id=incident_id, event="read"))
    events = final["events"]
    assert len(events) == 1 + WRITERS and final["record"]["events"] == 1 + WRITERS
    assert [e["event"] for e in events].count("open") == 1
    texts = sorted(e["message"] for e in events if e["event"] == "note")
    assert texts == sorted("writer %02d: " % i + "x" * 3000 for i in range(WRITERS))  # whole, not torn
    if store == "files":
        d = os.path.join(base, incident_id)
        with open(os.path.join(d, "incident.jsonl")) as fh:
            raw = fh.read().splitlines()
        assert len(raw) == 1 + WRITERS and all(json.loads(x)["id"] == incident_id for x in raw)
        with open(os.path.join(d, "incident.log")) as fh:
            assert len(fh.read().splitlines()) == 1 + WRITERS
        with open(os.path.join(d, "record.json")) as fh:
            assert json.load(fh)["events"] == 1 + WRITERS
    else:
        rows = pg_rows(pg, incident_id, dbname="rxi_store_conc")
        assert [r[0] for r in rows] == list(range(1, 2 + WRITERS))  # sequence numbers unique and gapless
        assert [json.loads(r[1]) for r in rows] == events


def test_check_mode_writes_nothing_to_postgresql(pg):
    admin = pg.connect(dbname="postgres")
    admin.cursor().execute("CREATE DATABASE rxi_store_check")
    admin.close()
    conn = pg_args(pg, dbname="rxi_store_check")
    res = run(dict(conn, event="open", at="2026-11-28T10:00:00Z", severity="P3", text="dry run"), check=True)
    assert not res.get("failed") and res["changed"] is True and res["event"]["event"] == "open"
    db = pg.connect(dbname="rxi_store_check")
    cur = db.cursor()
    cur.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'reflexion_incident%'")
    assert cur.fetchone()[0] == 0  # no table created in check mode
    db.close()


def test_timeline_callback_appends_to_postgresql(pg, run_playbook, tmp_path):
    """With the PostgreSQL store the incident_timeline callback writes rows, not a file."""
    base = str(tmp_path / "incidents")
    proc = run_playbook(
        "tests/integration/lifecycle/files/timeline_run.yml",
        extra_vars={"incident_dir": base, "canary": "canary-store-5d1e"},
        env={"ANSIBLE_CALLBACKS_ENABLED": "reflexion.incident.incident_timeline", "REFLEXION_INCIDENT_STORE": "postgresql",
             "PGHOST": pg.host, "PGPORT": str(pg.port), "PGUSER": "postgres", "PGPASSWORD": SUPER_PASSWORD,
             "PGDATABASE": "reflexion"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    incident_id = "incident-2026-11-26-140311"
    assert not os.path.exists(os.path.join(base, incident_id, "timeline.jsonl"))
    rows = [json.loads(r[1]) for r in pg_rows(pg, incident_id, "reflexion_incident_timeline", "entry")]
    tasks = [r["task"] for r in rows]
    assert tasks[:3] == ["Before the incident is known (buffered)", "Open the incident", "A command that changes something"]
    assert "canary-store-5d1e" not in json.dumps(rows)
    assert all(r["incident"] == incident_id for r in rows)


def run_page(args):
    """One process of reflexion.incident.incident_page (the module that redraws the page on demand)."""
    fd, path = tempfile.mkstemp(prefix="rxi-page-args-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, fh)
    try:
        cmd = [sys.executable, "-m", "ansible_collections.reflexion.incident.plugins.modules.incident_page", path]
        return parse(subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=60, check=False))
    finally:
        os.unlink(path)


def test_the_page_is_drawn_from_the_postgresql_store(pg, tmp_path):
    """incident_page reads the record through the store: with store=postgresql the pages dir holds no events."""
    admin = pg.connect(dbname="postgres")
    admin.cursor().execute("CREATE DATABASE rxi_store_pages")
    admin.close()
    store = pg_args(pg, "rxi_store_pages")
    pid = "incident-2026-11-27-101500"
    opened = run(dict(store, event="open", id=pid, at="2026-11-27T10:15:00Z", severity="P1",
                      text="<script>alert(1)</script> error ratio 31%", user="alice"))
    assert opened["changed"], opened
    pages = tmp_path / "pages"
    result = run_page(dict(store, dir=str(pages), id=pid, host="app1", metrics={"error_ratio": 0.31}))
    assert not result.get("failed"), result
    html = (pages / pid / "index.html").read_text()
    assert pid in html and "P1" in html and "&lt;script&gt;" in html and "<script>alert" not in html
    assert not (pages / pid / "incident.jsonl").exists()  # the events stay in PostgreSQL
    missing = run_page(dict(store, dir=str(pages), id="incident-2026-11-27-101501"))
    assert missing.get("failed") and "does not exist in the postgresql store" in missing["msg"], missing
