# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-rulebook event source: Prometheus Alertmanager's webhook, one validated event per alert.

Galaxy is unreachable from our machines, so ansible.eda (and its ``alertmanager`` source) cannot be
installed; this source ships in reflexion.incident and emits events of the same shape as
``ansible.eda.alertmanager`` with ``skip_original_data: true``, so one rulebook works with either::

    {"alert": {"status": "firing", "labels": {...}, "annotations": {...}, "startsAt": ..., ...},
     "meta": {"endpoint": "alerts", "hosts": ["app-1"], "receiver": "eda", "group_key": "...",
              "external_url": "http://alertmanager:9093", "headers": {...}}}

Alert text is data, never a template: ansible-rulebook hands event values to ansible-playbook as extra
vars, and ansible-core (2.19+) renders templates found in them. So every alert is validated here before
it becomes an event (see ``validate_alert``): the fields a rule or a playbook acts on (alertname, status,
instance, severity, fingerprint, startsAt) must match an allow-list or a strict pattern, or the alert is
refused with a logged reason; free text (annotations, other labels, meta) is reduced to a charset with
no braces, so no Jinja delimiter can reach a play. The Authorization header and the shared-secret header
are never copied into an event.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
short_description: Receive Prometheus Alertmanager webhook notifications, one event per alert.
description:
  - An aiohttp web server that accepts Alertmanager's webhook JSON (version 4) on any POST path
    and puts one event per alert on the rulebook's queue, with the alert's C(status), C(labels)
    and C(annotations).
  - Every alert is validated before it becomes an event. C(labels.alertname) must be in O(alertnames),
    C(status) V(firing) or V(resolved), C(labels.severity) (when present) in O(severities),
    C(labels.instance) (when present) a C(host[:port]), C(fingerprint) hexadecimal and C(startsAt)/C(endsAt)
    RFC 3339 timestamps. An alert that fails is refused (not queued), with the reason logged and returned
    in the HTTP answer's C(refused) list; the other alerts of the payload are still queued.
  - Free text (annotations, the other labels, the receiver, group key and headers kept in C(meta)) is
    reduced to letters, digits, spaces and C(.,:_-/()@%+=?!#); every other character (braces, C($),
    backquotes, quotes, C(;), C(|), C(&), C(<>), control characters) becomes C(_), and each value is cut
    at 256 characters. No Jinja delimiter can reach a play through an event.
  - Requests are authenticated with a bearer token (O(token)) or a shared secret (O(shared_secret))
    compared in constant time; a bad or missing credential gets HTTP 401. A body that is not
    JSON, or not an Alertmanager payload, gets HTTP 400. Accepted payloads get HTTP 202.
  - Binds to loopback by default. Binding another address without a credential is refused unless
    O(allow_unauthenticated=true).
  - C(GET /) answers C(up), for readiness checks.
