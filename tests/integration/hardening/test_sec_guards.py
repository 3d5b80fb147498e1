"""Security II (#15), guards: no guard reads a string as true, one mitigation at a time, rollback only to an older
release of a clean checkout. Real ansible-playbook runs; no Docker (the Docker guards are in test_guardrails.py).

- Each guard gets the false values an operator or AWX sends: ``-e x=false`` and AWX text fields pass the
  *string* "false"; multiple-choice survey answers are strings ("false", "no", "0", "off"); JSON extra vars keep
  ``false``. The values go in as extra vars (``-e`` JSON), as AWX passes them. Real state is asserted: git HEAD,
  PostgreSQL sessions alive, a page-cached file still resident, no lock left, the incident record.
- The mitigation lock: two real concurrent ansible-playbook runs on one project, the second is refused naming the
  holder and changes nothing; a stale lock is broken; nothing is left behind.
- Rollback: a tag that is not an ancestor of the deployed commit, a plain commit and a dirty checkout are refused
  (check mode too) unless rollback_allow_any_ref (read with | bool) allows the ref.
"""

import json
import os
import subprocess
import time

import pytest

from ..conftest import BIN, ROOT, ansible_env
from ..http_fixtures import LoopbackServer
from ..pg_redis_servers import opened_sessions, wait_until
from .conftest import json_tasks, tree_state, write_playbook

# What an operator or AWX sends for "no": -e x=false and text fields give strings, multiple choice gives strings,
# JSON extra vars keep the boolean.
FALSE_VALUES = ["false", "no", "0", False, "off"]


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=guards", "-c", "user.email=guards@localhost"]
                          + list(args), capture_output=True, text=True, check=True).stdout.strip()


def make_repo(path, side_tag=False):
    """A deployment checkout: v1.0.0 -> v1.1.0 (HEAD); with side_tag, v1.0.5 on a branch off v1.0.0 (not an
    ancestor of HEAD, but older by version, so the computed target)."""
    os.makedirs(str(path))
    git(path, "init", "--quiet", "-b", "main")
    (path / "VERSION").write_text("1.0.0\n")
    (path / ".gitignore").write_text(".env\n")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "release 1.0.0")
    git(path, "tag", "v1.0.0")
    if side_tag:
        git(path, "checkout", "--quiet", "-b", "hotfix")
        (path / "VERSION").write_text("1.0.5\n")
        git(path, "commit", "--quiet", "-am", "hotfix 1.0.5")
        git(path, "tag", "v1.0.5")
        git(path, "checkout", "--quiet", "main")
    (path / "VERSION").write_text("1.1.0\n")
    git(path, "commit", "--quiet", "-am", "release 1.1.0")
    git(path, "tag", "v1.1.0")
    return path


def role_book(path, role, state_dir, project_dir, project_name, role_vars=None, extra_play_vars=None):
    play_vars = {
        "reflexion_compose_project_dir": str(project_dir),
        "reflexion_compose_project_name": project_name,
        "reflexion_incident_state_dir": str(state_dir),
        "reflexion_health_url": "http://127.0.0.1:1/health",
    }
    play_vars.update(extra_play_vars or {})
    task = {"name": "Run the role", "ansible.builtin.include_role": {"name": "reflexion.incident." + role}}
    if role_vars:
        task["vars"] = role_vars
    return write_playbook(path, "localhost", [task], play_vars=play_vars)


