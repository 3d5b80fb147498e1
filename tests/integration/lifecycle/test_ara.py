"""Run history with ARA (issue 21): the reflexion.incident.ara callback, with ARA's real offline client on
SQLite and ARA's real API server on a real PostgreSQL (loopback, tests/integration/pg_redis_servers.py).

The playbook (files/ara/ara_canary.yml, against this controller) opens an incident and uses secrets the
ways scenarios do: an inventory group_vars file, a vars_files file, an extra var, a no_log task, a module
option marked no_log, a set_fact, a DSN in a message and a key on a command line. Every canary is
``rxi-secret-*``: none may be found anywhere in ARA's database (compressed columns decompressed).
"""

import json
import os
import re
import signal
import subprocess
import time
import zlib

import pytest
import requests

from ..conftest import BIN, ROOT, ansible_env
from ..pg_redis_servers import SUPER_PASSWORD, free_port, postgres_server

FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files", "ara")
CANARY = re.compile(r"rxi-secret-[A-Za-z0-9]+")
EXTRA_TOKEN = "rxi-secret-23extra"


def run_canary(tmp, env):
    incidents = os.path.join(tmp, "incidents")
    e = ansible_env(ANSIBLE_STDOUT_CALLBACK="default", ARA_BASE_DIR=os.path.join(tmp, "ara-base"))
    for key in list(e):
        if key.startswith("ARA_") and key != "ARA_BASE_DIR" or key.startswith("REFLEXION_ARA"):
            del e[key]
    e.update(env)
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(FILES, "inventory"),
         os.path.join(FILES, "ara_canary.yml"), "-e", "ara_test_incidents_dir=%s" % incidents,
         "-e", "ara_test_extra_token=%s" % EXTRA_TOKEN],
        cwd=ROOT, env=e, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    (incident,) = [name for name in os.listdir(incidents) if name.startswith("incident-")]
    return proc, os.path.join(incidents, incident)


