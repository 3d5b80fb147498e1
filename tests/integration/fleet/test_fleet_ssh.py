"""Issue 18: a fleet over SSH. Three Debian hosts (reflexion.lab.fleet: sshd, sudo, python3 and the host packages,
each with its own reflexion app, fake provider and load, logged into as `ops` with become), brought up once for
this module and removed at the end. Its own compose projects (reflexion-fleet*), network and ports
(127.0.0.1:2221-2223): never the shared lab, so no lab lock.

- a fault on ONE host (under ansible-runner, the engine AWX uses): one incident at that host's severity with a
  per-host map, the mitigation on that host only, a fleet report saying so, and artifacts holding ONE severity
  and ONE incident id (not "P1P2P0");
- a fault on ALL hosts: mitigated in batches (reflexion_serial=1), the health gate after each batch, and the
  batch that does not recover stops the rollout with a clear message, the later host untouched;
- the debug bundle fetched from every host to the controller.
"""

import glob
import json
import os
import re
import subprocess
import sys
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)
INVENTORY = os.path.join(ROOT, "inventories", "fleet")
HOSTS = ["host1", "host2", "host3"]
FLEET_ROOT = "/var/lib/reflexion-fleet"
ID_RE = re.compile(r"\Aincident-\d{4}-\d{2}-\d{2}-\d{6}\Z")
# Short windows: the fleet's behaviour is under test, not the runbook's 30 minutes of monitoring.
FAST = {"verify_monitor_seconds": 0, "verify_sample_interval": 3, "verify_wait_timeout": 60,
        "triage_memory_samples": 1, "triage_timeout": 10}


def env():
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                ANSIBLE_FORCE_COLOR="0", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))


def playbook(name, *args, timeout=600, check=True):
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", INVENTORY, os.path.join(ROOT, "playbooks", name)]
                          + list(args), cwd=ROOT, env=env(), capture_output=True, text=True, timeout=timeout, check=False)
    out = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, out[-6000:]
    return proc.returncode, out


def extra(values):
    return ["-e", json.dumps(values)]


def fault(name, hosts="fleet"):
    playbook("fleet_fault.yml", "-e", "fault=" + name, "-e", "fault_hosts=" + hosts)


def breaker(host):
    """The circuit breaker switch in the host's deployment .env (the file the mitigation edits)."""
    with open(os.path.join(FLEET_ROOT, host, "deploy", ".env")) as f:
        m = re.search(r"^DISABLE_EXTERNAL_SERVICE=(\S*)$", f.read(), re.M)
    return m.group(1) if m else None


def incidents(path):
    return sorted(p for p in glob.glob(os.path.join(str(path), "incident-*")) if os.path.isdir(p))


@pytest.fixture(scope="module")
def fleet():
    playbook("fleet.yml", timeout=900)
    yield
    playbook("fleet.yml", "-e", "fleet_state=absent", timeout=300)


def runner_stats(pdd):
    events = []
    for path in glob.glob(os.path.join(pdd, "artifacts", "*", "job_events", "*.json")):
        with open(path) as f:
            events.append(json.load(f))
    stats = [e for e in events if e.get("event") == "playbook_on_stats"]
    assert len(stats) == 1, "no playbook_on_stats among %d runner events" % len(events)
    return stats[0]["event_data"].get("artifact_data", {}), events