options:
  host:
    description: The address to bind. Use a routable address only together with O(token) or O(shared_secret).
    type: str
    default: 127.0.0.1
  port:
    description: The TCP port to listen on.
    type: int
    default: 5000
  token:
    description:
      - Expected bearer token, sent by Alertmanager as C(Authorization Bearer <token>)
        (C(http_config.authorization.credentials) or C(credentials_file) in its webhook_config).
    type: str
  shared_secret:
    description:
      - Expected shared secret, accepted either as the password of HTTP basic auth (Alertmanager's
        C(http_config.basic_auth.password) or C(password_file); any user name) or in the header
        named by O(secret_header).
      - Mutually exclusive with O(token).
    type: str
  secret_header:
    description: The request header that may carry O(shared_secret).
    type: str
    default: X-Reflexion-Secret
  allow_unauthenticated:
    description: Allow binding a non-loopback O(host) without O(token) or O(shared_secret).
    type: bool
    default: false
  host_label:
    description:
      - The alert label whose value (without its port) goes into the event's C(meta.hosts), which
        ansible-rulebook turns into the C(--limit) of C(run_playbook).
      - The value must be a plain inventory host name (letters, digits, C(._-), starting with a letter or
        digit, at most 253 characters). A value that is a host pattern (commas, colons, wildcards, C(!),
        C(&), brackets, an IPv6 address) refuses the alert, so a label can never widen or reshape the limit.
      - The default V(instance) matches ansible.eda.alertmanager's C(data_host_path=labels.instance).
        Set V("") when alert instances are not inventory hosts (our rulebook does), so the playbook
        runs on its own C(hosts).
    type: str
    default: instance
  alertnames:
    description:
      - The alert names accepted. Any other C(labels.alertname) refuses the alert.
      - Each name is a Prometheus label value of letters, digits and C(_) (starting with a letter or C(_)).
    type: list
    elements: str
    default: [HighErrorRate, DatabaseConnectionFailures, HighMemoryUsage, LLMAPIFailures, ServiceDown]
  severities:
    description:
      - The values accepted in C(labels.severity) (a missing severity label is accepted as V("")).
        Any other value refuses the alert.
    type: list
    elements: str
    default: [P0, P1, P2, P3]
  max_body_bytes:
    description:
      - The largest request body accepted, in bytes (1024 to 67108864). A bigger body gets HTTP 413
        and is not parsed.
    type: int
    default: 1048576
  skip_original_data:
    description:
      - V(true) puts only the per-alert events on the queue. V(false) also puts one event with
        C(payload) and C(meta) keys first, like ansible.eda.alertmanager's default. Its C(payload) holds
        the payload's envelope (reduced like free text) and the validated alerts, never the raw payload.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Reflexion alerts
  hosts: localhost
  sources:
    - reflexion.incident.alertmanager:
        host: 127.0.0.1
        port: 5000
        token: "{{ reflexion_eda_token }}"
  rules:
    - name: High error rate
      condition: event.alert.status == "firing" and event.alert.labels.alertname == "HighErrorRate"
      action:
        run_playbook:
          name: playbooks/high_error_rate.yml
