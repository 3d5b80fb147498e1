# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""triage_probe's work: several probes, each validated against its own module's options, run at once.

Every probe module keeps its options, validation and probe class in ``_probe_<name>.py``; this file
only validates each probe's sub-dictionary against that spec (with ArgumentSpecValidator, so defaults,
types, choices, environment fallbacks and no_log behave as in the probe's own module) and runs the
probes on threads: the batch takes as long as its slowest probe, not the sum of them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.reflexion.incident.plugins.module_utils import (
    _probe_containers,
    _probe_deploys,
    _probe_disk,
    _probe_health,
    _probe_llm,
    _probe_logs,
    _probe_memory,
    _probe_metrics,
    _probe_pg,
    _probe_redis,
)
from ansible_collections.reflexion.incident.plugins.module_utils._postgres import ensure_psycopg2
from ansible_collections.reflexion.incident.plugins.module_utils._probe import INHERITED_OPTIONS, ms_since, worst_status
from ansible_collections.reflexion.incident.plugins.module_utils._redact import url_passwords
from ansible_collections.reflexion.incident.plugins.module_utils._redis import ensure_redis


class BadProbeInputError(Exception):
    """A probe's options are invalid (the message names the probe and the option)."""


class MissingLibraryError(Exception):
    """A probe's Python library is not installed on the host."""


class _SubModule(object):
    """What a probe's validate() needs from AnsibleModule: params, and a fail_json that raises."""

    def __init__(self, name, params):
        self.name = name
        self.params = params

    def fail_json(self, msg, **kwargs):
        if "exception" in kwargs and str(msg).startswith("Failed to import"):
            raise MissingLibraryError(str(msg).split(".", 1)[0])
        raise BadProbeInputError("%s: %s" % (self.name, msg))


# option name -> (the module it stands for, its options module, its class, its library check),
# in the runbook's order
PROBES = (
    ("health", "health_probe", _probe_health, "HealthProbe", None),
    ("metrics", "metrics_probe", _probe_metrics, "MetricsProbe", None),
    ("logs", "log_grep", _probe_logs, "LogGrep", None),
    ("pg", "pg_activity_probe", _probe_pg, "PgActivityProbe", ensure_psycopg2),
    ("redis", "redis_probe", _probe_redis, "RedisProbe", ensure_redis),
    ("memory", "memory_probe", _probe_memory, "MemoryProbe", None),
    ("llm", "llm_api_probe", _probe_llm, "LlmApiProbe", None),
    ("disk", "disk_probe", _probe_disk, "DiskProbe", None),
    ("containers", "container_probe", _probe_containers, "ContainerProbe", None),
    ("deploys", "deploy_probe", _probe_deploys, "DeployProbe", None),
)
PROBE_NAMES = tuple(p[0] for p in PROBES)

# Options that make no sense inside a batch: the batch has its own fail_on_unhealthy, and log_grep
# must not fork worker processes from a process that runs threads.
FORCED = {"logs": {"workers": 1}}


def secrets_of(spec, params):
    """The values of the no_log options of ``spec`` in ``params`` (suboptions included)."""
    found = set()
    if not isinstance(params, dict):
        return found
    for name, opt in spec.items():
        # the option under its name or, in options not validated yet, any of its aliases
        values = [params.get(key) for key in [name] + list(opt.get("aliases") or ())]
        for value in values:
            if value is not None:
                found |= _option_secrets(opt, value)
    return found


def _option_secrets(opt, value):
    """The secrets in one option's value: all of it when the option is no_log, else its no_log suboptions."""
    found = set()
    if opt.get("no_log"):
        if isinstance(value, dict):
            found.update(str(v) for v in value.values() if v not in (None, ""))
        elif isinstance(value, (list, tuple)):
            found.update(str(v) for v in value if v not in (None, ""))
        elif value != "":
            found.add(str(value))
    elif opt.get("options"):
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                found |= secrets_of(opt["options"], item)
    return found


