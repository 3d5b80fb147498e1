"""disk_probe, container_probe, deploy_probe (and triage_probe running them at once) against real things:
this machine's filesystems, a throw-away compose project of our own (project rxi-signals-<random>, three tiny
containers from the local debian:bookworm-slim image, never pulled; removed at the end), and a real git repository
in tmp_path. The lab (project "reflexion") is never touched: every container is found by our own project label."""

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

IMAGE = "debian:bookworm-slim"
SECRET = "hunter2-rxi-signals-secret"

COMPOSE = """\
name: {project}
services:
  app:
    image: {image}
    pull_policy: never
    init: true
    command: ["sh", "-c", "echo 'INFO started'; echo 'ERROR upstream timed out: connection refused password={secret}';
              echo 'ERROR upstream timed out: connection refused password={secret}'; exec sleep 600"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      timeout: 1s
      retries: 1
      start_period: 0s
  crasher:
    image: {image}
    pull_policy: never
    command: ["sh", "-c", "echo 'fatal: bad config'; exit 3"]
    restart: "no"
  flappy:
    image: {image}
    pull_policy: never
    command: ["sh", "-c", "sleep 1; exit 1"]
    restart: on-failure:2
"""


def sh(argv, cwd=None, check=True, timeout=300):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=check, timeout=timeout)


def docker_available():
    if not shutil.which("docker"):
        return "no docker CLI"
    proc = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, text=True, check=False, timeout=60)
    return None if proc.returncode == 0 else "the Docker engine or the local image %s is missing" % IMAGE


def inspect_project(project):
    ids = sh(["docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=" + project]).stdout.split()
    return json.loads(sh(["docker", "inspect"] + ids).stdout) if ids else []


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    why = docker_available()
    assert why is None, why  # no skip: the engine and the seeded image are part of `make test`'s setup
    name = "rxi-signals-%s" % uuid.uuid4().hex[:8]
    d = tmp_path_factory.mktemp("compose")
    (d / "compose.yml").write_text(COMPOSE.format(project=name, image=IMAGE, secret=SECRET))
    base = ["docker", "compose", "--project-directory", str(d), "-p", name]
    try:
        sh(base + ["up", "-d"])
        # until: app unhealthy, crasher exited 3, flappy restarted by its policy at least once
        deadline = time.monotonic() + 90
        while True:
            by = dict((c["Config"]["Labels"]["com.docker.compose.service"], c) for c in inspect_project(name))
            ready = (len(by) == 3 and (by["app"]["State"].get("Health") or {}).get("Status") == "unhealthy"
                     and by["crasher"]["State"]["Status"] == "exited" and by["flappy"]["RestartCount"] >= 1)
            if ready or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert ready, "the compose project did not reach its states: %s" % dict(
            (k, (v["State"]["Status"], v["RestartCount"])) for k, v in by.items())
        yield name
    finally:
        for _attempt in range(5):  # an engine restarted by another stream: try again, the project must go
            if sh(base + ["down", "-v", "--remove-orphans", "-t", "0"], check=False).returncode == 0:
                break
            time.sleep(5)
    assert inspect_project(name) == []


# -- disk ------------------------------------------------------------------------------------------


def df_use_pct(path):
    """df's own Use% for the filesystem of ``path`` (the real command, as the runbook runs it)."""
    out = sh(["df", "-P", path]).stdout.splitlines()[-1].split()
    return int(out[4].rstrip("%")), out[5]


def test_disk_real_paths_match_df(run_module, tmp_path):
    missing = str(tmp_path / "not" / "created" / "data")
    r = run_module("disk_probe", {"paths": ["/", str(tmp_path), missing]})
    assert not r.failed, r.output
    assert r["status"] == "healthy" or "disk full" in r["reason"]
    pct, mount = df_use_pct("/")
    root = [fs for fs in r["filesystems"] if fs["mount"] == "/"][0]
    # df rounds Use% up to a whole percent; ours is rounded up to one decimal
    assert pct - 1 <= root["used_pct"] <= pct, (pct, root)
    st = os.statvfs("/")
    assert abs(root["avail_mb"] - st.f_bavail * st.f_frsize / 1048576.0) < 64
    by_path = dict((p["path"], p) for p in r["paths"])
    assert by_path[missing]["exists"] is False and by_path[missing]["error"] is None
    assert by_path[missing]["measured"] == os.path.realpath(str(tmp_path))
    tmp_pct, tmp_mount = df_use_pct(str(tmp_path))
    assert by_path[str(tmp_path)]["mount"] == tmp_mount
    assert sum(len(fs["paths"]) for fs in r["filesystems"]) == 3


