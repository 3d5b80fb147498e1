"""The closed loop, for real: the lab's Prometheus and Alertmanager, ansible-rulebook with
extensions/eda/rulebooks/reflexion_alerts.yml and the real scenario playbooks.

  1. the lab is up and clean (fault=none), ansible-rulebook listens where the lab's Alertmanager sends;
  2. inject high_error_rate (playbooks/lab_fault.yml -e fault=high_error_rate);
  3. Prometheus reports HighErrorRate firing (/api/v1/alerts);
  4. Alertmanager holds it active and sends its webhook (ansible-rulebook --print-events shows the event);
  5. the rulebook runs playbooks/high_error_rate.yml (its play runs: seen in ansible-rulebook's output);
  6. the mitigation happens: the HighErrorRate expression, queried from Prometheus, returns nothing;
  7. the alert resolves in Prometheus and the resolved webhook runs playbooks/status_update.yml.

Measured: inject -> firing, firing -> playbook start, firing -> mitigated, firing -> resolved; written to
bench/results/eda_closed_loop.json for docs/benchmarks.md. Never skipped (the lab inventory is in the repository).
Needs from the lab: Alertmanager's webhook sends `Authorization: Bearer <lab_alertmanager_webhook_token>`.
"""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from .conftest import ROOT, wait_http

BIN = os.path.dirname(sys.executable)
RULEBOOK = os.path.join(ROOT, "extensions", "eda", "rulebooks", "reflexion_alerts.yml")
RESULTS = os.path.join(ROOT, "bench", "results", "eda_closed_loop.json")
ALERT = "HighErrorRate"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.docker,
]


def env(**extra):
    e = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1",
             ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
             ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"))
    e.update(extra)
    return e


def playbook(path, **extra_vars):
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(ROOT, "inventories", "lab"), os.path.join(ROOT, path)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode == 0, "%s failed:\n%s\n%s" % (path, proc.stdout[-5000:], proc.stderr[-3000:])
    return proc


def lab_var(name):
    """A variable as the lab inventory (and the lab role's defaults) resolve it for localhost."""
    proc = subprocess.run(
        [os.path.join(BIN, "ansible"), "localhost", "-i", os.path.join(ROOT, "inventories", "lab"), "-m",
         "ansible.builtin.debug", "-a", "var=" + name,
         "-e", "@" + os.path.join(ROOT, "lab", "roles", "lab", "defaults", "main.yml")],
        cwd=ROOT, env=env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1"),
        capture_output=True, text=True, timeout=120, check=False)
    try:
        value = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"][name]
    except (ValueError, KeyError, IndexError):
        return None
    return None if isinstance(value, str) and value.startswith("VARIABLE IS NOT DEFINED") else value


def get_json(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def prom_alert_states(prom):
    data = get_json(prom + "/api/v1/alerts")["data"]["alerts"]
    return [a["state"] for a in data if a["labels"].get("alertname") == ALERT]


def am_active(am):
    return [a for a in get_json(am + "/api/v2/alerts?active=true&silenced=false&inhibited=false")
            if a["labels"].get("alertname") == ALERT]


def prom_query(prom, expr):
    return get_json(prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))["data"]["result"]


def alert_expr():
    """HighErrorRate's expression from the shipped Prometheus rules (extensions/prometheus/)."""
    for path in glob.glob(os.path.join(ROOT, "extensions", "prometheus", "**", "*.y*ml"), recursive=True):
        with open(path) as f:
            doc = yaml.safe_load(f) or {}
        for group in doc.get("groups", []) if isinstance(doc, dict) else []:
            for rule in group.get("rules", []):
                if rule.get("alert") == ALERT:
                    return rule["expr"]
    raise AssertionError("no %s rule under extensions/prometheus/" % ALERT)


def first_play_name(path):
    with open(os.path.join(ROOT, path)) as f:
        return yaml.safe_load(f)[0]["name"]


def alertmanager_gateway():
    """The Docker bridge gateway the lab's Alertmanager reaches the host through (host.docker.internal)."""
    docker = shutil.which("docker")
    ids = subprocess.run([docker, "ps", "-q", "--filter", "label=com.docker.compose.project=reflexion",
                          "--filter", "label=com.docker.compose.service=alertmanager"],
                         capture_output=True, text=True, check=False, timeout=30).stdout.split()
    assert ids, "the lab's alertmanager container is not running"
    info = json.loads(subprocess.run([docker, "inspect", ids[0]], capture_output=True, text=True, check=True,
                                     timeout=30).stdout)[0]
    gateways = [n["Gateway"] for n in info["NetworkSettings"]["Networks"].values() if n.get("Gateway")]
    assert gateways, "no gateway on the alertmanager container's networks"
    return gateways[0]


