# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-rulebook event source: Prometheus Alertmanager's webhook, one event per alert.

Galaxy is unreachable from our machines, so ansible.eda (and its ``alertmanager`` source) cannot be
installed; this source ships in reflexion.incident and emits events of the same shape as
``ansible.eda.alertmanager`` with ``skip_original_data: true``, so one rulebook works with either::

    {"alert": {"status": "firing", "labels": {...}, "annotations": {...}, "startsAt": ..., ...},
     "meta": {"endpoint": "alerts", "hosts": ["app-1"], "receiver": "eda", "group_key": "...",
              "external_url": "http://alertmanager:9093", "headers": {...}}}

The Authorization header and the shared-secret header are never copied into an event.
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
      - The default V(instance) matches ansible.eda.alertmanager's C(data_host_path=labels.instance).
        Set V("") when alert instances are not inventory hosts (our rulebook does), so the playbook
        runs on its own C(hosts).
    type: str
    default: instance
  skip_original_data:
    description:
      - V(true) puts only the per-alert events on the queue. V(false) also puts the whole payload
        first, as C({"payload": ..., "meta": ...}), like ansible.eda.alertmanager's default.
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
import hmac
import ipaddress
import json
import logging
from base64 import b64decode
from binascii import Error as BinasciiError

from aiohttp import web

LOG = logging.getLogger(__name__)

DEFAULTS = {
    "host": "127.0.0.1",
    "port": 5000,
    "token": None,
    "shared_secret": None,
    "secret_header": "X-Reflexion-Secret",
    "allow_unauthenticated": False,
    "skip_original_data": True,
    "host_label": "instance",
}

# aiohttp >= 3.9 wants typed application keys; older versions take plain strings.
if hasattr(web, "AppKey"):
    QUEUE_KEY = web.AppKey("queue", object)
    CONF_KEY = web.AppKey("conf", dict)
else:  # pragma: no cover
    QUEUE_KEY, CONF_KEY = "queue", "conf"

# Headers that carry credentials: never copied into an event (events reach playbooks and logs).
SENSITIVE_HEADERS = ("authorization", "cookie", "proxy-authorization")


class ConfigError(ValueError):
    """A bad source argument; the message names the argument."""


def _as_bool(name, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError("%s: expected a boolean, got %r" % (name, value))


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
    try:
        conf["port"] = int(conf["port"])
    except (TypeError, ValueError):
        raise ConfigError("port: expected an integer, got %r" % (conf["port"],)) from None
    if not 0 <= conf["port"] <= 65535:
        raise ConfigError("port: %d is not a TCP port" % conf["port"])
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


def clean_host(instance):
    """``app-1:8000`` -> ``app-1``; ``[::1]:9090`` -> ``::1``."""
    if not isinstance(instance, str) or not instance:
        return None
    if instance.startswith("["):
        return instance[1:].split("]", 1)[0]
    if instance.count(":") == 1:
        return instance.split(":", 1)[0]
    return instance


def safe_headers(headers, conf):
    drop = set(SENSITIVE_HEADERS) | {conf["secret_header"].lower()}
    return {k: v for k, v in headers.items() if k.lower() not in drop}


def alert_events(payload, endpoint, headers, host_label="instance"):
    """Split an Alertmanager webhook payload into one event per alert (pure; raises ValueError)."""
    if not isinstance(payload, dict):
        raise ValueError("expected a JSON object (an Alertmanager webhook payload)")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise ValueError("expected an 'alerts' list (an Alertmanager webhook payload)")
    events = []
    for alert in alerts:
        if not isinstance(alert, dict) or not isinstance(alert.get("labels", {}), dict):
            raise ValueError("every alert must be an object with a 'labels' object")
        alert = dict(alert)
        alert.setdefault("status", payload.get("status"))
        alert.setdefault("labels", {})
        alert.setdefault("annotations", {})
        host = clean_host(alert["labels"].get(host_label)) if host_label else None
        events.append({
            "alert": alert,
            "meta": {
                "endpoint": endpoint,
                "hosts": [host] if host else [],
                "receiver": payload.get("receiver"),
                "group_key": payload.get("groupKey"),
                "external_url": payload.get("externalURL"),
                "headers": headers,
            },
        })
    return events


async def _status(_request):
    return web.Response(status=200, text="up")


async def _webhook(request):
    conf = request.app[CONF_KEY]
    if not authorized(conf, request.headers):
        LOG.warning("alertmanager source: rejected an unauthenticated request from %s", request.remote)
        return web.json_response({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})
    body = await request.read()
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return web.json_response({"error": "malformed JSON: %s" % exc}, status=400)
    endpoint = request.match_info.get("endpoint", "")
    headers = safe_headers(request.headers, conf)
    try:
        events = alert_events(payload, endpoint, headers, conf["host_label"])
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    queue = request.app[QUEUE_KEY]
    if not conf["skip_original_data"]:
        await queue.put({"payload": payload, "meta": {"endpoint": endpoint, "headers": headers}})
    for event in events:
        await queue.put(event)
    return web.json_response({"received": len(events)}, status=202)


def build_app(queue, conf):
    app = web.Application()
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
