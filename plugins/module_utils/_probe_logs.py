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

import errno
import glob
import os
import re
import time

from ansible_collections.reflexion.incident.plugins.module_utils._log_files import glob_root, open_regular, resolve_inside
from ansible_collections.reflexion.incident.plugins.module_utils._log_grep_bin import (
    GrepError,
    gnu_grep,
    grep_gzip,
    grep_plain,
    prefilter_args,
)
from ansible_collections.reflexion.incident.plugins.module_utils._log_gzip import (
    GZIP_MAX_RATIO,
    GzipCapError,
    GzipTruncatedError,
    gzip_cap,
    read_gzip,
)
from ansible_collections.reflexion.incident.plugins.module_utils._log_patterns import PRESETS, compile_patterns
from ansible_collections.reflexion.incident.plugins.module_utils._log_readers import (
    PARALLEL_MIN,
    read_plain,
    read_plain_parallel,
    seek_since,
    usable_cpus,
)
from ansible_collections.reflexion.incident.plugins.module_utils._log_scan import BAD_UTF8, CUT, FileScan
from ansible_collections.reflexion.incident.plugins.module_utils._log_time import parse_time_spec, timestamp_format
from ansible_collections.reflexion.incident.plugins.module_utils._probe import PROBE_COMMON_SPEC, resolve_timeout
from ansible_collections.reflexion.incident.plugins.module_utils._redact import redact
from ansible_collections.reflexion.incident.plugins.module_utils._validate import require_finite

_ROTATED = re.compile(r"^(?:\.\d+|-\d{8}(?:\d{2})?)(?:\.gz)?$")
_SEEK_MIN = 4 << 20
# The most processes one scan takes, whatever the host has.
MAX_WORKERS = 4


def iso(ts):
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ("%.3fZ" % (ts % 1))[1:]


def expand_paths(paths, include_rotated):
    """Files to read, oldest first (so the tail is chronological), with rotated siblings if asked.

    Returns ``(path, root)`` pairs: ``root`` is the directory the path or glob names (its part before
    any glob magic), and a file is read only if it resolves inside it (see ``resolve_inside``).
    """
    found = []
    seen = set()
    for spec in paths:
        root = glob_root(spec)
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
                    found.append((p, root))

    def age_key(item):
        try:
            return (os.stat(item[0]).st_mtime, item[0])
        except OSError:
            return (0, item[0])

    return sorted(found, key=age_key)


UNPARSED_WARNING = ("%d line(s) and not one timestamp log_grep recognises (ISO 8601, Python logging, syslog, "
                    "nginx/apache, JSON time/ts/timestamp): the since/until window cannot be applied to this file, "
                    "so it was scanned whole")


def gzip_warning(exc, scan):
    """The warning of a damaged (GzipTruncatedError) or capped (GzipCapError) .gz file, whichever path read it."""
    if isinstance(exc, GzipCapError):
        return ("gzip: decompressed data passed the cap of %d bytes (%dx the compressed size, at least 64 MiB; a gzip "
                "bomb?): [truncated] only the first %d bytes were scanned" % (exc.cap, GZIP_MAX_RATIO, exc.cap))
    return ("gzip stream is damaged or truncated after %d bytes: %s; matches before that point are counted"
            % (scan.bytes, exc))


# The total scan deadline when O(timeout) is not set (seconds).
DEFAULT_TIMEOUT = 300.0


class DeadlineScan(FileScan):
    """A FileScan that stops (``done``, ``timed_out``) once the probe's total deadline has passed: the
    readers stop feeding when ``done`` is set, so a huge or endless file cannot hold the probe."""

    def __init__(self, deadline, *args):
        super(DeadlineScan, self).__init__(*args)
        self.deadline = deadline
        self.timed_out = False

    def feed(self, block, end=None):
        if not self.done and time.monotonic() >= self.deadline:
            self.done = self.timed_out = True
            return
        super(DeadlineScan, self).feed(block, end)