def runs(incident_dir):
    path = os.path.join(incident_dir, "runs.jsonl")
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def text_of(value):
    """A column's value as text; ARA stores results, files and arguments zlib-compressed."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        try:
            return zlib.decompress(value).decode("utf-8", "replace")
        except zlib.error:
            return value.decode("utf-8", "replace")
    return str(value)


def sqlite_dump(path):
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        dump = {}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cur = conn.execute('SELECT * FROM "%s"' % table)
            columns = [d[0] for d in cur.description]
            dump[table] = [dict(zip(columns, [text_of(v) for v in row])) for row in cur.fetchall()]
        return dump
    finally:
        conn.close()


def pg_dump(conn):
    cur = conn.cursor()
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    dump = {}
    for (table,) in cur.fetchall():
        cur.execute('SELECT * FROM "%s"' % table)
        columns = [d[0] for d in cur.description]
        dump[table] = [dict(zip(columns, [text_of(v) for v in row])) for row in cur.fetchall()]
    return dump


def assert_no_canary(dump, raw=b""):
    leaks = ["%s.%s: %s" % (table, column, CANARY.findall(cell)) for table, rows in dump.items()
             for row in rows for column, cell in row.items() if CANARY.search(cell)]
    assert not leaks, "secrets reached ARA:\n" + "\n".join(leaks)
    assert b"rxi-secret-" not in raw
    everything = "\n".join(cell for rows in dump.values() for row in rows for cell in row.values())
    # not vacuous: the results are stored, scrubbed
    assert "postgresql://app:[REDACTED]@127.0.0.1:5432/reflexion" in everything
    assert "OPENAI_API_KEY=[REDACTED]" in everything
    assert "ARA canary | open an incident" in everything  # the playbook file is stored


def labels_of(dump, playbook_id):
    names = dict((row["id"], row["name"]) for row in dump["labels"])
    return sorted(names[row["label_id"]] for row in dump["playbooks_labels"] if row["playbook_id"] == str(playbook_id))


def check_run(dump, incident_dir, url=None, database=None):
    """One playbook recorded, labelled with the incident, and runs.jsonl pointing at it."""
    incident = os.path.basename(incident_dir)
    (playbook,) = dump["playbooks"]
    lines = runs(incident_dir)
    assert [line["status"] for line in lines] == ["running", "completed"], lines
    assert all(line["ara_playbook_id"] == int(playbook["id"]) and line["incident"] == incident for line in lines)
    assert lines[-1]["ara_url"] == url
    assert lines[-1].get("ara_database") == database
    assert lines[-1]["playbook"] == os.path.join(FILES, "ara_canary.yml")
    labels = labels_of(dump, playbook["id"])
    # the severity label followed the change to P1 in the second play; ARA's own labels are kept
    for label in ("incident:%s" % incident, "scenario:high_error_rate", "severity:P1", "check:False"):
        assert label in labels, labels
    assert "severity:P2" not in labels, labels
    assert playbook["name"] == "high_error_rate %s" % incident, playbook
    assert playbook["status"] == "completed", playbook
    # the vars files are not stored at all, the playbook is
    paths = [row["path"] for row in dump["files"]]
    assert os.path.join(FILES, "ara_canary.yml") in paths, paths
    assert not [path for path in paths if "group_vars" in path or "credentials.yml" in path], paths
    return int(playbook["id"])


def test_sqlite_run_is_labelled_and_holds_no_secret(tmp_path):
    database = str(tmp_path / "ara" / "ansible.sqlite")
    dummy, incident_dir = run_canary(str(tmp_path), {"REFLEXION_ARA": "1", "REFLEXION_ARA_DATABASE": database})
    dump = sqlite_dump(database)
    with open(database, "rb") as handle:
        raw = handle.read()
    check_run(dump, incident_dir, url=None, database=database)
    assert_no_canary(dump, raw)


def test_off_by_default(tmp_path):
    database = str(tmp_path / "ara" / "ansible.sqlite")
    dummy, incident_dir = run_canary(str(tmp_path), {"REFLEXION_ARA_DATABASE": database})
    assert not os.path.exists(os.path.dirname(database))
    assert not os.path.exists(str(tmp_path / "ara-base"))
    assert not os.path.exists(os.path.join(incident_dir, "runs.jsonl"))


@pytest.fixture(scope="module")
def ara_server(tmp_path_factory):
    """ARA's API server (ara-manage runserver) on loopback, on a real PostgreSQL database."""
    base = str(tmp_path_factory.mktemp("ara-server"))
    with postgres_server() as pg:
        conn = pg.connect(dbname="postgres")
        conn.cursor().execute("CREATE DATABASE ara")
        conn.close()
        env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), ARA_BASE_DIR=base,
                   ARA_DATABASE_ENGINE="django.db.backends.postgresql", ARA_DATABASE_NAME="ara",
                   ARA_DATABASE_USER="postgres", ARA_DATABASE_PASSWORD=SUPER_PASSWORD,
                   ARA_DATABASE_HOST=pg.host, ARA_DATABASE_PORT=str(pg.port))
        proc = subprocess.run([os.path.join(BIN, "ara-manage"), "migrate"], env=env, capture_output=True,
                              text=True, timeout=180, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        port = free_port()
        log = open(os.path.join(base, "server.log"), "w")
        server = subprocess.Popen([os.path.join(BIN, "ara-manage"), "runserver", "--noreload",
                                   "127.0.0.1:%d" % port], env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        url = "http://127.0.0.1:%d" % port
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(url + "/api/v1/", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, open(log.name).read()[-3000:]
                time.sleep(0.3)
            yield pg, url
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=15)
            log.close()


def test_postgresql_api_server(tmp_path, ara_server):
    pg, url = ara_server
    dummy, incident_dir = run_canary(str(tmp_path), {
        "REFLEXION_ARA": "1", "ARA_API_CLIENT": "http", "ARA_API_SERVER": url, "ARA_CALLBACK_THREADS": "0"})
    conn = pg.connect(dbname="ara")
    try:
        dump = pg_dump(conn)
    finally:
        conn.close()
    lines = runs(incident_dir)
    playbook_id = lines[-1]["ara_playbook_id"]
    assert lines[-1]["ara_url"] == "%s/playbooks/%d.html" % (url, playbook_id)
    check_run(dump, incident_dir, url=lines[-1]["ara_url"], database=None)
    assert_no_canary(dump)
    # the link the incident page shows opens ARA's page of the run
    page = requests.get(lines[-1]["ara_url"], timeout=10)
    assert page.status_code == 200 and os.path.basename(incident_dir) in page.text
