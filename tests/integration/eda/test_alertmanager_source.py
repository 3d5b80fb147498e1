"""The reflexion.incident.alertmanager event source, run for real: its main(queue, args) in an asyncio loop,
HTTP over loopback, and a real prometheus-alertmanager sending its own webhook to it."""

import base64
import json
import time

import pytest

from .conftest import alert, load_source, payload, post

TOKEN = "eda-test-token-8c1f"  # test-only credential


def test_one_event_per_alert_with_labels_annotations_status(source):
    src = source({"token": TOKEN})
    body = payload(alert("HighErrorRate", "app-1:8000"), alert("HighErrorRate", "app-2:8000", status="resolved"))
    status, resp = post(src.base + "/alerts", body, {"Authorization": "Bearer " + TOKEN})
    assert status == 202, resp
    assert resp == {"received": 2}
    first, second = src.get(), src.get()
    assert first["alert"]["labels"]["alertname"] == "HighErrorRate"
    assert first["alert"]["labels"]["instance"] == "app-1:8000"
    assert first["alert"]["status"] == "firing"
    assert first["alert"]["annotations"]["runbook_playbook"] == "playbooks/high_error_rate.yml"
    assert first["meta"]["hosts"] == ["app-1"]
    assert first["meta"]["endpoint"] == "alerts"
    assert first["meta"]["receiver"] == "eda"
    assert first["meta"]["external_url"] == "http://127.0.0.1:9093"
    assert second["alert"]["status"] == "resolved"
    assert second["meta"]["hosts"] == ["app-2"]
    # the credential never travels inside an event
    assert "authorization" not in {k.lower() for k in first["meta"]["headers"]}
    assert TOKEN not in repr(first) and TOKEN not in repr(second)
    assert src.pending() == 0


def test_bad_or_missing_token_is_401_and_queues_nothing(source):
    src = source({"token": TOKEN})
    body = payload(alert("ServiceDown"))
    for headers in ({"Authorization": "Bearer wrong"}, {}, {"Authorization": TOKEN},
                    {"Authorization": "Basic " + base64.b64encode(b"u:" + TOKEN.encode()).decode()}):
        status, resp = post(src.base + "/alerts", body, headers)
        assert status == 401, (headers, resp)
        assert resp == {"error": "unauthorized"}
    assert src.pending() == 0


def test_malformed_json_is_400(source):
    src = source({"token": TOKEN})
    auth = {"Authorization": "Bearer " + TOKEN}
    status, resp = post(src.base + "/alerts", b'{"alerts": [', auth)
    assert status == 400 and resp["error"].startswith("malformed JSON"), resp
    status, resp = post(src.base + "/alerts", {"not": "alertmanager"}, auth)
    assert status == 400 and "'alerts' list" in resp["error"], resp
    status, resp = post(src.base + "/alerts", [1, 2], auth)
    assert status == 400 and "JSON object" in resp["error"], resp
    status, resp = post(src.base + "/alerts", {"alerts": ["x"]}, auth)
    assert status == 400 and "'labels'" in resp["error"], resp
    assert src.pending() == 0


def test_bad_token_checked_before_body(source):
    src = source({"token": TOKEN})
    status, _resp = post(src.base + "/alerts", b"not json", {"Authorization": "Bearer nope"})
    assert status == 401


def test_shared_secret_by_header_or_basic_auth(source):
    src = source({"shared_secret": "s3cret-test"})
    body = payload(alert("DatabaseConnectionFailures", "postgres:5432", severity="P0"))
    status, _resp = post(src.base + "/", body, {"X-Reflexion-Secret": "s3cret-test"})
    assert status == 202
    basic = "Basic " + base64.b64encode(b"alertmanager:s3cret-test").decode()
    status, _resp = post(src.base + "/hook", body, {"Authorization": basic})
    assert status == 202
    for headers in ({"X-Reflexion-Secret": "nope"}, {"Authorization": "Basic " + base64.b64encode(b"a:b").decode()},
                    {"Authorization": "Basic %%%"}, {}):
        status, _resp = post(src.base + "/", body, headers)
        assert status == 401, headers
    events = [src.get(), src.get()]
    assert [e["meta"]["endpoint"] for e in events] == ["", "hook"]
    assert all(e["alert"]["labels"]["severity"] == "P0" for e in events)
    assert all("x-reflexion-secret" not in {k.lower() for k in e["meta"]["headers"]} for e in events)
    assert src.pending() == 0


