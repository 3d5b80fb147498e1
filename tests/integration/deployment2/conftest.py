"""The second deployment of the test bed (tests/deployments/acme), and a site inventory for it.

`acme` starts compose project `acmeagent` (fixed container names acme-agent-*, services agent/db/cache,
one replica, no load balancer, no Prometheus/Alertmanager, logs in <tmp>/acme-agent) on 127.0.0.1:28000,
25432, 26379 and 28080, from a throw-away git checkout tagged release-2026.10 / release-2026.11 (not vX.Y.Z),
and removes it, its volume and its app image in teardown.

`site` copies inventories/example and fills it the way docs/quickstart.md says (SITE_SETTINGS below:
every key must already be a line of the example's group_vars/all.yml).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

from ..conftest import BIN, ROOT, ansible_env, json_callback_document

ACME = os.path.join(ROOT, "tests", "deployments", "acme")
LAB_FILES = os.path.join(ROOT, "lab", "roles", "lab", "files")
PROJECT = "acmeagent"
BASE_IMAGE = "reflexion-lab/base:1"
APP_IMAGE = "acmeagent-agent:local"
PORTS = {"agent": 28000, "db": 25432, "cache": 26379, "llm": 28080}
PG_SUPERUSER_PASSWORD = "acme-db-admin-pw"
APP_DB_PASSWORD = "acme-app-pw"


def sh(argv, cwd=None, check=True, timeout=600, env=None):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=check, timeout=timeout, env=env)


class Acme(object):
    def __init__(self, root):
        self.root = root
        self.dir = os.path.join(root, "deploy")
        self.log_dir = os.path.join(root, "acme-agent")
        self.base_url = "http://127.0.0.1:%d" % PORTS["agent"]
        self.llm_url = "http://127.0.0.1:%d" % PORTS["llm"]

    def git(self, *args):
        return sh(["git", "-C", self.dir, "-c", "user.name=acme", "-c", "user.email=acme@localhost"] + list(args)).stdout

    def compose(self, *args, **kw):
        return sh(["docker", "compose", "--project-directory", self.dir, "-p", PROJECT] + list(args), **kw)

    def create(self):
        os.makedirs(self.dir)
        os.makedirs(self.log_dir)
        for name in ("compose.yaml", "run_agent.py"):
            shutil.copy(os.path.join(ACME, name), self.dir)
        shutil.copytree(os.path.join(LAB_FILES, "deploy", "app"), os.path.join(self.dir, "agent-src"))
        shutil.copytree(os.path.join(LAB_FILES, "deploy", "services", "postgres"), os.path.join(self.dir, "db"))
        shutil.copytree(os.path.join(LAB_FILES, "deploy", "services", "llm"), os.path.join(self.dir, "llm"))
        shutil.copytree(os.path.join(LAB_FILES, "deploy", "services", "loadgen"), os.path.join(self.dir, "traffic"))
        with open(os.path.join(self.dir, ".gitignore"), "w") as f:
            f.write(".env\n")
        self.git("init", "--quiet")
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", "acme agent 2026.10")
        self.git("tag", "release-2026.10")
        with open(os.path.join(self.dir, "agent-src", "RELEASE"), "a") as f:
            f.write("\n# acme 2026.11\n")
        self.git("commit", "--quiet", "-am", "acme agent 2026.11")
        self.git("tag", "release-2026.11")
        env = {
            "DISABLE_EXTERNAL_SERVICE": "false", "FALLBACK_LLM_PROVIDER": "", "LLM_PROVIDER": "openai",
            "LLM_TIMEOUT_S": "3", "OPENAI_BASE_URL": "http://llm-stub:8080", "ANTHROPIC_BASE_URL": "http://llm-stub:8080",
            "OPENAI_API_KEY": "sk-acme-not-a-secret", "ANTHROPIC_API_KEY": "sk-ant-acme-not-a-secret",
            "DB_NAME": "reflexion", "DB_USER": "reflexion", "DB_PASSWORD": APP_DB_PASSWORD,
            "POSTGRES_PASSWORD": PG_SUPERUSER_PASSWORD, "PG_MAX_CONNECTIONS": "30",
            "LEAK_MB_PER_S": "6", "LEAK_MAX_MB": "240", "ACME_BASE_IMAGE": BASE_IMAGE, "ACME_LOG_DIR": self.log_dir,
            "ACME_AGENT_PORT": str(PORTS["agent"]), "ACME_DB_PORT": str(PORTS["db"]),
            "ACME_CACHE_PORT": str(PORTS["cache"]), "ACME_LLM_PORT": str(PORTS["llm"]),
        }
        with open(os.path.join(self.dir, ".env"), "w") as f:
            f.write("".join("%s=%s\n" % kv for kv in env.items()))

    def up(self):
        if sh(["docker", "image", "inspect", BASE_IMAGE], check=False).returncode != 0:
            sh(["docker", "build", "-q", "-t", BASE_IMAGE, os.path.join(LAB_FILES, "base")], timeout=900)
        proc = self.compose("up", "-d", "--build", "--wait", "--wait-timeout", "180", check=False, timeout=600,
                            env=dict(os.environ, COMPOSE_BAKE="false"))
        assert proc.returncode == 0, proc.stdout + proc.stderr

    def destroy(self):
        self.compose("down", "-v", "--remove-orphans", "--timeout", "5", check=False, timeout=180)
        sh(["docker", "image", "rm", "-f", APP_IMAGE], check=False)

    # --- faults ---------------------------------------------------------------------------------
    def llm_mode(self, mode, share=1.0, provider="all"):
        body = json.dumps({"provider": provider, "mode": mode, "share": share}).encode()
        req = urllib.request.Request(self.llm_url + "/_admin/mode", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.load(resp)

    def metrics_text(self):
        with urllib.request.urlopen(self.base_url + "/metrics", timeout=5) as resp:
            return resp.read().decode()

    def count_5xx(self):
        total = 0.0
        for line in self.metrics_text().splitlines():
            m = re.match(r'reflexion_requests_total\{status="5\d\d"\} ([0-9.e+]+)', line)
            if m:
                total += float(m.group(1))
        return total

    def wait_for_5xx(self, more_than, deadline_s=60):
        start = self.count_5xx()
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if self.count_5xx() - start > more_than:
                return
            time.sleep(1)
        raise AssertionError("the app's 5xx count did not climb by %d within %d s" % (more_than, deadline_s))

    def container_state(self, name):
        return json.loads(sh(["docker", "inspect", name]).stdout)[0]["State"]

    def restart_app(self):
        sh(["docker", "restart", "--time", "5", "acme-agent-app"])
        end = time.monotonic() + 90
        while time.monotonic() < end:
            if self.container_state("acme-agent-app").get("Health", {}).get("Status") == "healthy":
                return
            time.sleep(1)
        raise AssertionError("acme-agent-app not healthy again within 90 s")


@pytest.fixture(scope="session")
def acme():
    root = tempfile.mkdtemp(prefix="acmeagent-")
    dep = Acme(root)
    dep.destroy()  # leftovers of an interrupted run (the fixed container names would clash)
    dep.create()
    try:
        dep.up()
        yield dep
    finally:
        dep.destroy()
        shutil.rmtree(root, ignore_errors=True)


# The settings docs/quickstart.md tells a site to fill in group_vars/all.yml, with this deployment's values.
def site_settings(dep, state_dir, incidents_dir):
    return {
        "reflexion_base_url": dep.base_url,
        "reflexion_log_dir": dep.log_dir,
        "reflexion_compose_project_dir": dep.dir,
        "reflexion_compose_project_name": PROJECT,
        "reflexion_app_service": "agent",
        "reflexion_db_service": "db",
        "reflexion_redis_service": "cache",
        "reflexion_pg_host": "127.0.0.1",
        "reflexion_pg_port": PORTS["db"],
        "reflexion_pg_user": "postgres",
        "reflexion_pg_db": "reflexion",
        "reflexion_redis_host": "127.0.0.1",
        "reflexion_redis_port": PORTS["cache"],
        "reflexion_openai_base_url": dep.llm_url,
        "reflexion_anthropic_base_url": dep.llm_url,
        "reflexion_prometheus_url": "",
        "reflexion_alertmanager_url": "",
        "reflexion_incident_dir": incidents_dir,
        "reflexion_incident_state_dir": state_dir,
        "reflexion_llm_proof_url": dep.base_url + "/api/chat?message=fallback-proof",
        "reflexion_app_process_pattern": "",
        "verify_monitor_seconds": 0,
    }


def fill_inventory(dest, settings):
    """Copy inventories/example to dest and fill it: the host becomes this machine (connection local)."""
    shutil.copytree(os.path.join(ROOT, "inventories", "example"), dest)
    with open(os.path.join(dest, "hosts.yml")) as f:
        hosts = f.read()
    # As docs/quickstart.md says for a controller that runs on the docker host itself.
    hosts = re.sub(r"(?m)^( +)app-1\.prod\.example\.com:\n +ansible_host: .*\n",
                   r"\1docker-1.acme.test:\n\1  ansible_connection: local\n", hosts)
    hosts = re.sub(r"(?m)^( +ansible_user|( +)ansible_ssh_private_key_file).*\n", "", hosts)
    # This machine's python with the host packages is the venv's (the test host has no python3-docker).
    hosts = re.sub(r"(?m)^( +ansible_python_interpreter:) .*$", lambda m: m.group(1) + " " + sys.executable, hosts)
    assert "docker-1.acme.test" in hosts, hosts
    with open(os.path.join(dest, "hosts.yml"), "w") as f:
        f.write(hosts)
    path = os.path.join(dest, "group_vars", "all.yml")
    with open(path) as f:
        text = f.read()
    missing = []
    for key, value in settings.items():
        pattern = re.compile(r"(?m)^#? ?%s:.*$" % re.escape(key))
        if not pattern.search(text):
            missing.append(key)
            continue
        text = pattern.sub(lambda _m, k=key, v=value: "%s: %s" % (k, json.dumps(v)), text, count=1)
    assert not missing, "inventories/example/group_vars/all.yml lacks these settings a site needs: %s" % missing
    with open(path, "w") as f:
        f.write(text)
    return dest


@pytest.fixture(scope="session")
def site(acme):
    """A filled copy of inventories/example pointing at the acme deployment: (inventory dir, incidents dir)."""
    root = tempfile.mkdtemp(prefix="acme-site-")
    incidents = os.path.join(root, "incidents")
    state = os.path.join(root, "state")
    inv = fill_inventory(os.path.join(root, "inventory"), site_settings(acme, state, incidents))
    yield inv, incidents
    shutil.rmtree(root, ignore_errors=True)


def site_env(**extra):
    """The environment of a site's command: the pg password as the example reads it without a vault."""
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", REFLEXION_PG_PASSWORD=PG_SUPERUSER_PASSWORD)
    env.update(extra)
    return env


class PlaybookRun(object):
    """One ansible-playbook run with the json callback: every task result, and the text of all of them."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.data = json_callback_document(proc.stdout)
        self.results = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                for host, res in task.get("hosts", {}).items():
                    self.results.append((task["task"]["name"], host, res))

    def strings(self, res):
        out = []

        def walk(v):
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, (list, tuple)):
                for x in v:
                    walk(x)
        walk(res)
        return out

    @property
    def text(self):
        return "\n".join(s for _t, _h, r in self.results for s in self.strings(r)) + "\n" + self.stderr

    def failures(self):
        return [(t, r) for t, _h, r in self.results if r.get("failed") and not r.get("ignore_errors")]

    def messages(self):
        return [(t, str(r.get("msg", ""))) for t, _h, r in self.results if r.get("msg")]


def run_site_playbook(inventory, playbook, *args, cwd=ROOT, env=None, timeout=400):
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, os.path.join(cwd, playbook)] + list(args)
    proc = subprocess.run(cmd, cwd=cwd, env=env or site_env(), capture_output=True, text=True, timeout=timeout, check=False)
    return PlaybookRun(proc)
