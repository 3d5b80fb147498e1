"""Host state after the rollback role's converge: the checkout is on v1.0.0, the rebuilt app serves 1.0.0, it is recorded."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared_mitigation"))
from testinfra_state import container, http_get  # noqa: E402

PROJECT = "rxi-mit-rollback"
DIR = "/tmp/rxi-mit-rollback"


def test_the_checkout_is_on_the_previous_stable_tag(host):
    assert host.check_output("git -C %s describe --tags --exact-match HEAD", DIR) == "v1.0.0"
    assert host.file(DIR + "/VERSION").content_string.strip() == "1.0.0"
    assert not host.file(DIR + "/BROKEN").exists  # the bad release's marker went with it


def test_the_rebuilt_app_serves_1_0_0_and_is_healthy(host):
    app = container(host, PROJECT + "-app-1")
    assert app["State"]["Running"] and app["State"]["Health"]["Status"] == "healthy"
    assert host.socket("tcp://127.0.0.1:18705").is_listening
    status, body = http_get(host, "http://127.0.0.1:18705/health")
    assert status == 200, body
    assert body["version"] == "1.0.0"


def test_the_rollback_is_recorded(host):
    record = host.file(DIR + "/.state/rollbacks/%s.json" % PROJECT)
    assert json.loads(record.content_string) == {"from": "v1.1.0", "to": "v1.0.0"}


def test_the_mitigation_lock_was_released(host):
    assert not host.file(DIR + "/.state/locks/%s.lock" % PROJECT).exists