"""

import asyncio
import datetime
import hmac
import ipaddress
import json
import logging
import re
from base64 import b64decode
from binascii import Error as BinasciiError

from aiohttp import web

LOG = logging.getLogger(__name__)

DEFAULT_ALERTNAMES = ("HighErrorRate", "DatabaseConnectionFailures", "HighMemoryUsage", "LLMAPIFailures", "ServiceDown")
DEFAULT_SEVERITIES = ("P0", "P1", "P2", "P3")

DEFAULTS = {
    "host": "127.0.0.1",
    "port": 5000,
    "token": None,
    "shared_secret": None,
    "secret_header": "X-Reflexion-Secret",
    "allow_unauthenticated": False,
    "skip_original_data": True,
    "host_label": "instance",
    "alertnames": list(DEFAULT_ALERTNAMES),
    "severities": list(DEFAULT_SEVERITIES),
    "max_body_bytes": 1024 * 1024,
}

# aiohttp >= 3.9 wants typed application keys; older versions take plain strings.
if hasattr(web, "AppKey"):
    QUEUE_KEY = web.AppKey("queue", object)
    CONF_KEY = web.AppKey("conf", dict)
else:  # pragma: no cover
    QUEUE_KEY, CONF_KEY = "queue", "conf"

# Headers that carry credentials: never copied into an event (events reach playbooks and logs).
SENSITIVE_HEADERS = ("authorization", "cookie", "proxy-authorization")
# The only request headers kept in meta.headers (reduced like any free text).
KEPT_HEADERS = ("user-agent", "content-type")

# Caps: every piece of alert text has one.
MAX_TEXT = 256          # characters of one free-text value (annotation, extra label, meta field)
MAX_EXTRA_LABELS = 32   # labels besides alertname/instance/severity
MAX_ANNOTATIONS = 16
MAX_ALERTS = 1000       # alerts in one payload
BODY_DEADLINE = 30      # seconds to receive a whole request body
MIN_BODY, MAX_BODY = 1024, 64 * 1024 * 1024

STATUSES = ("firing", "resolved")
LABEL_NAME_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
ALERTNAME_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
SEVERITY_RE = re.compile(r"\A[A-Za-z0-9_-]{1,32}\Z")
# host[:port]: a DNS name or IPv4 address, or a bracketed IPv6 address; the port 1-5 digits.
INSTANCE_RE = re.compile(r"\A(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?\Z")
# host_label's value: a plain inventory host name and an optional numeric port (dropped); no pattern
# characters (, : * ? ! & [ ] ~ ^ /) can reach --limit.
LIMIT_HOST_RE = re.compile(r"\A([A-Za-z0-9][A-Za-z0-9_.-]{0,252})(?::[0-9]{1,5})?\Z")
FINGERPRINT_RE = re.compile(r"\A[0-9A-Fa-f]{1,64}\Z")
RFC3339_RE = re.compile(
    r"\A([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,9})?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))\Z")
URL_RE = re.compile(r"\Ahttps?://[A-Za-z0-9._~:/?#@!&()*+,=%\[\]-]{1,512}\Z")
ENDPOINT_RE = re.compile(r"\A[A-Za-z0-9._/-]{0,128}\Z")
# Free text keeps letters, digits, spaces and these; anything else becomes "_".
TEXT_PUNCTUATION = frozenset(" .,:_-/()@%+=?!#")


class ConfigError(ValueError):
    """A bad source argument; the message names the argument."""


class AlertRefusedError(ValueError):
    """An alert that does not validate; the message names the field and why."""


def _as_bool(name, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError("%s: expected a boolean, got %r" % (name, value))


def _name_list(name, value, pattern):
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError("%s: expected a non-empty list of names, got %r" % (name, value))
    out = []
    for item in value:
        if not isinstance(item, str) or not pattern.match(item):
            raise ConfigError("%s: %r is not an allowed name (pattern %s)" % (name, item, pattern.pattern))
        out.append(item)
    return out


def is_loopback(host):
    """True when ``host`` names only the loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_args(args):
    """Validate the rulebook's source arguments into a settings dict (pure; raises ConfigError)."""
    args = dict(args or {})
    unknown = sorted(set(args) - set(DEFAULTS))
    if unknown:
        raise ConfigError("unknown argument(s): %s (supported: %s)" % (", ".join(unknown), ", ".join(sorted(DEFAULTS))))
    conf = dict(DEFAULTS)
    conf.update({k: v for k, v in args.items() if v is not None})
    conf["host"] = str(conf["host"])
    conf["host_label"] = str(conf["host_label"])
    if conf["host_label"] and not LABEL_NAME_RE.match(conf["host_label"]):
        raise ConfigError("host_label: %r is not a label name (letters, digits and _), or \"\" for none"
                          % conf["host_label"])
    for name in ("port", "max_body_bytes"):
        try:
            conf[name] = int(conf[name])
        except (TypeError, ValueError):
            raise ConfigError("%s: expected an integer, got %r" % (name, conf[name])) from None
    if not 0 <= conf["port"] <= 65535:
        raise ConfigError("port: %d is not a TCP port" % conf["port"])
    if not MIN_BODY <= conf["max_body_bytes"] <= MAX_BODY:
        raise ConfigError("max_body_bytes: %d is outside %d..%d" % (conf["max_body_bytes"], MIN_BODY, MAX_BODY))
    conf["alertnames"] = _name_list("alertnames", conf["alertnames"], ALERTNAME_RE)
    conf["severities"] = _name_list("severities", conf["severities"], SEVERITY_RE)
    for name in ("allow_unauthenticated", "skip_original_data"):
        conf[name] = _as_bool(name, conf[name])
    for name in ("token", "shared_secret"):
        if conf[name] is not None:
            conf[name] = str(conf[name])
            if not conf[name]:
                raise ConfigError("%s: must not be empty (omit it to disable)" % name)
    if conf["token"] and conf["shared_secret"]:
        raise ConfigError("token and shared_secret are mutually exclusive")
    if not (conf["token"] or conf["shared_secret"]) and not is_loopback(conf["host"]) and not conf["allow_unauthenticated"]:
        raise ConfigError(
            "host: %s is not loopback and neither token nor shared_secret is set "
            "(set one, or allow_unauthenticated: true)" % conf["host"]
        )
    return conf


