"""Host state after the restart role's converge: the app restarted (the db not), healthy, published; one marker; no lock."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared_mitigation"))
from testinfra_state import container, http_get  # noqa: E402

PROJECT = "rxi-mit-restart"
STATE = "/tmp/rxi-mit-restart/.state"


def test_the_app_restarted_after_the_db_and_is_healthy(host):
    app, db = container(host, PROJECT + "-app-1"), container(host, PROJECT + "-db-1")
    assert app["State"]["Running"] and db["State"]["Running"]
    # the converge restarted the app only: it started after the db, which kept its start from prepare
    assert app["State"]["StartedAt"] > db["State"]["StartedAt"]
    assert app["State"]["Health"]["Status"] == "healthy"


def test_the_app_listens_on_its_published_port_and_answers(host):
    assert host.socket("tcp://127.0.0.1:18702").is_listening
    status, body = http_get(host, "http://127.0.0.1:18702/health")
    assert status == 200, body
    assert body["status"] == "healthy"


def test_one_restart_marker_records_the_request(host):
    markers = host.check_output("find %s/restarts -name '%s-*.json'", STATE, PROJECT).split()
    assert len(markers) == 1, markers  # the idempotence run found it and restarted nothing
    marker = host.file(markers[0])
    assert marker.mode == 0o600
    record = json.loads(marker.content_string)
    assert record["project"] == PROJECT and record["services"] == ["app"], record


def test_the_mitigation_lock_was_released(host):
    assert not host.file(STATE + "/locks/" + PROJECT + ".lock").exists