def test_fault_on_one_host_one_incident_that_host_only_under_runner(fleet, tmp_path):
    import ansible_runner

    fault("high_error_rate", "host2")
    pdd = str(tmp_path / "runner")
    os.makedirs(pdd)
    incidents_dir = tmp_path / "incidents"
    r = ansible_runner.run(private_data_dir=pdd, playbook=os.path.join(ROOT, "playbooks", "high_error_rate.yml"),
                           inventory=INVENTORY,
                           extravars=dict(FAST, reflexion_incident_dir=str(incidents_dir), reflexion_serial=1),
                           envvars={"ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
                                    "PATH": BIN + os.pathsep + os.environ.get("PATH", "")},
                           project_dir=ROOT, quiet=True, timeout=600)
    stdout = r.stdout.read()
    assert r.rc == 0, stdout[-6000:]
    data, events = runner_stats(pdd)

    # ONE incident for the fleet, its severity the worst host's, with the per-host map
    found = incidents(incidents_dir)
    assert len(found) == 1, found
    with open(os.path.join(found[0], "record.json")) as f:
        record = json.load(f)
    hosts = record["hosts"]
    assert sorted(hosts) == HOSTS, hosts
    worst = min(h["severity"] for h in hosts.values())
    assert record["severity"] == hosts["host2"]["severity"] == worst, hosts
    assert record["title"].startswith("high_error_rate: "), record["title"]

    # AWX artifacts: one severity, one id (aggregate: false), the per-host map
    assert data["reflexion_severity"] == record["severity"], data
    assert ID_RE.match(data["reflexion_incident_id"]) and data["reflexion_incident_id"] == record["id"], data
    assert sorted(data["reflexion_hosts"]) == HOSTS and data["reflexion_hosts"]["host2"]["severity"] == worst, data

    # the mitigation (the circuit breaker, in the host's .env) on host2 only
    assert [breaker(h) for h in HOSTS] == ["false", "true", "false"]
    mitigated = {e["event_data"].get("host") for e in events if e.get("event") == "runner_on_ok"
                 and "circuit_breaker" in (e["event_data"].get("task_path") or e["event_data"].get("role") or "")}
    assert mitigated == {"host2"}, mitigated

    # one fleet banner and a fleet report: counts, the worst hosts first, a section per host
    assert stdout.count("(fleet of 3) ====") == 1, stdout[-4000:]
    report = os.path.join(found[0], "fleet-high_error_rate.md")
    with open(report) as f:
        text = f.read()
    rows = re.findall(r"^\| (host\d) \| (P\d) \|", text, re.M)
    assert [row[1] for row in rows] == sorted(row[1] for row in rows) and rows[0][1] == worst, text
    assert "| host2 | %s |" % worst in text and "## host2: %s" % worst in text, text
    assert "| %s hosts | " % worst in text
    for h in HOSTS:
        assert os.path.isfile(os.path.join(found[0], "triage-%s.md" % h)), h


def test_fault_on_all_hosts_rolls_in_batches_and_a_batch_that_does_not_recover_stops_it(fleet, tmp_path):
    fault("none")
    fault("high_error_rate")
    # One batch per host. host2's health gate probes a closed port, so its batch "does not recover": the
    # rollout stops there and host3 is never touched.
    gate_url = "{{ 'http://127.0.0.1:9/health' if inventory_hostname == 'host2' else reflexion_health_url }}"
    fast = dict(FAST, reflexion_incident_dir=str(tmp_path), reflexion_serial=1, verify_health_url=gate_url, verify_gate_timeout=6)
    rc, out = playbook("high_error_rate.yml", *extra(fast), check=False)
    assert rc != 0, out[-4000:]
    gates = re.findall(r"health gate, batch ([\w, ]+):", out)
    assert gates == ["host1", "host2"], out[-6000:]
    assert "ROLLOUT STOPPED: host2 (batch host2) did not recover within 6 s" in out, out[-6000:]
    assert "hosts left untouched: host3" in out, out[-6000:]
    assert [breaker(h) for h in HOSTS] == ["true", "true", "false"]
    found = incidents(tmp_path)
    assert len(found) == 1
    # host1's batch passed its gate, but the rollout stopped: the incident must not read RESOLVED (verify runs
    # once, after the last batch)
    with open(os.path.join(found[0], "incident.jsonl")) as f:
        statuses = [json.loads(line).get("status") for line in f if line.strip()]
    assert "RESOLVED" not in statuses, statuses


def test_debug_bundle_fetched_from_every_host(fleet, tmp_path):
    playbook("collect_debug_info.yml", *extra({"reflexion_incident_dir": str(tmp_path)}))
    found = incidents(tmp_path)
    assert len(found) == 1, found
    for h in HOSTS:
        bundle = os.path.join(found[0], "debug-bundle-%s.tar.gz" % h)
        assert os.path.isfile(bundle), os.listdir(found[0])
        with tarfile.open(bundle) as tar:
            names = tar.getnames()
        assert names, h
