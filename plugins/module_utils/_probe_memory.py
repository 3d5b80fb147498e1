# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The memory_probe probe's work: its options, their validation and the class that probes. Shared by the
memory_probe module and the triage_probe module (which runs several probes in one invocation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time

from ansible.module_utils.basic import env_fallback

from ansible_collections.reflexion.incident.plugins.module_utils._docker import (
    cgroup_memory,
    container_entry,
    docker_api_client,
    list_containers,
)
from ansible_collections.reflexion.incident.plugins.module_utils._memory import (
    MB,
    boot_time,
    host_summary,
    is_leak_suspect,
    mask_args,
    parse_oom_kills,
    read_container_id,
    read_kmsg,
    read_meminfo,
    read_process_identity,
    read_rss_all,
)
from ansible_collections.reflexion.incident.plugins.module_utils._probe import (
    PROBE_COMMON_SPEC,
    fan_out,
    resolve_timeout,
    worst_status,
)
from ansible_collections.reflexion.incident.plugins.module_utils._validate import require_finite


class MemoryProbe(object):
    def __init__(self, params):
        self.p = params
        self.api = None
        self.containers_error = None
        self.identity = {}
        self.pattern = re.compile(params["process_pattern"]) if params["process_pattern"] else None

    # -- one sample --------------------------------------------------------------------------------
    def matches(self, pid):
        if pid not in self.identity:
            self.identity[pid] = read_process_identity(pid)
        name, argv = self.identity[pid]
        if name is None:
            return False
        if self.pattern is None:
            return True
        return bool(self.pattern.search(name) or self.pattern.search(" ".join(argv)))

    def docker_api(self):
        if self.api is None and self.containers_error is None:
            try:
                if self.p.get("timeout") is None:
                    self.api = docker_api_client(self.p["docker_host"])
                else:
                    # each Engine call waits at most the probe's timeout (whole seconds, at least 1)
                    self.api = docker_api_client(self.p["docker_host"], timeout=max(1, int(min(self.p["timeout"], 10) + 0.999)))
                self.api.ping()
            except ImportError:
                self.containers_error = "the Docker SDK for Python (docker) is not installed"
            except Exception as exc:  # noqa: BLE001 - any failure to reach the engine is reported, not raised
                self.api = None
                self.containers_error = "cannot reach the Docker engine at %s: %s" % (self.p["docker_host"], exc)
        return self.api

    def container_sample(self, host_total):
        api = self.docker_api()
        if api is None:
            return {}
        try:
            found = list_containers(api, self.p["container_names"], self.p["compose_project"])
        except Exception as exc:  # noqa: BLE001
            self.containers_error = "cannot list containers: %s" % exc
            return {}
        # Fast path: the cgroup files, a few small reads per container and no API call (sequential: threads
        # would only add overhead to reads that take microseconds). The others: one-shot stats calls, concurrently.
        entries, need_api = [], []
        for summary in found:
            got = cgroup_memory(summary["Id"])
            if got is None:
                need_api.append(summary)
            else:
                entries.append(container_entry(api, summary, host_total, got))
        entries += fan_out(lambda c: container_entry(api, c, host_total), need_api, self.p["max_workers"])
        return dict((e.get("name") or str(i), e) for i, e in enumerate(entries))

    @staticmethod
    def container_of(pid, by_id):
        """The container a process runs in (from its cgroup), with its compose labels; nulls outside one.

        Only containers listed by this probe are named: a process of another project's container stays unnamed."""
        cid = read_container_id(pid) if by_id else None
        entry = by_id.get(cid[:12]) if cid else None
        if entry is None:
            return dict(container=None, compose_project=None, compose_service=None)
        return dict(container=entry.get("name"), compose_project=entry.get("compose_project"),
                    compose_service=entry.get("compose_service"))

    # -- the probe -----------------------------------------------------------------------------------
    def run(self):
        p = self.p
        started = time.monotonic()
        rss_series, ctr_series = {}, {}
        host = containers = None
        deadline = None if p.get("timeout") is None else started + p["timeout"]
        taken = 0
        for i in range(p["samples"]):
            if i:
                if deadline is not None and time.monotonic() + p["interval"] >= deadline:
                    # the next sample would start after the deadline (timeout): stop with what we have
                    break
                time.sleep(p["interval"])
            taken += 1
            t = time.monotonic() - started
            meminfo = read_meminfo()
            host = host_summary(meminfo)
            for pid, rss in read_rss_all().items():
                rss_series.setdefault(pid, []).append((t, rss / MB))
            if p["containers"]:
                containers = self.container_sample(meminfo.get("MemTotal", 0))
                for name, entry in containers.items():
                    if entry.get("usage_mb") is not None:
                        ctr_series.setdefault(name, []).append((t, entry["usage_mb"]))
        elapsed = round(time.monotonic() - started, 2)
        last_t = rss_series and max(s[-1][0] for s in rss_series.values())
        alive = [pid for pid, s in rss_series.items() if s[-1][0] == last_t and pid != os.getpid()]
        alive.sort(key=lambda pid: -rss_series[pid][-1][1])
        processes, leak_suspects = [], []
        by_id = dict((e["id"], e) for e in (containers or {}).values() if e.get("id"))
        for pid in alive:
            if len(processes) >= p["top"]:
                break
            if not self.matches(pid):
                continue
            name, argv = self.identity[pid]
            series = rss_series[pid]
            suspect, slope = is_leak_suspect(series, p["leak_threshold"], p["leak_min_growth"])
            entry = dict(pid=pid, name=name, cmdline=" ".join(mask_args(argv))[:300] or "[%s]" % name,
                         rss_mb=round(series[-1][1], 2), pct=round(100.0 * series[-1][1] / host["total_mb"], 2),
                         slope_mb_per_min=round(slope, 2) if slope is not None else None)
            entry.update(self.container_of(pid, by_id))
            processes.append(entry)
            if suspect:
                leak_suspects.append(dict(kind="process", pid=pid, name=name, cmdline=entry["cmdline"],
                                          slope_mb_per_min=round(slope, 2),
                                          first_mb=round(series[0][1], 2), last_mb=round(series[-1][1], 2),
                                          container=entry["container"], compose_project=entry["compose_project"],
                                          compose_service=entry["compose_service"]))
        container_list = []
        for name, entry in sorted((containers or {}).items()):
            series = ctr_series.get(name, [])
            suspect, slope = is_leak_suspect(series, p["leak_threshold"], p["leak_min_growth"])
            entry["slope_mb_per_min"] = round(slope, 2) if slope is not None else None
            container_list.append(entry)
            if suspect:
                leak_suspects.append(dict(kind="container", name=name, slope_mb_per_min=round(slope, 2),
                                          first_mb=round(series[0][1], 2), last_mb=round(series[-1][1], 2),
                                          container=name, compose_project=entry.get("compose_project"),
                                          compose_service=entry.get("compose_service")))
        oom_kills, oom_source = self.oom_kills()
        result = dict(changed=False, host=host, processes=processes, containers=container_list,
                      containers_error=self.containers_error, leak_suspects=leak_suspects, oom_kills=oom_kills,
                      oom_source=oom_source, samples=dict(count=taken, seconds=elapsed), timeout=p.get("timeout"))
        result["status"], result["reason"] = self.classify(result)
        return result

    def oom_kills(self):
        try:
            records = read_kmsg()
            return parse_oom_kills(records, boot_time(), time.time() - self.p["oom_since"] * 60), "kmsg"
        except OSError as exc:
            return [], "unavailable: /dev/kmsg: %s" % (exc.strerror or exc)

    def classify(self, r):
        p = self.p
        found = []
        used = r["host"]["used_pct"] or 0.0
        if used >= p["used_down_pct"]:
            found.append(("down", "host memory %.0f%% used" % used))
        elif used >= p["used_degraded_pct"]:
            found.append(("degraded", "host memory %.0f%% used" % used))
        for c in r["containers"]:
            if c.get("limited") and (c.get("pct") or 0) >= p["used_degraded_pct"]:
                found.append(("degraded", "container %s at %.0f%% of its limit" % (c["name"], c["pct"])))
            if c.get("oom_killed"):
                found.append(("degraded", "container %s was OOM-killed" % c["name"]))
        if r["leak_suspects"]:
            found.append(("degraded", "leak suspect(s): " + ", ".join(
                "%s%s +%.1f MB/min" % (s["name"], " (pid %d)" % s["pid"] if "pid" in s else "", s["slope_mb_per_min"])
                for s in r["leak_suspects"])))
        if r["oom_kills"]:
            found.append(("degraded", "%d OOM kill(s) in the last %g min" % (len(r["oom_kills"]), p["oom_since"])))
        if r["containers_error"]:
            found.append(("degraded", r["containers_error"]))
        if not found:
            return "healthy", "host memory %.0f%% used, %d container(s), no leak suspect, no recent OOM kill" % (
                used, len(r["containers"]))
        return worst_status(s for s, _dummy in found), "; ".join(reason for _dummy, reason in found)


def validate(module):
    p = module.params
    require_finite(module, argument_spec())
    resolve_timeout(module, None)
    if p["top"] < 1:
        module.fail_json(msg="top: must be 1 or more, got %d" % p["top"])
    if not 1 <= p["samples"] <= 100:
        module.fail_json(msg="samples: must be 1-100, got %d" % p["samples"])
    for name in ("interval", "leak_threshold", "leak_min_growth", "oom_since"):
        if p[name] < 0:
            module.fail_json(msg="%s: must be 0 or more, got %s" % (name, p[name]))
    for name in ("used_degraded_pct", "used_down_pct"):
        if not 0 < p[name] <= 100:
            module.fail_json(msg="%s: must be a percentage in (0, 100], got %s" % (name, p[name]))
    if p["max_workers"] < 1:
        module.fail_json(msg="max_workers: must be 1 or more, got %d" % p["max_workers"])
    if p["process_pattern"]:
        try:
            re.compile(p["process_pattern"])
        except re.error as exc:
            module.fail_json(msg="process_pattern: not a valid regular expression: %s" % exc)
    if not re.match(r"^(unix|tcp|ssh|npipe|https?)://", p["docker_host"]):
        module.fail_json(msg="docker_host: expected unix://, tcp://, ssh:// or http(s):// URL, got %s" % p["docker_host"])


def argument_spec():
    """memory_probe's options, with the options every probe shares."""
    spec = dict(
        top=dict(type="int", default=10),
        process_pattern=dict(type="str"),
        containers=dict(type="bool", default=True),
        docker_host=dict(type="str", default="unix:///var/run/docker.sock", fallback=(env_fallback, ["DOCKER_HOST"])),
        container_names=dict(type="list", elements="str", default=[]),
        compose_project=dict(type="str"),
        samples=dict(type="int", default=1),
        interval=dict(type="float", default=5.0),
        leak_threshold=dict(type="float", default=10.0),
        leak_min_growth=dict(type="float", default=5.0),
        oom_since=dict(type="float", default=60.0),
        used_degraded_pct=dict(type="float", default=90.0),
        used_down_pct=dict(type="float", default=98.0),
    )
    spec.update(PROBE_COMMON_SPEC)
    return spec
