# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The metrics_probe probe's work: its options, their validation and the class that probes. Shared by the
metrics_probe module and the triage_probe module (which runs several probes in one invocation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.reflexion.incident.plugins.module_utils._http import (
    HttpProbeError,
    parse_url,
    timed_request,
)
from ansible_collections.reflexion.incident.plugins.module_utils._metrics import classify, parse_text, rates, select
from ansible_collections.reflexion.incident.plugins.module_utils._probe import (
    PROBE_COMMON_SPEC,
    fan_out,
    resolve_timeout,
    worst_status,
)
from ansible_collections.reflexion.incident.plugins.module_utils._validate import require_finite

# timeout when the option is not set (seconds)
DEFAULT_TIMEOUT = 5.0

try:
    from urllib.parse import urlencode
except ImportError:  # pragma: no cover
    from urllib import urlencode  # type: ignore

try:
    from prometheus_client.parser import text_string_to_metric_families
    HAS_PROM = True
    PROM_ERR = None
except ImportError as exc:  # pragma: no cover - depends on the target
    HAS_PROM = False
    PROM_ERR = exc
    text_string_to_metric_families = None

MAX_BODY = 64 << 20


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class MetricsProbe(object):
    def __init__(self, params):
        self.p = params
        self.regex = re.compile(params["name_regex"]) if params["name_regex"] else None

    def scrape(self, url):
        p = self.p
        try:
            code, _h, data, timings = timed_request(url, timeout=p["timeout"], validate_certs=p["validate_certs"],
                                                    headers={"Accept": "text/plain"}, max_body=MAX_BODY)
        except HttpProbeError as exc:
            return {"target": url, "status": "down", "reason": str(exc), "status_code": None, "samples": None}
        if code != 200:
            return {"target": url, "status": "down", "reason": "HTTP %d" % code, "status_code": code, "samples": None}
        try:
            samples = parse_text(data.decode("utf-8", "replace"), text_string_to_metric_families)
        except Exception as exc:  # noqa: BLE001 - the parser raises several types on bad input
            return {"target": url, "status": "down", "reason": "not Prometheus text format: %s" % exc,
                    "status_code": code, "samples": None}
        return {"target": url, "status": "healthy", "reason": "%d samples" % len(samples), "status_code": code,
                "samples": samples, "total_ms": timings["total"]}

    def run_scrapes(self):
        p = self.p
        first = fan_out(self.scrape, p["urls"], p["max_workers"])
        last = first
        interval = p["sample_interval"]
        if interval > 0:
            started = time.monotonic()
            time.sleep(interval)
            last = fan_out(self.scrape, p["urls"], p["max_workers"])
            interval = round(time.monotonic() - started, 3)
        targets, metrics, all1, all2 = [], [], [], []
        for a, b in zip(first, last):
            t = {"target": b["target"], "status": worst_status([a["status"], b["status"]]),
                 "reason": b["reason"] if b["status"] != "healthy" else a["reason"],
                 "status_code": b["status_code"], "samples": len(b["samples"]) if b["samples"] is not None else None,
                 "rates": None}
            if b["samples"] is not None:
                for s in select(b["samples"], p["prefix"], self.regex, p["labels"]):
                    s = dict(s)
                    s["target"] = b["target"]
                    metrics.append(s)
            if p["sample_interval"] > 0 and a["samples"] is not None and b["samples"] is not None:
                t["rates"] = rates(a["samples"], b["samples"], interval, p["requests_metric"], p["status_label"],
                                   p["latency_histogram"], p["labels"])
                all1.extend(a["samples"])
                all2.extend(b["samples"])
            targets.append(t)
        agg = None
        if p["sample_interval"] > 0:
            if all2:
                agg = self._aggregate([t for t in targets if t["rates"]], first, last, interval)
            else:
                agg = None
        down = [t for t in targets if t["status"] != "healthy"]
        status, reason = classify(agg, p["error_ratio_degraded"], p["error_ratio_down"], p["p95_slow_s"])
        if down:
            status = worst_status([status, "degraded" if len(down) < len(targets) else "down"])
            reason = "; ".join("%s: %s" % (t["target"], t["reason"]) for t in down) + (
                "" if len(down) == len(targets) else "; " + reason)
        return dict(changed=False, status=status, reason=reason, rates=agg, sample_interval=p["sample_interval"] and interval,
                    metrics=metrics[:p["max_metrics"]], metrics_truncated=len(metrics) > p["max_metrics"],
                    targets=targets, query_result=None)

    def _aggregate(self, good, first, last, interval):
        p = self.p
        # Sum over targets: tag every sample with its target so counters are matched per replica.
        a, b = [], []
        for t1, t2 in zip(first, last):
            if t1["samples"] is None or t2["samples"] is None:
                continue
            for s in t1["samples"]:
                a.append(dict(s, labels=dict(s["labels"], __target__=t1["target"])))
            for s in t2["samples"]:
                b.append(dict(s, labels=dict(s["labels"], __target__=t2["target"])))
        return rates(a, b, interval, p["requests_metric"], p["status_label"], p["latency_histogram"], p["labels"])

    def run_query(self):
        p = self.p
        url = p["prometheus_url"].rstrip("/") + "/api/v1/query?" + urlencode({"query": p["query"]})
        base = dict(changed=False, rates=None, sample_interval=0.0, metrics=[], metrics_truncated=False,
                    targets=[], query_result=None)
        try:
            code, _h, data, _t = timed_request(url, timeout=p["timeout"], validate_certs=p["validate_certs"],
                                               max_body=MAX_BODY)
        except HttpProbeError as exc:
            base.update(status="down", reason="Prometheus: %s" % exc)
            return base
        try:
            doc = json.loads(data.decode("utf-8", "replace"))
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or doc.get("status") != "success":
            err = doc.get("error") if isinstance(doc, dict) else "answer is not JSON"
            base.update(status="down", reason="Prometheus query failed (HTTP %d): %s" % (code, err))
            return base
        data = doc.get("data") or {}
        result = data.get("result")
        metrics = []
        if data.get("resultType") in ("scalar", "string") and isinstance(result, list) and len(result) == 2:
            metrics.append({"name": None, "labels": {}, "value": _float(result[1])})
        elif isinstance(result, list):
            for item in result:
                if not isinstance(item, dict):
                    continue
                labels = dict(item.get("metric") or {})
                value = (item.get("value") or [None, None])[1]
                metrics.append({"name": labels.pop("__name__", None), "labels": labels, "value": _float(value)})
        base.update(status="healthy", reason="query returned %d series" % len(metrics),
                    metrics=metrics[:p["max_metrics"]], metrics_truncated=len(metrics) > p["max_metrics"],
                    query_result=result)
        return base

    def run(self):
        if self.p["query"]:
            return self.run_query()
        return self.run_scrapes()


def validate(module):
    p = module.params
    require_finite(module, argument_spec())
    resolve_timeout(module, DEFAULT_TIMEOUT)
    if bool(p["prometheus_url"]) != bool(p["query"]):
        module.fail_json(msg="prometheus_url and query: give both to run a PromQL query, or neither to scrape urls")
    if not p["query"] and not p["urls"]:
        module.fail_json(msg="urls: give at least one metrics URL (or prometheus_url and query)")
    for url in p["urls"] + ([p["prometheus_url"]] if p["prometheus_url"] else []):
        try:
            parse_url(url)
        except ValueError as exc:
            module.fail_json(msg="%s: %s" % ("prometheus_url" if url == p["prometheus_url"] else "urls", exc))
    if p["timeout"] <= 0:
        module.fail_json(msg="timeout: must be a positive number, got %s" % p["timeout"])
    if p["sample_interval"] < 0 or p["sample_interval"] > 3600:
        module.fail_json(msg="sample_interval: must be between 0 and 3600 seconds, got %s" % p["sample_interval"])
    for name in ("error_ratio_degraded", "error_ratio_down"):
        if not 0 < p[name] <= 1:
            module.fail_json(msg="%s: must be in (0, 1], got %s" % (name, p[name]))
    if p["max_metrics"] < 0:
        module.fail_json(msg="max_metrics: must be 0 or more, got %d" % p["max_metrics"])
    if p["max_workers"] < 1:
        module.fail_json(msg="max_workers: must be 1 or more, got %d" % p["max_workers"])
    if p["name_regex"]:
        try:
            re.compile(p["name_regex"])
        except re.error as exc:
            module.fail_json(msg="name_regex: %r is not a valid regular expression: %s" % (p["name_regex"], exc))
    if p["urls"] and not p["query"] and not HAS_PROM:
        module.fail_json(msg=missing_required_lib("prometheus_client"), exception=str(PROM_ERR))


def argument_spec():
    """metrics_probe's options, with the options every probe shares."""
    spec = dict(
        urls=dict(type="list", elements="str", default=[], aliases=["url"]),
        prefix=dict(type="str", default="reflexion_"),
        name_regex=dict(type="str"),
        labels=dict(type="dict", default={}),
        sample_interval=dict(type="float", default=0.0),
        requests_metric=dict(type="str", default="reflexion_requests_total"),
        status_label=dict(type="str", default="status"),
        latency_histogram=dict(type="str", default="reflexion_request_duration_seconds"),
        error_ratio_degraded=dict(type="float", default=0.05),
        error_ratio_down=dict(type="float", default=0.5),
        p95_slow_s=dict(type="float", default=2.0),
        max_metrics=dict(type="int", default=500),
        prometheus_url=dict(type="str"),
        query=dict(type="str"),
    )
    spec.update(PROBE_COMMON_SPEC)
    return spec
