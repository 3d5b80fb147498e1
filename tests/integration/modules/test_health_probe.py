"""health_probe against real HTTP servers on loopback."""

import socket

import pytest

from ..http_fixtures import LoopbackServer

HEALTHY = {"status": "healthy", "components": {"db": {"status": "healthy", "latency_ms": 1.5},
                                               "redis": {"status": "healthy", "latency_ms": 0.4},
                                               "llm": {"status": "disabled", "latency_ms": None}}}
DB_DOWN = {"status": "degraded", "components": {"db": {"status": "down", "latency_ms": None, "error": "refused"},
                                                "redis": {"status": "healthy", "latency_ms": 0.4}}}


@pytest.fixture(scope="module")
def server():
    routes = {"/health": (200, HEALTHY, 0), "/dbdown": (200, DB_DOWN, 0),
              "/boom": (503, {"status": "unhealthy"}, 0), "/slow": (200, HEALTHY, 3), "/text": (200, b"OK", 0)}
    with LoopbackServer(routes) as srv:
        yield srv


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_healthy_detailed(run_module, server):
    r = run_module("health_probe", {"url": server.base + "/health", "detailed": True})
    assert not r.failed, r.output
    assert r["changed"] is False
    assert r["status"] == "healthy"
    assert r["status_code"] == 200
    assert r["components"]["db"] == {"status": "healthy", "latency_ms": 1.5}
    assert r["components"]["llm"]["status"] == "disabled"
    t = r["timings"]
    assert 0 <= t["dns"] <= t["connect"] <= t["ttfb"] <= t["total"]
    assert r["body"]["status"] == "healthy"


def test_many_targets_worst_wins(run_module, server):
    dead = "http://127.0.0.1:%d/health" % free_port()
    urls = [server.base + "/health", server.base + "/dbdown", server.base + "/boom", dead]
    r = run_module("health_probe", {"urls": urls, "detailed": True})
    assert not r.failed, r.output
    assert [t["status"] for t in r["targets"]] == ["healthy", "degraded", "down", "down"]
    assert r["targets"][1]["reason"] == "component(s) down: db"
    assert r["targets"][2]["status_code"] == 503
    assert r["targets"][3]["failed_phase"] == "connect" and r["targets"][3]["status_code"] is None
    assert r["status"] == "down"


def test_down_fails_only_when_asked(run_module, server):
    r = run_module("health_probe", {"url": server.base + "/boom", "fail_on_unhealthy": True})
    assert r.failed and "unhealthy" in r["msg"]
    assert r["status"] == "down"


def test_timeout_and_retries(run_module, server):
    r = run_module("health_probe", {"url": server.base + "/slow", "timeout": 0.5, "retries": 1, "delay": 0.1})
    assert r["status"] == "down"
    assert "timed out" in r["reason"]
    assert r["targets"][0]["attempts"] == 2


def test_not_json_when_detailed_is_degraded(run_module, server):
    r = run_module("health_probe", {"url": server.base + "/text", "detailed": True})
    assert r["status"] == "degraded" and "not JSON" in r["reason"]


def test_check_mode_still_probes(run_module, server):
    r = run_module("health_probe", {"url": server.base + "/health"}, check=True)
    assert r["status"] == "healthy" and r["status_code"] == 200


def test_header_values_never_logged(run_module, server):
    r = run_module("health_probe", {"url": server.base + "/health", "headers": {"Authorization": "Bearer CANARY-7f3a"}},
                   verbosity=3)
    assert not r.failed and r["status"] == "healthy", r.output
    assert "CANARY-7f3a" not in r.output


@pytest.mark.parametrize("args, needle", [
    ({"url": "ftp://example.invalid/health"}, "urls"),
    ({"url": "http://127.0.0.1:99999/health"}, "invalid port"),
    ({"url": "http://127.0.0.1/h", "timeout": -1}, "timeout"),
    ({"url": "http://127.0.0.1/h", "retries": -2}, "retries"),
    ({"url": "http://127.0.0.1/h", "status_codes": [700]}, "status_codes"),
    ({"url": "http://127.0.0.1/h", "method": "DELETE"}, "method"),
    ({"url": "http://127.0.0.1/h", "timeout": "soon"}, "timeout"),
])
def test_bad_input(run_module, args, needle):
    r = run_module("health_probe", args)
    assert r.failed
    assert needle in r["msg"]
    assert "Traceback" not in r.output