def batch_secrets(params):
    """Every secret the probes' options hold, whether or not the options are valid: no_log options (after
    aliases and environment fallbacks, as given and as validated), URL passwords, and the LLM keys the llm
    probe would read from the environment. Collected before any validation fails, so that no failure
    message, invocation or probe result can show them (register them with _redact.register_secrets)."""
    secrets = set()
    for name, _module_name, probe, _class_name, _needs in PROBES:
        raw = params.get(name)
        if raw is None:
            continue
        secrets |= url_passwords(raw)
        if not isinstance(raw, dict):
            continue
        spec = probe.argument_spec()
        secrets |= secrets_of(spec, raw)
        result = ArgumentSpecValidator(spec).validate(dict(raw))
        secrets |= secrets_of(spec, result.validated_parameters)
        secrets |= set(str(v) for v in getattr(result, "_no_log_values", ()) if v not in (None, ""))
        if name == "llm":
            secrets |= _probe_llm.env_secrets()
    return secrets


def prepare(params, run_command=None, find_bin=None):
    """Validate every requested probe. Returns ([(name, run)], secrets, unavailable); raises BadProbeInputError.

    ``run_command`` is the module's AnsibleModule.run_command, for the probes that run a command (deploys: git;
    logs: GNU grep, found with ``find_bin``, the module's get_bin_path).

    A probe whose library is missing on the host does not fail the batch: during an outage the other
    probes' evidence matters more. It is returned in ``unavailable`` (name -> why) and reported as a
    skipped result, which classify counts as missing evidence, not as a fault."""
    runs = []
    secrets = set()
    unavailable = {}
    for name, module_name, probe, class_name, needs in PROBES:
        raw = params.get(name)
        if raw is None:
            continue
        spec = probe.argument_spec()
        raw = dict(raw)
        for key, value in FORCED.get(name, {}).items():
            raw.setdefault(key, value)
        # the batch's common options (timeout, validate_certs, max_workers: set at the top level or through
        # module_defaults for group/reflexion.incident.probes) apply to every probe that does not set its own
        for key in INHERITED_OPTIONS:
            if params.get(key) is not None:
                raw.setdefault(key, params[key])
        result = ArgumentSpecValidator(spec).validate(raw)
        # collect the secrets first, so even a rejected probe's values are masked in the failure
        secrets |= secrets_of(spec, result.validated_parameters)
        if result.error_messages:
            raise BadProbeInputError("%s (%s options): %s" % (name, module_name, "; ".join(result.error_messages)))
        sub = _SubModule(name, result.validated_parameters)
        try:
            if needs is not None:
                needs(sub)
            # the probe module's own validate(); log_grep's returns the compiled patterns and the time
            # window, which its class takes after the params
            extra = probe.validate(sub) or ()
            kwargs = {}
            if name == "deploys":
                kwargs = {"run_command": run_command}
            elif name == "logs" and find_bin is not None:
                # log_grep's whole-file fast path (GNU grep as the prefilter), as when it runs as its own module
                kwargs = {"run_command": run_command, "find_bin": find_bin}
            runs.append((name, getattr(probe, class_name)(sub.params, *extra, **kwargs).run))
        except MissingLibraryError as exc:
            unavailable[name] = "%s (install it on the host to get this probe's evidence)" % exc
    return runs, secrets, unavailable


def run_all(runs):
    """Run the probes at once; each result is the probe module's own result, or ``status: down``
    with the error when the probe itself crashed."""
    results = {}
    timings = {}

    def one(name, run):
        start = time.monotonic()
        try:
            results[name] = run()
        except Exception as exc:  # noqa: BLE001 - one broken probe must not hide the others
            results[name] = {"status": "down", "reason": "%s probe crashed: %s: %s" % (name, type(exc).__name__, exc)}
        results[name].pop("changed", None)
        timings[name] = ms_since(start)

    threads = [threading.Thread(target=one, args=item) for item in runs]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join()
    return results, timings


def overall(results):
    """Overall status and reason: the worst probe, and every probe that is not healthy/ok."""
    statuses = dict((name, r.get("status", "down")) for name, r in results.items())
    ranked = dict((name, s if s in ("healthy", "degraded", "down") else ("healthy" if s == "ok" else "degraded"))
                  for name, s in statuses.items())
    status = worst_status(ranked.values())
    bad = ["%s: %s" % (name, results[name].get("reason", statuses[name])) for name in PROBE_NAMES
           if name in ranked and ranked[name] != "healthy"]
    reason = "; ".join(bad) if bad else "all %d probe(s) healthy" % len(results)
    return status, reason
