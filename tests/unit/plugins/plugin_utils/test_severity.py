"""Table-driven tests: every row of the runbook's severity table, from probe results to P0-P3."""

import os
import re

import pytest

from ansible_collections.reflexion.incident.plugins.plugin_utils._severity import (
    DEFAULT_THRESHOLDS,
    ProbeResultError,
    ThresholdError,
    classify,
    merge_thresholds,
)

HEALTHY = {
    "status": "healthy",
    "reason": "ok",
    "status_code": 200,
    "components": {"db": {"status": "healthy"}, "redis": {"status": "healthy"}},
}

# (id, probes, facts, expected severity, a substring the reasons must contain)
ROWS = [
    # P0 - Critical
    (
        "P0 complete outage: no answer",
        {"health": {"status": "down", "reason": "connection refused", "status_code": None}},
        {},
        "P0",
        "complete service outage",
    ),
    (
        "P0 complete outage: error ratio",
        {"metrics": {"status": "down", "rates": {"error_ratio": 0.8}}},
        {},
        "P0",
        "error ratio 80.0%",
    ),
    (
        "P0 database unreachable",
        {"pg": {"status": "down", "connectable": False, "error": "refused"}},
        {},
        "P0",
        "database unreachable",
    ),
    (
        "P0 redis unreachable",
        {"redis": {"status": "down", "connectable": False, "error": "refused"}},
        {},
        "P0",
        "redis unreachable",
    ),
    ("P0 data loss", {"health": HEALTHY}, {"data_loss": True}, "P0", "data loss"),
    ("P0 security breach", {}, {"security_breach": True}, "P0", "security breach"),
    # P1 - High
    (
        "P1 major feature unavailable: component down",
        {"health": {"status": "degraded", "status_code": 200, "components": {"llm": {"status": "down"}}}},
        {},
        "P1",
        "component llm",
    ),
    (
        "P1 major feature unavailable: every LLM provider failing",
        {"llm": {"providers": {"openai": {"outcome": "auth_failed"}, "anthropic": {"outcome": "timeout"}}}},
        {},
        "P1",
        "every LLM provider",
    ),
    ("P1 major feature unavailable: fact", {}, {"major_feature_unavailable": True}, "P1", "major feature"),
    (
        "P1 some replicas down",
        {
            "health": {
                "status": "down",
                "status_code": 200,
                "components": {},
                "targets": [{"status": "down"}, {"status": "healthy"}],
            }
        },
        {},
        "P1",
        "replicas down",
    ),
    (
        "P1 significant degradation: p95",
        {"metrics": {"rates": {"error_ratio": 0.0, "p95_latency_s": 3.5}}},
        {},
        "P1",
        "p95 latency 3.50s",
    ),
    (
        "P1 significant degradation: DB pool",
        {"pg": {"connectable": True, "utilization_pct": 96}},
        {},
        "P1",
        "96% of DB connections",
    ),
    ("P1 significant degradation: memory", {"memory": {"host": {"used_pct": 97}}}, {}, "P1", "host memory 97%"),
    (
        "P1 significant degradation: OOM",
        {"memory": {"host": {"used_pct": 40}, "containers": [{"name": "app", "oom_killed": True}]}},
        {},
        "P1",
        "OOM kill",
    ),
    (
        "P1 API errors affecting multiple users",
        {"metrics": {"rates": {"error_ratio": 0.12}}},
        {},
        "P1",
        "API errors affecting multiple users",
    ),
    # P2 - Medium
    (
        "P2 minor feature: health degraded",
        {"health": {"status": "degraded", "reason": "slow", "status_code": 200}},
        {},
        "P2",
        "degraded",
    ),
    (
        "P2 minor feature: one LLM provider failing",
        {"llm": {"providers": {"openai": {"outcome": "rate_limited"}, "anthropic": {"outcome": "ok"}}}},
        {},
        "P2",
        "fallback available",
    ),
    ("P2 minor feature: fact", {}, {"minor_feature_issue": True}, "P2", "minor feature"),
    ("P2 performance, some users: p95", {"metrics": {"rates": {"p95_latency_s": 1.2}}}, {}, "P2", "p95 latency 1.20s"),
    ("P2 performance: DB utilization", {"pg": {"connectable": True, "utilization_pct": 80}}, {}, "P2", "utilization 80%"),
    (
        "P2 performance: blocked queries",
        {"pg": {"connectable": True, "utilization_pct": 5, "blocked": [{"pid": 1}]}},
        {},
        "P2",
        "1 blocked",
    ),
    ("P2 performance: memory", {"memory": {"host": {"used_pct": 88}}}, {}, "P2", "host memory 88%"),
    (
        "P2 performance: leak suspect",
        {"memory": {"host": {"used_pct": 10}, "leak_suspects": [{"name": "app"}]}},
        {},
        "P2",
        "leak",
    ),
    ("P2 non-critical API errors", {"metrics": {"rates": {"error_ratio": 0.02}}}, {}, "P2", "non-critical API errors"),
    ("P2 non-critical errors in logs", {"logs": {"status": "degraded", "total_matches": 42}}, {}, "P2", "42 error line(s)"),
    (
        "P2 redis degraded",
        {"redis": {"connectable": True, "status": "degraded", "reason": "slow ping"}},
        {},
        "P2",
        "redis degraded",
    ),
    # P3 - Low
    ("P3 cosmetic", {"health": HEALTHY}, {"cosmetic": True}, "P3", "cosmetic"),
    ("P3 documentation", {}, {"documentation": True}, "P3", "documentation"),
    ("P3 enhancement request", {}, {"enhancement_request": True}, "P3", "enhancement"),
    (
        "P3 all healthy",
        {
            "health": HEALTHY,
            "metrics": {"rates": {"error_ratio": 0.001, "p95_latency_s": 0.1}},
            "pg": {"connectable": True, "utilization_pct": 10},
        },
        {},
        "P3",
        "no evidence",
    ),
    ("P3 nothing at all", {}, {}, "P3", "probes used: none"),
]


