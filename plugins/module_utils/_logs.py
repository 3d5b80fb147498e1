# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""The engine of log_grep: timestamps, time windows, literal prefilters and a chunked scanner.

Speed comes from never looping over lines in Python: each block (about 1 MiB, ending on a line
boundary) is lowered once, the literals every match must contain are found with ``bytes.find``
(C speed), and only the lines they hit are confirmed with the regex. A ``since`` window is found
by binary search over byte offsets in seekable files, so the time spent is proportional to the
window, not to the file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import collections
import errno
import glob
import os
import pickle
import re
import stat
import threading
import time
import zlib

try:
    import re._parser as sre_parse  # Python >= 3.11
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_parse  # type: ignore

import queue

# The runbook's greps, as presets.
PRESETS = {
    # grep -i error /var/log/reflexion/*.log
    "errors": [r"error"],
    # grep -E "(timeout|connection|failed)" /var/log/reflexion/*.log
    "network": [r"timeout|connection|failed"],
    # grep -i "rate limit\|timeout\|unauthorized" (LLM API failures)
    "llm": [r"rate limit|timeout|unauthorized"],
    # grep -E "500|error" (high error rate)
    "http5xx": [r"500|error"],
}

BLOCK = 1 << 20
# A "line" longer than this with no newline is cut, so memory stays bounded.
MAX_CARRY = 64 << 20

