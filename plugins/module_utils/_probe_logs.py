# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The log_grep probe's work: its options, their validation and the class that probes. Shared by the
log_grep module and the triage_probe module (which runs several probes in one invocation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import time

from ansible_collections.reflexion.incident.plugins.module_utils._logs import (
    PARALLEL_MIN,
    PRESETS,
    FileScan,
    GzipTruncatedError,
    compile_patterns,
    parse_time_spec,
    read_gzip,
    read_plain,
    read_plain_parallel,
    seek_since,
    timestamp_format,
    usable_cpus,
)
from ansible_collections.reflexion.incident.plugins.module_utils._probe import PROBE_COMMON_SPEC
from ansible_collections.reflexion.incident.plugins.module_utils._redact import redact

_ROTATED = re.compile(r"^(?:\.\d+|-\d{8}(?:\d{2})?)(?:\.gz)?$")
_SEEK_MIN = 4 << 20
# The most processes one scan takes, whatever the host has.
MAX_WORKERS = 4


def iso(ts):
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ("%.3fZ" % (ts % 1))[1:]


def expand_paths(paths, include_rotated):
    """Files to read, oldest first (so the tail is chronological), with rotated siblings if asked."""
    found = []
    seen = set()
    for spec in paths:
        hits = sorted(glob.glob(spec)) if glob.has_magic(spec) else [spec]
        for path in hits:
            group = [path]
            if include_rotated:
                base = os.path.basename(path)
                for sib in glob.glob(glob.escape(path) + "*"):
                    rest = os.path.basename(sib)[len(base):]
                    if rest and _ROTATED.match(rest):
                        group.append(sib)
            for p in group:
                if p not in seen:
                    seen.add(p)
                    found.append(p)
            if not hits:
                pass

    def age_key(p):
        try:
            return (os.stat(p).st_mtime, p)
        except OSError:
            return (0, p)

    return sorted(found, key=age_key)


class LogGrep(object):
    def __init__(self, params, patterns, since, until):
        self.p = params
        self.patterns = patterns
        self.since = since
        self.until = until

    def scan_file(self, path):
        p = self.p
        entry = {"path": path, "matches": 0, "bytes_scanned": 0, "lines_scanned": 0, "compressed": False,
                 "timestamp_format": None, "skipped": None, "warnings": [], "workers": 1}
        try:
            st = os.stat(path)
            if not os.path.isfile(path):
                entry["skipped"] = "not a regular file"
                return entry, None
            with open(path, "rb") as f:
                head = f.read(8192)
        except OSError as exc:
            entry["skipped"] = "unreadable: %s" % (exc.strerror or exc)
            return entry, None
        gz = head[:2] == b"\x1f\x8b"
        entry["compressed"] = gz
        if self.since is not None and st.st_mtime < self.since:
            entry["skipped"] = "last written %s, before since" % iso(st.st_mtime)
            return entry, None
        if not gz and b"\x00" in head:
            entry["skipped"] = "binary file (NUL bytes)"
            return entry, None
        scan = FileScan(self.patterns, p["tail"], p["max_line_length"], self.since, self.until)
        try:
            if gz:
                try:
                    read_gzip(path, scan)
                except GzipTruncatedError as exc:
                    entry["warnings"].append("gzip stream is damaged or truncated after %d bytes: %s; "
                                             "matches before that point are counted" % (scan.bytes, exc))
            else:
                start = 0
                if self.since is not None and st.st_size > _SEEK_MIN:
                    with open(path, "rb") as f:
                        start = seek_since(f, st.st_size, self.since)
                    if start:
                        scan.lines_known = False
                workers = min(self.p["workers"] or usable_cpus(), MAX_WORKERS)
                if workers > 1 and start == 0 and self.since is None and self.until is None \
                        and st.st_size >= PARALLEL_MIN:
                    read_plain_parallel(path, scan, st.st_size, workers)
                    entry["workers"] = workers
                else:
                    read_plain(path, scan, start)
        except OSError as exc:
            entry["skipped"] = "read error: %s" % (exc.strerror or exc)
            return entry, None
        first_line = head.split(b"\n", 1)[0] if not gz else b""
        entry["timestamp_format"] = timestamp_format(first_line) if first_line else None
        if gz and scan.tail:
            entry["timestamp_format"] = timestamp_format(scan.tail[-1]["text"].encode("utf-8", "replace"))
        entry["matches"] = scan.total
        entry["bytes_scanned"] = scan.bytes
        entry["lines_scanned"] = scan.lines
        if scan.long_lines:
            entry["warnings"].append("%d returned line(s) longer than %d bytes were cut"
                                     % (scan.long_lines, p["max_line_length"]))
        if scan.bad_utf8:
            entry["warnings"].append("%d returned line(s) are not valid UTF-8 (shown with U+FFFD)" % scan.bad_utf8)
        return entry, scan

    def run(self):
        p = self.p
        files = expand_paths(p["paths"], p["include_rotated"])
        counts = [0] * len(self.patterns)
        total = 0
        tail = []
        sigs = None
        entries = []
        for path in files:
            entry, scan = self.scan_file(path)
            entries.append(entry)
            if scan is None:
                continue
            total += scan.total
            counts = [a + b for a, b in zip(counts, scan.counts)]
            for m in scan.tail:
                m = dict(m)
                m["file"] = path
                m["timestamp"] = iso(m["timestamp"])
                tail.append(m)
            if sigs is None:
                sigs = scan.signatures
            else:
                sigs.merge(scan.signatures)
        tail = tail[-p["tail"]:] if p["tail"] else []
        signatures = sigs.top(p["top_signatures"]) if sigs else []
        # log lines print secrets (keys, DSN passwords, bearer tokens): never return them
        for item in tail:
            item["text"] = redact(item["text"])[0]
        for item in signatures:
            item["signature"] = redact(item["signature"])[0]
        read = [e for e in entries if e["skipped"] is None]
        if not files:
            status, reason = "degraded", "no file matches %s" % ", ".join(p["paths"])
        elif not read and any(not e["skipped"].startswith("last written") for e in entries):
            status, reason = "degraded", "no file could be read: %s" % "; ".join(
                "%s: %s" % (e["path"], e["skipped"]) for e in entries)
        elif total == 0:
            status, reason = "healthy", "no matching line in %d file(s)" % len(read)
        else:
            status = "down" if total >= p["unhealthy_matches"] else "degraded"
            reason = "%d matching line(s) in %d file(s)" % (total, len([e for e in read if e["matches"]]))
            if signatures:
                reason += "; top: %s (%d)" % (signatures[0]["signature"][:120], signatures[0]["count"])
        return dict(
            changed=False, status=status, reason=reason, total_matches=total,
            counts=dict((pat.name, n) for pat, n in zip(self.patterns, counts)),
            matches=tail, signatures=signatures,
            signatures_approximate=bool(sigs and sigs.approximate), files=entries,
            bytes_scanned=sum(e["bytes_scanned"] for e in entries),
            lines_scanned=sum(e["lines_scanned"] for e in entries),
            window={"since": iso(self.since), "until": iso(self.until)},
        )


def validate(module):
    p = module.params
    if not p["paths"]:
        module.fail_json(msg="paths: give at least one file or glob")
    if not p["patterns"]:
        module.fail_json(msg="patterns: give at least one regex or preset (%s)" % ", ".join(sorted(PRESETS)))
    for name in ("tail", "top_signatures", "workers"):
        if p[name] < 0:
            module.fail_json(msg="%s: must be 0 or more, got %d" % (name, p[name]))
    if p["max_line_length"] < 1:
        module.fail_json(msg="max_line_length: must be 1 or more, got %d" % p["max_line_length"])
    if p["unhealthy_matches"] < 1:
        module.fail_json(msg="unhealthy_matches: must be 1 or more, got %d" % p["unhealthy_matches"])
    named = []
    for item in p["patterns"]:
        if item in PRESETS:
            named.extend((item, rx) for rx in PRESETS[item])
        else:
            named.append((item, item))
    try:
        patterns = compile_patterns(named, p["ignore_case"])
    except ValueError as exc:
        module.fail_json(msg="patterns: %s" % exc)
    now = time.time()
    window = {}
    for name in ("since", "until"):
        if p[name] is None:
            window[name] = None
            continue
        try:
            window[name] = parse_time_spec(p[name], now)
        except ValueError as exc:
            module.fail_json(msg="%s: %s" % (name, exc))
    if window["since"] is not None and window["until"] is not None and window["since"] > window["until"]:
        module.fail_json(msg="since (%s) is after until (%s)" % (iso(window["since"]), iso(window["until"])))
    return patterns, window["since"], window["until"]


def argument_spec():
    """log_grep's options, with the options every probe shares."""
    spec = dict(
        paths=dict(type="list", elements="path", required=True, aliases=["path"]),
        include_rotated=dict(type="bool", default=False),
        patterns=dict(type="list", elements="str", default=["errors"]),
        ignore_case=dict(type="bool", default=True),
        since=dict(type="str"),
        until=dict(type="str"),
        tail=dict(type="int", default=20),
        max_line_length=dict(type="int", default=2048),
        top_signatures=dict(type="int", default=10),
        unhealthy_matches=dict(type="int", default=100),
        workers=dict(type="int", default=0),
    )
    spec.update(PROBE_COMMON_SPEC)
    return spec
