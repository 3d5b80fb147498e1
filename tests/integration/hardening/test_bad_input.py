"""The bad-input matrix (tests/integration/hardening/matrix.py) run through real ansible.

Each case must end in a failed task whose message names the offending option, print no Python
traceback, and change nothing: the case's own directory tree is byte-identical afterwards (and so is
everything around the case directories), and for the module cases a real PostgreSQL session
(pg_sleep) is still alive and the table rows are unchanged.

Speed: starting ``ansible``/``ansible-playbook`` costs ~2.6 s, so the cases are not run one process
each. All module cases run as the tasks of ONE playbook (each task ``ignore_errors: true`` with its own
``register``), all role cases as the plays of ONE other playbook (one play per case, on its own
inventory alias of localhost so facts and registered variables of one case cannot leak into another;
``include_role`` in a block whose rescue captures ``ansible_failed_result``). Each playbook runs once
per test module (module-scoped fixtures) with the ansible.posix.json callback; every case keeps its own
parametrized test, which asserts on that case's own task result and its own scratch directory.
"""

import json
import os
import re
import subprocess

import pytest

from ..conftest import BIN, ROOT, ansible_env
from .conftest import accounts_rows, tree_state
from .matrix import MODULES, ROLES

PG_MODULES = ("pg_activity_probe", "pg_backend")
MODULE_CASES = sorted(MODULES)
ROLE_CASES = sorted(ROLES)
NEVER_REACHED = "Never reached"
JINJA_MARKERS = ("{{", "{%", "{#")
# aliases of localhost the module cases are dealt to (they run concurrently, see module_batch)
MODULE_LANES = 2


# a value holding this marker is a secret: it must appear nowhere in the run's output, in any form
SECRET_MARK = re.compile(r"rxi-secret-[A-Za-z0-9]+")


def assert_secrets_absent(value, batch, case):
    for secret in set(SECRET_MARK.findall(json.dumps(value))):
        assert secret not in batch.output, "%s: the secret %s was echoed: %s" % (case, secret, batch.tail())


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


def assert_no_jinja(value, case):
    """Playbook task arguments are templated (ad-hoc ones were too): the matrix must not rely on Jinja."""
    if isinstance(value, str):
        assert not any(m in value for m in JINJA_MARKERS), "%s: Jinja markers in %r" % (case, value)
    elif isinstance(value, list):
        for v in value:
            assert_no_jinja(v, case)
    elif isinstance(value, dict):
        for k, v in value.items():
            assert_no_jinja(k, case)
            assert_no_jinja(v, case)


def make_state_dir(root, case):
    """The case's own box: ``root/<case>`` holding the scratch dir ``{tmp}`` two levels down.

    The scratch dir holds a file, a log and a project with a .env (what bad input must leave alone).
    Being two levels down, ``../..`` traversals out of it still land inside the case's own box.
    Returns (box, tmp).
    """
    box = os.path.join(root, case)
    tmp = os.path.join(box, "outer", "scratch")
    os.makedirs(os.path.join(tmp, "project"))
    with open(os.path.join(tmp, "afile"), "w") as f:
        f.write("sentinel\n")
    with open(os.path.join(tmp, "app.log"), "w") as f:
        f.write("2026-01-01T00:00:00Z ERROR sentinel line\n")
    with open(os.path.join(tmp, "project", ".env"), "w") as f:
        f.write("LLM_PROVIDER=openai\n")
    return box, tmp


def outside_boxes(root, cases):
    """Everything under ``root`` that is not inside a case box (must stay exactly as created: nothing)."""
    return dict((path, digest) for path, digest in tree_state(root).items()
                if path.split(os.sep)[0] not in cases)


def parse_json_callback(stdout):
    """The ansible.posix.json document (as ModuleRun does: it starts with "{" at column 0, also under -v)."""
    start = re.search(r"^\{$", stdout, re.M)
    data, dummy = json.JSONDecoder().raw_decode(stdout[start.start():] if start else stdout)
    return data