_MONTHS = dict((m, i + 1) for i, m in enumerate(
    (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec")))

_ISO = re.compile(br"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2}(?![\d:]))?")
_CLF = re.compile(br"\[(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\]")
_SYSLOG = re.compile(br"(?:<\d{1,3}>)?([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})\b")
_JSON = re.compile(br'"(?:time|timestamp|ts|@timestamp)"\s*:\s*(?:"([^"]{1,64})"|(\d{9,16}(?:\.\d+)?))')
_SPEC = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def _tz_offset(zone):
    if not zone or zone in (b"Z", "Z"):
        return 0
    zone = zone.replace(b":", b"") if isinstance(zone, bytes) else zone.replace(":", "")
    sign = -1 if zone[:1] in (b"-", "-") else 1
    return sign * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)


def _epoch(year, month, day, hour, minute, sec, frac=None, zone=None, naive_local=True):
    tup = (year, month, day, hour, minute, sec, 0, 0, -1)
    if zone is None and naive_local:
        base = time.mktime(tup)
    else:
        base = calendar.timegm(tup) - _tz_offset(zone)
    if frac:
        base += float(b"0." + frac if isinstance(frac, bytes) else "0." + frac)
    return base


def _iso_epoch(m):
    g = m.groups()
    return _epoch(int(g[0]), int(g[1]), int(g[2]), int(g[3]), int(g[4]), int(g[5]), g[6], g[7])


def line_timestamp(line, now=None):
    """Epoch seconds of the timestamp that starts ``line`` (bytes), or None.

    Recognised: ISO 8601 (with or without fraction and zone, which covers Python logging's
    ``2026-11-26 22:41:18,123``), syslog ``Nov 26 22:41:18``, nginx/apache
    ``[26/Nov/2026:22:41:18 +0000]`` and JSON lines with ``time``/``timestamp``/``ts`` (ISO or
    epoch seconds/milliseconds). Times without a zone are the host's local time.
    """
    try:
        head = bytes(line[:256])
        if head[:1] == b"{":
            m = _JSON.search(head)
            if not m:
                m = _JSON.search(bytes(line[:4096]))
            if m:
                if m.group(2):
                    value = float(m.group(2))
                    return value / 1000.0 if value > 1e11 else value
                iso = _ISO.match(m.group(1))
                if iso:
                    return _iso_epoch(iso)
                try:
                    value = float(m.group(1))
                    return value / 1000.0 if value > 1e11 else value
                except ValueError:
                    return None
            return None
        m = _ISO.search(head, 0, 48)
        if m:
            return _iso_epoch(m)
        m = _CLF.search(head, 0, 160)
        if m:
            g = m.groups()
            month = _MONTHS.get(g[1].lower())
            if month:
                return _epoch(int(g[2]), month, int(g[0]), int(g[3]), int(g[4]), int(g[5]), None, g[6])
            return None
        m = _SYSLOG.match(head)
        if m:
            g = m.groups()
            month = _MONTHS.get(g[0].lower())
            if not month:
                return None
            now = time.time() if now is None else now
            year = time.localtime(now).tm_year
            value = _epoch(year, month, int(g[1]), int(g[2]), int(g[3]), int(g[4]))
            if value > now + 86400:  # syslog has no year: December's lines read in January
                value = _epoch(year - 1, month, int(g[1]), int(g[2]), int(g[3]), int(g[4]))
            return value
    except (ValueError, OverflowError):
        return None
    return None


def timestamp_format(line):
    """Name of the timestamp format of ``line`` (for reports), or None."""
    head = line[:256]
    if head[:1] == b"{" and _JSON.search(head):
        return "json"
    m = _ISO.search(head, 0, 48)
    if m:
        return "python" if m.group(0)[10:11] == b" " and m.group(0)[19:20] == b"," else "iso8601"
    if _CLF.search(head, 0, 160):
        return "clf"
    if _SYSLOG.match(head):
        return "syslog"
    return None


# A time window reaches back at most this far, and no further than the Unix epoch: logs are younger,
# and times outside it overflow the platform's time functions.
MAX_SPAN = 100 * 366 * 86400
MIN_TIME = 0.0
MAX_TIME = 253402300799.0  # 9999-12-31T23:59:59Z


def parse_time_spec(spec, now=None):
    """``1h``/``30m``/``2d``/``90s``/``1w`` (ago) or ISO 8601 -> epoch seconds. ValueError if unusable,
    including a duration longer than 100 years and a time before 1970 or after 9999."""
    now = time.time() if now is None else now
    text = str(spec).strip()
    try:
        value = _parse_time_spec(text, now)
    except OverflowError:
        raise ValueError("%r is out of range (from 1970-01-01 to 9999-12-31)" % (text[:64],)) from None
    if not MIN_TIME <= value <= MAX_TIME:
        raise ValueError("%r is out of range (from 1970-01-01 to 9999-12-31)" % (text[:64],))
    return value


def _parse_time_spec(text, now):
    m = _SPEC.match(text)
    if m:
        span = float(m.group(1)) * _UNITS[m.group(2).lower()]
        if not span <= MAX_SPAN:
            raise ValueError("%r is longer than 100 years" % (text[:64],))
        return now - span
    iso = _ISO.match(text.encode("ascii", "replace"))
    if iso and iso.end() == len(text):
        g = iso.groups()
        if not (1 <= int(g[1]) <= 12 and 1 <= int(g[2]) <= 31 and int(g[3]) <= 23 and int(g[4]) <= 59
                and int(g[5]) <= 60):
            raise ValueError("%r is not a valid ISO 8601 time" % (text,))
        return _iso_epoch(iso)
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})$", text)
    if m:
        return _epoch(int(m.group(1)), int(m.group(2)), int(m.group(3)), 0, 0, 0)
    raise ValueError("%r is neither a duration like 1h, 30m, 2d nor an ISO 8601 time" % (text,))


# --- patterns and literal prefilters -------------------------------------------------------

_REPEATS = set(getattr(sre_parse, n) for n in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(sre_parse, n))


def _best(cands):
    """The candidate literal set whose shortest literal is longest (fewest false hits)."""
    cands = [c for c in cands if c]
    if not cands:
        return None
    return max(cands, key=lambda c: (min(len(x) for x in c), -len(c)))


