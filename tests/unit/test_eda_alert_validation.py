"""The EDA event source's pure validation (extensions/eda/plugins/event_source/alertmanager.py): which
alerts become events, which are refused and why, and how free text is reduced (issue 15)."""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "alertmanager.py")

JINJA = "{{ lookup('ansible.builtin.pipe', 'id > /tmp/eda-unit-marker') }}"
SHELL = "$(id > /tmp/m1) `id > /tmp/m2`; touch /tmp/m3 {% raw %}{# c #}{x}"


@pytest.fixture(scope="module")
def src():
    spec = importlib.util.spec_from_file_location("reflexion_eda_source_unit", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def conf(src):
    return src.parse_args({})


def good(**over):
    alert = {
        "status": "firing",
        "labels": {"alertname": "HighErrorRate", "instance": "app-1:8000", "severity": "P1", "job": "reflexion"},
        "annotations": {"summary": "HighErrorRate on app-1:8000", "description": "5xx share 7.5%"},
        "startsAt": "2026-11-26T10:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=reflexion_error_ratio+%3E+0.05&g0.tab=1",
        "fingerprint": "9f3c0a1b2c3d4e5f",
    }
    for key, value in over.items():
        if key.startswith("label_"):
            alert["labels"][key[6:]] = value
        elif value is None:
            alert.pop(key, None)
        else:
            alert[key] = value
    return alert


def strings(value):
    """Every string (keys and values) inside a nested event."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k] + strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def test_valid_alert_is_kept_with_its_fields(src, conf):
    clean, host = src.validate_alert(good(), conf)
    assert clean["labels"] == {"alertname": "HighErrorRate", "instance": "app-1:8000", "severity": "P1", "job": "reflexion"}
    assert clean["status"] == "firing" and clean["fingerprint"] == "9f3c0a1b2c3d4e5f"
    assert clean["startsAt"] == "2026-11-26T10:00:00.123456789Z" and clean["endsAt"] == "0001-01-01T00:00:00Z"
    assert clean["annotations"] == {"summary": "HighErrorRate on app-1:8000", "description": "5xx share 7.5%"}
    assert clean["generatorURL"].startswith("http://prometheus:9090/graph?")
    assert host == "app-1"


@pytest.mark.parametrize("over, field", [
    ({"label_alertname": JINJA}, "labels.alertname"),
    ({"label_alertname": "Watchdog"}, "labels.alertname"),
    ({"label_alertname": ["HighErrorRate"]}, "labels.alertname"),
    ({"status": "pending"}, "status"),
    ({"status": JINJA}, "status"),
    ({"label_instance": JINJA}, "labels.instance"),
    ({"label_instance": "$(id > /tmp/x):80"}, "labels.instance"),
    ({"label_instance": "app-1:8000; touch /tmp/x"}, "labels.instance"),
    ({"label_instance": "app-1,app-2"}, "labels.instance"),
    ({"label_instance": "app-1:8000\n"}, "labels.instance"),
    ({"label_instance": 8000}, "labels.instance"),
    ({"label_severity": "critical"}, "labels.severity"),
    ({"label_severity": JINJA}, "labels.severity"),
    ({"fingerprint": "not-hex!"}, "fingerprint"),
    ({"fingerprint": "`id`"}, "fingerprint"),
    ({"startsAt": "yesterday"}, "startsAt"),
    ({"startsAt": "2026-13-01T00:00:00Z"}, "startsAt"),
    ({"startsAt": JINJA}, "startsAt"),
    ({"startsAt": "\u0662\u0660\u0662\u0666-01-01T00:00:00Z"}, "startsAt"),  # non-ASCII digits (review of #15)
    ({"endsAt": "2026-11-26 10:00:00"}, "endsAt"),
    ({"annotations": ["x"]}, "annotations"),
])
def test_bad_key_field_refuses_the_alert_naming_it(src, conf, over, field):
    with pytest.raises(src.AlertRefusedError) as err:
        src.validate_alert(good(**over), conf)
    assert str(err.value).startswith(field + ":"), str(err.value)


def test_missing_optional_fields_become_empty_and_payload_status_is_used(src, conf):
    alert = good(fingerprint=None, startsAt=None, endsAt=None, status=None, generatorURL=None)
    del alert["labels"]["instance"], alert["labels"]["severity"]
    clean, host = src.validate_alert(alert, conf, payload_status="resolved")
    assert clean["status"] == "resolved" and host is None
    assert clean["fingerprint"] == clean["startsAt"] == clean["endsAt"] == clean["generatorURL"] == ""
    assert "instance" not in clean["labels"] and "severity" not in clean["labels"]
    with pytest.raises(src.AlertRefusedError, match="^status:"):
        src.validate_alert(good(status=None), conf)


def test_payloads_in_free_text_are_reduced_never_forwarded_as_is(src, conf):
    alert = good(label_job=JINJA, label_team=SHELL)
    alert["annotations"] = {"summary": JINJA, "description": SHELL, "runbook_url": "{%", "x": {"nested": "{{ 1 }}"}}
    clean, _host = src.validate_alert(alert, conf)
    texts = [clean["labels"]["job"], clean["labels"]["team"]] + list(clean["annotations"].values())
    for text in texts:
        for bad in ("{{", "{%", "{#", "{", "}", "$(", "`", ";"):
            assert bad not in text, (bad, text)
    assert clean["annotations"]["summary"] == "__ lookup(_ansible.builtin.pipe_, _id _ /tmp/eda-unit-marker_) __"
    assert clean["annotations"]["x"] == "__nested_: ___ 1 ____"


def test_free_text_is_capped_and_counts_are_capped(src, conf):
    alert = good()
    alert["annotations"] = {"a%02d" % i: "y" * 5000 for i in range(40)}
    alert["labels"].update({"l%02d" % i: "v" for i in range(100)})
    alert["labels"]["bad-key{{"] = "dropped"
    clean, _host = src.validate_alert(alert, conf)
    assert len(clean["annotations"]) == src.MAX_ANNOTATIONS
    assert all(len(v) == src.MAX_TEXT for v in clean["annotations"].values())
    assert len(clean["labels"]) == 3 + src.MAX_EXTRA_LABELS
    assert "bad-key{{" not in clean["labels"]


def test_unicode_and_whitespace_in_text(src):
    assert src.safe_text("Fehlerquote über 5 %\tjetzt\r\n") == "Fehlerquote über 5 % jetzt"
    assert src.safe_text(None) == "" and src.safe_text(42) == "42"
    assert src.safe_text("\u202e{{x}}\x00") == "___x___"


@pytest.mark.parametrize("value", ["app-1,app-2:80", "all:!app-2", "web*", "[::1]:9100", "a&b", "app[1:3]", "~app.*", "a b"])
def test_host_label_value_that_is_a_pattern_refuses_the_alert(src, value):
    conf = src.parse_args({"host_label": "node"})
    with pytest.raises(src.AlertRefusedError, match="^labels.node .host_label.: "):
        src.validate_alert(good(label_node=value), conf)


def test_host_label_plain_host_goes_to_meta_hosts(src):
    conf = src.parse_args({"host_label": "node"})
    assert src.validate_alert(good(label_node="db-1.example.org:9100"), conf)[1] == "db-1.example.org"
    assert src.validate_alert(good(), conf)[1] is None  # label absent: no host
    assert src.validate_alert(good(), src.parse_args({"host_label": ""}))[1] is None


def test_alert_events_keeps_good_alerts_and_lists_refused_ones(src, conf):
    payload = {"receiver": "eda{{x}}", "status": "firing", "groupKey": '{}:{alertname="HighErrorRate"}',
               "externalURL": "http://am:9093/{{ 7*7 }}", "version": "4",
               "alerts": [good(), good(label_alertname=JINJA), good(label_instance="a;b")]}
    events, refused = src.alert_events(payload, "alerts/{{x}}", {"User-Agent": "Alertmanager/0.25.0"}, conf)
    assert len(events) == 1 and [r["index"] for r in refused] == [1, 2]
    assert refused[0]["reason"].startswith("labels.alertname:") and refused[1]["reason"].startswith("labels.instance:")
    meta = events[0]["meta"]
    assert meta["receiver"] == "eda__x__" and meta["group_key"] == "__:_alertname=_HighErrorRate__"
    assert meta["external_url"] == "" and meta["endpoint"] == "alerts/__x__" and meta["hosts"] == ["app-1"]
    assert not any("{" in text or "}" in text for text in strings(events))


@pytest.mark.parametrize("payload, message", [
    ([1, 2], "JSON object"),
    ({"alerts": "x"}, "'alerts' list"),
    ({"alerts": [{"labels": "x"}]}, "'labels' object"),
    ({"alerts": [{}] * 1001}, "too many alerts"),
])
def test_payload_that_is_not_alertmanager_raises(src, conf, payload, message):
    with pytest.raises(ValueError, match=message):
        src.alert_events(payload, "", {}, conf)


def test_headers_keep_only_user_agent_and_content_type(src, conf):
    headers = {"User-Agent": "Alertmanager/{{ 1 }}", "Content-Type": "application/json", "Authorization": "Bearer t",
               "X-Reflexion-Secret": "s", "X-Evil": "{{ x }}", "Cookie": "c"}
    assert src.safe_headers(headers, conf) == {"User-Agent": "Alertmanager/__ 1 __", "Content-Type": "application/json"}


@pytest.mark.parametrize("args, message", [
    ({"alertnames": []}, "alertnames: expected a non-empty list"),
    ({"alertnames": ["High{{x}}"]}, "alertnames: "),
    ({"severities": ["P1", "a b"]}, "severities: "),
    ({"host_label": "a,b"}, "host_label: "),
    ({"max_body_bytes": 10}, "max_body_bytes: 10 is outside"),
    ({"max_body_bytes": "big"}, "max_body_bytes: expected an integer"),
])
def test_bad_new_arguments_name_the_argument(src, args, message):
    with pytest.raises(src.ConfigError) as err:
        src.parse_args(args)
    assert str(err.value).startswith(message)


def test_configured_alertnames_and_severities(src):
    conf = src.parse_args({"alertnames": "Watchdog, HighErrorRate", "severities": ["critical"]})
    clean, _host = src.validate_alert(good(label_alertname="Watchdog", label_severity="critical"), conf)
    assert clean["labels"]["alertname"] == "Watchdog"
    with pytest.raises(src.AlertRefusedError, match="^labels.alertname:"):
        src.validate_alert(good(label_alertname="ServiceDown"), conf)
