# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The container_probe probe's work (the runbook's ``docker-compose ps`` and ``docker-compose logs reflexion
--since 1h``): its options, their validation and the class that probes. Shared by the container_probe module
and triage_probe. Talks to the Docker Engine API through _docker.docker_api_client, as memory_probe does."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import threading
import time

from ansible.module_utils.basic import env_fallback

from ansible_collections.reflexion.incident.plugins.module_utils._docker import docker_api_client
from ansible_collections.reflexion.incident.plugins.module_utils._logs import (
    PRESETS,
    FileScan,
    compile_patterns,
    parse_time_spec,
)
from ansible_collections.reflexion.incident.plugins.module_utils._probe import PROBE_COMMON_SPEC, resolve_timeout, worst_status
from ansible_collections.reflexion.incident.plugins.module_utils._redact import redact
from ansible_collections.reflexion.incident.plugins.module_utils._signals import (
    container_state,
    service_verdicts,
    split_docker_timestamp,
)
from ansible_collections.reflexion.incident.plugins.module_utils._validate import require_finite

# timeout when the option is not set (seconds)
DEFAULT_TIMEOUT = 20.0

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
# The most containers one project may list (a bigger answer is not a compose project of ours).
MAX_CONTAINERS = 200
MAX_TAIL = 1000
MAX_LOG_LINES = 1000000
MAX_LOG_BYTES = 256 << 20


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts is not None else None


def log_files_present(globs):
    """The first regular, non-empty file any of ``globs`` matches (log_grep would read it), or None."""
    for spec in globs:
        for path in sorted(glob.glob(spec))[:1000] if glob.has_magic(spec) else [spec]:
            try:
                if os.path.isfile(path) and os.path.getsize(path) > 0:
                    return path
            except OSError:
                continue
    return None


