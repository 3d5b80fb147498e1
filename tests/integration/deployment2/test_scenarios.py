"""Each scenario playbook against the second deployment (tests/deployments/acme): fixed container names,
services agent/db/cache, project acmeagent, one replica, no load balancer, no Prometheus, logs elsewhere,
an app process named python3. Configured only through a filled copy of inventories/example (fixture `site`).

Issue 22: every scenario detects its injected symptom, no plan ever touches the database container without
restart_allow_database, and what the layout cannot do (scale a container_name service, roll back without
vX.Y.Z tags) is refused with one clear line. Check mode where the real run would take long.
"""

import os
import re
import subprocess
import tarfile
import time

import pytest

from .conftest import run_site_playbook

DB_VERBS = re.compile(r"\b(restart|stop|kill|recreate|remove|rm|down)\b", re.I)
GUARD_WORDS = re.compile(r"protect|never|refus|not restart|skip|without restart_allow_database|excluded|allow_database", re.I)


def db_touches(run):
    """Lines of any task result that plan or run an action on the database container or service."""
    hits = []
    for task, _host, res in run.results:
        for s in run.strings(res):
            for line in s.splitlines():
                if ("acme-agent-db" in line or re.search(r"\bservice[ =:]+\"?db\b", line)) and DB_VERBS.search(line) \
                        and not GUARD_WORDS.search(line):
                    hits.append("%s: %s" % (task, line.strip()[:200]))
    return hits


def symptom_detected(run, scenario):
    skipped_no_symptom = all(r.get("skipped") for t, _h, r in run.results if t == "No symptom, nothing to mitigate")
    return skipped_no_symptom and ("No %s symptom" % scenario) not in run.text


def no_dumps(run):
    """No failed task answers with a wall of text (the 200-line compose dump of issue 22)."""
    for task, res in run.failures():
        for key in ("msg", "stderr", "stdout"):
            value = str(res.get(key) or "")
            assert value.count("\n") < 5, "%s: %d-line %s:\n%s" % (task, value.count("\n"), key, value[:1500])


def refusal_lines(run, *words):
    out = []
    for task, msg in run.messages():
        if all(w.lower() in msg.lower() for w in words):
            out.append((task, msg))
    return out


def explain(run):
    return "rc=%s\n%s\n%s" % (run.rc, run.text[-6000:], run.stderr[-2000:])


def test_high_error_rate_detected(acme, site):
    inv, _incidents = site
    acme.llm_mode("5xx", share=0.8, provider="openai")
    try:
        acme.wait_for_5xx(12)
        run = run_site_playbook(inv, "playbooks/high_error_rate.yml", "--check")
    finally:
        acme.llm_mode("ok", provider="all")
    assert run.rc == 0, explain(run)
    assert symptom_detected(run, "high_error_rate"), explain(run)
    assert re.search(r"error ratio [0-9.]+%", run.text), explain(run)
    assert db_touches(run) == [], db_touches(run)
    no_dumps(run)


def test_scale_is_refused_in_one_line(acme, site):
    inv, _incidents = site
    run = run_site_playbook(inv, "playbooks/scale_up.yml", "--check", "-e", "scale_replicas=3")
    lines = refusal_lines(run, "container_name")
    assert lines, "no refusal naming container_name:\n" + explain(run)
    for task, msg in lines:
        assert "\n" not in msg.strip() and len(msg) < 400, (task, msg)
    no_dumps(run)
    assert "Error response from daemon" not in run.text


def test_rollback_without_semver_tags_refused_in_one_line(acme, site):
    inv, _incidents = site
    head = acme.git("rev-parse", "HEAD")
    run = run_site_playbook(inv, "playbooks/rollback.yml", "--check")
    no_dumps(run)
    assert refusal_lines(run, "tag"), explain(run)
    assert acme.git("rev-parse", "HEAD") == head


