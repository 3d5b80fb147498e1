"""Bad-input cases added by issue #21, area: page (reflexion.incident.incident_page, reflexion.incident.verify_wait,
the communicate role's final lines). Same shapes as matrix.py's MODULES and ROLES: each case fails with a message
naming the option, no traceback, nothing written."""

_PAGE = {"dir": "{tmp}/incidents", "id": "incident-2026-01-01-000000"}
_WAIT = {"health_url": "http://127.0.0.1:9/health", "metrics_url": "http://127.0.0.1:9/metrics"}


def _page(**more):
    args = dict(_PAGE)
    args.update(more)
    return args


def _wait(**more):
    args = dict(_WAIT)
    args.update(more)
    return args


MODULES = {
    "page-id-traversal": ("incident_page", _page(id="../../etc"), "id"),
    "page-id-trailing-newline": ("incident_page", _page(id="incident-2026-01-01-000000\n"), "id"),
    "page-metrics-bad-name": ("incident_page", _page(metrics={"Error Ratio": 0.1}), "metrics"),
    "page-metrics-html-name": ("incident_page", _page(metrics={"<script>": 0.1}), "metrics"),
    "page-metrics-not-number": ("incident_page", _page(metrics={"error_ratio": "high"}), "metrics"),
    "page-metrics-nan": ("incident_page", _page(metrics={"error_ratio": "nan"}), "metrics"),
    "page-metrics-too-many": ("incident_page", _page(metrics={"s%02d" % i: i for i in range(21)}), "metrics"),
    "page-host-markup": ("incident_page", _page(host="<b>app</b>"), "host"),
    "page-at-not-iso": ("incident_page", _page(at="yesterday"), "at"),
    "page-incident-missing": ("incident_page", _page(id="incident-2001-01-01-000000"), "id"),
    "wait-timeout-zero": ("verify_wait", _wait(timeout=0), "timeout"),
    "wait-delay-negative": ("verify_wait", _wait(delay=-1), "delay"),
    "wait-ratio-above-one": ("verify_wait", _wait(max_error_ratio=1.5), "max_error_ratio"),
    "wait-sample-interval-zero": ("verify_wait", _wait(sample_interval=0), "sample_interval"),
    "wait-health-url-missing": ("verify_wait", {"metrics_url": "http://127.0.0.1:9/metrics"}, "health_url"),
}

ROLES = {
    "page-final-id-traversal": (
        "communicate",
        "final",
        {"communicate_final_incident_id": "../../outside"},
        "communicate_final_incident_id",
    ),
    "page-final-id-newline": (
        "communicate",
        "final",
        {"communicate_final_incident_id": "incident-2026-01-01-000000\n"},
        "communicate_final_incident_id",
    ),
}