class ContainerProbe(object):
    def __init__(self, params, restart_since, logs_since, patterns):
        self.p = params
        self.restart_since = restart_since
        self.logs_since = logs_since
        self.patterns = patterns
        self.deadline = time.monotonic() + params["timeout"]

    def remaining(self):
        return self.deadline - time.monotonic()

    def api(self):
        # the client's own timeout bounds every call; the probe's deadline bounds the sum of them
        return docker_api_client(self.p["docker_host"], timeout=max(1, int(min(self.p["timeout"], 60) + 0.999)))

    def run(self):
        p = self.p
        result = dict(changed=False, compose_project=p["compose_project"], containers=[], services={},
                      engine_error=None, logs=None)
        try:
            api = self.api()
            found = api.containers(all=True, filters={"label": "%s=%s" % (PROJECT_LABEL, p["compose_project"])})
        except ImportError:
            result["engine_error"] = "the Docker SDK for Python (docker) is not installed"
        except Exception as exc:  # noqa: BLE001 - an engine that does not answer is evidence, not a crash
            result["engine_error"] = "cannot reach the Docker engine at %s: %s" % (p["docker_host"], exc)
        if result["engine_error"]:
            result["status"], result["reason"] = "degraded", result["engine_error"]
            return result
        now = time.time()
        docs, truncated = [], len(found) > MAX_CONTAINERS
        for summary in found[:MAX_CONTAINERS]:
            if self.remaining() <= 0:
                truncated = True
                break
            try:
                doc = api.inspect_container(summary["Id"])
            except Exception:  # noqa: BLE001 - removed between the list and the inspect
                continue
            labels = (doc.get("Config") or {}).get("Labels") or {}
            if labels.get(PROJECT_LABEL) == p["compose_project"]:
                docs.append(doc)
        states = sorted((container_state(d, now, self.restart_since) for d in docs),
                        key=lambda c: (c["service"] or "", c["name"]))
        result["containers"] = states
        result["truncated"] = truncated
        result["services"], found_evidence = service_verdicts(states, p["services"])
        result["restart_window"] = dict(since=iso(self.restart_since))
        if p["logs"] is not None:
            result["logs"] = self.read_logs(api, states)
        result["status"], result["reason"] = self.classify(result, found_evidence)
        return result

    # -- docker-compose logs <service> --since ------------------------------------------------------
    def read_logs(self, api, states):
        lp = self.p["logs"]
        out = dict(services=lp["services"], since=iso(self.logs_since), skipped=None, total_matches=0,
                   counts=dict((pat.name, 0) for pat in self.patterns), matches=[], signatures=[],
                   bytes_read=0, lines_scanned=0, truncated=False, containers=[])
        if lp["unless_files"]:
            present = log_files_present(lp["unless_files"])
            if present:
                out["skipped"] = "log files exist (%s): the log probe reads them" % present
                return out
        targets = [c for c in states if c["service"] in set(lp["services"])]
        tail, sigs = [], None
        for c in targets:
            entry = dict(container=c["name"], service=c["service"], bytes_read=0, lines=0, matches=0,
                         truncated=False, error=None)
            out["containers"].append(entry)
            if self.remaining() <= 0:
                entry["error"] = "probe deadline passed before this container's logs were read"
                out["truncated"] = True
                continue
            scan = FileScan(self.patterns, lp["tail"], lp["max_line_length"])
            try:
                self.scan_container(api, c, scan, entry)
            except Exception as exc:  # noqa: BLE001 - the engine went away: what was read counts
                entry["error"] = "%s: %s" % (type(exc).__name__, exc)
            out["bytes_read"] += entry["bytes_read"]
            out["lines_scanned"] += scan.lines
            out["truncated"] = out["truncated"] or entry["truncated"]
            entry["lines"] = scan.lines
            entry["matches"] = scan.total
            out["total_matches"] += scan.total
            for pat, n in zip(self.patterns, scan.counts):
                out["counts"][pat.name] += n
            for m in scan.tail:
                stamp, text = split_docker_timestamp(m["text"])
                tail.append(dict(container=c["name"], service=c["service"], timestamp=stamp or iso(m["timestamp"]),
                                 text=text, epoch=m["timestamp"] or 0))
            if sigs is None:
                sigs = scan.signatures
            else:
                sigs.merge(scan.signatures)
        tail.sort(key=lambda m: m.pop("epoch"))
        out["matches"] = tail[-lp["tail"]:] if lp["tail"] else []
        out["signatures"] = sigs.top(lp["top_signatures"]) if sigs else []
        # container output prints secrets as log files do: never return them
        for item in out["matches"]:
            item["text"] = redact(item["text"])[0]
        for item in out["signatures"]:
            item["signature"] = redact(item["signature"])[0]
        if not targets:
            out["skipped"] = "no container of service(s) %s in project %s" % (
                ", ".join(lp["services"]), self.p["compose_project"])
        return out

    def scan_container(self, api, c, scan, entry):
        """Feed one container's log lines to ``scan``. follow=False: the SDK follows a stream unless told not to.
        The stream is read on a watcher thread; when the probe's deadline passes first the stream is closed
        (the reader stops), so an engine that stops answering mid-stream cannot hold the probe."""
        lp = self.p["logs"]
        stream = api.logs(c["id"], stdout=True, stderr=True, stream=True, follow=False, timestamps=True,
                          tail=lp["max_lines"], since=max(int(self.logs_since), 1))
        box = {}

        def read():
            try:
                self._consume(stream, scan, entry)
            except Exception as exc:  # noqa: BLE001 - what was read counts
                box["error"] = exc

        reader = threading.Thread(target=read)
        reader.daemon = True
        reader.start()
        reader.join(max(self.remaining(), 0.0))
        if reader.is_alive():
            entry["truncated"] = True
            entry["error"] = "probe deadline passed while reading: the lines read so far are counted"
        close = getattr(stream, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - closing a broken stream
                pass
        reader.join(2.0)
        if "error" in box and not entry["error"]:
            entry["error"] = "%s: %s" % (type(box["error"]).__name__, box["error"])

    def _consume(self, stream, scan, entry):
        lp = self.p["logs"]
        carry = b""
        for chunk in stream:
            room = lp["max_bytes"] - entry["bytes_read"]
            if room <= 0:
                entry["truncated"] = True
                break
            chunk = chunk[:room]
            entry["bytes_read"] += len(chunk)
            block = carry + chunk
            cut = block.rfind(b"\n") + 1
            if cut:
                scan.feed(block, cut)
            carry = block[cut:]
            if len(carry) > lp["max_line_length"] * 4 + 65536:
                scan.feed(carry)  # a line with no end in sight: scan what there is
                carry = b""
        if carry:
            scan.feed(carry)

    def classify(self, r, found):
        found = list(found)
        if r.get("truncated"):
            found.append(("degraded", "only the first %d container(s) were inspected" % len(r["containers"])))
        logs = r.get("logs")
        if logs and logs["total_matches"]:
            status = "down" if logs["total_matches"] >= self.p["logs"]["unhealthy_matches"] else "degraded"
            top = logs["signatures"][0] if logs["signatures"] else None
            found.append((status, "%d matching line(s) in the container logs of %s since %s%s" % (
                logs["total_matches"], ", ".join(logs["services"]), logs["since"],
                "; top: %s (%d)" % (top["signature"][:120], top["count"]) if top else "")))
        if not r["containers"]:
            return ("down" if r["services"] else "degraded",
                    "; ".join([reason for _dummy, reason in found]
                              or ["no container of compose project %s" % r["compose_project"]]))
        if not any(c["running"] for c in r["containers"]):
            found.insert(0, ("down", "no container of compose project %s is running" % r["compose_project"]))
        if not found:
            return "healthy", "%d container(s) of %d service(s) running, none unhealthy, restarting or OOM-killed" % (
                len([c for c in r["containers"] if c["running"]]), len(r["services"]))
        # one service down is not the whole project down: the worst a service can make the probe is degraded,
        # unless nothing of the project runs
        status = worst_status(s for s, _dummy in found)
        if status == "down" and any(c["running"] for c in r["containers"]):
            status = "degraded"
        return status, "; ".join(reason for _dummy, reason in found)


def validate(module):
    p = module.params
    require_finite(module, argument_spec())
    resolve_timeout(module, DEFAULT_TIMEOUT, high=300)
    if not p["compose_project"] or not re.match(r"^[a-z0-9][a-z0-9_.-]*$", p["compose_project"]):
        module.fail_json(msg="compose_project: must be a compose project name (lowercase letters, digits, '-', '_', "
                             "'.'), got %r" % (p["compose_project"],))
    if not re.match(r"^(unix|tcp|ssh|npipe|https?)://", p["docker_host"]):
        module.fail_json(msg="docker_host: expected unix://, tcp://, ssh:// or http(s):// URL, got %s" % p["docker_host"])
    if not 0 < p["timeout"] <= 300:
        module.fail_json(msg="timeout: must be more than 0 and at most 300 seconds, got %s" % p["timeout"])
    now = time.time()
    try:
        restart_since = parse_time_spec(p["restart_window"], now)
    except (ValueError, OverflowError) as exc:
        module.fail_json(msg="restart_window: %s" % exc)
    lp = p["logs"]
    if lp is None:
        return restart_since, None, []
    if not lp["services"]:
        module.fail_json(msg="logs.services: give at least one compose service whose container logs to read")
    for name in ("tail", "top_signatures"):
        if not 0 <= lp[name] <= MAX_TAIL:
            module.fail_json(msg="logs.%s: must be 0-%d, got %d" % (name, MAX_TAIL, lp[name]))
    if not 1 <= lp["max_lines"] <= MAX_LOG_LINES:
        module.fail_json(msg="logs.max_lines: must be 1-%d, got %d" % (MAX_LOG_LINES, lp["max_lines"]))
    if not 1 <= lp["max_bytes"] <= MAX_LOG_BYTES:
        module.fail_json(msg="logs.max_bytes: must be 1-%d, got %d" % (MAX_LOG_BYTES, lp["max_bytes"]))
    if not 1 <= lp["max_line_length"] <= 1 << 20:
        module.fail_json(msg="logs.max_line_length: must be 1-%d, got %d" % (1 << 20, lp["max_line_length"]))
    if lp["unhealthy_matches"] < 1:
        module.fail_json(msg="logs.unhealthy_matches: must be 1 or more, got %d" % lp["unhealthy_matches"])
    if not lp["patterns"]:
        module.fail_json(msg="logs.patterns: give at least one regex or preset (%s)" % ", ".join(sorted(PRESETS)))
    named = []
    for item in lp["patterns"]:
        if item in PRESETS:
            named.extend((item, rx) for rx in PRESETS[item])
        else:
            named.append((item, item))
    try:
        patterns = compile_patterns(named, lp["ignore_case"])
    except ValueError as exc:
        module.fail_json(msg="logs.patterns: %s" % exc)
    try:
        logs_since = parse_time_spec(lp["since"], now)
    except (ValueError, OverflowError) as exc:
        module.fail_json(msg="logs.since: %s" % exc)
    return restart_since, logs_since, patterns


LOGS_SPEC = dict(
    services=dict(type="list", elements="str", required=True),
    since=dict(type="str", default="1h"),
    patterns=dict(type="list", elements="str", default=["errors"]),
    ignore_case=dict(type="bool", default=True),
    tail=dict(type="int", default=20),
    top_signatures=dict(type="int", default=10),
    max_lines=dict(type="int", default=20000),
    max_bytes=dict(type="int", default=16 << 20),
    max_line_length=dict(type="int", default=2048),
    unhealthy_matches=dict(type="int", default=100),
    unless_files=dict(type="list", elements="path", default=[]),
)


def argument_spec():
    """container_probe's options, with the options every probe shares."""
    spec = dict(
        compose_project=dict(type="str", required=True),
        services=dict(type="list", elements="str", default=[]),
        docker_host=dict(type="str", default="unix:///var/run/docker.sock", fallback=(env_fallback, ["DOCKER_HOST"])),
        restart_window=dict(type="str", default="1h"),
        logs=dict(type="dict", options=LOGS_SPEC),
    )
    spec.update(PROBE_COMMON_SPEC)
    return spec