def start(playbook, extra_vars=None, check=False, inventory="inventories/local"):
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, inventory), str(playbook)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    return subprocess.Popen(cmd, cwd=ROOT, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


class Outcome(object):
    def __init__(self, proc):
        self.stdout, self.stderr = proc.communicate(timeout=600)
        self.rc = proc.returncode
        # task names without their "reflexion.incident.<role> : " prefix
        self.results = [(n.split(" : ", 1)[-1], h, r) for n, h, r in json_tasks(self.stdout)]
        self.failed = [r.get("msg", "") for n, h, r in self.results if r.get("failed") and not r.get("ignore_errors")]
        self.ran = [n for n, h, r in self.results if not r.get("skipped")]
        self.text = json.dumps([r for n, h, r in self.results], default=str)

    def tail(self):
        return (self.stdout + self.stderr)[-3000:]


def run_all(procs):
    return [Outcome(p) for p in procs]


# --- rollback_confirm -----------------------------------------------------------------------------------

def test_rollback_confirm_false_values_never_roll_back(tmp_path):
    cases = []
    for n, value in enumerate(FALSE_VALUES):
        repo = make_repo(tmp_path / ("repo%d" % n))
        book = role_book(tmp_path / ("rb%d.yml" % n), "rollback", tmp_path / ("state%d" % n), repo, "rxi-guard-rb%d" % n)
        cases.append((value, repo, git(repo, "rev-parse", "HEAD"), book, tmp_path / ("state%d" % n)))
    outs = run_all([start(case[3], {"rollback_confirm": case[0]}) for case in cases])
    for (value, repo, head, _book, state), out in zip(cases, outs):
        assert out.rc != 0 and out.failed and "rollback_confirm" in out.failed[-1], (value, out.tail())
        assert git(repo, "rev-parse", "HEAD") == head == git(repo, "rev-parse", "v1.1.0"), value
        assert "Check out the target tag (git checkout previous-stable-tag)" not in out.ran, value
        # the lock was taken and released: nothing is left in the state dir (which the run created)
        assert not state.exists(), value


# --- rollback: ancestor tag, clean tree -----------------------------------------------------------------

@pytest.mark.parametrize("check", [True, False], ids=["check-mode", "real-run"])
def test_rollback_refuses_a_tag_that_is_not_an_ancestor(tmp_path, check):
    repo = make_repo(tmp_path / "repo", side_tag=True)
    head = git(repo, "rev-parse", "HEAD")
    state = tmp_path / "state"
    computed = start(role_book(tmp_path / "a.yml", "rollback", state, repo, "rxi-guard-anc"),
                     {"rollback_confirm": True}, check=check)
    explicit_commit = start(role_book(tmp_path / "b.yml", "rollback", tmp_path / "state-b", repo, "rxi-guard-anc-b"),
                            {"rollback_confirm": True, "rollback_to": git(repo, "rev-parse", "v1.0.0")}, check=check)
    not_allowed = start(role_book(tmp_path / "c.yml", "rollback", tmp_path / "state-c", repo, "rxi-guard-anc-c"),
                        {"rollback_confirm": True, "rollback_to": "v1.0.5", "rollback_allow_any_ref": "false"},
                        check=check)
    a, b, c = run_all([computed, explicit_commit, not_allowed])
    # the computed target (newest older version) is v1.0.5, on a side branch: refused
    assert a.rc != 0 and a.failed and "v1.0.5 is not an ancestor of the deployed commit" in a.failed[-1], a.tail()
    assert "rollback_allow_any_ref" in a.failed[-1]
    # a commit that is not a tag: refused
    assert b.rc != 0 and b.failed and "is not a tag" in b.failed[-1], b.tail()
    # the override read with | bool: the string "false" does not allow it
    assert c.rc != 0 and c.failed and "not an ancestor" in c.failed[-1], c.tail()
    for out in (a, b, c):
        assert "Report the rollback plan" not in out.ran
        assert "Check out the target tag (git checkout previous-stable-tag)" not in out.ran
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""


def test_rollback_allow_any_ref_in_check_mode_shows_the_plan(tmp_path):
    repo = make_repo(tmp_path / "repo", side_tag=True)
    head = git(repo, "rev-parse", "HEAD")
    out = run_all([start(role_book(tmp_path / "a.yml", "rollback", tmp_path / "state", repo, "rxi-guard-any"),
                         {"rollback_to": "v1.0.5", "rollback_allow_any_ref": "true"}, check=True)])[0]
    assert out.rc == 0 and not out.failed, out.tail()
    plan = [r.get("msg", "") for n, h, r in out.results if n == "Report the rollback plan"]
    assert plan and "Check mode: would roll back" in plan[0] and "v1.1.0 -> v1.0.5" in plan[0], out.tail()
    assert git(repo, "rev-parse", "HEAD") == head


@pytest.mark.parametrize("check", [True, False], ids=["check-mode", "real-run"])
def test_rollback_refuses_a_dirty_checkout(tmp_path, check):
    repo = make_repo(tmp_path / "repo")
    head = git(repo, "rev-parse", "HEAD")
    (repo / "VERSION").write_text("1.1.0-local-hotfix\n")
    before = tree_state(str(repo))
    out = run_all([start(role_book(tmp_path / "a.yml", "rollback", tmp_path / "state", repo, "rxi-guard-dirty"),
                         {"rollback_confirm": True, "rollback_to": "v1.0.0"}, check=check)])[0]
    assert out.rc != 0 and out.failed and "has uncommitted changes (M VERSION)" in out.failed[-1], out.tail()
    assert git(repo, "rev-parse", "HEAD") == head
    assert tree_state(str(repo)) == before
    assert (repo / "VERSION").read_text() == "1.1.0-local-hotfix\n"


# --- the mitigation lock --------------------------------------------------------------------------------

def test_two_concurrent_mitigations_on_one_project_the_second_is_refused(tmp_path):
    """A (circuit_breaker) holds the lock while its verification waits on a real HTTP server; B (a rollback of
    the same project, confirmed) starts meanwhile and is refused naming A; B changes nothing. After A, the
    lock is gone and B runs."""
    repo = make_repo(tmp_path / "repo")
    head = git(repo, "rev-parse", "HEAD")
    (repo / ".env").write_text("DISABLE_EXTERNAL_SERVICE=true\n")  # A changes nothing in the .env: no restart
    (repo / ".env").chmod(0o600)  # the mode the role keeps (a mode change alone would recreate the app)
    state = tmp_path / "state"
    lock = state / "locks" / "rxi-guard-lock.lock"
    routes = {"/health": (200, {"status": "healthy", "components": {"llm": {"status": "healthy"}}}, 0)}
    with LoopbackServer(routes) as web:
        play_vars = {"reflexion_health_url": web.base + "/health"}
        book_a = role_book(tmp_path / "a.yml", "circuit_breaker", state, repo, "rxi-guard-lock",
                           {"circuit_breaker_wait_timeout": 60, "circuit_breaker_wait_delay": 1}, play_vars)
        book_b = role_book(tmp_path / "b.yml", "rollback", state, repo, "rxi-guard-lock",
                           {"rollback_confirm": True, "rollback_wait_timeout": 5, "rollback_wait_delay": 1}, play_vars)
        a = start(book_a)
        try:
            assert wait_until(lambda: lock.exists() and lock.stat().st_size > 0, timeout=60), "A never took the lock"
            holder = json.loads(lock.read_text())
            assert holder["owner"] == "circuit_breaker" and holder["project"] == "rxi-guard-lock"
            b = run_all([start(book_b)])[0]
            assert a.poll() is None, "A finished before B ran: the overlap was not tested"
        finally:
            routes["/health"] = (200, {"status": "healthy", "components": {"llm": {"status": "disabled"}}}, 0)
        out_a = Outcome(a)
        assert out_a.rc == 0 and not out_a.failed, (out_a.failed, out_a.tail())
        assert b.rc != 0 and b.failed, b.tail()
        msg = b.failed[-1]
        assert "rollback refused: another mitigation holds the lock of project rxi-guard-lock" in msg, msg
        assert "circuit_breaker" in msg and holder["since"] in msg, msg
        # B did nothing: no git read of the rollback, HEAD unchanged, A's lock was not removed by B's always
        assert "Read the checked-out commit, its tag and the repo's tags (git log --oneline is the lead's)" not in b.ran
        assert git(repo, "rev-parse", "HEAD") == head
        assert not lock.exists(), "A did not release its lock"
        assert not state.exists(), "the lock left its directories behind"
        # after A: B's rollback is no longer refused by the lock (it stops at its health gate: port 1 is closed...)
        again = run_all([start(book_b, {"rollback_to": "v1.1.0"})])[0]
        assert not any("holds the lock" in m for m in again.failed), again.tail()
        assert "Report the rollback plan" in again.ran


def test_a_stale_lock_is_broken_and_reported(tmp_path):
    repo = make_repo(tmp_path / "repo")
    locks = tmp_path / "state" / "locks"
    locks.mkdir(parents=True)
    lock = locks / "rxi-guard-stale.lock"
    lock.write_text(json.dumps({"token": "dead", "owner": "scale", "since": "2020-01-01T00:00:00Z"}) + "\n")
    old = time.time() - 7200
    os.utime(str(lock), (old, old))
    out = run_all([start(role_book(tmp_path / "a.yml", "rollback", tmp_path / "state", repo, "rxi-guard-stale"),
                         {"mitigation_lock_stale_seconds": 3600})])[0]
    assert "Broke a stale mitigation lock of rxi-guard-stale" in out.text, out.tail()
    assert out.failed and "rollback_confirm" in out.failed[-1], out.tail()
    assert not lock.exists()


def test_check_mode_reports_a_held_lock_and_writes_nothing(tmp_path):
    repo = make_repo(tmp_path / "repo")
    locks = tmp_path / "state" / "locks"
    locks.mkdir(parents=True)
    lock = locks / "rxi-guard-held.lock"
    lock.write_text(json.dumps({"token": "other", "owner": "scale", "since": "2026-01-01T00:00:00Z"}) + "\n")
    before = tree_state(str(tmp_path / "state"))
    out = run_all([start(role_book(tmp_path / "a.yml", "rollback", tmp_path / "state", repo, "rxi-guard-held"),
                         {"rollback_confirm": True}, check=True)])[0]
    assert out.rc == 0, out.tail()
    assert "a real rollback run would be refused now" in out.text, out.tail()
    assert tree_state(str(tmp_path / "state")) == before


# --- pg_cleanup_confirm (real PostgreSQL on loopback) ---------------------------------------------------

def test_pg_cleanup_confirm_false_values_terminate_nobody(pg, tmp_path):
    with opened_sessions(pg) as sessions:
        pids = [sessions.sleeper(600, app="rxi-guard-pgc") for dummy in range(2)]
        where = "pid IN (%s) AND wait_event = 'PgSleep'" % ",".join(str(p) for p in pids)
        assert wait_until(lambda: len(pg.activity(where)) == 2)
        procs = []
        for n, value in enumerate(FALSE_VALUES):
            args = pg.monitor_args()
            role_vars = {"pg_cleanup_login_host": args["login_host"], "pg_cleanup_port": args["port"],
                         "pg_cleanup_login_user": args["login_user"], "pg_cleanup_login_password": args["login_password"],
                         "pg_cleanup_application_names": ["rxi-guard-pgc"], "pg_cleanup_min_duration": 0}
            book = role_book(tmp_path / ("pg%d.yml" % n), "pg_cleanup", tmp_path / ("state%d" % n), tmp_path,
                             "rxi-guard-pg%d" % n, role_vars)
            procs.append(start(book, {"pg_cleanup_confirm": value}))
        for value, out in zip(FALSE_VALUES, run_all(procs)):
            assert out.rc == 0 and not out.failed, (value, out.tail())
            assert "dry run only (set pg_cleanup_confirm=true" in out.text, (value, out.tail())
            assert "Cancel or terminate them (pg_terminate_backend)" not in out.ran, value
        assert sorted(r[0] for r in pg.activity(where)) == sorted(pids)


# --- memory_relief_allow_drop_caches --------------------------------------------------------------------

def resident_bytes(path):
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", path], capture_output=True,
                         text=True, check=True).stdout
    return int(out.split()[0])


