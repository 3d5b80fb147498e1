"""Bad-input cases added by issue #18, area: fleet (the incident module's per-host map, the alert's host).

Same shapes as matrix.py's MODULES and ROLES. Each case fails before anything is written, with a message naming
the option.
"""

_OPEN = {"dir": "{tmp}/incidents", "event": "open", "severity": "P1", "text": "fleet"}


def _hosts(value):
    return ("incident", dict(_OPEN, hosts=value), "hosts")


MODULES = {
    "fleet-incident-hosts-not-mapping": _hosts("host1"),
    "fleet-incident-hosts-entry-not-mapping": _hosts({"host1": "P1"}),
    "fleet-incident-hosts-bad-severity": _hosts({"host1": {"severity": "P9", "status": "down"}}),
    "fleet-incident-hosts-severity-word": _hosts({"host1": {"severity": "critical"}}),
    "fleet-incident-hosts-bad-name": _hosts({"host1; rm -rf /": {"severity": "P1"}}),
    "fleet-incident-hosts-too-many": _hosts({"h%d" % i: {"severity": "P3"} for i in range(1001)}),
}

ROLES = {
    # an alert acts on the host it names: an instance that maps to no host of the play refuses
    "fleet-alert-unknown-instance": ("alert_check", None, {"reflexion_alert_instance": "app-9.example.com:8000"},
                                     "reflexion_alert_instance"),
    "fleet-alert-unknown-address": ("alert_check", None, {"reflexion_alert_instance": "10.9.9.9:9100"},
                                    "reflexion_alert_instance"),
}
