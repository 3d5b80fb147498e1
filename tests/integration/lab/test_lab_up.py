"""The lab comes up healthy, idempotent, on loopback only, with every signal the runbook reads."""

import os
import re

import pytest
import yaml

from .conftest import (
    ALERTMANAGER,
    BASE_URL,
    DEFAULTS,
    DEPLOY_DIR,
    LLM,
    LOG_DIR,
    PROJECT,
    PROMETHEUS,
    ROOT,
    chat_codes,
    docker_inspect,
    git,
    health,
    http,
    metric_sum,
    metrics_text,
    ok,
    playbook,
    project_containers,
    recap,
    wait_until,
)

pytestmark = [pytest.mark.docker, pytest.mark.lab]


def test_comes_up_healthy_with_detailed_health(lab):
    code, body, _h = health()
    assert code == 200, body
    assert body["status"] == "healthy"
    assert set(body["components"]) == {"db", "redis", "llm"}
    for name, comp in body["components"].items():
        assert comp["status"] == "ok", (name, comp)
        assert isinstance(comp["latency_ms"], float)
    assert body["version"] == "1.0.0"
    print("present -> healthy: %.1f s" % lab["up_seconds"])


def test_second_present_changes_nothing(lab):
    proc = ok(playbook("playbooks/lab.yml"))
    assert recap(proc)["changed"] == 0, proc.stdout[-4000:]


def test_every_service_runs_with_replicas_behind_the_balancer(lab):
    services = {}
    for info in docker_inspect(*project_containers()):
        services.setdefault(info["Config"]["Labels"]["com.docker.compose.service"], []).append(info["State"]["Running"])
    assert set(services) == {"reflexion", "lb", "postgres", "redis", "llm", "prometheus", "alertmanager", "loadgen"}
    assert services["reflexion"] == [True, True]
    assert all(all(states) for states in services.values()), services
    replicas = set()
    for _request in range(12):
        replicas.add(health()[1]["replica"])
    assert len(replicas) == 2, replicas


def test_ports_publish_on_loopback_only(lab):
    published = []
    for info in docker_inspect(*project_containers()):
        for bindings in (info["HostConfig"]["PortBindings"] or {}).values():
            published += bindings or []
    assert {b["HostPort"] for b in published} == {"8000", "15432", "16379", "18080", "9090", "9093"}
    assert {b["HostIp"] for b in published} == {"127.0.0.1"}


def test_metrics_expose_the_runbook_series(lab):
    assert all(code == 200 for code in chat_codes(3))
    text = metrics_text()
    assert metric_sum(text, "reflexion_requests_total", status="200") >= 3
    assert metric_sum(text, "reflexion_request_duration_seconds_count") >= 3
    assert 'reflexion_request_duration_seconds_bucket{le="+Inf"}' in text
    assert metric_sum(text, "reflexion_llm_requests_total", provider="openai", outcome="ok") >= 1
    assert len(re.findall(r"^process_resident_memory_bytes\{replica=", text, re.M)) == 2


def test_logs_are_timestamped_in_the_host_directory(lab):
    path = os.path.join(LOG_DIR, "app.log")
    lines = open(path).read().splitlines()
    assert any("starting on :8000" in line for line in lines)
    assert all(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) \[req=", line) for line in lines[:20])


def test_deployment_is_a_git_checkout_with_release_tags(lab):
    assert git("tag", "--list").split() == ["v1.0.0", "v1.1.0"]
    assert git("describe", "--tags", "--exact-match", "HEAD") == "v1.0.0"
    assert "DISABLE_EXTERNAL_SERVICE=false" in open(os.path.join(DEPLOY_DIR, ".env")).read()
    assert ".env" not in git("ls-files").split()
    assert git("status", "--porcelain") == ""  # .env is ignored, the checkout is clean


def test_fake_provider_speaks_both_wire_formats(lab):
    code, body, headers = http("GET", LLM + "/v1/models", headers={"Authorization": "Bearer sk-test-123456"})
    assert code == 200 and body["object"] == "list" and body["data"][0]["object"] == "model"
    assert headers["x-request-id"]
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    code, body, _h = http("POST", LLM + "/v1/chat/completions", chat,
                          headers={"Authorization": "Bearer sk-test-123456"})
    assert code == 200 and body["object"] == "chat.completion" and body["choices"][0]["message"]["role"] == "assistant"
    code, body, headers = http("POST", LLM + "/v1/messages", {"model": "claude-3-5-haiku-latest", "max_tokens": 10,
                                                              "messages": [{"role": "user", "content": "hi"}]},
                               headers={"x-api-key": "k", "anthropic-version": "2023-06-01"})
    assert code == 200 and body["type"] == "message" and body["content"][0]["type"] == "text"
    assert headers["anthropic-ratelimit-requests-remaining"]
    code, body, _h = http("POST", LLM + "/v1/chat/completions", {"messages": []})
    assert code == 401 and body["error"]["type"] == "invalid_request_error"


def test_prometheus_scrapes_every_replica_and_loads_exactly_our_rules(lab):
    def targets():
        code, body, _h = http("GET", PROMETHEUS + "/api/v1/targets")
        if code != 200:
            return None
        app = [t for t in body["data"]["activeTargets"] if t["labels"]["job"] == "reflexion" and t["health"] == "up"]
        return app if len(app) == 2 else None

    assert len(wait_until(targets, timeout=60, what="two app replicas up in Prometheus")) == 2
    code, body, _h = http("GET", PROMETHEUS + "/api/v1/rules")
    assert code == 200
    loaded = {r["name"]: r for g in body["data"]["groups"] for r in g["rules"]}
    shipped = yaml.safe_load(open(os.path.join(ROOT, "extensions", "prometheus", "reflexion_alerts.yml")))
    expected = {r["alert"]: r for g in shipped["groups"] for r in g["rules"]}
    assert set(loaded) == set(expected) == {"HighErrorRate", "DatabaseConnectionFailures", "HighMemoryUsage",
                                            "LLMAPIFailures", "ServiceDown"}
    for name, rule in loaded.items():
        assert rule["labels"]["severity"] == expected[name]["labels"]["severity"]
        assert rule["annotations"]["runbook_playbook"] == expected[name]["annotations"]["runbook_playbook"]
    with open(os.path.join(DEFAULTS["lab_root"], "config", "rules", "reflexion_alerts.yml"), "rb") as mounted, \
            open(os.path.join(ROOT, "extensions", "prometheus", "reflexion_alerts.yml"), "rb") as ours:
        assert mounted.read() == ours.read()
    code, body, _h = http("GET", ALERTMANAGER + "/api/v2/status")
    assert code == 200 and "eda" in body["config"]["original"]
    assert BASE_URL.startswith("http://127.0.0.1:")
    assert PROJECT == "reflexion"