def test_database_connection_issues_detected_db_untouched(acme, site):
    inv, _incidents = site
    started = acme.container_state("acme-agent-db")["StartedAt"]
    subprocess.run(["docker", "exec", "-d", "acme-agent-db", "python3", "/lab/dbhog.py", "--sleepers=4", "--idle-tx=4",
                    "--sleep-s=600"], check=True)
    try:
        deadline = time.monotonic() + 40
        settled = ["docker", "exec", "acme-agent-db", "test", "-f", "/tmp/dbhog.settled"]
        while subprocess.run(settled, check=False).returncode != 0:
            assert time.monotonic() < deadline, "the other client never held the connections"
            time.sleep(1)
        run = run_site_playbook(inv, "playbooks/database_connection_issues.yml", "--check")
    finally:
        subprocess.run(["docker", "exec", "acme-agent-db", "pkill", "-f", "dbhog.py"], check=False)
        subprocess.run(["docker", "exec", "acme-agent-db", "rm", "-f", "/tmp/dbhog.settled"], check=False)
    assert run.rc == 0, explain(run)
    assert symptom_detected(run, "database_connection_issues"), explain(run)
    assert db_touches(run) == [], db_touches(run)
    assert acme.container_state("acme-agent-db")["StartedAt"] == started
    no_dumps(run)


def test_llm_api_failures_fixed_and_proven(acme, site):
    inv, _incidents = site
    acme.llm_mode("5xx", share=1.0, provider="openai")
    try:
        acme.wait_for_5xx(8)
        run = run_site_playbook(inv, "playbooks/llm_api_failures.yml", timeout=420)
        with open(os.path.join(acme.dir, ".env")) as f:
            env = f.read()
    finally:
        acme.llm_mode("ok", provider="all")
    assert symptom_detected(run, "llm_api_failures"), explain(run)
    assert run.rc == 0, explain(run)
    assert "/work" not in "\n".join(m for _t, m in run.messages()), explain(run)
    assert re.search(r"(?m)^(FALLBACK_LLM_PROVIDER=anthropic|DISABLE_EXTERNAL_SERVICE=true)$", env), env
    assert db_touches(run) == [], db_touches(run)
    no_dumps(run)


def test_memory_leak_detected_db_guarded(acme, site):
    inv, _incidents = site
    db_started = acme.container_state("acme-agent-db")["StartedAt"]
    subprocess.run(["docker", "kill", "--signal", "USR1", "acme-agent-app"], check=True, capture_output=True)
    try:
        time.sleep(8)
        run = run_site_playbook(inv, "playbooks/memory_leak.yml", "--check")
    finally:
        acme.restart_app()
    assert run.rc == 0, explain(run)
    assert symptom_detected(run, "memory_leak"), explain(run)
    assert "acme-agent-app" in run.text, explain(run)
    assert db_touches(run) == [], db_touches(run)
    planned = [line for line in run.text.splitlines() if DB_VERBS.search(line) and not GUARD_WORDS.search(line)]
    assert "acme-agent-cache" not in "\n".join(planned)
    assert acme.container_state("acme-agent-db")["StartedAt"] == db_started
    no_dumps(run)


@pytest.mark.parametrize("target_var", ["reflexion_hosts", "target_hosts"])
def test_collect_debug_info(acme, site, target_var):
    inv, incidents = site
    before = set(os.listdir(incidents)) if os.path.isdir(incidents) else set()
    run = run_site_playbook(inv, "playbooks/collect_debug_info.yml", "-e", "%s=reflexion" % target_var)
    assert run.rc == 0, explain(run)
    new = set(os.listdir(incidents)) - before
    bundles = [os.path.join(incidents, i, "debug-bundle-docker-1.acme.test.tar.gz") for i in new]
    bundles = [b for b in bundles if os.path.isfile(b)]
    assert bundles, (new, explain(run))
    with tarfile.open(bundles[0]) as tar:
        members = dict((m.name.split("/", 1)[-1], m) for m in tar.getmembers())
        assert "app-logs.txt" in members, sorted(members)
        logs = tar.extractfile(members["app-logs.txt"]).read().decode(errors="replace")
        inspect = tar.extractfile(members["container-inspect.txt"]).read().decode(errors="replace")
    # The app's log lines from the acme log directory (agent.log), and the fixed-name containers.
    assert "replica=" in logs, logs[:2000]
    assert "acme-agent-app" in inspect, inspect[:2000]