def required_literals(parsed, icase):
    """Literals (bytes) of which every match of the parsed pattern contains at least one, or None."""
    cands = []
    run = []

    def flush():
        if run:
            cands.append([bytes(bytearray(run))])
            del run[:]

    for op, av in parsed:
        if op == sre_parse.LITERAL and av < 128:
            run.append(ord(chr(av).lower()) if icase else av)
            continue
        flush()
        if op == sre_parse.SUBPATTERN:
            sub = av[-1]
            add_flags, del_flags = av[1], av[2]
            if not icase and (add_flags or 0) & sre_parse.SRE_FLAG_IGNORECASE:
                continue
            if icase and (del_flags or 0) & sre_parse.SRE_FLAG_IGNORECASE:
                pass  # case-sensitive inside: its lowered literal is still in the lowered text
            cands.append(required_literals(sub, icase))
        elif op == sre_parse.BRANCH:
            alts = [required_literals(item, icase) for item in av[1]]
            if all(alts):
                merged = []
                for alt in alts:
                    for lit in alt:
                        if lit not in merged:
                            merged.append(lit)
                cands.append(merged)
        elif op in _REPEATS and av[0] >= 1:
            cands.append(required_literals(av[2], icase))
    flush()
    return _best(cands)


def _pure_literals(parsed):
    """True when the pattern is just literals or an alternation of them (no confirm needed)."""
    items = list(parsed)
    if len(items) == 1 and items[0][0] == sre_parse.BRANCH:
        return all(_pure_literals(b) for b in items[0][1][1])
    if len(items) == 1 and items[0][0] == sre_parse.SUBPATTERN and not items[0][1][1] and not items[0][1][2]:
        return _pure_literals(items[0][1][-1])
    return bool(items) and all(op == sre_parse.LITERAL and av < 128 for op, av in items)


class Pattern(object):
    """One user pattern: the compiled bytes regex plus its literal prefilter."""

    def __init__(self, name, source, ignore_case=True):
        self.name = name
        self.source = source
        flags = re.MULTILINE | (re.IGNORECASE if ignore_case else 0)
        raw = source.encode("utf-8") if not isinstance(source, bytes) else source
        self.regex = re.compile(raw, flags)  # re.error propagates: the caller names the pattern
        try:
            parsed = sre_parse.parse(raw, flags)
            lits = required_literals(parsed, ignore_case)
            self.pure = _pure_literals(parsed) and not (flags & re.VERBOSE)
        except Exception:  # noqa: BLE001 - the prefilter is an optimisation only
            lits, self.pure = None, False
        if lits and min(len(x) for x in lits) < 3:
            lits = None  # too short: more hits than a regex scan is worth
        if lits and ignore_case and any(not x.isascii() for x in lits):
            lits = None
        self.literals = lits
        if not lits:
            self.pure = False


def compile_patterns(patterns, ignore_case=True):
    """``patterns``: list of (name, regex). Returns Pattern objects; ValueError names a bad one."""
    out = []
    for name, source in patterns:
        try:
            out.append(Pattern(name, source, ignore_case))
        except re.error as exc:
            raise ValueError("pattern %r is not a valid regular expression: %s" % (source, exc)) from None
    return out


# --- signatures ------------------------------------------------------------------------------