def test_memory_relief_drop_caches_false_values_keep_the_page_cache(tmp_path):
    cached = tmp_path / "cached.bin"
    cached.write_bytes(os.urandom(8 * 1024 * 1024))
    with open(str(cached), "rb") as f:
        while f.read(1 << 20):
            pass
    assert resident_bytes(str(cached)) >= 4 * 1024 * 1024
    procs = []
    for n, value in enumerate(FALSE_VALUES):
        book = role_book(tmp_path / ("mr%d.yml" % n), "memory_relief", tmp_path / ("state%d" % n), tmp_path,
                         "rxi-guard-none-%d" % n)
        procs.append(start(book, {"memory_relief_allow_drop_caches": value}))
    for value, out in zip(FALSE_VALUES, run_all(procs)):
        assert out.rc == 0 and not out.failed, (value, out.tail())
        assert "drop_caches skipped: set memory_relief_allow_drop_caches=true" in out.text, (value, out.tail())
        assert 'Drop the kernel page cache (runbook "Clear cache (if safe)")' not in out.ran, value
    assert resident_bytes(str(cached)) >= 4 * 1024 * 1024


# --- auto_mitigate (a scenario playbook, as AWX runs it) ------------------------------------------------

def test_auto_mitigate_false_values_apply_nothing(tmp_path):
    routes = {"/health": (503, {"status": "down"}, 0),
              "/metrics": (200, b'reflexion_requests_total{status="500"} 10\n', 0)}
    repo = make_repo(tmp_path / "repo")
    (repo / ".env").write_text("DISABLE_EXTERNAL_SERVICE=false\n")
    before = tree_state(str(repo))
    with LoopbackServer(routes) as web:
        procs, dirs = [], []
        for n, value in enumerate(FALSE_VALUES):
            logs = tmp_path / ("logs%d" % n)
            logs.mkdir()
            incidents = tmp_path / ("incidents%d" % n)
            dirs.append(incidents)
            extra = {"auto_mitigate": value, "reflexion_health_url": web.base + "/health",
                     "reflexion_metrics_url": web.base + "/metrics", "reflexion_log_dir": str(logs),
                     "reflexion_compose_project_dir": str(repo), "reflexion_compose_project_name": "rxi-guard-am%d" % n,
                     "reflexion_incident_state_dir": str(tmp_path / ("state%d" % n)),
                     "triage_probe_database": False, "triage_probe_redis": False, "triage_probe_memory": False,
                     "triage_probe_llm": False, "triage_metrics_sample_interval": 0,
                     "triage_incident_dir": str(incidents), "reflexion_incident_dir": str(incidents),
                     "verify_monitor_seconds": 0}
            procs.append(start(os.path.join(ROOT, "playbooks/high_error_rate.yml"), extra))
        outs = run_all(procs)
    for n, (value, out) in enumerate(zip(FALSE_VALUES, outs)):
        # the plan proposes instead of applying, and names the switch that would apply it
        assert "-e auto_mitigate=true" in out.text and "proposed, not applied" in out.text, (value, out.tail())
        assert not any(name.startswith("Take the mitigation lock") for name in out.ran), value
        assert not os.path.exists(str(tmp_path / ("state%d" % n))), value
        statuses = [json.loads(line).get("status") for d in dirs[n].glob("*/incident.jsonl")
                    for line in d.read_text().splitlines() if line.strip()]
        assert "RESOLVED" not in statuses, (value, statuses)
    assert tree_state(str(repo)) == before