def _same(expected, given):
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def authorized(conf, headers):
    """Check the request headers against the configured credential (pure)."""
    auth = headers.get("Authorization", "")
    if conf["token"]:
        scheme, _sep, value = auth.partition(" ")
        return scheme.lower() == "bearer" and _same(conf["token"], value.strip())
    if conf["shared_secret"]:
        given = headers.get(conf["secret_header"])
        if given is not None:
            return _same(conf["shared_secret"], given)
        scheme, _sep, value = auth.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = b64decode(value.strip(), validate=True).decode("utf-8")
        except (BinasciiError, UnicodeDecodeError, ValueError):
            return False
        _user, sep, password = decoded.partition(":")
        return bool(sep) and _same(conf["shared_secret"], password)
    return True


def safe_text(value, limit=MAX_TEXT):
    """Free text reduced to a charset without braces, quotes or shell metacharacters, cut at ``limit``.

    Letters, digits (any script), spaces and ``.,:_-/()@%+=?!#`` are kept; every other character
    becomes ``_`` (whitespace becomes a space). Without ``{`` and ``}`` no Jinja delimiter
    (``{{``, ``{%``, ``{#``) can survive. Non-strings become their JSON text first.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        try:
            value = json.dumps(value, sort_keys=True)
        except (TypeError, ValueError):
            value = repr(value)
    value = value[:limit]
    out = []
    for ch in value:
        if ch.isalnum() and ch.isprintable() or ch in TEXT_PUNCTUATION:
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        else:
            out.append("_")
    return "".join(out).strip()


def _shown(value):
    """A bad value, shown in a refusal reason: repr, cut short (logs are data, but keep them small)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _timestamp(name, value):
    if value is None or value == "":
        return ""
    match = RFC3339_RE.match(value) if isinstance(value, str) else None
    if match:
        year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
        try:
            datetime.datetime(year, month, day, hour, minute, min(second, 59))
            ok = second <= 60 and (match.group(7) is None or (int(match.group(8)) <= 23 and int(match.group(9)) <= 59))
        except ValueError:
            ok = False
        if ok:
            return value
    raise AlertRefusedError("%s: %s is not an RFC 3339 timestamp" % (name, _shown(value)))


def _url(value):
    """A URL kept only when it is plainly one (no braces, quotes, spaces or $); otherwise ""."""
    return value if isinstance(value, str) and URL_RE.match(value) else ""


