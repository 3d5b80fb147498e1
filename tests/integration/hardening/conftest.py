"""Shared helpers of the hardening tests: state snapshots, a real PostgreSQL and Redis on loopback, playbooks."""

import hashlib
import json
import os

import pytest

from ..pg_redis_servers import opened_sessions, postgres_server, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))


def tree_state(root):
    """Every path under ``root`` with a hash of its content (files) or a marker (directories)."""
    state = {}
    for base, dirs, files in os.walk(root):
        for d in dirs:
            state[os.path.relpath(os.path.join(base, d), root)] = "dir"
        for f in files:
            path = os.path.join(base, f)
            with open(path, "rb") as fh:
                state[os.path.relpath(path, root)] = hashlib.sha256(fh.read()).hexdigest()
    return state


def json_tasks(stdout):
    """(task name, host result) pairs from an ansible.posix.json callback run."""
    data = json.loads(stdout)
    for play in data["plays"]:
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                yield task["task"]["name"], host, res


def write_playbook(path, hosts, tasks, play_vars=None, gather_facts=False):
    """A tiny playbook written as JSON (valid YAML)."""
    play = {"name": "hardening", "hosts": hosts, "gather_facts": gather_facts, "tasks": tasks}
    if play_vars:
        play["vars"] = play_vars
    with open(path, "w") as f:
        json.dump([play], f, indent=1)
    return str(path)


@pytest.fixture(scope="module")
def pg():
    """A real PostgreSQL 15 on loopback for the module (tests/integration/pg_redis_servers.py)."""
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def pg_sleeper(pg):
    """One application session running pg_sleep for the whole module: destructive bad input must spare it."""
    with opened_sessions(pg) as sessions:
        pid = sessions.sleeper(3600, app="rxi-hard-sleeper")
        assert wait_until(lambda: pg.activity("pid = %d AND wait_event = 'PgSleep'" % pid))
        yield pid


def accounts_rows(pg):
    conn = pg.connect(user="postgres")
    cur = conn.cursor()
    cur.execute("SELECT id, balance FROM accounts ORDER BY id")
    rows = cur.fetchall()
    conn.close()
    return rows
