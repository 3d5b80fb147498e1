# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""log_grep's readers of plain files: blocks into one reused buffer, the binary search for ``since`` over
byte offsets (time spent is proportional to the window, not the file), and a whole-file scan split
between forked processes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pickle

from ansible_collections.reflexion.incident.plugins.module_utils._log_files import open_regular
from ansible_collections.reflexion.incident.plugins.module_utils._log_scan import BLOCK, MAX_CARRY, FileScan, _first_ts_at
from ansible_collections.reflexion.incident.plugins.module_utils._log_signatures import Signatures


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
                approximate=scan.signatures.approximate, prev_ts=scan.prev_ts)


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
