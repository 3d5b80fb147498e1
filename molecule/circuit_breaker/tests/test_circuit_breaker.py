"""Host state after the circuit_breaker role's converge: the breaker is open in the .env, the container and the app."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared_mitigation"))
from testinfra_state import container, env_file, env_of, http_get  # noqa: E402

PROJECT = "rxi-mit-circuit-breaker"


def test_the_env_file_opens_the_breaker(host):
    env = host.file("/tmp/%s/.env" % PROJECT)
    assert env.exists
    assert env_file(host, env.path)["DISABLE_EXTERNAL_SERVICE"] == "true"
    assert "DISABLE_EXTERNAL_SERVICE=false" not in env.content_string.splitlines()


def test_the_running_app_was_recreated_with_the_breaker_open(host):
    app = container(host, PROJECT + "-app-1")
    assert app["State"]["Running"]
    assert env_of(app)["DISABLE_EXTERNAL_SERVICE"] == "true"


def test_the_app_answers_with_its_llm_disabled(host):
    assert host.socket("tcp://127.0.0.1:18703").is_listening
    status, body = http_get(host, "http://127.0.0.1:18703/health")
    assert status == 200, body
    assert body["components"]["llm"]["status"] == "disabled"


def test_the_mitigation_lock_was_released(host):
    assert not host.file("/var/lib/reflexion-incident/locks/%s.lock" % PROJECT).exists