def run_book(playbook, inventory, timeout=900):
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, playbook]
    # the module arguments are printed back in each result (as AWX and older ansible-core do): secrets must be masked
    return subprocess.run(cmd, cwd=ROOT, env=ansible_env(ANSIBLE_INJECT_INVOCATION="1"), capture_output=True,
                          text=True, timeout=timeout, check=False)


def write_json(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    return path


class Batch(object):
    """One ansible-playbook run of many cases, with what each case needs to judge itself."""

    def __init__(self, root, proc, boxes, before, outside_before, outside_after):
        self.root = root
        self.proc = proc
        self.output = proc.stdout + proc.stderr
        self.boxes = boxes  # case -> (box, tmp)
        self.before = before  # case -> tree_state(box) before the run
        self.outside_before = outside_before
        self.outside_after = outside_after
        try:
            self.data = parse_json_callback(proc.stdout)
        except (ValueError, KeyError):
            self.data = None

    def tail(self, n=3000):
        return self.output[-n:]


def assert_batch_ran(batch):
    assert batch.data is not None, "no JSON document from ansible-playbook (rc=%d): %s" % (batch.proc.returncode,
                                                                                           batch.tail())


def assert_no_side_effects(batch, case):
    box, tmp = batch.boxes[case]
    assert tree_state(box) == batch.before[case], "%s changed its own directory" % case
    assert batch.outside_after == batch.outside_before, "something was written beside the case directories"
    assert "Traceback" not in batch.output, batch.tail()


# ---------------------------------------------------------------------------------------------- modules

def localhost_alias():
    """Inventory variables of the repo's localhost (inventories/local/hosts.yml), for an alias of it."""
    return {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}


@pytest.fixture(scope="module")
def module_batch(pg, pg_sleeper, tmp_path_factory):
    """Every module case as one task of one playbook, each with its own register.

    The cases are dealt to MODULE_LANES aliases of localhost; with the free strategy each alias works
    through its own task file (included per host) without waiting for the others, so the module runs
    use both cores.
    """
    root = str(tmp_path_factory.mktemp("bad-modules"))
    bookdir = str(tmp_path_factory.mktemp("book"))
    boxes = {}
    lanes = dict(("rxi-bad-module-%d" % k, []) for k in range(MODULE_LANES))
    owner = {}
    for n, case in enumerate(MODULE_CASES):
        module, args, dummy = MODULES[case]
        boxes[case] = make_state_dir(root, case)
        args = substitute(args, {"tmp": boxes[case][1], "pg_port": pg.port})
        if module in PG_MODULES and "dsn" not in args:
            merged = pg.monitor_args()
            merged.update(args)
            args = merged
        assert_no_jinja(args, case)
        owner[case] = "rxi-bad-module-%d" % (n % MODULE_LANES)
        lanes[owner[case]].append((n, case, {"name": "case %s" % case, "reflexion.incident." + module: args,
                                             "register": "rxi_case_%d" % n, "ignore_errors": True}))
    for host, cases in lanes.items():
        tasks = [task for n, case, task in cases]
        # every registered result of the lane, by case id (a case whose task never ran shows the marker)
        registered = dict((case, "{{ rxi_case_%d | default('RXI-NOT-REGISTERED') }}" % n) for n, case, t in cases)
        tasks.append({"name": "registered results", "ansible.builtin.debug": {"msg": registered}})
        write_json(os.path.join(bookdir, "cases-%s.yml" % host), tasks)
    book = write_json(os.path.join(bookdir, "bad_modules.yml"), [{
        "name": "bad module input", "hosts": sorted(lanes), "gather_facts": False, "strategy": "free",
        "tasks": [{"name": "Run the cases of this lane",
                   "ansible.builtin.include_tasks": "{{ playbook_dir }}/cases-{{ inventory_hostname }}.yml"}]}])
    inventory = write_json(os.path.join(bookdir, "inventory.yml"), {"all": {"hosts": dict(
        [("localhost", localhost_alias())] + [(host, localhost_alias()) for host in lanes])}})

    before = dict((case, tree_state(boxes[case][0])) for case in MODULE_CASES)
    outside_before = outside_boxes(root, MODULE_CASES)
    rows_before = accounts_rows(pg)
    proc = run_book(book, inventory)
    batch = Batch(root, proc, boxes, before, outside_before, outside_boxes(root, MODULE_CASES))
    batch.rows_before = rows_before
    batch.rows_after = accounts_rows(pg)
    batch.sleeper_after = pg.activity("pid = %d AND wait_event = 'PgSleep'" % pg_sleeper)
    batch.owner = owner
    batch.results = {}
    batch.registered = {}
    if batch.data is not None:
        for play in batch.data["plays"]:
            for task in play["tasks"]:
                name = task["task"]["name"]
                for host, res in task["hosts"].items():
                    if name == "registered results":
                        batch.registered[host] = res.get("msg")
                    elif name.startswith("case "):
                        batch.results.setdefault(name[len("case "):], []).append((host, res))
    return batch


@pytest.mark.parametrize("case", MODULE_CASES)
def test_module_bad_input(case, module_batch, pg, pg_sleeper):
    dummy, dummy_args, option = MODULES[case]
    batch = module_batch
    assert_batch_ran(batch)
    runs = batch.results.get(case)
    assert runs and len(runs) == 1, "%s: no task result: %s" % (case, batch.tail())
    host, r = runs[0]
    assert host == batch.owner[case], runs
    out = json.dumps(r, sort_keys=True, default=str)
    assert isinstance(batch.registered.get(host), dict), batch.tail()
    reg = batch.registered[host].get(case)
    assert isinstance(reg, dict), "%s: no registered result: %r" % (case, reg)

    assert r.get("failed") is True, "%s accepted bad input: %s" % (case, out[-2000:])
    assert reg.get("failed") is True, "%s: registered result did not fail: %r" % (case, reg)
    assert not r.get("skipped") and not reg.get("skipped"), out[-2000:]
    assert option in r["msg"], "%s: message does not name %s: %r" % (case, option, r["msg"])
    assert reg.get("msg") == r["msg"], (reg.get("msg"), r["msg"])
    for field in ("msg", "exception", "module_stderr", "module_stdout"):
        assert "Traceback" not in str(r.get(field, "")), "%s: %s: %s" % (case, field, r.get(field))
    assert "Traceback" not in out, out[-2000:]
    assert r.get("changed", False) is False
    assert reg.get("changed", False) is False
    assert_no_side_effects(batch, case)
    assert_secrets_absent(dummy_args, batch, case)
    assert batch.rows_after == batch.rows_before
    assert accounts_rows(pg) == batch.rows_before
    assert batch.sleeper_after, "the sleeper session was gone after the batch"
    assert pg.activity("pid = %d AND wait_event = 'PgSleep'" % pg_sleeper), "the sleeper session was touched"


# ------------------------------------------------------------------------------------------------ roles

def role_play_vars(tmp):
    """Every deployment path of the roles points into the case's scratch dir (nothing else is reachable)."""
    return {
        "reflexion_compose_project_dir": os.path.join(tmp, "project"),
        "reflexion_compose_project_name": "rxi-hard-none",
        "reflexion_incident_dir": os.path.join(tmp, "incidents"),
        "reflexion_incident_state_dir": os.path.join(tmp, "state"),
        "reflexion_log_dir": tmp,
        "reflexion_base_url": "http://127.0.0.1:1",
        "reflexion_health_url": "http://127.0.0.1:1/health",
        "lab_root": os.path.join(tmp, "lab"),
        "lab_deploy_dir": os.path.join(tmp, "project"),
        "lab_log_dir": os.path.join(tmp, "labl"),
    }


@pytest.fixture(scope="module")
def role_batch(tmp_path_factory):
    """Every role case as one play of one playbook, each on its own localhost alias (no fact leaks)."""
    root = str(tmp_path_factory.mktemp("bad-roles"))
    bookdir = str(tmp_path_factory.mktemp("book"))
    boxes = {}
    plays = []
    hosts = {"localhost": localhost_alias()}
    for n, case in enumerate(ROLE_CASES):
        role, tasks_from, role_vars, dummy = ROLES[case]
        boxes[case] = make_state_dir(root, case)
        host = "rxi-bad-role-%d" % n
        hosts[host] = dict(hosts["localhost"])
        include = {"name": role if "." in role else "reflexion.incident." + role}
        if tasks_from:
            include["tasks_from"] = tasks_from
        assert_no_jinja(role_vars, case)
        plays.append({
            "name": "case %s" % case,
            "hosts": host,
            "gather_facts": False,
            "vars": role_play_vars(boxes[case][1]),
            "tasks": [{
                "name": "Run the role with bad vars",
                "block": [
                    {"name": "Include the role with bad vars", "ansible.builtin.include_role": include,
                     "vars": role_vars},
                    {"name": NEVER_REACHED, "ansible.builtin.debug": {"msg": "the role accepted bad vars"}},
                ],
                "rescue": [
                    {"name": "Capture the failure", "ansible.builtin.set_fact": {
                        "rxi_failed_result": "{{ ansible_failed_result }}",
                        "rxi_failed_task": "{{ ansible_failed_task.name }}"}},
                ],
            }],
        })
    book = write_json(os.path.join(bookdir, "bad_roles.yml"), plays)
    inventory = write_json(os.path.join(bookdir, "inventory.yml"), {"all": {"hosts": hosts}})

    before = dict((case, tree_state(boxes[case][0])) for case in ROLE_CASES)
    outside_before = outside_boxes(root, ROLE_CASES)
    proc = run_book(book, inventory)
    batch = Batch(root, proc, boxes, before, outside_before, outside_boxes(root, ROLE_CASES))
    batch.plays = {}
    if batch.data is not None:
        for play in batch.data["plays"]:
            name = play["play"]["name"]
            if name.startswith("case "):
                batch.plays.setdefault(name[len("case "):], []).append(play)
    batch.hosts = dict((case, "rxi-bad-role-%d" % n) for n, case in enumerate(ROLE_CASES))
    return batch


@pytest.mark.parametrize("case", ROLE_CASES)
def test_role_bad_input(case, role_batch):
    dummy_role, dummy_from, dummy_vars, option = ROLES[case]
    batch = role_batch
    assert_batch_ran(batch)
    plays = batch.plays.get(case)
    assert plays and len(plays) == 1, "%s: no play: %s" % (case, batch.tail())
    host = batch.hosts[case]
    results = [(t["task"]["name"], h, r) for t in plays[0]["tasks"] for h, r in t["hosts"].items()]
    out = json.dumps(results, sort_keys=True, default=str)
    assert results, "%s: no task ran" % case
    assert set(h for n, h, r in results) == {host}, "%s: results of other hosts: %s" % (case, out[-3000:])

    # the role failed: its failure was rescued and captured
    captured = [r for n, h, r in results if n == "Capture the failure"]
    assert len(captured) == 1, "%s: the role did not fail (no rescue): %s" % (case, out[-3000:])
    failed_result = captured[0].get("ansible_facts", {}).get("rxi_failed_result")
    assert isinstance(failed_result, dict), "%s: no ansible_failed_result: %r" % (case, captured[0])
    assert failed_result.get("failed") is True, failed_result
    assert option in failed_result.get("msg", ""), "%s: failure does not name %s: %r" % (
        case, option, failed_result.get("msg"))
    # ... and the first failed task of the case is that failure, naming the option too
    failed = [(n, r) for n, h, r in results if r.get("failed")]
    assert failed, out[-3000:]
    name, res = failed[0]
    assert option in res.get("msg", ""), "%s: task %r message does not name %s: %r" % (case, name, option,
                                                                                       res.get("msg"))
    assert res.get("msg") == failed_result.get("msg")
    assert NEVER_REACHED not in [n for n, h, r in results]
    assert "Traceback" not in out, out[-3000:]
    for field in ("msg", "exception", "module_stderr", "module_stdout"):
        assert "Traceback" not in str(failed_result.get(field, "")), failed_result
    changed = [n for n, h, r in results if r.get("changed")]
    assert changed == [], changed
    assert_no_side_effects(batch, case)
    assert_secrets_absent(dummy_vars, batch, case)
    assert json.dumps(batch.before[case])  # the snapshot itself is serialisable (sanity of the helper)
    assert not os.path.exists(os.path.join(batch.boxes[case][1], "incidents"))
