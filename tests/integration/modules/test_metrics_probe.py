"""metrics_probe against real HTTP servers on loopback serving prometheus_client's own exposition."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


def exposition(ok, err, durations):
    reg = CollectorRegistry()
    reqs = Counter("reflexion_requests_total", "requests", ["status"], registry=reg)
    hist = Histogram("reflexion_request_duration_seconds", "duration", registry=reg,
                     buckets=(0.05, 0.1, 0.5, 1, 2.5))
    other = Counter("process_cpu_seconds_total", "not ours", registry=reg)
    reqs.labels(status="200").inc(ok)
    if err:
        reqs.labels(status="503").inc(err)
    for d in durations:
        hist.observe(d)
    other.inc(3)
    return generate_latest(reg)


class Metrics(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        parts = urlsplit(self.path)
        if parts.path == "/api/v1/query":
            q = parse_qs(parts.query).get("query", [""])[0]
            if q == "bad(":
                code, body = 400, {"status": "error", "errorType": "bad_data", "error": "parse error"}
            else:
                code, body = 200, {"status": "success", "data": {"resultType": "vector", "result": [
                    {"metric": {"__name__": "up", "job": "reflexion"}, "value": [1795700000.0, "1"]}]}}
            payload = json.dumps(body).encode()
        elif parts.path == "/garbage":
            code, payload = 200, b"this is { not prometheus\n"
        else:
            n = self.server.hits.get(parts.path, 0)
            self.server.hits[parts.path] = n + 1
            payload = self.server.pages[parts.path][min(n, 1)]
            code = 200
        self.send_response(code)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    httpd.daemon_threads = True
    httpd.hits = {}
    # first scrape, second scrape
    httpd.pages = {
        "/a": (exposition(90, 10, [0.03] * 100), exposition(170, 30, [0.03] * 100 + [0.3] * 90 + [2.0] * 10)),
        "/b": (exposition(1000, 0, [0.03] * 50), exposition(1100, 0, [0.03] * 150)),
        "/reset": (exposition(500, 0, []), exposition(40, 0, [])),
    }
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    httpd.base = "http://127.0.0.1:%d" % httpd.server_address[1]
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_single_scrape_filters(run_module, server):
    r = run_module("metrics_probe", {"url": server.base + "/a"})
    assert not r.failed, r.output
    assert r["status"] == "healthy" and r["rates"] is None and r["changed"] is False
    names = set(m["name"] for m in r["metrics"])
    assert "process_cpu_seconds_total" not in names
    assert "reflexion_requests_total" in names and "reflexion_request_duration_seconds_bucket" in names
    ok = [m for m in r["metrics"] if m["name"] == "reflexion_requests_total" and m["labels"] == {"status": "200"}]
    assert ok[0]["value"] == 90.0
    f = run_module("metrics_probe", {"url": server.base + "/b", "name_regex": "_total$", "labels": {"status": "200"}})
    assert [(m["name"], m["value"]) for m in f["metrics"]] == [("reflexion_requests_total", 1000.0)]


def test_rates_over_interval(run_module, server):
    r = run_module("metrics_probe", {"url": server.base + "/a", "sample_interval": 1})
    assert not r.failed, r.output
    rates = r["rates"]
    assert rates["requests"] == 100.0 and rates["errors_5xx"] == 20.0
    assert rates["error_ratio"] == 0.2
    assert 0.9 <= rates["sample_interval"] < 5
    assert rates["requests_per_s"] == round(100.0 / rates["sample_interval"], 4)
    # 100 new observations: 90 at 0.3 s (0.1-0.5 bucket), 10 at 2.0 s: p95 lies in the 1-2.5 bucket
    assert 1.0 < rates["p95_latency_s"] <= 2.5
    assert r["status"] == "degraded" and "5xx ratio 20.0%" in r["reason"]


def test_rates_sum_over_targets_and_counter_reset(run_module, server):
    r = run_module("metrics_probe", {"urls": [server.base + "/a", server.base + "/b", server.base + "/reset"],
                                     "sample_interval": 0.5})
    assert not r.failed, r.output
    assert r["rates"]["requests"] == 100.0 + 100.0 + 40.0
    assert r["rates"]["errors_5xx"] == 20.0
    assert [t["rates"]["requests"] for t in r["targets"]] == [100.0, 100.0, 40.0]


def test_down_targets_and_garbage(run_module, server):
    r = run_module("metrics_probe", {"urls": [server.base + "/b", server.base + "/garbage", "http://127.0.0.1:1/m"]})
    assert not r.failed, r.output
    assert [t["status"] for t in r["targets"]] == ["healthy", "down", "down"]
    assert "not Prometheus text format" in r["targets"][1]["reason"]
    assert r["status"] == "degraded"


def test_promql_query(run_module, server):
    r = run_module("metrics_probe", {"prometheus_url": server.base, "query": "up{job='reflexion'}"}, check=True)
    assert not r.failed, r.output
    assert r["metrics"] == [{"name": "up", "labels": {"job": "reflexion"}, "value": 1.0}]
    bad = run_module("metrics_probe", {"prometheus_url": server.base, "query": "bad("})
    assert bad["status"] == "down" and "parse error" in bad["reason"]


@pytest.mark.parametrize("args, needle", [
    ({"urls": []}, "urls"),
    ({"query": "up"}, "prometheus_url"),
    ({"url": "gopher://x/metrics"}, "urls"),
    ({"url": "http://127.0.0.1:1/m", "sample_interval": -1}, "sample_interval"),
    ({"url": "http://127.0.0.1:1/m", "name_regex": "(("}, "name_regex"),
    ({"url": "http://127.0.0.1:1/m", "error_ratio_down": 2}, "error_ratio_down"),
])
def test_bad_input(run_module, args, needle):
    r = run_module("metrics_probe", args)
    assert r.failed
    assert needle in r["msg"]
    assert "Traceback" not in r.output
