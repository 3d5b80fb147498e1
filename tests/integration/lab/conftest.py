"""The lab, brought up ONCE per test session (absent, then present, timed), and helpers to read its real signals."""

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import yaml

from ..conftest import BIN, ROOT, ansible_env, run_bounded

INVENTORY = "inventories/lab"
GROUP_VARS = yaml.safe_load(open(os.path.join(ROOT, INVENTORY, "group_vars", "all.yml")))
DEFAULTS = yaml.safe_load(open(os.path.join(ROOT, "lab", "roles", "lab", "defaults", "main.yml")))
BASE_URL = GROUP_VARS["reflexion_base_url"]
DEPLOY_DIR = GROUP_VARS["reflexion_compose_project_dir"]
LOG_DIR = GROUP_VARS["reflexion_log_dir"]
PROJECT = GROUP_VARS["reflexion_compose_project_name"]
PROMETHEUS = GROUP_VARS["reflexion_prometheus_url"]
ALERTMANAGER = GROUP_VARS["reflexion_alertmanager_url"]
LLM = GROUP_VARS["reflexion_openai_base_url"]
PG = dict(host=GROUP_VARS["reflexion_pg_host"], port=GROUP_VARS["reflexion_pg_port"], user=GROUP_VARS["reflexion_pg_user"],
          password=GROUP_VARS["reflexion_pg_password"], dbname="postgres", connect_timeout=5)
TIMING_FILE = os.path.join(ROOT, "tests", "output", "lab_up_seconds.json")


def playbook(path, extra_vars=None, timeout=900):
    """Session-scope twin of the run_playbook fixture (same command line and environment)."""
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, INVENTORY), os.path.join(ROOT, path)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    return run_bounded(cmd, timeout, cwd=ROOT, env=ansible_env(ANSIBLE_STDOUT_CALLBACK="default"))


def recap(proc):
    """The PLAY RECAP counters of a default-callback run, as a dict."""
    match = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    assert match, proc.stdout[-3000:] + proc.stderr[-2000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), (int(g) for g in match.groups())))


def ok(proc):
    assert proc.returncode == 0, "playbook failed:\n%s\n%s" % (proc.stdout[-6000:], proc.stderr[-3000:])
    return proc


def http(method, url, body=None, timeout=30, headers=None):
    """(status, parsed JSON or text, headers) of one real HTTP request; never raises on HTTP errors."""
    data = json.dumps(body).encode() if body is not None else None
    all_headers = dict({"Content-Type": "application/json"}, **(headers or {}))
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw, code, hdrs = resp.read().decode(), resp.status, resp.headers
    except urllib.error.HTTPError as exc:
        raw, code, hdrs = exc.read().decode(errors="replace"), exc.code, exc.headers
    except OSError as exc:
        return None, str(exc), {}
    try:
        return code, json.loads(raw), hdrs
    except ValueError:
        return code, raw, hdrs


def health():
    return http("GET", BASE_URL + "/health")


def chat_codes(count, timeout=30):
    codes = []
    for index in range(count):
        message = {"session": "pytest", "message": "probe %d %f" % (index, time.time())}
        code, _body, _h = http("POST", BASE_URL + "/api/chat", message, timeout=timeout)
        codes.append(code)
    return codes


def metrics_text():
    code, text, _h = http("GET", BASE_URL + "/metrics")
    return text if code == 200 else ""


def metric_sum(text, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, value = line.rsplit(" ", 1)
        found = dict(re.findall(r'(\w+)="([^"]*)"', head))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(value)
    return total


def wait_until(check, timeout=60, step=1.0, what="condition"):
    """Poll `check` until it returns something truthy; the last value is in the failure message."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting for %s; last value: %r" % (what, value))


def compose(*args, timeout=300):
    env = dict(os.environ, COMPOSE_BAKE="false")
    proc = subprocess.run(["docker", "compose", "--project-directory", DEPLOY_DIR, "-p", PROJECT] + list(args),
                          cwd=DEPLOY_DIR, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def git(*args):
    proc = subprocess.run(["git", "-C", DEPLOY_DIR] + list(args), capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def set_env(key, value):
    """Edit the deployment's .env the way an operator does (the runbook's `export X=...`)."""
    path = os.path.join(DEPLOY_DIR, ".env")
    lines = open(path).read().splitlines()
    lines = [line for line in lines if not line.startswith(key + "=")] + ["%s=%s" % (key, value)]
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def docker_inspect(*names):
    proc = subprocess.run(["docker", "inspect"] + list(names), capture_output=True, text=True, timeout=60, check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else []


def project_containers(service=None, all_states=True):
    cmd = ["docker", "ps", "-q", "--filter", "label=com.docker.compose.project=" + PROJECT]
    if service:
        cmd += ["--filter", "label=com.docker.compose.service=" + service]
    if all_states:
        cmd.append("-a")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False).stdout.split()


class LogTail(object):
    """New lines of the app's log files since construction (app.log is shared by the replicas)."""

    def __init__(self):
        self.path = os.path.join(LOG_DIR, "app.log")
        self.offset = os.path.getsize(self.path) if os.path.exists(self.path) else 0

    def lines(self):
        if not os.path.exists(self.path):
            return []
        with open(self.path, errors="replace") as handle:
            handle.seek(self.offset)
            return handle.read().splitlines()

    def errors(self, word):
        return [line for line in self.lines() if " ERROR " in line and word in line.lower()]


@pytest.fixture(scope="session")
def lab():
    """One lab for the whole session: from nothing (absent, volumes included) to healthy, timed."""
    ok(playbook("playbooks/lab.yml", {"lab_state": "absent", "lab_remove_volumes": True}))
    start = time.monotonic()
    proc = ok(playbook("playbooks/lab.yml"))
    elapsed = time.monotonic() - start
    os.makedirs(os.path.dirname(TIMING_FILE), exist_ok=True)
    with open(TIMING_FILE, "w") as handle:
        json.dump({"present_to_healthy_s": round(elapsed, 1)}, handle)
    return {"up_seconds": elapsed, "first_run": proc}


@pytest.fixture
def clean_lab(lab, run_playbook):
    """A lab with no fault; every fault test clears its fault with fault=none afterwards, and checks that worked."""
    yield lab
    proc = run_playbook("playbooks/lab_fault.yml", extra_vars={"fault": "none"}, inventory=INVENTORY)
    ok(proc)
    code, body, _h = health()
    assert code == 200 and body["status"] == "healthy", body
