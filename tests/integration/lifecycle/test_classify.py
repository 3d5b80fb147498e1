"""reflexion.incident.classify through real ansible (the action plugin on the controller)."""


def test_classify_p1_from_registered_results(run_module):
    run = run_module(
        "classify",
        {
            "health": {"status": "healthy", "status_code": 200, "components": {}},
            "metrics": {"status": "degraded", "rates": {"error_ratio": 0.2, "p95_latency_s": 0.3}},
        },
    )
    assert not run.failed, run.output
    assert run["severity"] == "P1"
    assert run["response_time"] == "1h"
    assert run["notify"] == ["engineering", "product", "customer_support"]
    assert "error ratio 20.0%" in run["reasons"][0]
    assert run["changed"] is False
    assert "logs" in run["probes_missing"]


def test_classify_fact_and_check_mode(run_module):
    run = run_module("classify", {"facts": {"security_breach": True}}, check=True)
    assert not run.failed, run.output
    assert run["severity"] == "P0"
    assert run["response_time_minutes"] == 15


def test_classify_bad_threshold_names_it(run_module):
    run = run_module("classify", {"thresholds": {"p1_error_rate": 0.1}})
    assert run.failed
    assert "p1_error_rate" in run["msg"]
    assert "Traceback" not in run.output


def test_classify_bad_minimum_names_it(run_module):
    run = run_module("classify", {"minimum": "P7"})
    assert run.failed
    assert "minimum" in run["msg"]
    assert "Traceback" not in run.output
