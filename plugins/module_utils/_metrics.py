# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""Pure logic of metrics_probe: filter parsed Prometheus samples, rates from two scrapes, p95."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math


def parse_text(text, parser=None):
    """Samples of a Prometheus text exposition, with prometheus_client's parser.

    ``parser`` is ``prometheus_client.parser.text_string_to_metric_families`` (the module imports
    it, guarded). Returns a list of ``{"name", "labels", "value", "type"}``; ValueError on bad text.
    """
    if parser is None:
        from prometheus_client.parser import text_string_to_metric_families as parser

    out = []
    for family in parser(text):
        for s in family.samples:
            out.append({"name": s.name, "labels": dict(s.labels), "value": float(s.value), "type": family.type})
    return out


def select(samples, prefix=None, regex=None, labels=None):
    """Samples whose name starts with ``prefix``, matches ``regex`` (compiled) and has ``labels``."""
    labels = labels or {}
    out = []
    for s in samples:
        if prefix and not s["name"].startswith(prefix):
            continue
        if regex is not None and not regex.search(s["name"]):
            continue
        if any(s["labels"].get(k) != str(v) for k, v in labels.items()):
            continue
        out.append(s)
    return out


def _sum(samples, name, pred=None):
    return sum(s["value"] for s in samples if s["name"] == name and (pred is None or pred(s["labels"])))


def _is_5xx(value):
    value = str(value)
    return value.startswith("5") or value.lower() in ("5xx", "server_error")


def histogram_quantile(q, buckets):
    """Prometheus' histogram_quantile over ``[(le, cumulative count), ...]``; None without data."""
    buckets = sorted(buckets, key=lambda b: b[0])
    if not buckets or buckets[-1][0] != math.inf:
        return None
    total = buckets[-1][1]
    if total <= 0:
        return None
    rank = q * total
    prev_le, prev_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == math.inf:
                return prev_le  # as Prometheus: the highest finite bound
            if count == prev_count:
                return le
            return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count)
        prev_le, prev_count = le, count
    return None


def _buckets(samples, hist, labels):
    out = {}
    for s in samples:
        if s["name"] != hist + "_bucket":
            continue
        if any(s["labels"].get(k) != str(v) for k, v in labels.items()):
            continue
        le = float(s["labels"].get("le", "nan"))
        out[le] = out.get(le, 0.0) + s["value"]
    return out


def rates(first, second, interval, requests_metric, status_label, histogram, labels=None):
    """Requests/s, 5xx ratio and p95 latency between two scrapes ``interval`` seconds apart.

    Counter resets (a restarted replica) are handled as Prometheus does: a decrease means the
    counter restarted from zero, so the new value is the increase.
    """
    labels = labels or {}

    def match(lbls):
        return all(lbls.get(k) == str(v) for k, v in labels.items())

    def increase(name, pred=None):
        a = {}
        for s in first:
            if s["name"] == name and match(s["labels"]) and (pred is None or pred(s["labels"])):
                a[tuple(sorted(s["labels"].items()))] = s["value"]
        total = 0.0
        for s in second:
            if s["name"] == name and match(s["labels"]) and (pred is None or pred(s["labels"])):
                before = a.get(tuple(sorted(s["labels"].items())), 0.0)
                total += s["value"] - before if s["value"] >= before else s["value"]
        return total

    name = requests_metric
    if name.endswith("_total"):
        base = name
    else:
        base = name + "_total"
    reqs = increase(base)
    errs = increase(base, lambda lb: _is_5xx(lb.get(status_label, "")))
    b1 = _buckets(first, histogram, labels)
    b2 = _buckets(second, histogram, labels)
    delta = [(le, max(0.0, b2[le] - b1.get(le, 0.0))) for le in b2]
    p95 = histogram_quantile(0.95, delta) if delta else None
    return {
        "requests_per_s": round(reqs / interval, 4) if interval > 0 else None,
        "error_ratio": round(errs / reqs, 4) if reqs > 0 else 0.0,
        "p95_latency_s": round(p95, 4) if p95 is not None else None,
        "requests": reqs,
        "errors_5xx": errs,
        "sample_interval": interval,
    }


def classify(rates_, error_ratio_degraded, error_ratio_down, p95_slow_s):
    """(status, reason) from computed rates."""
    if rates_ is None:
        return "healthy", "scraped"
    ratio = rates_.get("error_ratio") or 0.0
    p95 = rates_.get("p95_latency_s")
    if ratio >= error_ratio_down:
        return "down", "5xx ratio %.1f%% >= %.1f%%" % (ratio * 100, error_ratio_down * 100)
    if ratio >= error_ratio_degraded:
        return "degraded", "5xx ratio %.1f%% >= %.1f%%" % (ratio * 100, error_ratio_degraded * 100)
    if p95 is not None and p95 >= p95_slow_s:
        return "degraded", "p95 latency %.3fs >= %.3fs" % (p95, p95_slow_s)
    return "healthy", "%.2f req/s, 5xx ratio %.1f%%, p95 %s" % (
        rates_.get("requests_per_s") or 0.0, ratio * 100, "%.3fs" % p95 if p95 is not None else "n/a")