def test_without_credentials_on_loopback_accepts(source):
    src = source({})
    status, _resp = post(src.base + "/alerts", payload(alert("HighMemoryUsage")))
    assert status == 202
    assert src.get()["alert"]["labels"]["alertname"] == "HighMemoryUsage"


def test_skip_original_data_false_puts_payload_first(source):
    src = source({"skip_original_data": False})
    body = payload(alert("LLMAPIFailures"))
    status, _resp = post(src.base + "/alerts", body)
    assert status == 202
    whole, one = src.get(), src.get()
    # the envelope, reduced, with the validated alerts only (never the raw payload: issue 15)
    assert whole["payload"]["receiver"] == "eda" and whole["payload"]["status"] == "firing"
    assert whole["payload"]["alerts"] == [one["alert"]]
    assert whole["payload"]["groupKey"] == "__:_alertname=_LLMAPIFailures__"
    assert one["alert"]["labels"]["alertname"] == "LLMAPIFailures"


@pytest.mark.parametrize("args, message", [
    ({"host": "0.0.0.0"}, "host: 0.0.0.0 is not loopback"),
    ({"token": "a", "shared_secret": "b"}, "mutually exclusive"),
    ({"port": "http"}, "port: expected an integer"),
    ({"port": 70000}, "port: 70000 is not a TCP port"),
    ({"token": ""}, "token: must not be empty"),
    ({"skip_original_data": "maybe"}, "skip_original_data: expected a boolean"),
    ({"bogus": 1}, "unknown argument(s): bogus"),
])
def test_bad_arguments_are_refused_with_the_argument_named(args, message):
    module = load_source()
    with pytest.raises(module.ConfigError) as err:
        module.parse_args(args)
    assert message in str(err.value)


def test_non_loopback_allowed_with_token_or_explicit_opt_in():
    module = load_source()
    assert module.parse_args({"host": "0.0.0.0", "token": "t"})["host"] == "0.0.0.0"
    assert module.parse_args({"host": "0.0.0.0", "allow_unauthenticated": True})["allow_unauthenticated"] is True
    assert module.parse_args({})["host"] == "127.0.0.1"


def test_real_alertmanager_webhook_with_bearer_token(source, alertmanager, tmp_path):
    """Alertmanager 0.25 itself sends the webhook (authorization.credentials_file), firing then resolved."""
    src = source({"token": TOKEN})
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    am = alertmanager(src.base + "/alerts", {"authorization": {"type": "Bearer", "credentials_file": str(token_file)}})
    am.fire("HighErrorRate", "app-1:8000")
    event = src.get(timeout=30)
    assert event["alert"]["status"] == "firing", event
    assert event["alert"]["labels"]["alertname"] == "HighErrorRate"
    assert event["alert"]["labels"]["instance"] == "app-1:8000"
    assert event["alert"]["annotations"]["summary"] == "HighErrorRate on app-1:8000"
    assert event["meta"]["hosts"] == ["app-1"]
    assert event["meta"]["receiver"] == "eda"
    assert event["alert"]["fingerprint"]
    am.resolve("HighErrorRate", "app-1:8000")
    deadline = time.monotonic() + 60
    while True:
        event = src.get(timeout=max(1, deadline - time.monotonic()))
        if event["alert"]["status"] == "resolved":
            break
    assert event["alert"]["labels"]["alertname"] == "HighErrorRate"
    assert TOKEN not in repr(event)


def test_real_alertmanager_rejected_with_wrong_credential(source, alertmanager):
    """Alertmanager with a wrong basic-auth password: the source answers 401 and queues nothing."""
    src = source({"shared_secret": "right-secret"})
    am = alertmanager(src.base + "/alerts", {"basic_auth": {"username": "am", "password": "wrong-secret"}})
    am.fire("ServiceDown", "app-1:8000")
    deadline = time.monotonic() + 30
    while "401" not in am.log() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "401" in am.log(), am.log()
    assert src.pending() == 0


def test_real_alertmanager_basic_auth_shared_secret(source, alertmanager):
    src = source({"shared_secret": "right-secret"})
    am = alertmanager(src.base + "/alerts", {"basic_auth": {"username": "am", "password": "right-secret"}})
    am.fire("DatabaseConnectionFailures", "postgres:5432", severity="P0")
    event = src.get(timeout=30)
    assert event["alert"]["labels"]["alertname"] == "DatabaseConnectionFailures"
    assert event["alert"]["labels"]["severity"] == "P0"
    assert event["meta"]["hosts"] == ["postgres"]


