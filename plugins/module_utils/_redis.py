# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""Redis connection options, a guarded import of the redis client and redis_probe's pure logic."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import redis
    HAS_REDIS = True
    REDIS_IMPORT_ERROR = None
except ImportError:
    redis = None
    HAS_REDIS = False
    REDIS_IMPORT_ERROR = traceback.format_exc()

REDIS_COMMON_SPEC = dict(
    login_host=dict(type="str", default="127.0.0.1", aliases=["host"]),
    login_port=dict(type="int", default=6379, aliases=["port"]),
    login_user=dict(type="str", aliases=["user"]),
    login_password=dict(type="str", no_log=True, aliases=["password"]),
    db=dict(type="int", default=0),
    tls=dict(type="bool", default=False),
    validate_certs=dict(type="bool", default=True),
    ca_certs=dict(type="path"),
    connect_timeout=dict(type="float", default=2.0),
)

INFO_KEYS = ("redis_version", "role", "used_memory", "used_memory_human", "maxmemory", "maxmemory_policy",
             "connected_clients", "blocked_clients", "evicted_keys", "rejected_connections", "uptime_in_seconds")


def ensure_redis(module):
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMPORT_ERROR)


def validate_connection_params(params):
    if not 1 <= params["login_port"] <= 65535:
        return "login_port: must be 1-65535, got %d" % params["login_port"]
    if params["db"] < 0:
        return "db: must be 0 or more, got %d" % params["db"]
    if params["connect_timeout"] <= 0:
        return "connect_timeout: must be a positive number of seconds, got %s" % params["connect_timeout"]
    return None


def no_retry():
    """A Retry that never retries. redis-py 6+ retries a refused connection 3 times with exponential
    backoff by default (about 4 s against a dead port): a probe must report the truth at once."""
    try:
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:  # redis-py < 4.1: no retry object, and no retries by default
        return None
    return Retry(NoBackoff(), 0)


def client(params):
    kw = dict(host=params["login_host"], port=params["login_port"], db=params["db"],
              password=params.get("login_password") or None, username=params.get("login_user") or None,
              socket_connect_timeout=params["connect_timeout"], socket_timeout=params["connect_timeout"],
              retry_on_timeout=False)
    retry = no_retry()
    if retry is not None:
        kw["retry"] = retry
    if params.get("tls"):
        kw.update(ssl=True, ssl_cert_reqs="required" if params.get("validate_certs", True) else "none",
                  ssl_ca_certs=params.get("ca_certs"))
    return redis.Redis(**kw)


def classify_error(exc):
    """(kind, message) for a redis-py exception."""
    name = type(exc).__name__
    text = str(exc) or name
    low = text.lower()
    if name in ("AuthenticationError", "AuthenticationWrongNumberOfArgsError") or "noauth" in low or "wrongpass" in low \
            or "authentication" in low or "invalid password" in low:
        return "auth_failed", text
    if name == "TimeoutError" or "timeout" in low or "timed out" in low:
        return "timeout", text
    if name == "ConnectionError":
        return "unreachable", text
    return "error", text


def ping_stats(latencies):
    """min/median/max in ms of a list of latencies in ms."""
    if not latencies:
        return dict(min=None, median=None, max=None)
    ordered = sorted(latencies)
    n = len(ordered)
    median = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2.0
    return dict(min=round(ordered[0], 3), median=round(median, 3), max=round(ordered[-1], 3))


def classify_redis(info, ping_ms, thresholds):
    """Status and reason from an INFO subset and ping statistics (pure)."""
    reasons = []
    used, maxmem = info.get("used_memory") or 0, info.get("maxmemory") or 0
    if maxmem:
        pct = 100.0 * used / maxmem
        if pct >= thresholds["memory_degraded_pct"]:
            reasons.append("used_memory at %.0f%% of maxmemory" % pct)
    if ping_ms.get("median") is not None and ping_ms["median"] > thresholds["slow_ms"]:
        reasons.append("median ping %.1f ms above %.1f ms" % (ping_ms["median"], thresholds["slow_ms"]))
    if info.get("blocked_clients"):
        reasons.append("%d blocked client(s)" % info["blocked_clients"])
    if reasons:
        return "degraded", "; ".join(reasons)
    return "healthy", "PONG in %s ms (median), role %s, %s client(s)" % (
        ping_ms.get("median"), info.get("role"), info.get("connected_clients"))
