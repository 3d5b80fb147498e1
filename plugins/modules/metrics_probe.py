#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: metrics_probe
short_description: Scrape Prometheus metrics, filter them, and compute request rate, 5xx ratio and p95
version_added: 0.1.0
description:
  - The runbook's C(curl http://localhost:8000/metrics | grep reflexion_) as a read-only probe.
  - Parses the Prometheus text format with prometheus_client's parser and filters samples by name
    prefix, name regex and labels.
  - With O(sample_interval) it scrapes every target twice and returns rates over the interval,
    requests/s, the 5xx ratio and the p95 latency from the histogram buckets, summed over all targets.
  - With O(prometheus_url) and O(query) it runs a PromQL instant query through the Prometheus HTTP
    API instead of scraping.
  - With O(prometheus_url) and without O(query) it reads the rates that Prometheus has already computed over
    O(rate_window) (requests/s, the 5xx ratio, the p95 of the histogram) instead of scraping twice, and scrapes
    O(urls) once for the targets' status and samples. When Prometheus does not give them in time (down, slow, an
    error, no series of O(requests_metric)), it falls back to the two scrapes O(sample_interval) apart; the
    first scrape is taken while it waits, so the fallback takes no longer than the two scrapes alone.
    RV(source) tells which path gave the rates.
  - Proxies are not used; the probe measures the direct path to the service.
author:
  - Reflexion SRE team (@reflexion)
extends_documentation_fragment:
  - reflexion.incident.probe
requirements:
  - prometheus_client (Python library, on the target) for scraping