def until(what, check, timeout, step=2.0, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value, time.monotonic()
        time.sleep(step)
    raise AssertionError("timed out after %ss waiting for: %s\n%s" % (timeout, what, log() if log else ""))


@pytest.fixture
def clean_lab():
    playbook("playbooks/lab.yml")
    playbook("playbooks/lab_fault.yml", fault="none")
    yield
    playbook("playbooks/lab_fault.yml", fault="none")


def test_alert_to_mitigation_closed_loop(clean_lab, tmp_path):
    prom = lab_var("reflexion_prometheus_url")
    am = lab_var("reflexion_alertmanager_url")
    webhook = urllib.parse.urlsplit(lab_var("lab_alertmanager_webhook_url") or "")
    token = lab_var("lab_alertmanager_webhook_token")
    assert prom and am and webhook.port, "lab variables missing: prometheus/alertmanager/webhook url"
    assert token, ("the lab's Alertmanager must send a bearer token: define lab_alertmanager_webhook_token and "
                   "http_config.authorization.credentials in lab/roles/lab/templates/alertmanager.yml.j2")
    expr = alert_expr()
    assert not prom_query(prom, expr), "the lab is not clean before the test: %s already returns series" % expr

    # 1. ansible-rulebook on the bridge gateway, where host.docker.internal leads
    varsfile = tmp_path / "vars.yml"
    varsfile.write_text(yaml.safe_dump({"reflexion_eda_token": token, "reflexion_eda_host": alertmanager_gateway(),
                                        "reflexion_eda_port": webhook.port}))
    log_path = tmp_path / "rulebook.log"
    with open(str(log_path), "wb") as log:
        proc = subprocess.Popen([os.path.join(BIN, "ansible-rulebook"), "-r", RULEBOOK, "-i",
                                 os.path.join(ROOT, "inventories", "lab"), "--vars", str(varsfile), "-v", "--print-events"],
                                cwd=ROOT, env=env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def rb_log():
        return log_path.read_text(errors="replace")

    timings = {}
    try:
        host = yaml.safe_load(varsfile.read_text())["reflexion_eda_host"]
        wait_http("http://%s:%d/" % (host, webhook.port), timeout=120, proc=proc)

        # 2. inject
        t_inject = time.monotonic()
        playbook("playbooks/lab_fault.yml", fault="high_error_rate")

        # 3. Prometheus: the alert fires
        _v, t_fire = until("Prometheus reports %s firing" % ALERT, lambda: "firing" in prom_alert_states(prom), 600)
        timings["inject_to_firing_s"] = round(t_fire - t_inject, 1)

        # 4. Alertmanager holds it and its webhook reaches the rulebook (--print-events shows the event)
        until("Alertmanager has %s active" % ALERT, lambda: am_active(am), 120)
        until("ansible-rulebook received the %s event" % ALERT, lambda: ALERT in rb_log(), 180, log=rb_log)

        # 5. the scenario playbook runs
        play = first_play_name("playbooks/high_error_rate.yml")
        _v, t_play = until("playbooks/high_error_rate.yml runs", lambda: "PLAY [%s]" % play in rb_log(), 180, log=rb_log)
        timings["firing_to_playbook_s"] = round(t_play - t_fire, 1)

        # 6. the mitigation: the alert's own expression returns no series
        _v, t_mitigated = until("%s expression clears" % ALERT, lambda: not prom_query(prom, expr), 900, step=3, log=rb_log)
        timings["firing_to_mitigated_s"] = round(t_mitigated - t_fire, 1)
        recap = re.search(r"^\S+\s+: ok=\d+.*?failed=(\d+)", rb_log().split("PLAY [%s]" % play, 1)[1], re.M)
        assert recap and recap.group(1) == "0", rb_log()

        # 7. the alert resolves, and the resolved webhook posts a status update
        _v, t_resolved = until("%s resolves in Prometheus" % ALERT, lambda: not prom_alert_states(prom), 600, step=3)
        timings["firing_to_resolved_s"] = round(t_resolved - t_fire, 1)
        status_play = first_play_name("playbooks/status_update.yml")
        until("the resolved webhook runs playbooks/status_update.yml", lambda: "PLAY [%s]" % status_play in rb_log(), 300,
              log=rb_log)
        assert token not in rb_log()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        if timings:
            os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
            with open(RESULTS, "w") as f:
                json.dump({"alert": ALERT, "fault": "high_error_rate", "timings": timings}, f, indent=2)
            print("closed loop timings: %s" % json.dumps(timings))