def test_disk_full_is_evidence(run_module, tmp_path):
    pct, mount = df_use_pct(str(tmp_path))
    threshold = max(pct - 5, 0.5)  # this filesystem is "full" at a threshold below its real use
    r = run_module("disk_probe", {"paths": [str(tmp_path)], "full_pct": threshold})
    assert not r.failed, r.output
    assert r["status"] == "degraded"
    assert r["filesystems"][0]["full"] is True
    assert "disk full: %s" % mount in r["reason"]


# -- containers ------------------------------------------------------------------------------------


def test_containers_state_restarts_exit_codes(run_module, project):
    r = run_module("container_probe", {"compose_project": project, "services": ["app", "crasher", "flappy", "ghost"],
                                       "timeout": 30})
    assert not r.failed, r.output
    assert r["engine_error"] is None
    truth = dict((c["Name"].lstrip("/"), c) for c in inspect_project(project))
    assert sorted(c["name"] for c in r["containers"]) == sorted(truth)
    assert all(c["name"].startswith(project) for c in r["containers"])
    by = dict((c["service"], c) for c in r["containers"])
    assert by["app"]["running"] is True and by["app"]["health"] == "unhealthy"
    assert by["crasher"]["state"] == "exited" and by["crasher"]["exit_code"] == 3 and by["crasher"]["running"] is False
    flappy = truth[by["flappy"]["name"]]
    # read after the probe, and the policy keeps restarting it: the probe's count is at most the later truth
    assert 1 <= by["flappy"]["restart_count"] <= flappy["RestartCount"]
    assert by["flappy"]["restart_policy"] == "on-failure"
    assert by["flappy"]["restarted_recently"] is True
    assert by["app"]["started_at"] == truth[by["app"]["name"]]["State"]["StartedAt"]
    s = r["services"]
    assert s["ghost"]["containers"] == 0 and s["ghost"]["evidence"] == ["no container (expected)"]
    assert s["crasher"]["exit_codes"] == [3] and s["crasher"]["running"] == 0
    assert s["app"]["unhealthy"] == 1 and s["app"]["running"] == 1
    assert r["status"] == "degraded"  # something runs: one service down is not the project down
    for needle in ("service ghost: no container", "service crasher: no running container", "exit 3",
                   "unhealthy", "restart"):  # "restarted", or "restarting" while its policy brings it back
        assert needle in r["reason"], (needle, r["reason"])


def test_containers_stdout_logs_grep_and_redact(run_module, project, tmp_path):
    args = {"compose_project": project, "logs": {"services": ["app"], "since": "1h", "patterns": ["errors"]}}
    r = run_module("container_probe", args)
    assert not r.failed, r.output
    logs = r["logs"]
    assert logs["skipped"] is None
    assert logs["total_matches"] == 2 and logs["counts"] == {"errors": 2}
    assert [m["service"] for m in logs["matches"]] == ["app", "app"]
    assert all(m["text"].startswith("ERROR upstream timed out") for m in logs["matches"])
    assert all(m["timestamp"].startswith("20") for m in logs["matches"])
    assert logs["signatures"][0]["count"] == 2
    assert SECRET not in r.output
    assert logs["bytes_read"] > 0 and logs["truncated"] is False
    # a byte cap stops the reading and says so
    capped = run_module("container_probe", dict(args, logs=dict(args["logs"], max_bytes=40)))
    assert not capped.failed, capped.output
    assert capped["logs"]["truncated"] is True and capped["logs"]["bytes_read"] == 40
    # the app writes log files: the container logs are not read
    (tmp_path / "app.log").write_text("INFO ok\n")
    skipped = run_module("container_probe", dict(args, logs=dict(args["logs"], unless_files=[str(tmp_path / "*.log")])))
    assert not skipped.failed, skipped.output
    assert skipped["logs"]["skipped"].startswith("log files exist")
    assert skipped["logs"]["total_matches"] == 0


