"""triage_probe's batching logic: sub-option validation, secrets, missing libraries, the overall verdict."""

import pytest

from ansible_collections.reflexion.incident.plugins.module_utils import _batch, _probe_metrics


def test_each_probe_is_validated_with_its_modules_spec():
    runs, secrets, unavailable = _batch.prepare({"health": {"urls": ["http://127.0.0.1:1/"]},
                                                 "pg": {"login_password": "pw-1", "login_port": 5432}})
    assert [name for name, _run in runs] == ["health", "pg"]
    assert secrets == {"pw-1"}
    assert unavailable == {}


def test_secrets_inside_suboptions_are_collected():
    providers = [{"name": "openai", "api_key": "sk-a"}, {"name": "anthropic", "api_key": "sk-b"}]
    health = {"urls": ["http://x/"], "headers": {"Authorization": "Bearer t"}}
    _runs, secrets, _u = _batch.prepare({"llm": {"providers": providers}, "health": health})
    assert {"sk-a", "sk-b", "Bearer t"} <= secrets


@pytest.mark.parametrize("params,needle", [
    ({"health": {"urls": []}}, "health: urls"),
    ({"redis": {"login_port": 0}}, "redis: login_port"),
    ({"pg": {"nope": 1}}, "pg (pg_activity_probe options)"),
])
def test_bad_options_name_the_probe(params, needle):
    with pytest.raises(_batch.BadProbeInputError) as err:
        _batch.prepare(params)
    assert needle in str(err.value)


def test_a_missing_library_skips_that_probe_only(monkeypatch):
    monkeypatch.setattr(_probe_metrics, "HAS_PROM", False)
    runs, _s, unavailable = _batch.prepare({"metrics": {"urls": ["http://127.0.0.1:1/metrics"]},
                                            "health": {"urls": ["http://127.0.0.1:1/"]}})
    assert [name for name, _run in runs] == ["health"]
    assert list(unavailable) == ["metrics"] and "prometheus_client" in unavailable["metrics"]


def test_overall_is_the_worst_and_names_every_unhealthy_probe():
    status, reason = _batch.overall({"health": {"status": "healthy"}, "llm": {"status": "ok"},
                                     "pg": {"status": "down", "reason": "refused"},
                                     "logs": {"status": "degraded", "reason": "3 lines"}})
    assert status == "down"
    assert reason == "logs: 3 lines; pg: refused"
    assert _batch.overall({"health": {"status": "healthy"}}) == ("healthy", "all 1 probe(s) healthy")


def test_a_crashing_probe_is_reported_not_raised():
    def boom():
        raise RuntimeError("kaput")
    results, timings = _batch.run_all([("health", boom), ("redis", lambda: {"status": "healthy", "changed": False})])
    assert results["health"]["status"] == "down" and "kaput" in results["health"]["reason"]
    assert results["redis"] == {"status": "healthy"}
    assert set(timings) == {"health", "redis"}
