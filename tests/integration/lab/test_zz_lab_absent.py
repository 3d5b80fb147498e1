"""`lab_state=absent` (with lab_remove_volumes) leaves nothing behind. Runs last: it takes the session's lab down."""

import os
import subprocess

import pytest

from .conftest import DEFAULTS, DEPLOY_DIR, LOG_DIR, PROJECT, ok, playbook, project_containers, recap

pytestmark = [pytest.mark.docker, pytest.mark.lab]


def _names(kind):
    out = subprocess.run(["docker", kind, "ls", "-q", "--filter", "label=com.docker.compose.project=" + PROJECT],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return out.split()


def test_absent_removes_everything(lab):
    assert project_containers() and _names("volume")
    proc = ok(playbook("playbooks/lab.yml", {"lab_state": "absent", "lab_remove_volumes": True}))
    assert recap(proc)["changed"] > 0
    assert project_containers() == []
    assert _names("network") == []
    assert _names("volume") == []
    assert not os.path.exists(DEPLOY_DIR)
    assert not os.path.exists(DEFAULTS["lab_root"])
    assert not os.path.exists(LOG_DIR)
    again = ok(playbook("playbooks/lab.yml", {"lab_state": "absent", "lab_remove_volumes": True}))
    assert recap(again)["changed"] == 0
