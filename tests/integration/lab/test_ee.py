"""The execution environment builds offline and runs triage against the lab (issue 19 item 5).

scripts/build_ee.sh builds the image with ansible-builder and docker from a staged context (our collection,
the dependency collections packed from the pinned `ansible` package, a wheelhouse): ansible-galaxy --offline,
pip --no-index, the seeded debian:trixie-slim base. A second call with the same inputs skips the build (the
image's label carries the inputs' hash). Then triage runs INSIDE the image the way an AWX job runs: the
project's playbook and inventory mounted read-only, the collection and every library from the image only
(no ansible.cfg, no venv, no checkout collection), host network to reach the lab. Its report must carry every
probe's figures (psycopg2, redis, prometheus_client, docker, git, community.docker working in the image) and
the same severity as triage run from the host's venv at the same moment.

First build: about 4-6 minutes on our machines (most of it the debootstrap seed and the dependency installs);
a cached run of this file: build check + triage in the image + triage on the host, well under 60 s.
Run it with the lab lock held (flock /tmp/reflexion-lab.lock ...): triage only reads the lab.
"""

import json
import os
import re
import subprocess
import time

import pytest
import yaml

from .conftest import DEPLOY_DIR, INVENTORY, LOG_DIR, ROOT, health, ok, playbook

VERSION = yaml.safe_load(open(os.path.join(ROOT, "galaxy.yml")))["version"]
TAG = os.environ.get("REFLEXION_EE_TAG", "reflexion-incident-ee:%s" % VERSION)
NAME = "rxi-ee-triage-%d" % os.getpid()


def build():
    start = time.monotonic()
    proc = subprocess.run([os.path.join(ROOT, "scripts", "build_ee.sh"), TAG], cwd=ROOT, capture_output=True,
                          text=True, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-6000:]
    return proc, time.monotonic() - start


def docker(*args, timeout=300):
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, timeout=timeout, check=False)