def test_containers_engine_down_is_evidence_not_failure(run_module, tmp_path):
    r = run_module("container_probe", {"compose_project": "rxi-signals-none",
                                       "docker_host": "unix://%s/no.sock" % tmp_path, "timeout": 5})
    assert not r.failed, r.output
    assert r["status"] == "degraded" and "cannot reach the Docker engine" in r["engine_error"]


# -- deploys ---------------------------------------------------------------------------------------


def git(repo, *args, env=None):
    return sh(["git", "-C", str(repo), "-c", "user.name=rxi", "-c", "user.email=rxi@localhost"] + list(args)).stdout


def test_deploys_real_repository(run_module, tmp_path):
    repo = tmp_path / "deploy"
    repo.mkdir()
    git(repo, "init", "--quiet")
    for i in range(12):
        (repo / "VERSION").write_text("1.%d.0\n" % i)
        git(repo, "add", "VERSION")
        git(repo, "commit", "--quiet", "-m", "release 1.%d.0 token=%s" % (i, SECRET))
    git(repo, "tag", "v1.11.0")
    r = run_module("deploy_probe", {"path": str(repo)})
    assert not r.failed, r.output
    assert r["is_git_repo"] is True and r["status"] == "healthy"
    expected = git(repo, "log", "--oneline", "-10", "--no-decorate").splitlines()
    assert len(r["oneline"]) == 10
    assert [line.split(" ", 1)[0] for line in r["oneline"]] == [line.split(" ", 1)[0] for line in expected]
    assert r["commits"][0]["subject"].startswith("release 1.11.0")
    assert SECRET not in r.output
    assert r["describe"] == "v1.11.0"
    assert r["head"] == git(repo, "rev-parse", "HEAD").strip()
    assert r["checkout_source"] == "reflog"
    assert r["checkout_epoch"] == int(git(repo, "log", "-g", "-1", "--format=%ct", "HEAD").strip())
    assert r["recent_deploy"] is True
    # no reflog: the HEAD commit's time stands in
    shutil.rmtree(str(repo / ".git" / "logs"))
    r2 = run_module("deploy_probe", {"path": str(repo), "count": 3})
    assert not r2.failed, r2.output
    assert r2["checkout_source"] == "head_commit" and len(r2["commits"]) == 3
    assert r2["checkout_epoch"] == int(git(repo, "log", "-1", "--format=%ct").strip())


def test_deploys_not_a_repository_says_so(run_module, tmp_path):
    r = run_module("deploy_probe", {"path": str(tmp_path)})
    assert not r.failed, r.output
    assert r["is_git_repo"] is False and r["commits"] == [] and r["status"] == "healthy"
    assert "not a git checkout" in r["reason"]
    gone = run_module("deploy_probe", {"path": str(tmp_path / "missing")})
    assert not gone.failed and "not a directory" in gone["reason"]


# -- all at once -----------------------------------------------------------------------------------


def test_triage_probe_runs_the_new_probes_at_once(run_module, project, tmp_path):
    repo = tmp_path / "checkout"
    repo.mkdir()
    git(repo, "init", "--quiet")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", "release 2.0.0")
    r = run_module("triage_probe", {
        "disk": {"paths": [str(tmp_path)]},
        "containers": {"compose_project": project, "logs": {"services": ["app"]}},
        "deploys": {"path": str(repo)},
    })
    assert not r.failed, r.output
    assert set(r["probes"]) == {"disk", "containers", "deploys"}
    assert r["probes"]["deploys"]["oneline"][0].endswith("release 2.0.0")
    assert r["probes"]["containers"]["services"]["crasher"]["exit_codes"] == [3]
    assert r["probes"]["containers"]["logs"]["total_matches"] == 2
    assert r["probes"]["disk"]["filesystems"][0]["used_pct"] > 0
    assert "containers:" in r["reason"]
    assert SECRET not in r.output
    bad = run_module("triage_probe", {"disk": {"paths": ["relative/dir"]}})
    assert bad.failed and "disk" in bad["msg"] and "paths" in bad["msg"] and "Traceback" not in bad.output


