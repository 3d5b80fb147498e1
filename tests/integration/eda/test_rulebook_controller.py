"""The EDA Controller rulebook (extensions/eda/rulebooks/reflexion_alerts_controller.yml, issue 19).

1. It stays in step with reflexion_alerts.yml: the same source, rules, conditions, throttles and validated alert
   fields; each run_playbook becomes run_job_template of the playbook's job template in awx/awx_import.json, and
   AWX's launch rules accept what it posts (ask_variables_on_launch, surveys an alert satisfies).
2. Real ansible-rulebook runs it against a controller API on loopback: a real HTTP server that serves the job
   templates of awx/awx_import.json, applies AWX's launch rules (tests/integration/awx/launch_rules.py) and
   records each launch. Alerts posted to the rulebook's webhook launch the right templates with exactly the
   validated fields as extra_vars (no ansible_eda event, no labels/annotations dicts).
"""

import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest
import yaml
from ansible_rulebook.validators import Validate

from ..awx.launch_rules import launch
from .conftest import ROOT, alert, free_port, payload, post, wait_http

RULEBOOKS = os.path.join(ROOT, "extensions", "eda", "rulebooks")
BIN = os.path.dirname(sys.executable)
EDA_TOKEN = "controller-rulebook-token-7c1e"  # test-only credentials
CONTROLLER_TOKEN = "fake-controller-token-93ab"
ALERT_FIELDS = ["reflexion_alert_name", "reflexion_alert_status", "reflexion_alert_instance", "reflexion_alert_severity",
                "reflexion_alert_starts_at", "reflexion_alert_fingerprint", "reflexion_alert_summary"]
# fixed values of our own (never alert text) that only the controller variant adds: see the rulebook's header
CONTROLLER_ONLY = {"auto_mitigate": "true"}


def load(name):
    with open(os.path.join(RULEBOOKS, name)) as f:
        return yaml.safe_load(f)


def job_templates():
    with open(os.path.join(ROOT, "awx", "awx_import.json")) as f:
        return {jt["name"]: jt for jt in json.load(f)["job_templates"]}


def test_the_controller_rulebook_stays_in_step_with_the_playbook_one():
    local, controller = load("reflexion_alerts.yml"), load("reflexion_alerts_controller.yml")
    Validate.rulebook(local)
    Validate.rulebook(controller)  # ansible-rulebook's own schema
    assert len(local) == len(controller) == 1
    assert local[0]["sources"] == controller[0]["sources"] and local[0]["hosts"] == controller[0]["hosts"]
    templates = job_templates()
    lrules, crules = local[0]["rules"], controller[0]["rules"]
    assert len(lrules) == len(crules)
    for lr, cr in zip(lrules, crules):
        assert lr["condition"] == cr["condition"] and lr["throttle"] == cr["throttle"], cr["name"]
        assert list(lr["action"]) == ["run_playbook"] and list(cr["action"]) == ["run_job_template"], cr["name"]
        run, job = lr["action"]["run_playbook"], cr["action"]["run_job_template"]
        playbook = re.search(r"/(\w+)\.yml$", run["name"]).group(1)
        assert job["name"] == "reflexion " + playbook, cr["name"]
        assert job["include_events"] is False and set(job["job_args"]) == {"extra_vars"}, cr["name"]
        local_vars, job_vars = run["extra_vars"], job["job_args"]["extra_vars"]
        assert [k for k in local_vars if k.startswith("reflexion_")] == ALERT_FIELDS
        extra = {k: v for k, v in job_vars.items() if k not in local_vars}
        assert {k: job_vars[k] for k in local_vars} == local_vars, cr["name"]
        assert extra == (CONTROLLER_ONLY if "auto_mitigate" in extra else {}), cr["name"]
        # the template exists and AWX would accept the launch (sample values as an alert renders them)
        jt = templates[job["name"]]
        assert jt["playbook"] == "playbooks/%s.yml" % playbook and jt["ask_variables_on_launch"] is True
        rendered = {k: ("x" if isinstance(v, str) and "{{" in v else v) for k, v in job_vars.items()}
        got = launch(jt, rendered)
        assert "incident_id" not in got, "an alert has no incident id: AWX must not inject one"