class LogGrep(object):
    """``find_bin`` and ``run_command`` (the module's ``get_bin_path`` and ``run_command``) let a whole-file
    scan of a plain file use the host's GNU grep as the prefilter (O(engine)); without them, or when grep
    cannot serve the options, the scan is Python's."""

    def __init__(self, params, patterns, since, until, find_bin=None, run_command=None):
        self.p = params
        self.patterns = patterns
        self.deadline = None
        self.since = since
        self.until = until
        self.find_bin = find_bin
        self.run_command = run_command
        self._grep = None
        self._grep_args = None

    def grep_for(self, since, until):
        """(grep, its prefilter arguments) when this scan may use grep, else None (looked up once)."""
        if self.p.get("engine", "auto") == "python" or since is not None or until is not None:
            return None
        if self._grep is None:
            self._grep_args = prefilter_args(self.patterns)
            self._grep = (gnu_grep(self.find_bin, self.run_command) if self._grep_args is not None else None) or ""
        return (self._grep, self._grep_args) if self._grep else None

    def _read_grep(self, grep, real, gz, scan):
        """The fast path of ``_read``: grep as the prefilter of a plain file, or of a .gz file that a thread
        decompresses into grep's pipe. Returns the warnings; GrepError: scan it again in Python."""
        warnings = []
        with open_regular(real) as f:
            if gz:
                try:
                    finished = grep_gzip(grep[0], grep[1], f, scan, self.deadline, self.run_command,
                                         gzip_cap(os.fstat(f.fileno()).st_size))
                except (GzipTruncatedError, GzipCapError) as exc:
                    finished = True
                    warnings.append(gzip_warning(exc, scan))
            else:
                finished = grep_plain(grep[0], grep[1], f, scan, self.deadline, self.run_command)
        if not finished:
            scan.done = scan.timed_out = True
        return warnings

    def _read(self, real, st, gz, scan, since):
        """Feed the file to ``scan``; returns its warnings. OSError propagates."""
        warnings = []
        if gz:
            try:
                read_gzip(real, scan)
            except (GzipTruncatedError, GzipCapError) as exc:
                warnings.append(gzip_warning(exc, scan))
        else:
            start = 0
            if since is not None and st.st_size > _SEEK_MIN:
                with open_regular(real, buffering=-1) as f:
                    start = seek_since(f, st.st_size, since)
                if start:
                    scan.lines_known = False
            workers = min(self.p["workers"] or usable_cpus(), MAX_WORKERS)
            if workers > 1 and start == 0 and since is None and scan.until is None \
                    and st.st_size >= PARALLEL_MIN:
                read_plain_parallel(real, scan, st.st_size, workers)
                scan.workers = workers
            else:
                read_plain(real, scan, start)
        return warnings

    def scan_file(self, path, root):
        p = self.p
        entry = {"path": path, "matches": 0, "bytes_scanned": 0, "lines_scanned": 0, "compressed": False,
                 "timestamp_format": None, "skipped": None, "warnings": [], "workers": 1, "engine": None,
                 "unparsed_timestamps": 0, "outside_root": False}
        real, outside = resolve_inside(path, root)
        if outside:
            entry["skipped"] = outside
            entry["outside_root"] = True
            return entry, None
        try:
            with open_regular(real) as f:
                st = os.fstat(f.fileno())
                head = f.read(8192)
        except OSError as exc:
            if exc.errno == errno.EINVAL and "regular file" in str(exc.strerror):
                entry["skipped"] = exc.strerror
            else:
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
        scan = DeadlineScan(self.deadline, self.patterns, p["tail"], p["max_line_length"], self.since, self.until)
        scan.workers = 1
        entry["engine"] = "python"
        grep = self.grep_for(self.since, self.until)
        try:
            if grep:
                try:
                    entry["warnings"].extend(self._read_grep(grep, real, gz, scan))
                    entry["engine"] = "grep"
                except GrepError as exc:
                    entry["warnings"].append("%s: scanned in Python instead" % exc)
                    scan = DeadlineScan(self.deadline, self.patterns, p["tail"], p["max_line_length"], None, None)
                    scan.workers = 1
            if entry["engine"] == "python":
                entry["warnings"].extend(self._read(real, st, gz, scan, self.since))
            if (self.since is not None or self.until is not None) and not scan.ts_seen \
                    and (scan.lines or scan.skipped_lines):
                # Not one line could be placed in time: never report such a file as quiet. Scan it whole.
                if self.since is not None:
                    scan = DeadlineScan(self.deadline, self.patterns, p["tail"], p["max_line_length"], None, None)
                    scan.workers = 1
                    entry["warnings"] = self._read(real, st, gz, scan, None)
                entry["unparsed_timestamps"] = scan.lines
                entry["warnings"].append(UNPARSED_WARNING % scan.lines)
        except OSError as exc:
            entry["skipped"] = "read error: %s" % (exc.strerror or exc)
            return entry, None
        entry["workers"] = scan.workers
        if scan.timed_out:
            entry["warnings"].append("[truncated] the deadline of %gs passed: only the first %d byte(s) were scanned"
                                     % (p["timeout"], scan.bytes))
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
        self.deadline = time.monotonic() + p["timeout"]
        files = expand_paths(p["paths"], p["include_rotated"])
        counts = [0] * len(self.patterns)
        total = 0
        tail = []
        sigs = None
        entries = []
        timed_out = False
        for path, root in files:
            if time.monotonic() >= self.deadline:
                timed_out = True
                entries.append({"path": path, "matches": 0, "bytes_scanned": 0, "lines_scanned": 0,
                                "compressed": False, "timestamp_format": None, "workers": 1, "warnings": [], "engine": None,
                                "skipped": "not scanned: the deadline of %gs passed" % p["timeout"],
                                "unparsed_timestamps": 0, "outside_root": False})
                continue
            entry, scan = self.scan_file(path, root)
            entries.append(entry)
            if scan is None:
                continue
            timed_out = timed_out or scan.timed_out
            total += scan.total
            counts = [a + b for a, b in zip(counts, scan.counts)]
            for m in scan.tail:
                m = dict(m)
                m.pop(CUT, None)
                m.pop(BAD_UTF8, None)
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
        outside = [e for e in entries if e["outside_root"]]
        unparsed = [e for e in entries if e["unparsed_timestamps"]]
        if not files:
            status, reason = "degraded", "no file matches %s" % ", ".join(p["paths"])
        elif not read and not timed_out and any(not e["skipped"].startswith("last written") for e in entries):
            status, reason = "degraded", "no file could be read: %s" % "; ".join(
                "%s: %s" % (e["path"], e["skipped"]) for e in entries)
        elif total == 0:
            status, reason = "healthy", "no matching line in %d file(s)" % len(read)
        else:
            status = "down" if total >= p["unhealthy_matches"] else "degraded"
            reason = "%d matching line(s) in %d file(s)" % (total, len([e for e in read if e["matches"]]))
            if signatures:
                reason += "; top: %s (%d)" % (signatures[0]["signature"][:120], signatures[0]["count"])
        warnings = []
        if timed_out:
            note = ("[truncated] the scan deadline of %gs (timeout) passed: the counts are partial"
                    % p["timeout"])
            reason += "; " + note
            warnings.append(note)
            if status == "healthy":
                # a partial scan without a match is not evidence of health
                status = "degraded"
        if unparsed:
            note = ("%d file(s) have no timestamp log_grep recognises (%s): scanned without the since/until window"
                    % (len(unparsed), ", ".join(e["path"] for e in unparsed[:5])))
            reason += "; " + note
            warnings.append(note)
        if outside:
            note = ("%d file(s) resolve outside the directory their path or glob names and were not read: %s"
                    % (len(outside), ", ".join(e["path"] for e in outside[:5])))
            reason += "; " + note
            warnings.append(note)
        result = dict(
            changed=False, status=status, reason=reason, total_matches=total,
            counts=dict((pat.name, n) for pat, n in zip(self.patterns, counts)),
            matches=tail, signatures=signatures,
            signatures_approximate=bool(sigs and sigs.approximate), files=entries,
            bytes_scanned=sum(e["bytes_scanned"] for e in entries),
            lines_scanned=sum(e["lines_scanned"] for e in entries),
            window={"since": iso(self.since), "until": iso(self.until)},
            unparsed_timestamps=sum(e["unparsed_timestamps"] for e in entries),
            outside_root=[e["path"] for e in outside],
            timeout=p["timeout"], timed_out=timed_out,
        )
        if warnings:
            result["warnings"] = warnings
        return result


# Cap of the counts (tail lines, signatures, workers): a larger one is a typo, and a huge one overflowed.
MAX_COUNT = 100000


def validate(module):
    p = module.params
    require_finite(module, argument_spec())
    resolve_timeout(module, DEFAULT_TIMEOUT)
    if not p["paths"]:
        module.fail_json(msg="paths: give at least one file or glob")
    if not p["patterns"]:
        module.fail_json(msg="patterns: give at least one regex or preset (%s)" % ", ".join(sorted(PRESETS)))
    for name in ("tail", "top_signatures", "workers"):
        if p[name] < 0:
            module.fail_json(msg="%s: must be 0 or more, got %d" % (name, p[name]))
        if p[name] > MAX_COUNT:
            module.fail_json(msg="%s: must be at most %d, got %d" % (name, MAX_COUNT, p[name]))
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
        except (ValueError, OverflowError) as exc:
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
        engine=dict(type="str", default="auto", choices=["auto", "python"]),
    )
    spec.update(PROBE_COMMON_SPEC)
    return spec
