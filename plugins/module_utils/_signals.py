# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""Pure parsing behind disk_probe, container_probe and deploy_probe (no I/O here, so unit tests reach it).

- disk: ``df``'s arithmetic over statvfs numbers, and the mount a path lives on from /proc/self/mounts;
- containers: a container's inspect document -> its state summary, and the per-service verdict
  (``docker compose ps`` with the evidence a responder looks for: not running, unhealthy, restarting, OOM);
- deploys: ``git log`` records -> commits.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import re

MB = 1024.0 * 1024.0

# ---------------------------------------------------------------------------------------------- disk


def _noter(entry, name, found):
    """note(status, reason): add one piece of evidence to a service's entry and to the list of findings."""

    def note(status, reason):
        entry["evidence"].append(reason)
        found.append((status, "service %s: %s" % (name, reason)))

    return note


def _unescape_mount(field):
    """/proc/self/mounts escapes space, tab, newline and backslash as octal (\\040...)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_mounts(text):
    """/proc/self/mounts (or /etc/mtab) text -> [(source, mount point, fstype)], in file order."""
    mounts = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            mounts.append((_unescape_mount(parts[0]), _unescape_mount(parts[1]), parts[2]))
    return mounts


def mount_of(path, mounts):
    """The (source, mount point, fstype) ``path`` (absolute, resolved) lives on: the longest matching
    mount point, the last mounted one when several share it (it hides the others). None if none matches."""
    best = None
    for entry in mounts:
        point = entry[1]
        inside = path == point or point == "/" or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[1])):
            best = entry
    return best


def _pct_up(part, whole):
    """A percentage rounded up to one decimal, as df rounds its Use% up (so 89.01% never shows as 89%)."""
    if not whole:
        return None
    value = 100.0 * part / whole
    return round(-(-value * 10 // 1) / 10.0, 1)


def disk_usage(frsize, blocks, bfree, bavail, files=0, ffree=0, favail=0):
    """df's figures from statvfs fields. ``used_pct`` is df's Use%: used / (used + available to
    unprivileged users), so the root-reserved blocks count as full, as df shows them."""
    size = blocks * frsize
    used = (blocks - bfree) * frsize
    avail = bavail * frsize
    usage = dict(size_mb=round(size / MB, 1), used_mb=round(used / MB, 1), avail_mb=round(avail / MB, 1),
                 used_pct=_pct_up(used, used + avail), inodes=files or None, inodes_free=favail if files else None,
                 inodes_used_pct=_pct_up(files - ffree, files - ffree + favail) if files else None)
    return usage


def human_size(mb):
    """df -h style size from megabytes (1.5G, 120M)."""
    if mb is None:
        return "?"
    for unit, scale in (("T", 1024.0 * 1024.0), ("G", 1024.0), ("M", 1.0)):
        if mb >= scale:
            return "%.1f%s" % (mb / scale, unit)
    return "%.1fM" % mb


# ---------------------------------------------------------------------------------------- containers

_DOCKER_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")


def docker_time(text):
    """Docker's RFC 3339 time (nanoseconds, Z or an offset) -> epoch seconds; None for the zero time
    (0001-01-01T00:00:00Z, "never") and anything unparsable."""
    m = _DOCKER_TIME.match(text or "")
    if not m:
        return None
    year, month, day, hour, minute, sec = (int(g) for g in m.groups()[:6])
    if year < 1970:
        return None
    try:
        epoch = calendar.timegm((year, month, day, hour, minute, sec, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    if m.group(7):
        epoch += float("0." + m.group(7))
    zone = m.group(8)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        epoch -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return epoch


def container_state(doc, now, restart_since):
    """One container's ``docker inspect`` document -> its summary (the columns of ``docker compose ps``
    and what a responder needs next to them). ``restart_since`` (epoch): a container that was restarted
    (RestartCount > 0) and last started at or after it counts as ``restarted_recently``."""
    state = doc.get("State") or {}
    labels = (doc.get("Config") or {}).get("Labels") or {}
    health = state.get("Health") or {}
    started = docker_time(state.get("StartedAt"))
    finished = docker_time(state.get("FinishedAt"))
    restarts = doc.get("RestartCount") or 0
    status = state.get("Status") or ("running" if state.get("Running") else "unknown")
    last_probe = (health.get("Log") or [{}])[-1] if health.get("Log") else {}
    return dict(
        name=(doc.get("Name") or "").lstrip("/") or (doc.get("Id") or "")[:12],
        id=(doc.get("Id") or "")[:12],
        service=labels.get("com.docker.compose.service"),
        number=labels.get("com.docker.compose.container-number"),
        image=(doc.get("Config") or {}).get("Image"),
        state=status,
        running=bool(state.get("Running")) and not state.get("Restarting"),
        restarting=bool(state.get("Restarting")),
        health=health.get("Status"),
        health_failing_streak=health.get("FailingStreak") if health else None,
        health_output=((str(last_probe.get("Output") or "").strip()[:300] or None)
                       if health.get("Status") == "unhealthy" else None),
        restart_count=restarts,
        restart_policy=((doc.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or None,
        exit_code=state.get("ExitCode"),
        oom_killed=bool(state.get("OOMKilled")),
        error=state.get("Error") or None,
        started_at=state.get("StartedAt") if started is not None else None,
        finished_at=state.get("FinishedAt") if finished is not None else None,
        up_seconds=round(now - started, 1) if started is not None and state.get("Running") else None,
        restarted_recently=bool(restarts) and started is not None and started >= restart_since,
    )


def service_verdicts(containers, expected=()):
    """Per service: counts and the evidence. Returns (services dict, [(status, reason)]).

    Evidence: a service with no running container (an expected one with no container at all, or one whose
    containers exited - unless every one of them exited 0 and the service is not expected: a finished
    one-off job), an unhealthy or restarting container, one restarted recently, one OOM-killed, a replica that
    exited non-zero while others run."""
    services = {}
    for c in containers:
        services.setdefault(c.get("service") or "(no service label)", []).append(c)
    for name in expected:
        services.setdefault(name, [])
    out, found = {}, []
    for name in sorted(services):
        ctrs = services[name]
        running = [c for c in ctrs if c["running"]]
        entry = dict(containers=len(ctrs), running=len(running),
                     healthy=len([c for c in ctrs if c["health"] == "healthy"]),
                     unhealthy=len([c for c in ctrs if c["health"] == "unhealthy"]),
                     restarts=sum(c["restart_count"] for c in ctrs),
                     exit_codes=sorted(set(c["exit_code"] for c in ctrs if not c["running"] and c["exit_code"] is not None)),
                     oom_killed=len([c for c in ctrs if c["oom_killed"]]), expected=name in expected, evidence=[])

        note = _noter(entry, name, found)

        if not ctrs:
            note("down", "no container (expected)")
        elif not running:
            codes = entry["exit_codes"]
            if name in expected or any(code != 0 for code in codes) or not codes:
                note("down", "no running container (%s)" % ", ".join(
                    "%s %s%s" % (c["name"], c["state"], " exit %s" % c["exit_code"] if c["exit_code"] is not None and
                                 c["state"] in ("exited", "dead") else "") for c in ctrs))
            else:
                entry["completed"] = True
        for c in ctrs:
            if c["health"] == "unhealthy":
                note("degraded", "%s unhealthy (failing streak %s)" % (c["name"], c["health_failing_streak"]))
            if c["restarting"]:
                note("degraded", "%s restarting (restart count %d)" % (c["name"], c["restart_count"]))
            elif c["restarted_recently"]:
                note("degraded", "%s restarted %d time(s), last start %s" % (c["name"], c["restart_count"], c["started_at"]))
            if c["oom_killed"]:
                note("degraded", "%s was OOM-killed" % c["name"])
            if running and not c["running"] and not c["restarting"] and c["exit_code"] not in (0, None):
                note("degraded", "%s exited with code %s" % (c["name"], c["exit_code"]))
        out[name] = entry
    return out, found


_DOCKER_TS_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})) ")


def split_docker_timestamp(text):
    """A ``docker logs --timestamps`` line -> (its RFC 3339 timestamp or None, the line without it)."""
    m = _DOCKER_TS_PREFIX.match(text)
    if not m:
        return None, text
    return m.group(1), text[m.end():]


# ------------------------------------------------------------------------------------------- deploys

# git log --format: fields split by the unit separator, one record per line (a subject has no newline)
GIT_LOG_FORMAT = "%H%x1f%h%x1f%ct%x1f%an%x1f%D%x1f%s"


def parse_git_log(text):
    """``git log --format=GIT_LOG_FORMAT`` output -> [{sha, short, epoch, author, refs, subject, oneline}]."""
    commits = []
    for line in text.splitlines():
        parts = line.split("\x1f")
        if len(parts) != 6 or not re.match(r"^[0-9a-f]{7,64}$", parts[0]):
            continue
        sha, short, epoch, author, refs, subject = parts
        try:
            epoch = int(epoch)
        except ValueError:
            epoch = None
        commits.append(dict(sha=sha, short=short, epoch=epoch, author=author,
                            refs=[r.strip() for r in refs.split(",") if r.strip()], subject=subject,
                            oneline="%s %s" % (short, subject)))
    return commits


def parse_epoch(text):
    """The first line of ``text`` as epoch seconds (git's %ct), or None."""
    first = (text or "").strip().split("\n", 1)[0].strip()
    return int(first) if re.match(r"^\d{1,12}$", first) else None
