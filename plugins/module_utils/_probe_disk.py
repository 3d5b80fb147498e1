# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The disk_probe probe's work (the runbook's ``df -h`` and ``df -h /var/lib/postgresql/data/``): its options,
their validation and the class that probes. Shared by the disk_probe module and triage_probe."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import threading
import time

from ansible_collections.reflexion.incident.plugins.module_utils._probe import PROBE_COMMON_SPEC, resolve_timeout, worst_status
from ansible_collections.reflexion.incident.plugins.module_utils._signals import (
    disk_usage,
    human_size,
    mount_of,
    parse_mounts,
)
from ansible_collections.reflexion.incident.plugins.module_utils._validate import require_finite

# timeout when the option is not set (seconds)
DEFAULT_TIMEOUT = 5.0

MOUNTS_FILE = "/proc/self/mounts"
MAX_PATHS = 64


def nearest_existing(path):
    """``path`` or its closest existing parent: a data directory not created yet (or not visible on this host)
    lives on its parent's filesystem."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _measure(path):
    """(resolved existing path, statvfs) of ``path``; runs on a watcher thread (a hung NFS mount blocks here)."""
    real = os.path.realpath(nearest_existing(path))
    return real, os.statvfs(real)


def with_deadline(func, args, seconds):
    """``func(*args)`` on a daemon thread; (result, None), or (None, error text) on an exception or when
    ``seconds`` pass first (the thread is abandoned: a hung filesystem cannot hold the probe)."""
    box = {}

    def run():
        try:
            box["result"] = func(*args)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            box["error"] = "%s" % (getattr(exc, "strerror", None) or exc)

    thread = threading.Thread(target=run)
    thread.daemon = True
    thread.start()
    thread.join(max(seconds, 0.0))
    if thread.is_alive():
        return None, "no answer within %gs (a hung network filesystem?)" % seconds
    if "error" in box:
        return None, box["error"]
    return box["result"], None


class DiskProbe(object):
    def __init__(self, params):
        self.p = params

    def run(self):
        p = self.p
        deadline = time.monotonic() + p["timeout"]
        try:
            with open(MOUNTS_FILE) as f:
                mounts = parse_mounts(f.read(1 << 20))
        except OSError:
            mounts = []
        paths, filesystems = [], {}
        for path in p["paths"]:
            entry = dict(path=path, exists=None, measured=None, mount=None, error=None)
            paths.append(entry)
            got, error = with_deadline(_measure, (path,), deadline - time.monotonic())
            if error:
                entry["error"] = error
                continue
            real, st = got
            entry["measured"] = real
            entry["exists"] = real == os.path.realpath(path)
            found = mount_of(real, mounts)
            key = (found[1] if found else real, st.f_fsid)
            entry["mount"] = found[1] if found else None
            fs = filesystems.get(key)
            if fs is None:
                fs = dict(mount=found[1] if found else None, source=found[0] if found else None,
                          fstype=found[2] if found else None, paths=[])
                fs.update(disk_usage(st.f_frsize or st.f_bsize, st.f_blocks, st.f_bfree, st.f_bavail,
                                     st.f_files, st.f_ffree, st.f_favail))
                fs["size_h"], fs["avail_h"] = human_size(fs["size_mb"]), human_size(fs["avail_mb"])
                fs["full"] = bool((fs["used_pct"] or 0) >= p["full_pct"]
                                  or (fs["inodes_used_pct"] or 0) >= p["full_pct"])
                filesystems[key] = fs
            fs["paths"].append(path)
        result = dict(changed=False, paths=paths, filesystems=list(filesystems.values()), full_pct=p["full_pct"])
        result["status"], result["reason"] = self.classify(result)
        return result

    @staticmethod
    def classify(r):
        found = []
        for fs in r["filesystems"]:
            if fs["full"]:
                what = "inodes %.1f%%" % fs["inodes_used_pct"] if (fs["used_pct"] or 0) < r["full_pct"] else \
                    "%.1f%% used, %s free" % (fs["used_pct"], fs["avail_h"])
                found.append(("degraded", "disk full: %s (%s) %s >= %g%%" % (
                    fs["mount"] or "?", ", ".join(fs["paths"]), what, r["full_pct"])))
        failed = [e for e in r["paths"] if e["error"]]
        if failed:
            found.append(("degraded", "cannot measure %s" % "; ".join("%s: %s" % (e["path"], e["error"]) for e in failed)))
        if not found:
            return "healthy", "; ".join("%s %.1f%% used, %s free" % (fs["mount"] or "?", fs["used_pct"] or 0, fs["avail_h"])
                                        for fs in r["filesystems"])
        return worst_status(s for s, _dummy in found), "; ".join(reason for _dummy, reason in found)


def validate(module):
    p = module.params
    require_finite(module, argument_spec())
    resolve_timeout(module, DEFAULT_TIMEOUT, high=300)
    if not p["paths"]:
        module.fail_json(msg="paths: give at least one path (the log directory, the compose project directory...)")
    if len(p["paths"]) > MAX_PATHS:
        module.fail_json(msg="paths: at most %d paths, got %d" % (MAX_PATHS, len(p["paths"])))
    for path in p["paths"]:
        if not path or not os.path.isabs(path) or "\x00" in path:
            module.fail_json(msg="paths: must be absolute paths, got %r" % (path,))
    if not 0 < p["full_pct"] <= 100:
        module.fail_json(msg="full_pct: must be a percentage in (0, 100], got %s" % p["full_pct"])
    if not 0 < p["timeout"] <= 300:
        module.fail_json(msg="timeout: must be more than 0 and at most 300 seconds, got %s" % p["timeout"])


def argument_spec():
    """disk_probe's options, with the options every probe shares."""
    spec = dict(
        paths=dict(type="list", elements="path", required=True),
        full_pct=dict(type="float", default=90.0),
    )
    spec.update(PROBE_COMMON_SPEC)
    return spec