class FakeController(http.server.ThreadingHTTPServer):
    """The controller API ansible-rulebook's run_job_template talks to, serving awx/awx_import.json's templates."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ControllerHandler)
        self.templates = list(job_templates().values())
        self.launches, self.refused, self.unknown = [], [], []
        self.jobs = {}
        self.lock = threading.Lock()
        self.url = "http://127.0.0.1:%d" % self.server_address[1]


class ControllerHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output quiet
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        if self.headers.get("Authorization") != "Bearer " + CONTROLLER_TOKEN:
            self.reply(401, {"detail": "Authentication credentials were not provided."})
            return False
        return True

    def do_GET(self):  # noqa: N802 - http.server's name
        srv = self.server
        if not self.authorized():
            return
        url = urllib.parse.urlparse(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/api/v2/config/":
            return self.reply(200, {"version": "24.6.1"})
        if url.path == "/api/v2/unified_job_templates/":
            results = [{"id": i + 1, "type": "job_template", "name": jt["name"],
                        "summary_fields": {"organization": {"name": jt["project"]["organization"]["name"]}},
                        "related": {"launch": "/api/v2/job_templates/%d/launch/" % (i + 1)},
                        "ask_limit_on_launch": jt["ask_limit_on_launch"], "ask_labels_on_launch": False,
                        "ask_inventory_on_launch": jt["ask_inventory_on_launch"],
                        "ask_variables_on_launch": jt["ask_variables_on_launch"]}
                       for i, jt in enumerate(srv.templates) if jt["name"] == query.get("name")]
            return self.reply(200, {"count": len(results), "next": None, "results": results})
        if url.path == "/api/v2/jobs/":
            ids = [int(i) for i in query.get("id__in", "").split(",") if i]
            with srv.lock:
                results = [srv.jobs[i] for i in ids if i in srv.jobs]
            return self.reply(200, {"count": len(results), "next": None, "results": results})
        srv.unknown.append(("GET", self.path))
        return self.reply(404, {"detail": "Not found."})

    def do_POST(self):  # noqa: N802
        srv = self.server
        if not self.authorized():
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        m = re.match(r"^/api/v2/job_templates/(\d+)/launch/$", self.path)
        if not m:
            srv.unknown.append(("POST", self.path))
            return self.reply(404, {"detail": "Not found."})
        jt = srv.templates[int(m.group(1)) - 1]
        try:
            extra_vars = launch(jt, body.get("extra_vars"))
        except ValueError as exc:
            srv.refused.append((jt["name"], body, str(exc)))
            return self.reply(400, {"detail": str(exc)})
        with srv.lock:
            job_id = len(srv.jobs) + 1
            srv.jobs[job_id] = {"id": job_id, "status": "successful", "created": "2026-11-26T10:00:00Z",
                                "artifacts": {}, "url": "/api/v2/jobs/%d/" % job_id}
            srv.launches.append({"template": jt["name"], "body": body, "job_extra_vars": extra_vars})
        return self.reply(201, {"job": job_id, "id": job_id, "type": "job", "url": "/api/v2/jobs/%d/" % job_id})


@pytest.fixture
def controller():
    srv = FakeController()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def wait_launches(controller, count, proc, log, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(controller.launches) + len(controller.refused) >= count:
            return controller.launches
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError("%d launch(es) expected, got %r / refused %r; ansible-rulebook output:\n%s"
                         % (count, controller.launches, controller.refused, log()))


def test_alerts_launch_the_job_templates_with_only_the_validated_fields(tmp_path, controller):
    # make test installs it (packages-debian.txt); a missing java is a failure, not a skip
    assert shutil.which("java"), "no java on PATH (Debian package openjdk-17-jre-headless)"
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {"ansible_connection": "local"}}}}))
    varsfile = tmp_path / "vars.yml"
    varsfile.write_text(yaml.safe_dump({"reflexion_eda_token": EDA_TOKEN, "reflexion_eda_port": port}))
    log_path = tmp_path / "rulebook.log"
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"), EDA_JOB_TEMPLATE_REFRESH_DELAY="0.2")
    cmd = [os.path.join(BIN, "ansible-rulebook"), "-r", os.path.join(RULEBOOKS, "reflexion_alerts_controller.yml"),
           "-i", str(inventory), "--vars", str(varsfile), "-v", "--controller-url", controller.url,
           "--controller-token", CONTROLLER_TOKEN]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def output():
        return log_path.read_text(errors="replace")

    try:
        try:
            wait_http(base + "/", timeout=120, proc=proc)
        except AssertionError as exc:
            raise AssertionError("%s\n%s" % (exc, output())) from None
        headers = {"Authorization": "Bearer " + EDA_TOKEN}
        firing = alert("HighErrorRate", "app-1:8000", severity="P1")
        assert post(base + "/alerts", payload(firing), headers)[0] == 202
        wait_launches(controller, 1, proc, output)
        down = alert("ServiceDown", "app-2:8000", severity="P0")
        assert post(base + "/alerts", payload(down), headers)[0] == 202
        wait_launches(controller, 2, proc, output)
        resolved = alert("HighErrorRate", "app-1:8000", status="resolved", severity="P1")
        assert post(base + "/alerts", payload(resolved), headers)[0] == 202
        launches = wait_launches(controller, 3, proc, output)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)

    assert controller.refused == [] and controller.unknown == [], (controller.refused, controller.unknown)

    def fields(a):
        return {"reflexion_alert_name": a["labels"]["alertname"], "reflexion_alert_status": a["status"],
                "reflexion_alert_instance": a["labels"]["instance"], "reflexion_alert_severity": a["labels"]["severity"],
                "reflexion_alert_starts_at": a["startsAt"], "reflexion_alert_fingerprint": a["fingerprint"],
                "reflexion_alert_summary": a["annotations"]["summary"]}

    assert [x["template"] for x in launches] == ["reflexion high_error_rate", "reflexion restart_services",
                                                 "reflexion status_update"]
    # exactly what the rule passes: the 7 validated fields and our fixed values; no ansible_eda, no label dicts
    assert launches[0]["body"]["extra_vars"] == dict(fields(firing), auto_mitigate="true")
    assert launches[1]["body"]["extra_vars"] == dict(fields(down), restart_reason="ServiceDown alert", restart_app=True)
    assert launches[2]["body"]["extra_vars"] == dict(fields(resolved), status="RESOLVED", severity="P1")
    # what the AWX job gets: the survey defaults AWX adds, and no incident_id for the status update
    assert launches[0]["job_extra_vars"]["scale_replicas"] == 3
    assert launches[1]["job_extra_vars"]["restart_database"] == "false"
    assert "incident_id" not in launches[2]["job_extra_vars"]
    assert EDA_TOKEN not in output() and CONTROLLER_TOKEN not in output()
