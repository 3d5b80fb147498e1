"""metrics_probe's rates from Prometheus (issue 20): the one PromQL query, its answer, the window and the matchers."""

import pytest

from ansible_collections.reflexion.incident.plugins.module_utils._probe_metrics import (
    check_selector,
    parse_rates_answer,
    rates_query,
    window_seconds,
)


def answer(**series):
    """A Prometheus instant-query answer to rates_query with these series (name -> value as Prometheus writes it)."""
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"reflexion_rate": name}, "value": [1796218866.3, value]} for name, value in series.items()]}}


def test_query_asks_for_the_three_figures_of_rates_in_one_expression():
    q = rates_query("reflexion_requests_total", "status", "reflexion_request_duration_seconds", "1m", 'job="reflexion"')
    assert q == (
        'label_replace(sum(rate(reflexion_requests_total{job="reflexion"}[1m])), "reflexion_rate", "requests", "", "")'
        ' or label_replace(sum(rate(reflexion_requests_total{job="reflexion", status=~"(?i)5.*|server_error"}[1m])),'
        ' "reflexion_rate", "errors", "", "")'
        ' or label_replace(histogram_quantile(0.95, sum by (le) (rate(reflexion_request_duration_seconds_bucket'
        '{job="reflexion"}[1m]))), "reflexion_rate", "p95", "", "")')


def test_query_without_matchers_adds_the_total_suffix_and_quotes_label_values():
    q = rates_query("app_requests", "code", "app_seconds", "30s")
    assert "sum(rate(app_requests_total[30s]))" in q
    assert 'app_requests_total{code=~"(?i)5.*|server_error"}[30s]' in q
    assert "rate(app_seconds_bucket[30s])" in q
    q = rates_query("app_requests_total", "code", "app_seconds", "1m", labels={"route": 'a"b\\c'})
    assert 'app_requests_total{route="a\\"b\\\\c"}[1m]' in q


def test_answer_gives_the_shape_of_two_scrapes_rates():
    rates = parse_rates_answer(answer(requests="25", errors="5", p95="0.4875"), 60)
    assert rates == {"requests_per_s": 25.0, "error_ratio": 0.2, "p95_latency_s": 0.4875, "requests": 1500.0,
                     "errors_5xx": 300.0, "sample_interval": 60.0}


def test_no_errors_series_is_a_zero_ratio_and_nan_p95_is_none():
    # no 5xx series at all (the app never failed), and no request in the window: histogram_quantile gives NaN
    rates = parse_rates_answer(answer(requests="0", p95="NaN"), 60)
    assert rates["error_ratio"] == 0.0 and rates["p95_latency_s"] is None and rates["requests_per_s"] == 0.0


@pytest.mark.parametrize("doc, needle", [
    (answer(errors="1", p95="0.2"), "no request rate"),
    (answer(), "no request rate"),
    ({"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}, "parse error at char 5"),
    (None, "not JSON"),
    ({"status": "success", "data": {"resultType": "matrix", "result": []}}, "unexpected answer"),
])
def test_answers_that_give_no_rates_say_why(doc, needle):
    with pytest.raises(ValueError, match=needle):
        parse_rates_answer(doc, 60)


@pytest.mark.parametrize("window, seconds", [("1m", 60), ("30s", 30), ("5m", 300), ("2h", 7200), ("500ms", 0.5)])
def test_window_seconds(window, seconds):
    assert window_seconds(window) == seconds


@pytest.mark.parametrize("window", ["", "1", "m", "1 m", "1m30s", "0s", "-1m", "1minute", "1m]) or vector(1"])
def test_bad_windows_are_refused(window):
    with pytest.raises(ValueError, match="PromQL duration"):
        window_seconds(window)


@pytest.mark.parametrize("selector", ['job="reflexion"', 'job="reflexion", env!="dev"', 'instance=~"10\\\\..*:8000"',
                                      'a="x,y", b!~"z"', ""])
def test_good_selectors(selector):
    check_selector(selector)


@pytest.mark.parametrize("selector", ["job=reflexion", 'job="reflexion"}', 'job="a"} or vector(1) or up{x="b"',
                                      '{job="reflexion"}', 'job="reflexion",', 'job="re\nflexion"', '1job="x"'])
def test_bad_selectors_are_refused(selector):
    with pytest.raises(ValueError, match="label matchers"):
        check_selector(selector)
