# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The redis_probe probe's work: its options, their validation and the class that probes. Shared by the
redis_probe module and the triage_probe module (which runs several probes in one invocation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.reflexion.incident.plugins.module_utils._probe import PROBE_COMMON_SPEC, resolve_timeout
from ansible_collections.reflexion.incident.plugins.module_utils._redis import (
    INFO_KEYS,
    REDIS_COMMON_SPEC,
    classify_error,
    classify_redis,
    client,
    ping_stats,
    redis,
    validate_connection_params,
)
from ansible_collections.reflexion.incident.plugins.module_utils._validate import require_finite


class RedisProbe(object):
    def __init__(self, params):
        self.p = params

    def run(self):
        p = self.p
        result = dict(changed=False, status="down", reason="", connectable=False, error=None, error_kind=None,
                      ping_ms=ping_stats([]), info={}, timeout=p["timeout"], pings_sent=0)
        # O(timeout) is the probe's total deadline: no single connect or command may wait longer than
        # it (connect_timeout bounds each one), and no ping is sent once it has passed.
        deadline = None if p["timeout"] is None else time.monotonic() + p["timeout"]
        conn_params = dict(p)
        if p["timeout"] is not None:
            conn_params["connect_timeout"] = min(p["connect_timeout"], p["timeout"])
        conn = client(conn_params)
        latencies = []
        try:
            for _dummy in range(p["pings"]):
                if deadline is not None and latencies and time.monotonic() >= deadline:
                    break
                result["pings_sent"] += 1
                start = time.perf_counter()
                conn.ping()
                latencies.append((time.perf_counter() - start) * 1000.0)
            result["connectable"] = True
            result["ping_ms"] = ping_stats(latencies)
            raw = {}
            for section in ("server", "clients", "memory", "stats", "replication"):
                raw.update(conn.info(section))
        except redis.RedisError as exc:
            kind, text = classify_error(exc)
            result.update(error=text, error_kind=kind, ping_ms=ping_stats(latencies))
            result["reason"] = ("cannot reach Redis (%s): %s" % (kind, text)) if not result["connectable"] else (
                "INFO failed: %s" % text)
            if result["connectable"]:
                result["status"] = "degraded"
            return result
        finally:
            conn.close()
        info = dict((k, raw.get(k)) for k in INFO_KEYS)
        info["used_memory_pct"] = round(100.0 * info["used_memory"] / info["maxmemory"], 2) if info.get("maxmemory") else None
        result["info"] = info
        result["status"], result["reason"] = classify_redis(info, result["ping_ms"], p)
        return result


def validate(module):
    p = module.params
    require_finite(module, argument_spec())
    resolve_timeout(module, None)
    msg = validate_connection_params(p)
    if msg:
        module.fail_json(msg=msg)
    if not 1 <= p["pings"] <= 1000:
        module.fail_json(msg="pings: must be 1-1000, got %d" % p["pings"])
    if p["slow_ms"] < 0:
        module.fail_json(msg="slow_ms: must be 0 or more, got %s" % p["slow_ms"])
    if not 0 < p["memory_degraded_pct"] <= 100:
        module.fail_json(msg="memory_degraded_pct: must be a percentage in (0, 100], got %s" % p["memory_degraded_pct"])


def argument_spec():
    """redis_probe's options, with the options every probe shares."""
    spec = dict(
        pings=dict(type="int", default=5),
        slow_ms=dict(type="float", default=50.0),
        memory_degraded_pct=dict(type="float", default=90.0),
    )
    spec.update(REDIS_COMMON_SPEC)
    spec.update(PROBE_COMMON_SPEC)
    return spec