options:
  urls:
    description:
      - Metrics endpoints to scrape, for example V(http://localhost:8000/metrics).
      - Required unless O(prometheus_url) and O(query) are given.
    type: list
    elements: str
    default: []
    aliases: [url]
  prefix:
    description: Keep only samples whose name starts with this.
    type: str
    default: reflexion_
  name_regex:
    description: Keep only samples whose name matches this regular expression.
    type: str
  labels:
    description:
      - Keep only samples with these label values; also restricts the rates.
    type: dict
    default: {}
  sample_interval:
    description:
      - Seconds between two scrapes; above 0 the probe returns RV(rates). V(0) scrapes once.
    type: float
    default: 0.0
  requests_metric:
    description: Counter of answered requests, labelled with the HTTP status.
    type: str
    default: reflexion_requests_total
  status_label:
    description: The label of O(requests_metric) that holds the HTTP status code.
    type: str
    default: status
  latency_histogram:
    description: Histogram of request durations in seconds (without the C(_bucket) suffix).
    type: str
    default: reflexion_request_duration_seconds
  error_ratio_degraded:
    description: A 5xx ratio at or above this makes RV(status) V(degraded).
    type: float
    default: 0.05
  error_ratio_down:
    description: A 5xx ratio at or above this makes RV(status) V(down).
    type: float
    default: 0.5
  p95_slow_s:
    description: A p95 latency at or above this many seconds makes RV(status) V(degraded).
    type: float
    default: 2.0
  max_metrics:
    description: At most this many samples are returned in RV(metrics).
    type: int
    default: 500
  prometheus_url:
    description:
      - Base URL of a Prometheus server, for example V(http://127.0.0.1:9090).
      - With O(query), the server that runs it.
      - Without O(query), the Prometheus that scrapes the service. RV(rates) come from it (over O(rate_window),
        matching O(prometheus_selector) and O(labels)), with the two scrapes of O(urls) as the fallback.
      - It is given at most O(sample_interval) seconds (at most O(timeout); O(timeout) when O(sample_interval) is
        V(0)) to answer.
    type: str
  query:
    description: A PromQL instant query run against O(prometheus_url).
    type: str
  rate_window:
    description:
      - The PromQL range of the rates read from O(prometheus_url) (without O(query)), one number and one unit, for
        example V(30s), V(1m) or V(5m).
      - Use the window of the alert rule that started the triage, so that the ratio is the one the alert saw
        (the collection's rules use V(1m)).
    type: str
    default: 1m
  prometheus_selector:
    description:
      - Label matchers added to every series of the rates read from O(prometheus_url), comma-separated, for
        example V(job="reflexion") when Prometheus also scrapes other copies of the same metrics (a load
        balancer's merged page).
      - Ignored by the scrapes of O(urls) (the exposition has no C(job) label); restrict both with O(labels).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Check key metrics (runbook, Post-Incident Monitoring)
  reflexion.incident.metrics_probe:
    url: http://localhost:8000/metrics
    sample_interval: 5
  register: metrics

- name: Rates Prometheus already computed over the alert's window (no wait); two scrapes if it does not answer
  reflexion.incident.metrics_probe:
    url: http://localhost:8000/metrics
    sample_interval: 3
    prometheus_url: http://127.0.0.1:9090
    prometheus_selector: job="reflexion"
    rate_window: 1m
  register: metrics

- name: Error rate from Prometheus
  reflexion.incident.metrics_probe:
    prometheus_url: http://127.0.0.1:9090
    query: sum(rate(reflexion_requests_total{status=~"5.."}[5m])) / sum(rate(reflexion_requests_total[5m]))
"""

RETURN = r"""
status:
  description: V(healthy), V(degraded) or V(down).
  returned: always
  type: str
reason:
  description: Why, in one line.
  returned: always
  type: str
rates:
  description:
    - With O(sample_interval), rates over the interval summed over all targets; read from O(prometheus_url) over
      O(rate_window) when RV(source) is V(prometheus); else null.
  returned: always
  type: dict
  contains:
    requests_per_s:
      description: Requests answered per second.
      type: float
    error_ratio:
      description: 5xx answers divided by all answers (0 when there were none).
      type: float
    p95_latency_s:
      description: 95th percentile latency from the histogram buckets, null without requests.
      type: float
    requests:
      description: Requests in the interval.
      type: float
    errors_5xx:
      description: 5xx answers in the interval.
      type: float
    sample_interval:
      description: The interval in seconds (the seconds of O(rate_window) for rates read from Prometheus).
      type: float
sample_interval:
  description: The interval used, in seconds (0 for a single scrape).
  returned: always
  type: float
metrics:
  description: The selected samples (of the last scrape, or the query result), at most O(max_metrics).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "reflexion_requests_total", "labels": {"status": "200"}, "value": 1234.0, "target": "http://x/metrics"}]
metrics_truncated:
  description: True when more samples matched than O(max_metrics).
  returned: always
  type: bool
targets:
  description: One result per scraped URL.
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The URL.
      type: str
    status:
      description: V(healthy) when it could be scraped and parsed, else V(down).
      type: str
    reason:
      description: Why.
      type: str
    status_code:
      description: HTTP status of the scrape.
      type: int
    samples:
      description: Samples parsed from the last scrape (before filtering).
      type: int
    rates:
      description: This target's rates (with O(sample_interval)).
      type: dict
query_result:
  description: The raw PromQL result (C(data.result)) with O(query), else null.
  returned: always
  type: raw
source:
  description:
    - Where RV(rates) come from. V(prometheus) - read from O(prometheus_url) over O(rate_window);
      V(scrape) - the scrapes of O(urls) (two with O(sample_interval), else one and no rates);
      V(query) - O(query) ran, no rates.
  returned: always
  type: str
  sample: prometheus
prometheus_error:
  description: Why the rates did not come from O(prometheus_url) although it was given without O(query), else null.
  returned: always
  type: str
  sample: "Prometheus: connect: [Errno 111] Connection refused"
rate_window:
  description: O(rate_window) when RV(source) is V(prometheus), else null.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._probe import finish
from ansible_collections.reflexion.incident.plugins.module_utils._probe_metrics import MetricsProbe, argument_spec, validate
from ansible_collections.reflexion.incident.plugins.module_utils._redact import register_secrets, url_passwords


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    register_secrets(module, url_passwords(module.params))  # a URL's password never shows, not even in a failure
    validate(module)
    result = MetricsProbe(module.params).run()
    finish(module, result)


if __name__ == "__main__":
    main()
