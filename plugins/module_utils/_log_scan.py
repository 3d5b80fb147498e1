# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""log_grep's block scanner: the since/until window inside a block, the literal prefilter, the regex
confirm, counts, the tail and the signatures of one file.

Speed comes from never looping over lines in Python: each block (about 1 MiB, ending on a line
boundary) is lowered once, the literals every match must contain are found with ``bytes.find``
(C speed), and only the lines they hit are confirmed with the regex."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import re

from ansible_collections.reflexion.incident.plugins.module_utils._log_signatures import Signatures
from ansible_collections.reflexion.incident.plugins.module_utils._log_time import line_timestamp

BLOCK = 1 << 20
# A "line" longer than this with no newline is cut, so memory stays bounded.
MAX_CARRY = 64 << 20


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


# Keys of a tail entry that say whether its line was cut or was not valid UTF-8; the warnings count the lines
# that are returned, and LogGrep removes the keys before it returns them.
CUT = "_cut"
BAD_UTF8 = "_bad_utf8"


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
                self.tail_block(block, starts[-self.tail_n:], matched, self.skipped_lines + base + before + 1)
        else:
            nl = block.count(b"\n", 0, n)
        self.lines += nl + (0 if ends_nl else 1)
        last = _last_ts(block, n, limit=50)
        if last is not None:
            self.prev_ts = last
            self.ts_seen = True

    @property
    def long_lines(self):
        """Returned (tail) lines longer than max_line_length, cut."""
        return sum(1 for m in self.tail if m.get(CUT))

    @property
    def bad_utf8(self):
        """Returned (tail) lines that are not valid UTF-8."""
        return sum(1 for m in self.tail if m.get(BAD_UTF8))

    def tail_block(self, block, starts, matched, line_no):
        """The tail lines of one block (a subclass may defer them: only the last blocks' ones are kept)."""
        self._tail(block, starts, matched, line_no)

    def _tail(self, block, starts, matched, line_no):
        prev = starts[0]
        for s in starts:
            line_no += block.count(b"\n", prev, s)
            prev = s
            end = matched[s]
            raw = bytes(block[s:end]).rstrip(b"\r")
            cut = len(raw) > self.max_line
            if cut:
                raw = raw[:self.max_line]
            bad = False
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                bad = True
                text = raw.decode("utf-8", "replace")
            ts = line_timestamp(raw)
            if ts is None:  # a continuation line (stack trace): the entry above it
                ts = _last_ts(block, s, limit=500)
                if ts is None:
                    ts = self.prev_ts
            self.tail.append({"line": line_no if self.lines_known else None, "offset": self.block_base + s, "timestamp": ts,
                              "text": text, CUT: cut, BAD_UTF8: bad})