_KEY_TABLE = bytes.maketrans(b"0123456789abcdefABCDEF", b"#" * 22)
_MASK = re.compile(
    br"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    br"|0x[0-9a-fA-F]+|\b[0-9a-fA-F]*\d[0-9a-fA-F]*\b|\d+")
SIGNATURE_CAP = 4096


def strip_timestamp(line):
    """``line`` without its leading timestamp (and the separators after it)."""
    head = line[:256]
    m = _ISO.search(head, 0, 48) or _CLF.search(head, 0, 160) or _SYSLOG.match(head)
    if m and m.start() < 48:
        rest = line[m.end():]
        return rest.lstrip(b" ]|-:\t")
    return line


def _mask_one(m):
    tok = m.group(0)
    if len(tok) == 36 and tok.count(b"-") == 4:
        return b"<uuid>"
    if tok[:2] in (b"0x", b"0X") or (len(tok) >= 8 and not tok.isdigit()):
        return b"<hex>"
    return b"<n>"


def mask_message(line):
    """The signature of a log line: timestamp dropped, numbers, ids and hex masked."""
    text = strip_timestamp(line.rstrip(b"\r\n"))
    text = _MASK.sub(_mask_one, text)
    return text[:300].decode("utf-8", "replace").strip()


def signature_keys(lines):
    """Cheap grouping keys for many lines at once (C-speed translate/replace over one joined block)."""
    joined = b"\n".join(lines).translate(_KEY_TABLE)
    while b"##" in joined:
        joined = joined.replace(b"####", b"#").replace(b"##", b"#")
    return joined.split(b"\n")


class Signatures(object):
    """Counts per signature, bounded: when full, the rarer half is dropped (counts then approximate)."""

    def __init__(self, cap=SIGNATURE_CAP):
        self.cap = cap
        self.counts = collections.Counter()
        self.example = {}
        self.approximate = False

    def add_lines(self, lines):
        if not lines:
            return
        keys = signature_keys(lines)
        counts = self.counts
        example = self.example
        for key, line in zip(keys, lines):
            if key not in example:
                example[key] = line[:1024]
            counts[key] += 1
        if len(counts) > self.cap:
            self.prune()

    def prune(self):
        keep = dict(self.counts.most_common(self.cap // 2))
        self.counts = collections.Counter(keep)
        self.example = dict((k, v) for k, v in self.example.items() if k in keep)
        self.approximate = True

    def merge(self, other):
        for key, n in other.counts.items():
            self.counts[key] += n
            self.example.setdefault(key, other.example[key])
        self.approximate = self.approximate or other.approximate
        if len(self.counts) > self.cap:
            self.prune()

    def top(self, k):
        merged = collections.Counter()
        for key, n in self.counts.items():
            merged[mask_message(self.example[key])] += n
        return [{"signature": s, "count": n} for s, n in merged.most_common(k)]


# --- the scanner -----------------------------------------------------------------------------

def _last_ts(block, end=None, limit=200):
    """Timestamp of the last timestamped line in block[:end] (searching back at most ``limit`` lines)."""
    pos = len(block) if end is None else end
    for _dummy in range(limit):
        if pos <= 0:
            return None
        start = block.rfind(b"\n", 0, pos - 1) + 1
        ts = line_timestamp(block[start:pos])
        if ts is not None:
            return ts
        pos = start
    return None


def _first_ts_at(block, pos, limit=200):
    """(timestamp, line start) of the first timestamped line starting at or after ``pos``."""
    n = len(block)
    for _dummy in range(limit):
        if pos >= n:
            return None, n
        end = block.find(b"\n", pos)
        end = n if end < 0 else end
        ts = line_timestamp(block[pos:end])
        if ts is not None:
            return ts, pos
        pos = end + 1
    return None, pos


def _bisect_block(block, target):
    """Offset of the first timestamped line with ts >= target in an in-memory block (lines sorted)."""
    lo, hi = 0, len(block)
    while hi - lo > 256:
        mid = block.rfind(b"\n", 0, (lo + hi) // 2) + 1
        if mid <= lo:
            mid = block.find(b"\n", (lo + hi) // 2) + 1 or hi
            if mid >= hi:
                break
        ts, at = _first_ts_at(block, mid)
        if ts is None or ts >= target:
            hi = mid
        else:
            lo = at + 1
            lo = block.rfind(b"\n", 0, lo) + 1 if lo < len(block) else lo
    pos = lo
    while pos < len(block):
        ts, at = _first_ts_at(block, pos)
        if ts is None:
            return len(block)
        if ts >= target:
            return at
        pos = block.find(b"\n", at)
        if pos < 0:
            return len(block)
        pos += 1
    return len(block)


class FileScan(object):
    """Scans one file's blocks; the result of one file (bounded memory)."""

    def __init__(self, patterns, tail, max_line_length, since=None, until=None):
        self.patterns = patterns
        self.tail_n = tail
        self.max_line = max_line_length
        self.since = since
        self.until = until
        self.counts = [0] * len(patterns)
        self.total = 0
        self.lines = 0
        self.skipped_lines = 0
        self.lines_known = True
        self.bytes = 0
        self.tail = collections.deque(maxlen=max(tail, 0))
        self.signatures = Signatures()
        self.started = since is None
        self.done = False
        self.prev_ts = None
        # Whether any line's timestamp was recognised (with a window, a file where none is cannot be
        # placed in time: the caller says so and scans it without the window).
        self.ts_seen = False
        self.long_lines = 0
        self.bad_utf8 = 0
        self.icase = any(p.regex.flags & re.IGNORECASE for p in patterns)
        # File offset of the next block fed (readers set it when they start past 0).
        self.consumed = 0
        self.block_base = 0

    def feed(self, block, end=None):
        """Scan ``block[:end]`` (it ends on a line boundary, or is the last block)."""
        n = len(block) if end is None else end
        if self.done or not n:
            return
        self.block_base = self.consumed
        self.consumed += n
        if not self.started:
            last = _last_ts(block, n)
            if last is not None:
                self.ts_seen = True
            if last is None or last < self.since:
                self.prev_ts = last if last is not None else self.prev_ts
                self.skipped_lines += block.count(b"\n", 0, n)
                return
            block = bytes(block[:n])
            cut = _bisect_block(block, self.since)
            self.prev_ts = _last_ts(block, cut) if cut else self.prev_ts
            self.skipped_lines += block.count(b"\n", 0, cut)
            self.block_base += cut
            block = block[cut:]
            n = len(block)
            self.started = True
            if not n:
                return
        if self.until is not None:
            first, _at = _first_ts_at(block, 0)
            if first is not None:
                self.ts_seen = True
            if first is not None and first > self.until:
                self.done = True
                return
            last = _last_ts(block, n)
            if last is not None and last > self.until:
                block = bytes(block[:n])
                block = block[:_bisect_block(block, self.until + 1e-6)]
                n = len(block)
                self.done = True
        self._scan(block, n)

    def _scan(self, block, n):
        self.bytes += n
        low = block.lower() if self.icase else block
        matched = {}
        for idx, pat in enumerate(self.patterns):
            hits = 0
            if pat.literals is not None:
                hay = low if pat.regex.flags & re.IGNORECASE else block
                seen = set() if len(pat.literals) > 1 else None
                confirm = None if pat.pure else pat.regex.search
                for lit in pat.literals:
                    i = hay.find(lit, 0, n)
                    while i >= 0:
                        ls = hay.rfind(b"\n", 0, i) + 1
                        le = hay.find(b"\n", i, n)
                        if le < 0:
                            le = n
                        if (seen is None or ls not in seen) and (confirm is None or confirm(block, ls, le)):
                            if seen is not None:
                                seen.add(ls)
                            hits += 1
                            matched[ls] = le
                        i = hay.find(lit, le + 1, n)
            else:
                search = pat.regex.search
                m = search(block, 0, n)
                while m:
                    ls = block.rfind(b"\n", 0, m.start()) + 1
                    le = block.find(b"\n", m.start(), n)
                    if le < 0:
                        le = n
                    if m.end() <= le or search(block, ls, le):
                        hits += 1
                        matched[ls] = le
                    m = search(block, le + 1, n) if le + 1 <= n else None
            self.counts[idx] += hits
        base = self.lines
        ends_nl = block[n - 1:n] == b"\n"
        if matched:
            starts = sorted(matched)
            first_tail = starts[-min(self.tail_n or 1, len(starts))]
            before = block.count(b"\n", 0, first_tail)
            nl = before + block.count(b"\n", first_tail, n)
            self.total += len(starts)
            cap = self.max_line
            self.signatures.add_lines([bytes(block[s:min(matched[s], s + cap)]) for s in starts])
            if self.tail_n:
                self._tail(block, starts[-self.tail_n:], matched, self.skipped_lines + base + before + 1)
        else:
            nl = block.count(b"\n", 0, n)
        self.lines += nl + (0 if ends_nl else 1)
        last = _last_ts(block, n, limit=50)
        if last is not None:
            self.prev_ts = last
            self.ts_seen = True

    def _tail(self, block, starts, matched, line_no):
        prev = starts[0]
        for s in starts:
            line_no += block.count(b"\n", prev, s)
            prev = s
            end = matched[s]
            raw = bytes(block[s:end]).rstrip(b"\r")
            if len(raw) > self.max_line:
                self.long_lines += 1
                raw = raw[:self.max_line]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.bad_utf8 += 1
                text = raw.decode("utf-8", "replace")
            ts = line_timestamp(raw)
            if ts is None:  # a continuation line (stack trace): the entry above it
                ts = _last_ts(block, s, limit=500)
                if ts is None:
                    ts = self.prev_ts
            self.tail.append({"line": line_no if self.lines_known else None, "offset": self.block_base + s, "timestamp": ts,
                              "text": text})


# --- opening files safely ----------------------------------------------------------------------

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def open_regular(path, buffering=0):
    """Open ``path`` for reading, unbuffered, only if it is a regular file.

    O_NONBLOCK keeps a FIFO from blocking the open (it has no effect on a regular file) and O_NOFOLLOW
    refuses a symlink swapped in after the caller resolved the path; the type is checked on the open
    descriptor, so /dev/zero, a FIFO or a socket raise OSError(EINVAL, "not a regular file ...").
    """
    fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_NOFOLLOW)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (%s)" % file_kind(st.st_mode), path)
        if _O_NONBLOCK:
            import fcntl  # noqa: PLC0415 - POSIX only, like the rest of the readers
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_O_NONBLOCK)
        return os.fdopen(fd, "rb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise


def file_kind(mode):
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symlink")):
        if test(mode):
            return name
    return "not a regular file"


def glob_root(spec):
    """The directory a path or glob may read under: its leading components without glob magic (for a plain
    path or a glob in the last component, its directory)."""
    parts = spec.split(os.sep)
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    root = os.sep.join(fixed)
    if not root:
        root = os.sep if spec.startswith(os.sep) else "."
    return root


def resolve_inside(path, root):
    """``(real_path, None)`` when ``path`` resolves inside ``root`` (both through every symlink), else
    ``(real_path, reason)``: a symlink whose target leaves the configured root is not read."""
    real = os.path.realpath(path)
    base = os.path.realpath(root)
    if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
        return real, None
    return real, "resolves outside %s (a symlink to %s): not read" % (base, real)


# --- readers -------------------------------------------------------------------------------

def _ts_near(f, offset, size, span=65536):
    """(ts, line offset) of the first timestamped line starting after ``offset`` in file f."""
    f.seek(offset)
    data = f.read(span)
    if offset > 0:
        nl = data.find(b"\n")
        if nl < 0:
            return None, None
        skip = nl + 1
    else:
        skip = 0
    ts, at = _first_ts_at(data, skip, limit=400)
    if ts is None:
        return None, None
    return ts, offset + at


def seek_since(f, size, since):
    """Byte offset (a line start) at or before the first entry with ts >= since, by binary search."""
    lo, hi = 0, size
    probes = 0
    while hi - lo > (256 << 10) and probes < 64:
        probes += 1
        mid = (lo + hi) // 2
        ts, at = _ts_near(f, mid, size)
        if ts is None or ts >= since:
            hi = mid
        else:
            lo = at
    return lo


def read_plain(path, scan, start=0, end=None):
    """Feed a plain file's blocks [start, end) to ``scan``, without copying: each read lands in one
    reused buffer, and the next read starts again at the last line boundary (a seek)."""
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    scan.consumed = max(scan.consumed, start)
    with open_regular(path) as f:
        pos = start
        f.seek(start)
        while not scan.done:
            want = len(buf) if end is None else min(len(buf), end - pos)
            if want <= 0:
                break
            got = f.readinto(view[:want])
            if not got:
                break
            cut = buf.rfind(b"\n", 0, got) + 1
            last = got < want or (end is not None and pos + got >= end)
            if cut == 0 or last:
                if cut == 0 and not last and len(buf) < MAX_CARRY:
                    buf = bytearray(len(buf) * 2)  # a very long line: grow, read it again
                    view = memoryview(buf)
                    f.seek(pos)
                    continue
                cut = got
            scan.feed(buf, cut)
            pos += cut
            if cut < got:
                f.seek(pos)


# A plain file at least this large, scanned whole (no since/until), is split between processes.
PARALLEL_MIN = 64 << 20


def usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def split_points(path, start, end, parts):
    """Offsets that cut [start, end) into ``parts`` ranges, each starting on a line boundary."""
    cuts = [start]
    with open_regular(path, buffering=-1) as f:
        for k in range(1, parts):
            f.seek(start + (end - start) * k // parts)
            f.readline()
            pos = f.tell()
            if cuts[-1] < pos < end:
                cuts.append(pos)
    return cuts + [end]


def _scan_state(scan):
    return dict(counts=scan.counts, total=scan.total, lines=scan.lines, bytes=scan.bytes, tail=list(scan.tail),
                counts_sigs=dict(scan.signatures.counts), example=scan.signatures.example,
                approximate=scan.signatures.approximate, prev_ts=scan.prev_ts, long_lines=scan.long_lines,
                bad_utf8=scan.bad_utf8)


def _merge_state(scan, state):
    """Append the state of the range that follows ``scan``'s to ``scan`` (line numbers shifted)."""
    shift = scan.lines
    scan.counts = [a + b for a, b in zip(scan.counts, state["counts"])]
    scan.total += state["total"]
    scan.bytes += state["bytes"]
    for m in state["tail"]:
        if m["line"] is not None:
            m["line"] += shift
        scan.tail.append(m)
    scan.lines += state["lines"]
    other = Signatures(scan.signatures.cap)
    other.counts.update(state["counts_sigs"])
    other.example = state["example"]
    other.approximate = state["approximate"]
    scan.signatures.merge(other)
    scan.prev_ts = state["prev_ts"] if state["prev_ts"] is not None else scan.prev_ts
    scan.long_lines += state["long_lines"]
    scan.bad_utf8 += state["bad_utf8"]


def read_plain_parallel(path, scan, size, workers):
    """A whole-file scan split into ``workers`` line-aligned ranges: the ranges after the first are
    scanned by forked children (each a FileScan of its own, results pickled back through a pipe), the
    first by this process; then the results are merged in file order. GNU grep uses one core; on an
    outage host the scan is short, and ``workers`` is capped by the module."""
    cuts = split_points(path, 0, size, workers)
    children = []
    try:
        for lo, hi in zip(cuts[1:-1], cuts[2:]):
            rfd, wfd = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                code = 0
                try:
                    os.close(rfd)
                    part = FileScan(scan.patterns, scan.tail_n, scan.max_line)
                    read_plain(path, part, lo, hi)
                    payload = pickle.dumps(("ok", _scan_state(part)), protocol=pickle.HIGHEST_PROTOCOL)
                except BaseException as exc:  # noqa: BLE001 - reported to the parent, never raised here
                    payload = pickle.dumps(("error", "%s: %s" % (type(exc).__name__, exc)))
                    code = 1
                with os.fdopen(wfd, "wb") as out:
                    out.write(payload)
                os._exit(code)
            os.close(wfd)
            children.append((pid, rfd))
        read_plain(path, scan, cuts[0], cuts[1])
        errors = []
        for pid, rfd in children:
            with os.fdopen(rfd, "rb") as inp:
                data = inp.read()
            os.waitpid(pid, 0)
            kind, state = pickle.loads(data) if data else ("error", "worker %d died" % pid)
            if kind == "ok":
                _merge_state(scan, state)
            else:
                errors.append(state)
        children = []
        if errors:
            raise OSError("parallel scan failed: %s" % "; ".join(errors))
    finally:
        for pid, rfd in children:  # only after an exception: do not leave zombies behind
            try:
                os.close(rfd)
                os.waitpid(pid, 0)
            except OSError:
                pass


class GzipTruncatedError(Exception):
    pass


class GzipCapError(Exception):
    """The decompressed data passed the cap (a gzip bomb, or a file far larger than its rotation)."""

    def __init__(self, cap):
        super(GzipCapError, self).__init__("decompressed data passed the cap of %d bytes" % cap)
        self.cap = cap


# Decompression is capped at GZIP_MAX_RATIO times the compressed size, and never below GZIP_MIN_CAP:
# logs compress 5-30x, a gzip bomb about 1000x (1 MiB of zeros -> 1 GiB).
GZIP_MAX_RATIO = 100
GZIP_MIN_CAP = 64 << 20
# zlib never returns more than this per call, so one compressed block cannot explode in memory.
GZIP_OUT_CHUNK = 1 << 20


def gzip_cap(compressed_size):
    return max(GZIP_MIN_CAP, GZIP_MAX_RATIO * compressed_size)


def read_gzip(path, scan, block=BLOCK // 4, max_bytes=None):
    """Decompress in a thread (zlib releases the GIL) while this thread scans the blocks.

    zlib is driven directly so that a truncated file still yields everything before the damage,
    and concatenated gzip members are all read. Each zlib call returns at most GZIP_OUT_CHUNK bytes,
    and after ``max_bytes`` decompressed bytes (default: ``gzip_cap`` of the file's size) reading
    stops with GzipCapError, once what came before is scanned.
    """
    q = queue.Queue(maxsize=8)
    stop = threading.Event()
    f = open_regular(path)
    if max_bytes is None:
        max_bytes = gzip_cap(os.fstat(f.fileno()).st_size)

    def producer():
        try:
            with f:
                d = zlib.decompressobj(47)
                fresh = True
                total = 0
                while not stop.is_set():
                    raw = f.read(block)
                    if not raw:
                        break
                    while raw and not stop.is_set():
                        fresh = False
                        out = d.decompress(raw, GZIP_OUT_CHUNK)
                        raw = d.unconsumed_tail
                        if out:
                            total += len(out)
                            if total > max_bytes:
                                q.put(out[:len(out) - (total - max_bytes)])
                                raise GzipCapError(max_bytes)
                            q.put(out)
                        if d.eof:  # next gzip member, if any
                            raw = d.unused_data.lstrip(b"\x00")
                            d = zlib.decompressobj(47)
                            fresh = True
                if not fresh and not d.eof and not stop.is_set():
                    out = d.flush()
                    if out:
                        q.put(out[:max(0, max_bytes - total)])
                    raise EOFError("compressed file ended before the end-of-stream marker")
            q.put(None)
        except (EOFError, zlib.error, OSError, GzipCapError) as exc:
            q.put(exc)

    t = threading.Thread(target=producer)
    t.daemon = True
    t.start()
    carry = bytearray()
    error = None
    try:
        while True:
            item = q.get()
            if item is None:
                break
            if isinstance(item, Exception):
                error = item
                break
            if scan.done:
                continue
            # the carry holds no newline: only the new part needs searching (no quadratic copies)
            carry += item
            cut = carry.rfind(b"\n", len(carry) - len(item)) + 1
            if cut == 0:
                if len(carry) < MAX_CARRY:
                    continue
                cut = len(carry)
            scan.feed(bytes(carry[:cut]))
            del carry[:cut]
    finally:
        stop.set()
        while t.is_alive():
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        t.join()
    if carry and not scan.done:
        scan.feed(bytes(carry))
    if isinstance(error, GzipCapError):
        raise error
    if error is not None:
        raise GzipTruncatedError(str(error) or type(error).__name__)
