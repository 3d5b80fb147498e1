"""Unit tests of the lab app's pure logic (lab/roles/lab/files/deploy/...): .env parsing, metrics merging,
provider outcome mapping, request shapes, and the fake provider's error shapes. Needs prometheus_client."""

import importlib.util
import json
import os
import sys

import pytest

from .conftest import ROOT

APP = os.path.join(ROOT, "lab", "roles", "lab", "files", "deploy", "app")
LLM_DIR = os.path.join(ROOT, "lab", "roles", "lab", "files", "deploy", "services", "llm")
sys.dont_write_bytecode = True  # keep __pycache__ out of the role's files (they become the deployment repo)
if APP not in sys.path:
    sys.path.insert(0, APP)

from reflexion_app import config, llm, promagg  # noqa: E402


def load_fake():
    spec = importlib.util.spec_from_file_location("fake_llm", os.path.join(LLM_DIR, "fake_llm.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_env_file_syntax():
    parsed = config.parse_env_file('# comment\nexport A=1\nB="two words"\nC=\'x=y\'\nD=on # trailing\n\nnot a line\nE=\n')
    assert parsed == {"A": "1", "B": "two words", "C": "x=y", "D": "on", "E": ""}


def test_env_file_wins_over_environment(tmp_path):
    env = tmp_path / ".env"
    env.write_text("DISABLE_EXTERNAL_SERVICE=true\nFALLBACK_LLM_PROVIDER=Anthropic\n")
    release = tmp_path / "RELEASE"
    release.write_text("APP_VERSION=1.1.0\nRELEASE_ERROR_RATE=0.3\n")
    cfg = config.load_config({"DISABLE_EXTERNAL_SERVICE": "false", "LLM_PROVIDER": "openai"}, str(env), str(release))
    assert cfg.disable_external is True
    assert cfg.fallback_provider == "anthropic"
    assert cfg.version == "1.1.0" and cfg.release_error_rate == 0.3
    assert config.load_config({}, str(tmp_path / "missing"), "").disable_external is False


@pytest.mark.parametrize("code,outcome", [(200, "ok"), (401, "auth_failed"), (403, "auth_failed"), (429, "rate_limited"),
                                          (500, "server_error"), (529, "server_error"), (400, "bad_response")])
def test_status_to_outcome(code, outcome):
    assert llm.classify_status(code) == outcome


def test_request_shapes_per_provider():
    url, headers, body = llm.build_request("anthropic", "http://x", "k", "claude", "hi")
    assert url == "http://x/v1/messages" and headers["x-api-key"] == "k" and headers["anthropic-version"]
    assert json.loads(body)["max_tokens"] > 0
    url, headers, body = llm.build_request("openai", "http://x", "k", "gpt", "hi")
    assert url == "http://x/v1/chat/completions" and headers["Authorization"] == "Bearer k"
    assert json.loads(body)["messages"] == [{"role": "user", "content": "hi"}]
    assert llm.extract_text("anthropic", {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}) == "ab"
    assert llm.extract_text("openai", {"choices": [{"message": {"content": "c"}}]}) == "c"


def test_metrics_merge_sums_counters_and_keeps_gauges_per_replica():
    page = ('# HELP reflexion_requests_total Requests\n# TYPE reflexion_requests_total counter\n'
            'reflexion_requests_total{status="200"} %s\nreflexion_requests_created{status="200"} 1.7e9\n'
            '# HELP process_resident_memory_bytes RSS\n# TYPE process_resident_memory_bytes gauge\n'
            'process_resident_memory_bytes %s\n'
            '# HELP d Duration\n# TYPE d histogram\nd_bucket{le="1.0"} %s\nd_bucket{le="+Inf"} %s\nd_count %s\nd_sum 1.5\n')
    merged = promagg.aggregate({"10.0.0.2": page % (3, 100, 1, 2, 2), "10.0.0.3": page % (4, 200, 3, 3, 3)})
    lines = merged.splitlines()
    assert 'reflexion_requests_total{status="200"} 7.0' in lines
    assert "# TYPE reflexion_requests_total counter" in lines
    assert 'process_resident_memory_bytes{replica="10.0.0.2"} 100.0' in lines
    assert 'process_resident_memory_bytes{replica="10.0.0.3"} 200.0' in lines
    assert 'd_bucket{le="+Inf"} 5.0' in lines and "d_count 5.0" in lines and "d_sum 3.0" in lines
    assert not any("_created" in line for line in lines)


def test_fake_provider_error_shapes():
    fake = load_fake()
    code, headers, body = fake.failure("openai", "429", 7)
    assert code == 429 and headers["retry-after"] == "7" and headers["x-ratelimit-remaining-requests"] == "0"
    assert body["error"]["code"] == "rate_limit_exceeded"
    code, headers, body = fake.failure("anthropic", "429", 7)
    assert code == 429 and headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert body["error"]["type"] == "rate_limit_error"
    assert fake.failure("anthropic", "401", 1)[2] == {"type": "error", "error": {"type": "authentication_error",
                                                                                 "message": "invalid x-api-key"}}
    assert fake.failure("openai", "5xx", 1)[0] == 503 and fake.failure("anthropic", "5xx", 1)[0] == 529
