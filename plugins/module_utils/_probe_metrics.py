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
import math
import re
import threading
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
from ansible_collections.reflexion.incident.plugins.module_utils._thresholds import ERROR_RATIO, ERROR_RATIO_DOWN, P95_LATENCY_S
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

# PromQL durations the rates from Prometheus accept for rate_window (one number and one unit, as the alert rules write them)
WINDOW_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
WINDOW_RE = re.compile(r"^([0-9]+)(ms|s|m|h|d|w)$")
# label matchers of prometheus_selector: name, operator, double-quoted value (no braces, no newlines)
MATCHER_RE = re.compile(r'\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\\n]|\\.)*"\s*')
METRIC_NAME_RE = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*$")
LABEL_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# the label that tells the three series of the one rates query apart
RATE_LABEL = "reflexion_rate"


def _float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def window_seconds(window):
    """Seconds of a PromQL duration such as ``1m``; ValueError when it is not one number and one unit."""
    found = WINDOW_RE.match(window or "")
    if not found or int(found.group(1)) == 0:
        raise ValueError("a PromQL duration such as 30s, 1m or 5m, got %r" % window)
    return int(found.group(1)) * WINDOW_UNITS[found.group(2)]


def check_selector(selector):
    """ValueError unless ``selector`` is empty or comma-separated label matchers (``job="reflexion", env!="dev"``)."""
    if not selector:
        return
    for part in _split_matchers(selector):
        if not MATCHER_RE.fullmatch(part):
            raise ValueError('label matchers such as job="reflexion" separated by commas, got %r' % selector)


def _split_matchers(selector):
    """Split on the commas outside double-quoted values."""
    parts, cur, quoted, escaped = [], "", False, False
    for ch in selector:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    return parts


def _quote(value):
    """A PromQL double-quoted string."""
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def rates_query(requests_metric, status_label, histogram, window, selector="", labels=None):
    """ONE PromQL expression giving the three figures of ``rates`` over ``window``, each series labelled
    ``reflexion_rate``: requests (requests/s), errors (5xx answers/s, as _metrics.rates counts them: a status
    starting with 5, or 5xx, or server_error) and p95 (histogram_quantile of the buckets' rates, summed by le)."""
    base = requests_metric if requests_metric.endswith("_total") else requests_metric + "_total"
    matchers = [m.strip() for m in _split_matchers(selector)] if selector else []
    matchers += ["%s=%s" % (k, _quote(v)) for k, v in sorted((labels or {}).items())]

    def sel(extra=()):
        every = matchers + list(extra)
        return "{%s}" % ", ".join(every) if every else ""

    parts = (
        ("requests", "sum(rate(%s%s[%s]))" % (base, sel(), window)),
        ("errors", "sum(rate(%s%s[%s]))" % (base, sel(['%s=~"(?i)5.*|server_error"' % status_label]), window)),
        ("p95", "histogram_quantile(0.95, sum by (le) (rate(%s_bucket%s[%s])))" % (histogram, sel(), window)),
    )
    return " or ".join('label_replace(%s, "%s", "%s", "", "")' % (expr, RATE_LABEL, name) for name, expr in parts)