def in_image(*cmd):
    proc = docker("run", "--rm", "--network", "none", TAG, *cmd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def inputs_hash(proc):
    return re.search(r"inputs ([0-9a-f]{64})", proc.stdout).group(1)


@pytest.fixture(scope="module")
def image():
    """Build, then build again with the same inputs. A rebuild on the second call is only acceptable when the
    inputs really changed in between (a checkout being edited while the test runs): then try again."""
    first, first_s = build()
    for _attempt in range(5):
        again, again_s = build()
        if "is up to date" in again.stdout or inputs_hash(again) == inputs_hash(first):
            break
        first, first_s = again, again_s
    return {"first": first, "first_s": first_s, "again": again, "again_s": again_s}


@pytest.fixture(scope="module")
def running_lab(request):
    """The lab answering on 127.0.0.1:8000 (the session's lab when nothing answers)."""
    code, _body, _h = health()
    if not code:
        request.getfixturevalue("lab")
    return True


def test_second_build_is_skipped_by_the_inputs_label(image):
    out = image["again"].stdout
    assert "is up to date" in out and "building" not in out, out
    assert image["again_s"] < 60, "a cached build_ee.sh took %.0f s" % image["again_s"]
    digest = inputs_hash(image["again"])
    assert digest == inputs_hash(image["first"])
    label = docker("image", "inspect", "-f", '{{ index .Config.Labels "org.reflexion.ee.inputs" }}', TAG)
    assert label.stdout.strip() == digest


def test_image_holds_the_runtime_and_nothing_from_the_build(image):
    core = in_image("ansible", "--version")
    assert "core 2.21.5" in core and "python version = 3.13" in core, core
    listed = in_image("ansible-galaxy", "collection", "list", "--format", "json")
    found = {name: version for path in json.loads(listed).values() for name, version in
             ((n, v["version"]) for n, v in path.items())}
    deps = yaml.safe_load(open(os.path.join(ROOT, "galaxy.yml")))["dependencies"]
    assert found.get("reflexion.incident") == VERSION, found
    for name in deps:
        assert name in found, "galaxy.yml dependency %s is not in the image: %s" % (name, found)
    assert "community.postgresql" not in found and "amazon.aws" not in found, "only the dependencies: %s" % found
    libs = in_image("python3", "-c", "import psycopg2, redis, prometheus_client, docker, requests, ansible_runner;"
                    "print(psycopg2.__version__.split()[0], redis.__version__)")
    assert libs.split() == ["2.9.13", "8.1.0"], libs
    # the build-only helpers are gone: pip uses an index again, the dev requirements never came in
    leftovers = in_image("sh", "-c", "ls /etc/pip.conf /usr/local/sbin/pkgmgr /output 2>&1; "
                         "python3 -m pip list --format freeze 2>/dev/null | grep -ciE '^(molecule|ansible-lint|pytest)=' "
                         "|| true")
    assert "No such file" in leftovers and leftovers.strip().endswith("0"), leftovers
    assert in_image("id", "-u").strip() == "1000"
    for tool in ("ssh", "git", "rsync", "sshpass"):
        in_image("sh", "-c", "command -v %s" % tool)


def report_of(incidents):
    reports = [os.path.join(d, f) for d, _s, files in os.walk(incidents) for f in files if f == "triage-localhost.md"]
    assert len(reports) == 1, reports
    return open(reports[0]).read()


def severity(report):
    return re.search(r"\| Severity \| \*\*(P[0-3]|none)\*\* \|", report).group(1)


def test_triage_runs_inside_the_image_against_the_lab(image, running_lab, tmp_path):
    incidents = tmp_path / "ee-incidents"
    incidents.mkdir()
    os.chmod(str(incidents), 0o777)
    extra = {"reflexion_incident_dir": "/runner/incidents", "triage_open_incident_at": "never"}
    cmd = ["run", "--rm", "--name", NAME, "--network", "host", "--user", "0",
           # the project as AWX checks it out: only the playbook and the inventory, read-only
           "-v", "%s:/runner/project/playbooks:ro" % os.path.join(ROOT, "playbooks"),
           "-v", "%s:/runner/project/%s:ro" % (os.path.join(ROOT, INVENTORY), INVENTORY),
           # what the lab's localhost target has: its logs, its deployment checkout, its docker engine
           "-v", "%s:%s:ro" % (LOG_DIR, LOG_DIR), "-v", "%s:%s:ro" % (DEPLOY_DIR, DEPLOY_DIR),
           "-v", "/var/run/docker.sock:/var/run/docker.sock",
           "-v", "%s:/runner/incidents" % incidents, "-w", "/runner/project", "-e", "ANSIBLE_NOCOLOR=1",
           TAG, "ansible-playbook", "-i", INVENTORY, "playbooks/triage.yml", "-e", json.dumps(extra)]
    try:
        start = time.monotonic()
        proc = docker(*cmd, timeout=300)
        ee_s = time.monotonic() - start
    finally:
        docker("rm", "-f", NAME)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "/usr/share/ansible/collections/ansible_collections/reflexion/incident" not in proc.stderr
    ee_report = report_of(str(incidents))

    # every probe worked in the image, with the image's libraries
    assert re.search(r"## Database\n- \w+: \d+ connection\(s\)", ee_report), ee_report          # psycopg2
    assert re.search(r"## Redis\n- \w+: PONG", ee_report), ee_report                               # redis
    assert re.search(r"## Metrics\n- (healthy|degraded): ", ee_report), ee_report                # HTTP + parser
    assert "Bad file descriptor" not in ee_report, ee_report                   # _http.py on Python 3.13
    assert "reflexion / reflexion-reflexion-" in ee_report, ee_report                             # docker SDK
    assert re.search(r"## Recent deploys\n- HEAD ", ee_report), ee_report                         # git
    assert re.search(r"- openai: \w+ \(HTTP \d+\)", ee_report), ee_report                          # LLM probe

    # the same verdict as triage from the host's venv on the same lab, right after
    host_incidents = tmp_path / "host-incidents"
    ref = ok(playbook("playbooks/triage.yml", dict(extra, reflexion_incident_dir=str(host_incidents))))
    host_report = report_of(str(host_incidents))
    assert severity(ee_report) == severity(host_report), (ee_report, host_report, ref.stdout[-2000:])
    overall = re.compile(r"## Health\n- overall: (\w+)")
    assert overall.search(ee_report).group(1) == overall.search(host_report).group(1)
    assert "==================== TRIAGE: %s" % severity(ee_report) in proc.stdout or severity(ee_report) == "none"
    assert ee_s < 120, "triage in the image took %.0f s" % ee_s