def test_host_label_empty_means_no_limit_and_other_label_is_used(source):
    src = source({"host_label": ""})
    post(src.base + "/alerts", payload(alert("ServiceDown", "app-1:8000")))
    assert src.get()["meta"]["hosts"] == []
    src2 = source({"host_label": "node"})
    post(src2.base + "/alerts", payload(alert("ServiceDown", "app-1:8000", node="db-1.lan:9100")))
    assert src2.get()["meta"]["hosts"] == ["db-1.lan"]


@pytest.mark.parametrize("node", ["app-1,app-2", "all:!app-2", "app-*", "[::1]:9100", "app-1&app-2", "{{ x }}"])
def test_host_label_that_is_a_host_pattern_is_refused_not_a_limit(source, node):
    """Issue 15: the host_label value became ansible-rulebook's --limit; a pattern there widened the run."""
    src = source({"host_label": "node"})
    status, resp = post(src.base + "/alerts", payload(alert("ServiceDown", "app-1:8000", node=node)))
    assert status == 202, resp
    assert resp["received"] == 0
    assert resp["refused"][0]["reason"].startswith("labels.node (host_label): "), resp
    assert src.pending() == 0


def test_jinja_and_shell_payloads_refused_or_reduced_over_http(source):
    """Issue 15: alert text never reaches the rulebook as-is. Key fields with a payload refuse the alert;
    free text (annotations, other labels, meta) arrives without braces or shell metacharacters."""
    src = source({"token": TOKEN})
    jinja = "{{ lookup('ansible.builtin.pipe', 'id > /tmp/eda-http-marker') }}"
    shell = "$(id > /tmp/m) `id` ; touch /tmp/m"
    bad = [alert(jinja), alert("HighErrorRate", jinja), alert("HighErrorRate", severity=shell),
           alert("HighErrorRate", status="{% raw %}"), dict(alert("HighErrorRate"), fingerprint=shell),
           dict(alert("HighErrorRate"), startsAt=jinja)]
    ok = alert("HighErrorRate", "app-1:8000", job=jinja, team=shell)
    ok["annotations"] = {"summary": jinja, "description": shell}
    body = payload(*(bad + [ok]))
    body["receiver"], body["groupKey"], body["externalURL"] = jinja, jinja, "http://x/{{ 1 }}"
    status, resp = post(src.base + "/alerts/{{x}}", body,
                        {"Authorization": "Bearer " + TOKEN, "User-Agent": jinja, "X-Other": jinja})
    assert status == 202, resp
    assert resp["received"] == 1
    reasons = [r["reason"].split(":")[0] for r in resp["refused"]]
    assert reasons == ["labels.alertname", "labels.instance", "labels.severity", "status", "fingerprint", "startsAt"]
    event = src.get()
    assert src.pending() == 0
    flat = json.dumps(event)
    for marker in ("{{", "{%", "{#", "$(", "`", ";"):
        assert marker not in flat, (marker, flat)
    assert not any(ch in text for text in _strings(event) for ch in "{}")
    assert event["alert"]["annotations"]["summary"] == "__ lookup(_ansible.builtin.pipe_, _id _ /tmp/eda-http-marker_) __"
    assert event["alert"]["labels"]["team"] == "_(id _ /tmp/m) _id_ _ touch /tmp/m"
    assert event["meta"]["headers"] == {"User-Agent": "__ lookup(_ansible.builtin.pipe_, _id _ /tmp/eda-http-marker_) __",
                                        "Content-Type": "application/json"}
    assert event["meta"]["external_url"] == "" and event["meta"]["endpoint"] == "alerts/__x__"


def _strings(value):
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k] + _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_body_over_max_body_bytes_is_413_and_queues_nothing(source):
    src = source({"max_body_bytes": 4096})
    big = payload(alert("HighErrorRate"))
    big["alerts"][0]["annotations"]["description"] = "x" * 8000
    status, resp = post(src.base + "/alerts", big)
    assert status == 413 and "max_body_bytes" in resp["error"], resp
    assert src.pending() == 0
    status, _resp = post(src.base + "/alerts", payload(alert("HighErrorRate")))
    assert status == 202
