"""Host state after the llm_fallback role's converge: the backup provider in the .env, the container and a real call."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared_mitigation"))
from testinfra_state import container, env_file, env_of, http_get  # noqa: E402

PROJECT = "rxi-mit-llm-fallback"


def test_the_env_file_names_the_fallback(host):
    assert env_file(host, "/tmp/%s/.env" % PROJECT)["FALLBACK_LLM_PROVIDER"] == "anthropic"


def test_the_running_app_was_recreated_with_the_fallback(host):
    app = container(host, PROJECT + "-app-1")
    assert app["State"]["Running"]
    env = env_of(app)
    assert env["FALLBACK_LLM_PROVIDER"] == "anthropic"
    assert env["PRIMARY_LLM_FAILING"] == "true"  # the primary still fails: the fallback is what answers


def test_a_real_call_through_the_app_uses_the_fallback(host):
    assert host.socket("tcp://127.0.0.1:18704").is_listening
    status, body = http_get(host, "http://127.0.0.1:18704/work")
    assert status == 200, body
    assert body["provider"] == "anthropic"


def test_the_mitigation_lock_was_released(host):
    assert not host.file("/var/lib/reflexion-incident/locks/%s.lock" % PROJECT).exists
