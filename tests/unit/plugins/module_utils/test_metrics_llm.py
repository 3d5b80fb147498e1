"""metrics_probe and llm_api_probe pure logic: parsing, rates, quantiles, outcomes, redaction."""

import math

import pytest

from ansible_collections.reflexion.incident.plugins.module_utils._llm import (
    build_request,
    classify_error,
    classify_status,
    endpoint,
    error_message,
    parse_retry_after,
    rate_limit_headers,
    redact,
)
from ansible_collections.reflexion.incident.plugins.module_utils._metrics import (
    classify,
    histogram_quantile,
    parse_text,
    rates,
    select,
)

TEXT = """# HELP reflexion_requests_total requests
# TYPE reflexion_requests_total counter
reflexion_requests_total{status="200"} 90
reflexion_requests_total{status="500"} 10
# TYPE go_goroutines gauge
go_goroutines 12
"""


def test_parse_and_select():
    samples = parse_text(TEXT)
    assert {"name": "reflexion_requests_total", "labels": {"status": "500"}, "value": 10.0, "type": "counter"} in samples
    assert [s["name"] for s in select(samples, prefix="reflexion_")] == ["reflexion_requests_total"] * 2
    assert [s["value"] for s in select(samples, labels={"status": "200"})] == [90.0]
    with pytest.raises(ValueError):
        parse_text("this is { not prometheus\n")


def test_histogram_quantile_like_prometheus():
    buckets = [(0.1, 50.0), (0.5, 90.0), (1.0, 100.0), (math.inf, 100.0)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1)
    assert histogram_quantile(0.95, buckets) == pytest.approx(0.75)
    assert histogram_quantile(0.95, [(1.0, 0.0), (math.inf, 0.0)]) is None
    assert histogram_quantile(0.99, [(1.0, 10.0), (math.inf, 100.0)]) == 1.0
    assert histogram_quantile(0.5, [(1.0, 10.0)]) is None


def s(name, value, **labels):
    return {"name": name, "labels": labels, "value": float(value)}


def test_rates_and_counter_reset():
    first = [s("r_total", 90, status="200"), s("r_total", 10, status="503"), s("h_bucket", 0, le="1.0"),
             s("h_bucket", 0, le="+Inf")]
    second = [s("r_total", 180, status="200"), s("r_total", 20, status="503"), s("h_bucket", 80, le="1.0"),
              s("h_bucket", 100, le="+Inf")]
    out = rates(first, second, 10.0, "r_total", "status", "h")
    assert out["requests"] == 100.0 and out["errors_5xx"] == 10.0
    assert out["requests_per_s"] == 10.0 and out["error_ratio"] == 0.1
    assert out["p95_latency_s"] == 1.0
    reset = rates([s("r_total", 500, status="200")], [s("r_total", 40, status="200")], 1.0, "r_total", "status", "h")
    assert reset["requests"] == 40.0 and reset["p95_latency_s"] is None


@pytest.mark.parametrize("ratio, p95, expected", [(0.0, 0.1, "healthy"), (0.06, 0.1, "degraded"),
                                                  (0.6, 0.1, "down"), (0.0, 3.0, "degraded"), (0.0, None, "healthy")])
def test_metrics_classify(ratio, p95, expected):
    status, reason = classify({"error_ratio": ratio, "p95_latency_s": p95, "requests_per_s": 1.0}, 0.05, 0.5, 2.0)
    assert status == expected and reason


@pytest.mark.parametrize("code, outcome", [(200, "ok"), (401, "auth_failed"), (403, "auth_failed"),
                                           (429, "rate_limited"), (500, "server_error"), (503, "server_error"),
                                           (529, "server_error"), (404, "unexpected")])
def test_llm_classify_status(code, outcome):
    assert classify_status(code) == outcome


def test_llm_classify_error():
    assert classify_error("request", "request to x failed: timed out after 5.0s") == "timeout"
    assert classify_error("connect", "cannot connect to x:1: [Errno 111] Connection refused") == "unreachable"
    assert classify_error("dns", "cannot resolve api.openai.com") == "unreachable"


def test_retry_after_and_headers():
    assert parse_retry_after({"Retry-After": "20"}) == 20.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "2"}) == 1.5
    assert parse_retry_after({"retry-after": "Thu, 26 Nov 2026 22:41:38 GMT"}, now=1795732878.0) == 20.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    h = rate_limit_headers({"X-RateLimit-Remaining-Requests": "0", "anthropic-ratelimit-tokens-reset": "x",
                            "content-type": "json"})
    assert h == {"x-ratelimit-remaining-requests": "0", "anthropic-ratelimit-tokens-reset": "x"}


def test_requests_and_redaction():
    m, url, headers, body = build_request("openai", "http://h:1/v1", "sk-secret", "models", "m")
    assert (m, url, body) == ("GET", "http://h:1/v1/models", None) and headers["Authorization"] == "Bearer sk-secret"
    m, url, headers, body = build_request("anthropic", "http://h:1", "k", "completion", "claude")
    assert (m, url) == ("POST", "http://h:1/v1/messages") and headers["x-api-key"] == "k" and b'"max_tokens": 1' in body
    assert endpoint("http://h/", "/v1/models") == "http://h/v1/models"
    key = "sk-proj-ABCDEFGH12345678wxyz"
    text = redact("Incorrect API key provided: sk-pro*****wxyz; raw %s; Bearer abc" % key, [key])
    assert key not in text and "wxyz" not in text and "abc" not in text
    assert error_message(b'{"error": {"message": "Rate limit reached"}}') == "Rate limit reached"
    assert error_message(b'{"type": "error", "error": {"type": "overloaded_error"}}') == "overloaded_error"
    assert error_message(b"<html>bad gateway</html>") == "<html>bad gateway</html>"