# -- the triage role: facts, report and banner -----------------------------------------------------

PLAYBOOK = """\
- name: Triage, then dump the new facts
  hosts: localhost
  gather_facts: false
  roles:
    - role: reflexion.incident.triage
  tasks:
    - name: Dump
      ansible.builtin.copy:
        content: "{{{{ {{'disk': triage_disk, 'containers': triage_containers, 'deploys': triage_deploys}} | to_json }}}}"
        dest: {dest}
        mode: "0600"
"""


def test_triage_role_exposes_disk_containers_deploys(run_playbook, project, tmp_path):
    repo = tmp_path / "deploy"
    repo.mkdir()
    git(repo, "init", "--quiet")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", "release 3.0.0")
    logs = tmp_path / "logs"
    logs.mkdir()  # no log file: the app logs to stdout, so the container logs are read (triage_container_logs: auto)
    dump = tmp_path / "facts.json"
    book = tmp_path / "play.yml"
    book.write_text(PLAYBOOK.format(dest=dump))
    incidents = tmp_path / "incidents"
    proc = run_playbook(str(book), extra_vars={
        "reflexion_health_url": "http://127.0.0.1:1/health", "reflexion_metrics_url": "http://127.0.0.1:1/metrics",
        "reflexion_log_dir": str(logs), "reflexion_compose_project_dir": str(repo),
        "reflexion_compose_project_name": project, "reflexion_app_service": "app",
        "triage_container_services": ["app", "crasher"], "triage_probe_database": False, "triage_probe_redis": False,
        "triage_probe_memory": False, "triage_probe_llm": False, "triage_metrics_sample_interval": 0,
        "triage_open_incident_at": "never", "triage_incident_dir": str(incidents), "triage_timeout": 2})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Traceback" not in out, out[-4000:]
    facts = json.loads(dump.read_text())
    assert [fs["paths"] for fs in facts["disk"]["filesystems"]] and facts["disk"]["status"] in ("healthy", "degraded")
    assert sorted(p["path"] for p in facts["disk"]["paths"]) == sorted([str(logs), str(repo)])
    assert facts["containers"]["services"]["crasher"]["exit_codes"] == [3]
    assert facts["containers"]["logs"]["skipped"] is None and facts["containers"]["logs"]["total_matches"] == 2
    assert facts["deploys"]["oneline"][0].endswith("release 3.0.0")
    report = next(incidents.rglob("triage-localhost.md")).read_text()
    for section in ("## Disk", "## Containers", "## Recent deploys"):
        assert section in report, report
    assert "crasher" in report and "exit code 3" in report and "release 3.0.0" in report
    assert "container logs of app since" in report and "2 matching lines" in report
    assert SECRET not in report and SECRET not in out
    assert "containers: degraded" in out and "deploys: HEAD" in out and "disk: " in out  # the banner

    # a log file exists: auto leaves the container logs to log_grep; the switches turn the probes off
    (logs / "app.log").write_text("INFO ok\n")
    proc = run_playbook(str(book), extra_vars={
        "reflexion_health_url": "http://127.0.0.1:1/health", "reflexion_metrics_url": "http://127.0.0.1:1/metrics",
        "reflexion_log_dir": str(logs), "reflexion_compose_project_name": project, "reflexion_app_service": "app",
        "triage_probe_database": False, "triage_probe_redis": False, "triage_probe_memory": False,
        "triage_probe_llm": False, "triage_metrics_sample_interval": 0, "triage_probe_disk": False,
        "triage_probe_deploys": "false", "triage_open_incident_at": "never", "triage_incident_dir": str(incidents),
        "triage_timeout": 2})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    facts = json.loads(dump.read_text())
    assert facts["disk"]["skipped"] is True and facts["deploys"]["skipped"] is True
    assert facts["containers"]["logs"]["skipped"].startswith("log files exist")
