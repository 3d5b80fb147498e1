"""Merge the /metrics/local pages of every replica into one page.

Counters and histograms are summed per label set (the service-wide view a probe behind the load
balancer expects); gauges (process memory, ...) stay per replica with a `replica` label.
"""

from prometheus_client.parser import text_string_to_metric_families

_SUMMED = ("counter", "histogram", "summary")


def _escape(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels):
    if not labels:
        return ""
    return "{" + ",".join('%s="%s"' % (k, _escape(v)) for k, v in sorted(labels.items())) + "}"


def _fmt(value):
    if value == float("inf"):
        return "+Inf"
    if value == float("-inf"):
        return "-Inf"
    return repr(float(value))


def aggregate(pages):
    """``pages``: {replica: exposition text}. Returns one exposition text."""
    families = {}
    order = []
    for replica in sorted(pages):
        for fam in text_string_to_metric_families(pages[replica]):
            key = fam.name
            if key not in families:
                families[key] = {"type": fam.type, "doc": fam.documentation, "samples": {}, "order": []}
                order.append(key)
            entry = families[key]
            for sample in fam.samples:
                if sample.name.endswith("_created"):
                    continue
                labels = dict(sample.labels)
                if fam.type not in _SUMMED:
                    labels["replica"] = replica
                skey = (sample.name, tuple(sorted(labels.items())))
                if skey not in entry["samples"]:
                    entry["samples"][skey] = 0.0
                    entry["order"].append(skey)
                entry["samples"][skey] += sample.value
    lines = []
    for key in order:
        entry = families[key]
        if not entry["order"]:
            continue
        name = key + "_total" if entry["type"] == "counter" and not key.endswith("_total") else key
        kind = entry["type"] if entry["type"] != "unknown" else "untyped"
        lines.append("# HELP %s %s" % (name, entry["doc"].replace("\\", "\\\\").replace("\n", "\\n")))
        lines.append("# TYPE %s %s" % (name, kind))
        for skey in entry["order"]:
            sname, labels = skey
            lines.append("%s%s %s" % (sname, _labels(dict(labels)), _fmt(entry["samples"][skey])))
    return "\n".join(lines) + "\n"