def parse_rates_answer(doc, window_s):
    """``rates`` (the shape _metrics.rates returns) from the Prometheus answer to rates_query; ValueError
    (the reason) when the answer is an error or holds no request rate (Prometheus does not scrape the service)."""
    if not isinstance(doc, dict) or doc.get("status") != "success":
        raise ValueError("query failed: %s" % (doc.get("error") if isinstance(doc, dict) else "answer is not JSON"))
    data = doc.get("data") or {}
    if data.get("resultType") != "vector" or not isinstance(data.get("result"), list):
        raise ValueError("unexpected answer (resultType %r)" % data.get("resultType"))
    found = {}
    for item in data["result"]:
        if isinstance(item, dict):
            value = _float((item.get("value") or [None, None])[1])
            name = (item.get("metric") or {}).get(RATE_LABEL)
            if name and value is not None and not math.isnan(value) and not math.isinf(value):
                found[name] = value
    if "requests" not in found:
        raise ValueError("no request rate in Prometheus (does it scrape this service with the selector given?)")
    reqs, errs, p95 = found["requests"], found.get("errors", 0.0), found.get("p95")
    return {
        "requests_per_s": round(reqs, 4),
        "error_ratio": round(errs / reqs, 4) if reqs > 0 else 0.0,
        "p95_latency_s": round(p95, 4) if p95 is not None else None,
        "requests": round(reqs * window_s, 3),
        "errors_5xx": round(errs * window_s, 3),
        "sample_interval": float(window_s),
    }


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

    def prometheus_rates(self, answer):
        """Rates over rate_window from prometheus_url into ``answer`` (``rates`` or ``error``); run on a thread."""
        p = self.p
        query = rates_query(p["requests_metric"], p["status_label"], p["latency_histogram"], p["rate_window"],
                            p["prometheus_selector"], p["labels"])
        url = p["prometheus_url"].rstrip("/") + "/api/v1/query?" + urlencode({"query": query})
        try:
            _code, _h, data, _t = timed_request(url, timeout=answer["deadline"], validate_certs=p["validate_certs"],
                                                max_body=MAX_BODY)
            try:
                doc = json.loads(data.decode("utf-8", "replace"))
            except ValueError:
                doc = None
            answer["rates"] = parse_rates_answer(doc, window_seconds(p["rate_window"]))
        except (HttpProbeError, ValueError) as exc:
            answer["error"] = str(exc)

    def ask_prometheus(self):
        """Start prometheus_rates on a thread, with its deadline: the sample interval (so that a Prometheus that is
        down or slow costs no more than the two scrapes it replaces), at most the request timeout."""
        p = self.p
        deadline = min(p["timeout"], p["sample_interval"]) if p["sample_interval"] > 0 else p["timeout"]
        answer = {"deadline": deadline, "started": time.monotonic()}
        thread = threading.Thread(target=self.prometheus_rates, args=(answer,))
        thread.daemon = True
        thread.start()
        answer["thread"] = thread
        return answer

    @staticmethod
    def prometheus_answer(answer):
        """(rates, None) when Prometheus answered in time, else (None, why)."""
        answer["thread"].join(max(0.0, answer["started"] + answer["deadline"] + 0.5 - time.monotonic()))
        if answer.get("rates") is not None:
            return answer["rates"], None
        return None, "Prometheus: %s" % answer.get("error", "no answer within %gs" % answer["deadline"])

    def run_scrapes(self):
        p = self.p
        # rates from Prometheus (prometheus_url without query): asked at the same time as the first scrape; the
        # second scrape is taken only when Prometheus gave no rates (down, slow, an error, no series)
        answer = self.ask_prometheus() if p["prometheus_url"] else None
        first = fan_out(self.scrape, p["urls"], p["max_workers"])
        started = time.monotonic()
        last = first
        interval = p["sample_interval"]
        prom_rates, prom_error = self.prometheus_answer(answer) if answer else (None, None)
        if prom_rates is not None:
            result = self.summarize(first, first, 0, prom_rates)
            result.update(source="prometheus", prometheus_error=None, rate_window=p["rate_window"],
                          reason="%s (rates from Prometheus over %s)" % (result["reason"], p["rate_window"]))
            return result
        if interval > 0:
            time.sleep(max(0.0, started + interval - time.monotonic()))
            last = fan_out(self.scrape, p["urls"], p["max_workers"])
            interval = round(time.monotonic() - started, 3)
        result = self.summarize(first, last, interval, None)
        result.update(source="scrape", prometheus_error=prom_error, rate_window=None)
        if prom_error:
            result["reason"] = "%s (%s; %s)" % (result["reason"], prom_error,
                                                "fell back to two scrapes" if interval > 0 else "no rates")
        return result

    def summarize(self, first, last, interval, agg):
        """The probe's result from the scrapes (``first`` and ``last``, ``interval`` seconds apart when above 0) and,
        when Prometheus gave them, its rates ``agg``."""
        p = self.p
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
            if interval > 0 and a["samples"] is not None and b["samples"] is not None:
                t["rates"] = rates(a["samples"], b["samples"], interval, p["requests_metric"], p["status_label"],
                                   p["latency_histogram"], p["labels"])
                all1.extend(a["samples"])
                all2.extend(b["samples"])
            targets.append(t)
        if interval > 0 and all2:
            agg = self._aggregate([t for t in targets if t["rates"]], first, last, interval)
        down = [t for t in targets if t["status"] != "healthy"]
        status, reason = classify(agg, p["error_ratio_degraded"], p["error_ratio_down"], p["p95_slow_s"])
        if down:
            status = worst_status([status, "degraded" if len(down) < len(targets) else "down"])
            reason = "; ".join("%s: %s" % (t["target"], t["reason"]) for t in down) + (
                "" if len(down) == len(targets) else "; " + reason)
        return dict(changed=False, status=status, reason=reason, rates=agg, sample_interval=interval,
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
                    targets=[], query_result=None, source="query", prometheus_error=None, rate_window=None)
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
    if p["query"] and not p["prometheus_url"]:
        module.fail_json(msg="prometheus_url: query needs it (the Prometheus server that runs the PromQL query)")
    if not p["query"] and not p["urls"]:
        module.fail_json(msg="urls: give at least one metrics URL (or prometheus_url and query)")
    if p["prometheus_url"] and not p["query"]:
        validate_rates_from_prometheus(module)
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


def validate_rates_from_prometheus(module):
    """The options that go into the rates query (prometheus_url without query): a window, matchers, names."""
    p = module.params
    try:
        window_seconds(p["rate_window"])
    except ValueError as exc:
        module.fail_json(msg="rate_window: %s" % exc)
    try:
        check_selector(p["prometheus_selector"])
    except ValueError as exc:
        module.fail_json(msg="prometheus_selector: %s" % exc)
    for name in ("requests_metric", "latency_histogram"):
        if not METRIC_NAME_RE.match(p[name]):
            module.fail_json(msg="%s: not a Prometheus metric name: %r" % (name, p[name]))
    for name in [p["status_label"]] + list(p["labels"]):
        if not LABEL_NAME_RE.match(name):
            module.fail_json(msg="%s: not a Prometheus label name: %r" % (
                "status_label" if name == p["status_label"] else "labels", name))


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
        error_ratio_degraded=dict(type="float", default=ERROR_RATIO),
        error_ratio_down=dict(type="float", default=ERROR_RATIO_DOWN),
        p95_slow_s=dict(type="float", default=P95_LATENCY_S),
        max_metrics=dict(type="int", default=500),
        prometheus_url=dict(type="str"),
        query=dict(type="str"),
        rate_window=dict(type="str", default="1m"),
        prometheus_selector=dict(type="str", default=""),
    )
    spec.update(PROBE_COMMON_SPEC)
    return spec
