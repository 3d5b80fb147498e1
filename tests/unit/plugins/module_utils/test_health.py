"""health_probe's classification: table-driven, pure logic."""

import pytest

from ansible_collections.reflexion.incident.plugins.module_utils._health import (
    classify,
    normalize_status,
    parse_components,
)
from ansible_collections.reflexion.incident.plugins.module_utils._probe import summarize, worst_status


@pytest.mark.parametrize(
    "code, body, total, expected",
    [
        (200, None, 10.0, "healthy"),
        (200, {"status": "healthy", "components": {"db": {"status": "healthy"}}}, 10.0, "healthy"),
        (200, {"status": "degraded", "components": {"llm": {"status": "degraded"}}}, 10.0, "degraded"),
        (200, {"status": "healthy", "components": {"db": {"status": "down"}}}, 10.0, "degraded"),
        (200, {"status": "healthy", "components": {"llm": {"status": "disabled"}}}, 10.0, "healthy"),
        (200, {"status": "unhealthy"}, 10.0, "down"),
        (503, {"status": "unhealthy"}, 10.0, "down"),
        (500, None, 10.0, "down"),
        (404, None, 10.0, "degraded"),
        (200, None, 5000.0, "degraded"),
    ],
)
def test_classify(code, body, total, expected):
    status, reason = classify(code, [200], body, total, 2000.0)
    assert status == expected
    assert reason


def test_classify_names_failing_components():
    dummy, reason = classify(200, [200], {"status": "ok", "components": {"redis": {"status": "fail"}, "db": "ok"}}, 1.0)
    assert "redis" in reason and "db" not in reason


@pytest.mark.parametrize("word, expected", [("OK", "healthy"), ("pass", "healthy"), ("unhealthy", "down"),
                                            ("warn", "degraded"), ("disabled", "disabled"), (True, "healthy"),
                                            (False, "down"), ("weird", "degraded")])
def test_normalize_status(word, expected):
    assert normalize_status(word) == expected


def test_parse_components_shapes():
    comps = parse_components({"checks": {"db": {"status": "healthy", "latency": 3.5, "error": "x" * 1000}, "llm": "down"}})
    assert comps["db"] == {"status": "healthy", "latency_ms": 3.5, "error": "x" * 300}
    assert comps["llm"] == {"status": "down", "latency_ms": None}
    assert parse_components("not a dict") == {}
    assert parse_components({"components": ["a"]}) == {}


def test_worst_status_and_summary():
    assert worst_status(["healthy", "degraded", "healthy"]) == "degraded"
    assert worst_status(["healthy", "???"]) == "down"
    assert worst_status([]) == "healthy"
    status, reason = summarize([{"target": "a", "status": "healthy"}, {"target": "b", "status": "down", "reason": "refused"}])
    assert status == "down" and reason == "b: refused"
