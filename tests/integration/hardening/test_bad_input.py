"""The bad-input matrix (tests/integration/hardening/matrix.py) run through real ansible.

Each case must end in a failed task whose message names the offending option, print no Python
traceback, and change nothing: the test's own directory tree is byte-identical afterwards, and for
the PostgreSQL modules a real session (pg_sleep) is still alive and the table rows are unchanged.
"""

import json
import os

import pytest

from .conftest import accounts_rows, json_tasks, tree_state, write_playbook
from .matrix import MODULES, ROLES

PG_MODULES = ("pg_activity_probe", "pg_backend")


def substitute(value, mapping):
    if isinstance(value, str):
        if value == "{pg_port}":
            return mapping["pg_port"]
        return value.replace("{tmp}", mapping["tmp"])
    if isinstance(value, list):
        return [substitute(v, mapping) for v in value]
    if isinstance(value, dict):
        return dict((k, substitute(v, mapping)) for k, v in value.items())
    return value


@pytest.fixture
def state_dir(tmp_path):
    """The directory bad input must leave alone: a file, a log, an empty incidents area."""
    (tmp_path / "afile").write_text("sentinel\n")
    (tmp_path / "app.log").write_text("2026-01-01T00:00:00Z ERROR sentinel line\n")
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / ".env").write_text("LLM_PROVIDER=openai\n")
    return tmp_path


@pytest.mark.parametrize("case", sorted(MODULES))
def test_module_bad_input(case, run_module, state_dir, pg, pg_sleeper):
    module, args, option = MODULES[case]
    args = substitute(args, {"tmp": str(state_dir), "pg_port": pg.port})
    if module in PG_MODULES and "dsn" not in args:
        merged = pg.monitor_args()
        merged.update(args)
        args = merged
    before = tree_state(str(state_dir))
    rows_before = accounts_rows(pg)

    r = run_module(module, args)

    assert r.failed, "%s accepted bad input: %s" % (case, r.output[-2000:])
    assert r.get("failed") is True, r.output[-2000:]
    assert option in r["msg"], "%s: message does not name %s: %r" % (case, option, r["msg"])
    assert "Traceback" not in r.output, r.output[-2000:]
    assert r.get("changed", False) is False
    assert tree_state(str(state_dir)) == before
    assert accounts_rows(pg) == rows_before
    assert pg.activity("pid = %d AND wait_event = 'PgSleep'" % pg_sleeper), "the sleeper session was touched"


@pytest.mark.parametrize("case", sorted(ROLES))
def test_role_bad_input(case, run_playbook, state_dir, tmp_path_factory):
    role, tasks_from, role_vars, option = ROLES[case]
    # every deployment path of the roles points into the state directory (nothing else is reachable)
    play_vars = {
        "reflexion_compose_project_dir": str(state_dir / "project"),
        "reflexion_compose_project_name": "rxi-hard-none",
        "reflexion_incident_dir": str(state_dir / "incidents"),
        "reflexion_incident_state_dir": str(state_dir / "state"),
        "reflexion_log_dir": str(state_dir),
        "reflexion_base_url": "http://127.0.0.1:1",
        "reflexion_health_url": "http://127.0.0.1:1/health",
        "lab_root": str(state_dir / "lab"),
        "lab_deploy_dir": str(state_dir / "project"),
        "lab_log_dir": str(state_dir / "labl"),
    }
    include = {"name": "reflexion.incident." + role}
    if tasks_from:
        include["tasks_from"] = tasks_from
    book = write_playbook(tmp_path_factory.mktemp("book") / "bad.yml", "localhost", [
        {"name": "Include the role with bad vars", "ansible.builtin.include_role": include, "vars": role_vars},
        {"name": "Never reached", "ansible.builtin.debug": {"msg": "the role accepted bad vars"}},
    ], play_vars=play_vars)
    before = tree_state(str(state_dir))

    proc = run_playbook(book, env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    out = proc.stdout + proc.stderr

    assert proc.returncode != 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    results = list(json_tasks(proc.stdout))
    failed = [(name, res) for name, host, res in results if res.get("failed")]
    assert failed, out[-3000:]
    name, res = failed[0]
    assert option in res.get("msg", ""), "%s: task %r message does not name %s: %r" % (case, name, option, res.get("msg"))
    assert "Never reached" not in [n for n, h, r in results]
    changed = [n for n, h, r in results if r.get("changed")]
    assert changed == [], changed
    assert tree_state(str(state_dir)) == before
    assert json.dumps(before)  # the snapshot itself is serialisable (sanity of the helper)
    assert not os.path.exists(str(state_dir / "incidents"))
