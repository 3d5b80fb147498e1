# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""memory_probe's readers (/proc, /dev/kmsg) and pure logic (parsing, masking, slopes, leak detection)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import time

MB = 1024.0 * 1024.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


# ---- /proc/meminfo ------------------------------------------------------------------------------------

def parse_meminfo(text):
    """{key: bytes} from /proc/meminfo text (values in kB are converted; counts stay counts)."""
    values = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        if not sep:
            continue
        parts = rest.split()
        if not parts:
            continue
        try:
            number = int(parts[0])
        except ValueError:
            continue
        values[key.strip()] = number * 1024 if len(parts) > 1 and parts[1] == "kB" else number
    return values


def host_summary(meminfo):
    """free -h in numbers: total, available, used %, cache, swap (MB)."""
    total = meminfo.get("MemTotal", 0)
    available = meminfo.get("MemAvailable")
    if available is None:  # kernels before 3.14
        available = meminfo.get("MemFree", 0) + meminfo.get("Buffers", 0) + meminfo.get("Cached", 0)
    cache = meminfo.get("Cached", 0) + meminfo.get("Buffers", 0) + meminfo.get("SReclaimable", 0)
    swap_total = meminfo.get("SwapTotal", 0)
    swap_free = meminfo.get("SwapFree", 0)
    swap_used = swap_total - swap_free
    return dict(
        total_mb=round(total / MB, 1), available_mb=round(available / MB, 1),
        used_mb=round((total - available) / MB, 1),
        used_pct=round(100.0 * (total - available) / total, 1) if total else None,
        free_mb=round(meminfo.get("MemFree", 0) / MB, 1), cache_mb=round(cache / MB, 1),
        swap_total_mb=round(swap_total / MB, 1), swap_used_mb=round(swap_used / MB, 1),
        swap_used_pct=round(100.0 * swap_used / swap_total, 1) if swap_total else 0.0,
    )


def read_meminfo(path="/proc/meminfo"):
    with open(path) as f:
        return parse_meminfo(f.read())


# ---- processes ----------------------------------------------------------------------------------------

_SECRET_KEY = r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|apikey|access[-_]?key|auth|credentials?|private[-_]?key)"
_KEY_VALUE = re.compile(r"^(-{0,2}[\w.-]*" + _SECRET_KEY + r"[\w.-]*)([=:])(.+)$", re.IGNORECASE)
_FLAG = re.compile(r"^-{1,2}[\w.-]*" + _SECRET_KEY + r"[\w.-]*$", re.IGNORECASE)
_URL_CREDS = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*):[^@/\s]+@")
MASK = "********"


def mask_args(args):
    """Mask secrets in a command line given as a list of arguments (pure).

    ``--password=x``, ``PGPASSWORD=x``, ``token:x``: the value; ``--password x``: the next argument;
    ``scheme://user:pass@host``: the password.
    """
    out = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        m = _KEY_VALUE.match(arg)
        if m:
            out.append(m.group(1) + m.group(2) + MASK)
            continue
        if _FLAG.match(arg):
            out.append(arg)
            hide_next = True
            continue
        out.append(_URL_CREDS.sub(r"\1:" + MASK + "@", arg))
    return out