def validate_alert(alert, conf, payload_status=None):
    """Validate one Alertmanager alert into a clean copy; returns (clean_alert, host or None).

    Pure. Raises AlertRefusedError naming the field when a field that a rule or a playbook acts on is
    missing, of the wrong type or not allow-listed. ``conf`` is the output of ``parse_args``.
    """
    if not isinstance(alert, dict):
        raise AlertRefusedError("alert: expected an object, got %s" % type(alert).__name__)
    labels = alert.get("labels")
    if not isinstance(labels, dict):
        raise AlertRefusedError("labels: every alert must have a 'labels' object")
    annotations = alert.get("annotations", {})
    if annotations is None:
        annotations = {}
    if not isinstance(annotations, dict):
        raise AlertRefusedError("annotations: expected an object, got %s" % type(annotations).__name__)

    name = labels.get("alertname")
    if not isinstance(name, str) or name not in conf["alertnames"]:
        raise AlertRefusedError("labels.alertname: %s is not one of the accepted alerts (%s)"
                                % (_shown(name), ", ".join(conf["alertnames"])))
    status = alert.get("status", payload_status)
    if status not in STATUSES:
        raise AlertRefusedError("status: %s is not firing or resolved" % _shown(status))
    instance = labels.get("instance", "")
    if not isinstance(instance, str) or (instance and not INSTANCE_RE.match(instance)):
        raise AlertRefusedError("labels.instance: %s is not host[:port]" % _shown(instance))
    severity = labels.get("severity", "")
    if not isinstance(severity, str) or (severity and severity not in conf["severities"]):
        raise AlertRefusedError("labels.severity: %s is not one of %s" % (_shown(severity), ", ".join(conf["severities"])))
    fingerprint = alert.get("fingerprint", "")
    if fingerprint is None:
        fingerprint = ""
    if not isinstance(fingerprint, str) or (fingerprint and not FINGERPRINT_RE.match(fingerprint)):
        raise AlertRefusedError("fingerprint: %s is not hexadecimal (1 to 64 digits)" % _shown(fingerprint))
    starts_at = _timestamp("startsAt", alert.get("startsAt"))
    ends_at = _timestamp("endsAt", alert.get("endsAt"))

    host = None
    host_label = conf.get("host_label") or ""
    if host_label:
        raw = labels.get(host_label)
        if raw not in (None, ""):
            match = LIMIT_HOST_RE.match(raw) if isinstance(raw, str) else None
            host = match.group(1) if match else None
            if not host:
                raise AlertRefusedError("labels.%s (host_label): %s is not a plain inventory host name "
                                        "(letters, digits and ._-; no commas, colons, wildcards, ! or &)"
                                        % (host_label, _shown(raw)))

    clean_labels = {"alertname": name}
    if instance:
        clean_labels["instance"] = instance
    if severity:
        clean_labels["severity"] = severity
    extra = sorted(k for k in labels if k not in clean_labels and k not in ("instance", "severity")
                   and isinstance(k, str) and LABEL_NAME_RE.match(k))
    for key in extra[:MAX_EXTRA_LABELS]:
        clean_labels[key] = safe_text(labels[key])
    clean_annotations = {}
    for key in sorted(k for k in annotations if isinstance(k, str) and LABEL_NAME_RE.match(k))[:MAX_ANNOTATIONS]:
        clean_annotations[key] = safe_text(annotations[key])

    clean = {
        "status": status,
        "labels": clean_labels,
        "annotations": clean_annotations,
        "startsAt": starts_at,
        "endsAt": ends_at,
        "fingerprint": fingerprint,
        "generatorURL": _url(alert.get("generatorURL")),
    }
    return clean, host


def safe_headers(headers, conf):
    """Only User-Agent and Content-Type, reduced; never a credential."""
    drop = set(SENSITIVE_HEADERS) | {conf["secret_header"].lower()}
    return {k: safe_text(v) for k, v in headers.items() if k.lower() in KEPT_HEADERS and k.lower() not in drop}


def safe_endpoint(endpoint):
    return endpoint if ENDPOINT_RE.match(endpoint or "") else safe_text(endpoint, 128).replace(" ", "_")


def alert_events(payload, endpoint, headers, conf):
    """Split an Alertmanager webhook payload into one event per valid alert (pure).

    Returns ``(events, refused)``: ``refused`` lists ``{"index": i, "reason": "..."}`` for the alerts
    that did not validate. Raises ValueError when the payload itself is not an Alertmanager payload.
    """
    if not isinstance(payload, dict):
        raise ValueError("expected a JSON object (an Alertmanager webhook payload)")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise ValueError("expected an 'alerts' list (an Alertmanager webhook payload)")
    if len(alerts) > MAX_ALERTS:
        raise ValueError("too many alerts in one payload (%d, at most %d)" % (len(alerts), MAX_ALERTS))
    if any(not isinstance(a, dict) or not isinstance(a.get("labels"), dict) for a in alerts):
        raise ValueError("every alert must be an object with a 'labels' object")
    payload_status = payload.get("status") if payload.get("status") in STATUSES else None
    meta = {
        "endpoint": safe_endpoint(endpoint),
        "receiver": safe_text(payload.get("receiver")),
        "group_key": safe_text(payload.get("groupKey")),
        "external_url": _url(payload.get("externalURL")),
        "headers": headers,
    }
    events, refused = [], []
    for index, alert in enumerate(alerts):
        try:
            clean, host = validate_alert(alert, conf, payload_status)
        except AlertRefusedError as exc:
            refused.append({"index": index, "reason": str(exc)})
            continue
        event_meta = dict(meta, hosts=[host] if host else [])
        events.append({"alert": clean, "meta": event_meta})
    return events, refused


