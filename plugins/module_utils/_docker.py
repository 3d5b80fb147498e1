# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""Container memory without the slow two-sample stats call: cgroup files when readable, else one-shot stats."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def docker_api_client(base_url, timeout=10):
    """A low-level docker.APIClient, imported on first use (the SDK costs ~0.1-0.3 s to import, and a probe
    with containers=false should not pay it). Raises ImportError when the SDK is missing."""
    import docker  # pylint: disable=import-outside-toplevel
    return docker.APIClient(base_url=base_url, timeout=timeout)


MB = 1024.0 * 1024.0
CGROUP_ROOT = "/sys/fs/cgroup"


def _read_int(path):
    with open(path) as f:
        text = f.read().strip()
    return None if text == "max" else int(text)


def _read_kv(path):
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[1].lstrip("-").isdigit():
                out[parts[0]] = int(parts[1])
    return out


def cgroup_memory(container_id, root=CGROUP_ROOT):
    """(usage, limit, oom_kill count, source) from the container's cgroup files, or None when not readable.

    usage excludes inactive file cache, as ``docker stats`` does.
    """
    v1 = "%s/memory/docker/%s" % (root, container_id)
    try:
        usage = _read_int(v1 + "/memory.usage_in_bytes")
        limit = _read_int(v1 + "/memory.limit_in_bytes")
        stat = _read_kv(v1 + "/memory.stat")
        oom = _read_kv(v1 + "/memory.oom_control").get("oom_kill", 0)
        return usage - stat.get("total_inactive_file", 0), limit, oom, "cgroup_v1"
    except (OSError, ValueError):
        pass
    for v2 in ("%s/system.slice/docker-%s.scope" % (root, container_id), "%s/docker/%s" % (root, container_id)):
        try:
            usage = _read_int(v2 + "/memory.current")
            limit = _read_int(v2 + "/memory.max")
            stat = _read_kv(v2 + "/memory.stat")
            oom = _read_kv(v2 + "/memory.events").get("oom_kill", 0)
            return usage - stat.get("inactive_file", 0), limit, oom, "cgroup_v2"
        except (OSError, ValueError):
            continue
    return None


def stats_memory(api, container_id):
    """(usage, limit, None, source) from one one-shot stats call (no second sample, no 1-2 s wait)."""
    try:
        stats = api.stats(container_id, stream=False, one_shot=True)
    except TypeError:  # docker SDK < 6.1 has no one_shot: the slow two-sample call is all there is
        stats = api.stats(container_id, stream=False)
    mem = stats.get("memory_stats") or {}
    detail = mem.get("stats") or {}
    cache = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    usage = mem.get("usage")
    return (usage - cache if usage is not None else None), mem.get("limit"), None, "stats_api"


def container_entry(api, summary, host_total_bytes, got=None):
    """Memory of one container from the list API's summary: ``got`` (from cgroup_memory), else the stats API."""
    cid = summary["Id"]
    name = (summary.get("Names") or ["/" + cid[:12]])[0].lstrip("/")
    if got is None:
        got = stats_memory(api, cid)
    usage, limit, oom_count, source = got
    if oom_count is None:  # read through the API: ask Docker (one more call)
        oom_killed = bool((api.inspect_container(cid).get("State") or {}).get("OOMKilled"))
    else:  # the cgroup's own counter: no API call at all
        oom_killed = oom_count > 0
    limited = bool(limit) and limit < host_total_bytes
    effective = limit if limited else host_total_bytes
    labels = summary.get("Labels") or {}
    return dict(
        name=name, id=cid[:12], image=summary.get("Image"),
        compose_project=labels.get("com.docker.compose.project"), compose_service=labels.get("com.docker.compose.service"),
        usage_mb=round(usage / MB, 2) if usage is not None else None,
        limit_mb=round(effective / MB, 2) if effective else None, limited=limited,
        pct=round(100.0 * usage / effective, 2) if usage is not None and effective else None,
        oom_killed=oom_killed, oom_kill_count=oom_count, source=source,
    )


def list_containers(api, names=None, compose_project=None):
    filters = {"status": "running"}
    if compose_project:
        filters["label"] = "com.docker.compose.project=%s" % compose_project
    found = api.containers(filters=filters)
    if names:
        wanted = set(names)
        found = [c for c in found if wanted & set(n.lstrip("/") for n in (c.get("Names") or []))
                 or c["Id"][:12] in wanted or c["Id"] in wanted]
    return sorted(found, key=lambda c: (c.get("Names") or [c["Id"]])[0])