def read_rss_all(proc="/proc"):
    """{pid: rss bytes} for every process, read from /proc/<pid>/statm (one small read per process)."""
    rss = {}
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        try:
            with open("%s/%s/statm" % (proc, name), "rb") as f:
                fields = f.read().split()
            rss[int(name)] = int(fields[1]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile, or a kernel thread race
    return rss


def read_process_identity(pid, proc="/proc"):
    """(name, argv) of a process, or (None, None) when it is gone."""
    try:
        with open("%s/%d/comm" % (proc, pid), "rb") as f:
            name = f.read().decode("utf-8", "replace").strip()
        with open("%s/%d/cmdline" % (proc, pid), "rb") as f:
            raw = f.read()
    except OSError:
        return None, None
    argv = [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]
    return name, argv


_CONTAINER_ID = re.compile(r"(?<![0-9a-f])([0-9a-f]{64})(?![0-9a-f])")


def parse_cgroup_container_id(text):
    """The 64-hex container id in a /proc/<pid>/cgroup text (docker/<id>, docker-<id>.scope), or None (pure)."""
    found = _CONTAINER_ID.findall(text or "")
    return found[-1] if found else None


def read_container_id(pid, proc="/proc"):
    """The id of the container a process runs in, read from /proc/<pid>/cgroup; None outside a container."""
    try:
        with open("%s/%d/cgroup" % (proc, pid), "rb") as f:
            return parse_cgroup_container_id(f.read(65536).decode("utf-8", "replace"))
    except OSError:
        return None


# ---- trend ----------------------------------------------------------------------------------------------

def slope_per_minute(points):
    """Least-squares slope of [(seconds, MB), ...] in MB per minute; None with fewer than 2 distinct times."""
    n = len(points)
    if n < 2:
        return None
    mean_t = sum(p[0] for p in points) / float(n)
    mean_v = sum(p[1] for p in points) / float(n)
    var = sum((p[0] - mean_t) ** 2 for p in points)
    if var == 0:
        return None
    cov = sum((p[0] - mean_t) * (p[1] - mean_v) for p in points)
    return cov / var * 60.0


def is_leak_suspect(points, threshold_mb_per_min, min_growth_mb=1.0):
    """(suspect, slope): growing at >= threshold MB/min, and the last sample above the first by min_growth_mb.

    Needs at least 3 samples, so that one jump is not taken for a trend, and the growth must be
    sustained: the samples without the last one, and those without the first one, must each still
    grow at half the threshold or more. A request burst caught by one sample at either end (a lab
    replica went 21 -> 21 -> 27 MB in 4 s and back) is not a leak; a leak grows between every pair.
    """
    slope = slope_per_minute(points)
    if slope is None or len(points) < 3:
        return False, slope
    rising = sum(1 for a, b in zip(points, points[1:]) if b[1] > a[1])
    growth = points[-1][1] - points[0][1]
    suspect = slope >= threshold_mb_per_min and growth >= min_growth_mb and rising >= (len(points) - 1) / 2.0
    if suspect:
        half = threshold_mb_per_min / 2.0
        suspect = all((slope_per_minute(part) or 0.0) >= half for part in (points[:-1], points[1:]))
    return suspect, slope


# ---- OOM kills from the kernel log -----------------------------------------------------------------------

_OOM = re.compile(r"(?P<memcg>Memory cgroup out of memory: )?(?:Out of memory: )?Kill(?:ed)? process (?P<pid>\d+) "
                  r"\((?P<name>[^)]*)\)(?:.*?anon-rss:(?P<anon>\d+)kB)?")


def parse_kmsg_record(record):
    """(seconds since boot, message) of a /dev/kmsg record 'prio,seq,usec,flags;message'."""
    head, sep, message = record.partition(";")
    if not sep:
        return None, record
    fields = head.split(",")
    try:
        return int(fields[2]) / 1e6, message.rstrip("\n")
    except (IndexError, ValueError):
        return None, message.rstrip("\n")


def parse_oom_kills(records, boot_time, since):
    """OOM kill entries from kmsg records that happened at or after the epoch ``since`` (pure)."""
    kills = []
    for record in records:
        uptime, message = parse_kmsg_record(record)
        m = _OOM.search(message)
        if not m or uptime is None:
            continue
        when = boot_time + uptime
        if when < since:
            continue
        kills.append(dict(time=round(when, 3), pid=int(m.group("pid")), name=m.group("name"),
                          cgroup=bool(m.group("memcg")),
                          anon_rss_mb=round(int(m.group("anon")) / 1024.0, 1) if m.group("anon") else None,
                          message=message[:300]))
    return kills


def read_kmsg(path="/dev/kmsg", limit=20000):
    """Every record still in the kernel ring buffer; raises OSError when it cannot be read."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    records = []
    try:
        while len(records) < limit:
            try:
                data = os.read(fd, 8192)
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    break
                if exc.errno == errno.EPIPE:  # records overwritten while reading: skip on
                    continue
                raise
            if not data:
                break
            records.append(data.decode("utf-8", "replace"))
    finally:
        os.close(fd)
    return records


def boot_time():
    with open("/proc/uptime") as f:
        return time.time() - float(f.read().split()[0])
