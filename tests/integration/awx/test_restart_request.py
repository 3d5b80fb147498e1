"""Issue 16, "restarts that restart nothing": the EDA ServiceDown rule and the AWX restart_services job template
pass a restart request (restart_reason) that roles/restart acts on.

playbooks/restart_services.yml runs end to end under ansible-playbook with exactly the extra vars each one
gives (the rule's extra_vars with a validated ServiceDown alert in place of its event templates; the
survey's defaults the way AWX sends them) against a throw-away compose project of its own (rxi-hard-restartreq:
an app and a db service, never the lab). The app container's State.StartedAt must change and the db's must
not. A reason that is not a short request name is refused by the role before anything restarts.
"""

import os
import re

import pytest
import yaml

from ..hardening.compose_fixture import ComposeProject
from .test_runner import survey_extravars

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
RULEBOOK = os.path.join(ROOT, "extensions", "eda", "rulebooks", "reflexion_alerts.yml")
TEMPLATE = os.path.join(ROOT, "awx", "job_templates", "restart_services.yml")
# what the event source hands the rule for a ServiceDown alert (already validated, see roles/alert_check)
ALERT = {
    "event.alert.labels.alertname": "ServiceDown",
    "event.alert.status": "firing",
    "event.alert.labels.instance": "app:8000",
    "event.alert.labels.severity": "P0",
    "event.alert.startsAt": "2026-11-26T10:00:00.000Z",
    "event.alert.fingerprint": "a1b2c3d4e5f60718",
    "event.alert.annotations.summary": "ServiceDown on app:8000",
}

pytestmark = [pytest.mark.docker]


def service_down_rule():
    with open(RULEBOOK) as f:
        rules = yaml.safe_load(f)[0]["rules"]
    found = [r for r in rules if '"ServiceDown"' in r["condition"] and 'status == "firing"' in r["condition"]]
    assert len(found) == 1, [r["name"] for r in rules]
    return found[0]


def eda_extra_vars():
    """The ServiceDown rule's extra_vars as the playbook receives them for ALERT."""
    out = {}
    for key, value in service_down_rule()["action"]["run_playbook"]["extra_vars"].items():
        if isinstance(value, str) and "{{" in value:
            path = re.match(r"\{\{\s*([\w.]+)", value).group(1)
            assert path in ALERT, "%s reads %s, which the test's alert does not give" % (key, path)
            value = ALERT[path]
        out[key] = value
    return out


def awx_extra_vars():
    with open(TEMPLATE) as f:
        jt = yaml.safe_load(f)
    return survey_extravars(jt["related"]["survey_spec"]["spec"])


@pytest.fixture(scope="module")
def project():
    proj = ComposeProject("rxi-hard-restartreq", "127.0.0.1:18966-18969:8000")
    try:
        proj.create()
        proj.up(replicas=1)
        yield proj
    finally:
        proj.destroy()


def world(project, tmp_path):
    return {
        "reflexion_compose_project_dir": project.dir,
        "reflexion_compose_project_name": project.name,
        "reflexion_app_service": "app",
        "reflexion_db_service": "db",
        "reflexion_incident_state_dir": str(tmp_path / "state"),
        "reflexion_incident_dir": str(tmp_path / "incidents"),
    }


def markers(tmp_path):
    """Every restart marker's text under the state dir."""
    found = []
    for d, _s, files in os.walk(str(tmp_path / "state")):
        for name in files:
            with open(os.path.join(d, name)) as f:
                found.append(f.read())
    return found


def test_the_service_down_rule_and_the_awx_survey_name_a_fixed_request():
    eda = eda_extra_vars()
    assert eda["restart_reason"] == "ServiceDown alert" and eda["restart_app"] is True, eda
    awx = awx_extra_vars()
    assert awx["restart_reason"] == "AWX restart request", awx
    # the database is never restarted by default from either side
    assert "restart_database" not in eda and awx.get("restart_database", "false") == "false", (eda, awx)


@pytest.mark.parametrize("source", ["eda", "awx"])
def test_restart_services_restarts_the_app_with_the_vars_it_is_given(source, project, run_playbook, tmp_path):
    extra = eda_extra_vars() if source == "eda" else awx_extra_vars()
    reason = extra["restart_reason"]
    extra.update(world(project, tmp_path))
    app, db = project.started("app"), project.started("db")
    assert app and db
    proc = run_playbook("playbooks/restart_services.yml", extra_vars=extra)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    after = project.started("app")
    assert set(after) == set(app), "the app container was replaced, not restarted"
    assert all(after[cid] != app[cid] for cid in app), "the app was not restarted:\n" + proc.stdout[-4000:]
    assert project.started("db") == db
    assert any(reason in text for text in markers(tmp_path)), markers(tmp_path)


@pytest.mark.parametrize("reason", ["line one\nline two", "x" * 201, "ServiceDown {alert}"],
                         ids=["newline", "too-long", "braces"])
def test_the_role_refuses_a_reason_that_is_not_a_request_name(reason, project, run_playbook, tmp_path):
    extra = dict(awx_extra_vars(), restart_reason=reason)
    extra.update(world(project, tmp_path))
    app = project.started("app")
    proc = run_playbook("playbooks/restart_services.yml", extra_vars=extra)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "restart_reason: at most 200 characters" in proc.stdout, proc.stdout[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert project.started("app") == app
    assert markers(tmp_path) == []