@pytest.mark.parametrize("probes,facts,severity,reason", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_runbook_table(probes, facts, severity, reason):
    out = classify(probes=probes, facts=facts)
    assert out["severity"] == severity
    assert any(reason in r for r in out["reasons"]), out["reasons"]


@pytest.mark.parametrize("severity,short,minutes", [("P0", "15m", 15), ("P1", "1h", 60), ("P2", "4h", 240), ("P3", "24h", 1440)])
def test_response_time_and_notify(severity, short, minutes):
    out = classify(minimum=severity)
    assert out["severity"] == severity
    assert out["response_time"] == short
    assert out["response_time_minutes"] == minutes
    if severity in ("P0", "P1"):
        assert out["notify"] == ["engineering", "product", "customer_support"]
    else:
        assert out["notify"] == []


def test_worst_evidence_wins_and_all_evidence_kept():
    out = classify(probes={"metrics": {"rates": {"error_ratio": 0.02, "p95_latency_s": 5}}, "logs": {"total_matches": 50}})
    assert out["severity"] == "P1"
    assert out["reasons"] == ["significant performance degradation: p95 latency 5.00s >= 2.00s"]
    assert [e["severity"] for e in out["evidence"]] == ["P1", "P2", "P2"]


def test_missing_and_skipped_probes_are_tolerated():
    out = classify(probes={"health": None, "metrics": {"skipped": True, "changed": False}, "pg": {}})
    assert out["severity"] == "P3"
    assert out["probes_used"] == []
    assert set(out["probes_missing"]) == {"health", "metrics", "logs", "llm", "pg", "redis", "memory"}


def test_registered_result_with_extra_keys():
    reg = {
        "changed": False,
        "failed": False,
        "invocation": {"module_args": {}},
        "status": "down",
        "reason": "x",
        "status_code": None,
        "timings": {},
    }
    assert classify(probes={"health": reg})["severity"] == "P0"


def test_threshold_override_changes_the_row():
    probes = {"metrics": {"rates": {"error_ratio": 0.03}}}
    assert classify(probes=probes)["severity"] == "P2"
    assert classify(probes=probes, thresholds={"p1_error_ratio": 0.02})["severity"] == "P1"


def test_thresholds_boundary_is_inclusive():
    assert classify(probes={"metrics": {"rates": {"error_ratio": DEFAULT_THRESHOLDS["p1_error_ratio"]}}})["severity"] == "P1"


def test_minimum_floor_does_not_lower():
    out = classify(probes={"health": {"status": "down", "status_code": None}}, minimum="P2")
    assert out["severity"] == "P0"


@pytest.mark.parametrize(
    "bad,msg",
    [
        ({"p9_error_ratio": 1}, "unknown key 'p9_error_ratio'"),
        ({"p1_error_ratio": "lots"}, "p1_error_ratio must be a number"),
        ({"p2_log_errors": -1}, "p2_log_errors must be >= 0"),
        ({"p1_error_ratio": 0.001}, "p1_error_ratio (0.001) must be >= p2_error_ratio"),
    ],
)
def test_bad_thresholds_name_the_key(bad, msg):
    with pytest.raises(ThresholdError) as err:
        merge_thresholds(bad)
    assert msg in str(err.value)


def test_non_numeric_probe_values_are_ignored():
    out = classify(probes={"metrics": {"rates": {"error_ratio": "NaN?", "p95_latency_s": None}}, "pg": {"utilization_pct": True}})
    assert out["severity"] == "P3"


# ---------------------------------------------------------------------------------------- issue 15: NaN, lists

@pytest.mark.parametrize("key", sorted(DEFAULT_THRESHOLDS))
@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", float("nan"), float("inf")])
def test_non_finite_thresholds_are_refused(key, value):
    """A NaN threshold compares false with everything: 90% errors came out P3. It is refused, naming the key."""
    with pytest.raises(ThresholdError, match="thresholds: %s must be a finite number" % key):
        merge_thresholds({key: value})


def test_nan_threshold_can_no_longer_hide_an_outage():
    with pytest.raises(ThresholdError):
        classify(probes={"metrics": {"rates": {"error_ratio": 0.9}}}, thresholds={"p0_error_ratio": "nan"})
    # and without the override the same evidence is the outage it is
    assert classify(probes={"metrics": {"rates": {"error_ratio": 0.9}}})["severity"] == "P0"


@pytest.mark.parametrize("value", [True, [0.5], {"a": 1}])
def test_thresholds_that_are_not_numbers_are_refused(value):
    with pytest.raises(ThresholdError, match="p1_error_ratio must be a number"):
        merge_thresholds({"p1_error_ratio": value})


def test_nan_probe_values_are_no_evidence():
    """A NaN measurement (Prometheus gives NaN for 0/0) is not evidence either way: never a silent pass of
    the comparison, never an exception."""
    out = classify(probes={"metrics": {"status": "healthy", "rates": {"error_ratio": float("nan"), "p95_latency_s": "nan"}},
                           "memory": {"host": {"used_pct": float("nan")}}})
    assert out["severity"] == "P3"
    down = classify(probes={"metrics": {"status": "down", "reason": "no data", "rates": {"error_ratio": float("nan")}}})
    assert down["severity"] == "P2" and "metrics unavailable" in down["reasons"][0]
    # an infinite latency is still the worst latency there is
    assert classify(probes={"metrics": {"rates": {"p95_latency_s": float("inf")}}})["severity"] == "P1"


@pytest.mark.parametrize("probes, where", [
    ({"health": {"status": "down", "components": ["db"]}}, "health.components: must be a dict, got a list"),
    ({"health": {"status": "down", "targets": 3}}, "health.targets: must be a list, got a number"),
    ({"metrics": {"rates": [0.9]}}, "metrics.rates: must be a dict, got a list"),
    ({"metrics": {"rates": {"error_ratio": [0.9]}}}, "metrics.rates.error_ratio: must be a number, got a list"),
    ({"pg": {"connectable": True, "blocked": 3}}, "pg.blocked: must be a list, got a number"),
    ({"pg": {"utilization_pct": {"now": 99}}}, "pg.utilization_pct: must be a number, got a dict"),
    ({"memory": {"oom_kills": 2}}, "memory.oom_kills: must be a list, got a number"),
    ({"memory": {"containers": {"app": {}}}}, "memory.containers: must be a list, got a dict"),
    ({"memory": {"host": [95]}}, "memory.host: must be a dict, got a list"),
    ({"llm": {"providers": ["openai"]}}, "llm.providers: must be a dict, got a list"),
    ({"logs": {"total_matches": [12]}}, "logs.total_matches: must be a number, got a list"),
])
def test_wrong_shapes_fail_naming_the_key(probes, where):
    with pytest.raises(ProbeResultError) as err:
        classify(probes=probes)
    assert str(err.value) == where


def test_lists_instead_of_the_top_level_dicts():
    with pytest.raises(ProbeResultError, match="^probes: must be a dict, got a list"):
        classify(probes=[{"status": "down"}])
    with pytest.raises(ProbeResultError, match="^facts: must be a dict, got a list"):
        classify(facts=["data_loss"])


def test_unforeseen_shapes_still_name_the_probe():
    # a component entry keyed by a number next to a string key: sorting used to raise TypeError
    out = classify(probes={"health": {"status": "degraded", "components": {1: "down", "db": {"status": "down"}}}})
    assert out["severity"] == "P1"


PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "plugins")


def test_severity_is_controller_side_code_in_plugin_utils():
    """Only the classify action plugin (controller) uses the table: it lives in plugin_utils, and nothing that
    ships to the target host (modules, module_utils) imports plugin_utils."""
    assert os.path.isfile(os.path.join(PLUGINS, "plugin_utils", "_severity.py"))
    assert not os.path.exists(os.path.join(PLUGINS, "module_utils", "_severity.py"))
    offenders = []
    for folder in ("modules", "module_utils"):
        for name in sorted(os.listdir(os.path.join(PLUGINS, folder))):
            if name.endswith(".py"):
                with open(os.path.join(PLUGINS, folder, name)) as f:
                    if re.search(r"plugins\.plugin_utils|_severity import", f.read()):
                        offenders.append("%s/%s" % (folder, name))
    assert offenders == []