def original_data(payload, events, meta):
    """The ``skip_original_data: false`` event: the payload's envelope, reduced, with the accepted alerts."""
    return {
        "payload": {
            "receiver": meta["receiver"],
            "status": payload.get("status") if payload.get("status") in STATUSES else "",
            "alerts": [e["alert"] for e in events],
            "groupKey": meta["group_key"],
            "externalURL": meta["external_url"],
            "version": safe_text(payload.get("version"), 8),
        },
        "meta": {"endpoint": meta["endpoint"], "headers": meta["headers"]},
    }


async def _read_capped(stream, limit):
    """The whole body, or None as soon as it exceeds ``limit`` bytes (never holds more than limit + 64 KiB)."""
    chunks, size = [], 0
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


async def _status(_request):
    return web.Response(status=200, text="up")


async def _webhook(request):
    conf = request.app[CONF_KEY]
    if not authorized(conf, request.headers):
        LOG.warning("alertmanager source: rejected an unauthenticated request from %s", request.remote)
        return web.json_response({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})
    limit = conf["max_body_bytes"]
    if request.content_length is not None and request.content_length > limit:
        LOG.warning("alertmanager source: refused a %d-byte body (max_body_bytes %d)", request.content_length, limit)
        return web.json_response({"error": "body larger than max_body_bytes (%d)" % limit}, status=413)
    try:
        body = await asyncio.wait_for(_read_capped(request.content, limit), BODY_DEADLINE)
    except asyncio.TimeoutError:
        LOG.warning("alertmanager source: the body did not arrive within %d s", BODY_DEADLINE)
        return web.json_response({"error": "the body did not arrive within %d s" % BODY_DEADLINE}, status=408)
    if body is None:
        LOG.warning("alertmanager source: refused a body over max_body_bytes (%d)", limit)
        return web.json_response({"error": "body larger than max_body_bytes (%d)" % limit}, status=413)
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return web.json_response({"error": "malformed JSON: %s" % type(exc).__name__}, status=400)
    endpoint = request.match_info.get("endpoint", "")
    headers = safe_headers(request.headers, conf)
    try:
        events, refused = alert_events(payload, endpoint, headers, conf)
    except RecursionError:
        return web.json_response({"error": "payload nested too deeply"}, status=400)
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    for item in refused:
        LOG.warning("alertmanager source: refused alert %d: %s", item["index"], item["reason"])
    queue = request.app[QUEUE_KEY]
    if not conf["skip_original_data"]:
        meta = events[0]["meta"] if events else {"endpoint": safe_endpoint(endpoint), "receiver": safe_text(
            payload.get("receiver")), "group_key": safe_text(payload.get("groupKey")),
            "external_url": _url(payload.get("externalURL")), "headers": headers}
        await queue.put(original_data(payload, events, meta))
    for event in events:
        await queue.put(event)
    answer = {"received": len(events)}
    if refused:
        answer["refused"] = refused
    # 202 even when alerts were refused: Alertmanager would otherwise retry a payload that can never pass.
    return web.json_response(answer, status=202)


def build_app(queue, conf):
    app = web.Application(client_max_size=conf["max_body_bytes"])
    app[QUEUE_KEY] = queue
    app[CONF_KEY] = conf
    app.router.add_get("/", _status)
    app.router.add_post("/{endpoint:.*}", _webhook)
    return app


async def main(queue, args):
    """Entry point called by ansible-rulebook: serve until cancelled."""
    conf = parse_args(args)
    runner = web.AppRunner(build_app(queue, conf), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, conf["host"], conf["port"])
    await site.start()
    LOG.info("alertmanager source: listening on %s:%d (auth: %s)", conf["host"], conf["port"],
             "token" if conf["token"] else "shared_secret" if conf["shared_secret"] else "none")
    try:
        await asyncio.Future()
    except asyncio.CancelledError:
        LOG.info("alertmanager source: cancelled")
    finally:
        await runner.cleanup()


if __name__ == "__main__":

    class _PrintQueue(asyncio.Queue):
        async def put(self, item):
            print(json.dumps(item))

    asyncio.run(main(_PrintQueue(), {}))
