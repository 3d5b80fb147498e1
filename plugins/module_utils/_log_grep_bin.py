# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""log_grep's fast path: the host's GNU grep as the prefilter of a whole-file scan.

GNU grep (``LC_ALL=C grep -n -b -F [-i]``) finds the lines that contain one of the literals every
match of the patterns must contain (the same prefilter the Python scanner uses with ``bytes.find``);
Python confirms only those lines with the patterns' regexes and does everything else the Python path
does on them (counts per pattern, signatures, the tail with line numbers and byte offsets), in blocks of
grep's output (bounded memory). The file reaches grep as ``/dev/fd/N``, the descriptor log_grep opened
(a regular file, no symlink swapped in) passed with ``pass_fds``, so grep never resolves the log's path.

grep runs through the module's ``run_command`` (``/bin/sh -c`` with the arguments as positional
parameters, never interpolated), under ``timeout(1)`` with what is left of the scan's deadline, with a
1 GiB address-space limit. Its output goes to a file in a private temporary directory (not through
``run_command``'s pipe, which would hold it all in memory), capped with ``head -c``, and is read back in
blocks; a scan whose matching lines pass GREP_OUTPUT_CAP goes to the Python path instead, as does any
failure of grep (exit status 2, NUL bytes, a signal), so grep can only make a scan faster.

A rotated .gz file reaches grep through a pipe: ``GzipFeeder``, a thread, decompresses it with zlib (which
releases the GIL) through the Python reader's own ``inflate`` (same expansion cap, same damaged-member
handling) into the pipe's write end, while grep reads ``/dev/fd/<read end>`` (``pass_fds``). When
``run_command`` returns (grep done, failed or stopped by ``timeout``), the read end is closed, so a thread
still writing gets EPIPE and ends.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import fcntl
import os
import queue
import re
import shutil
import tempfile
import threading
import time
import zlib

from ansible_collections.reflexion.incident.plugins.module_utils._log_gzip import (
    GzipCapError,
    GzipTruncatedError,
    inflate,
)
from ansible_collections.reflexion.incident.plugins.module_utils._log_scan import _last_ts
from ansible_collections.reflexion.incident.plugins.module_utils._log_time import line_timestamp

# grep's output prefix with -n -b: "<line number>:<byte offset>:"
_PREFIX = re.compile(br"^\d+:\d+:", re.MULTILINE)
_FEED = 1 << 20
# Bytes read back before a continuation line (a stack trace) to find the entry it belongs to.
_LOOKBACK = 64 << 10


class GrepError(Exception):
    """grep could not do the scan (exit status 2, NUL bytes, too much output): the caller falls back to Python."""


# grep's output (matching lines, on disk in a private temporary directory): above this, the file is scanned by
# the Python path.
GREP_OUTPUT_CAP = 256 << 20
# grep's address space (KiB, for ``ulimit -v``): its own needs are a few MiB; a line longer than that (a
# file of one endless line) makes it fail instead of growing, and the file goes to the Python path.
GREP_MEMORY_KB = 1 << 20
# $1 the output cap, $2 the output file, then the command (timeout ... grep ...); grep's exit status goes to
# stderr as "rc=N". Nothing is interpolated: every value is a positional parameter.
_SCRIPT = ('ulimit -v %d 2>/dev/null; cap="$1"; out="$2"; shift 2; { "$@"; echo "rc=$?" >&2; } | head -c "$cap" >"$out"'
           % GREP_MEMORY_KB)


def gnu_grep(find_bin, run_command):
    """(grep, timeout) paths when the host has GNU grep and timeout(1), else None."""
    grep = find_bin("grep") if find_bin else None
    timeout = find_bin("timeout") if find_bin else None
    if not grep or not timeout or run_command is None:
        return None
    rc, out, _err = run_command([grep, "--version"], environ_update={"LC_ALL": "C"}, encoding=None)
    return (grep, timeout) if rc == 0 and b"GNU grep" in out[:200] else None


def prefilter_args(patterns):
    """grep's arguments for the literal prefilter of ``patterns``, or None when one pattern has no literal
    every match contains (then only the Python path knows which lines can match).

    grep only has to print every line that may match: the FileScan that reads its output applies the
    same literals and regexes again, so a wider prefilter (``-i`` as soon as one pattern ignores case)
    changes no result."""
    icase = any(pat.regex.flags & re.IGNORECASE for pat in patterns)
    args = ["-F"] + (["-i"] if icase else [])
    seen = set()
    for pat in patterns:
        if not pat.literals:
            return None
        for lit in pat.literals:
            if b"\n" in lit or b"\x00" in lit:
                return None
            if lit not in seen:
                seen.add(lit)
                args += ["-e", lit]
    return args


class TailDeferred(object):
    """Mixed into the scan of grep's output: a block's tail lines are kept raw, and only the last blocks'
    ones become tail entries at the end (grep's output comes in many small blocks; placing each block's
    last lines in time would cost more than the search)."""

    def tail_block(self, block, starts, matched, line_no):
        self.pending_tail.append((block, starts, matched, line_no, self.current_output))
        kept, need = 0, self.tail_n
        for i in range(len(self.pending_tail) - 1, -1, -1):
            kept += len(self.pending_tail[i][1])
            if kept >= need:
                del self.pending_tail[:i]
                break


def deferring(scan):
    """``scan`` (a FileScan) with its tail lines deferred (see TailDeferred)."""
    scan.__class__ = type("Deferred" + type(scan).__name__, (TailDeferred, type(scan)), {})
    scan.pending_tail = []
    scan.current_output = None
    return scan


class GrepScan(object):
    """Feeds grep's output (matching lines with their prefixes) to a FileScan and puts each tail line back at
    its own line number and byte offset in the file."""

    def __init__(self, scan, deadline):
        self.scan = deferring(scan)
        self.deadline = deadline
        self.timed_out = False
        self.last_line = 0      # line number of the last line grep printed
        self.last_end = 0       # byte offset just after it (its newline included)
        # one pattern made of literals only: every line grep prints is a match of it, no confirm needed
        self.exact = len(scan.patterns) == 1 and scan.patterns[0].pure and scan.patterns[0].literals is not None

    def feed_output(self, block):
        """``block``: whole lines of grep's -n -b output."""
        scan = self.scan
        stripped = _PREFIX.sub(b"", block)
        scan.current_output = (block, scan.lines)
        if self.exact:
            self._feed_exact(stripped)
        else:
            scan.feed(stripped)
        # grep prints one line per matching line: the last one tells where the file's lines stand
        start = block.rfind(b"\n", 0, len(block) - 1) + 1
        self._last(block, start)

    def finish_tail(self):
        """Turn the deferred tail lines into entries, at their line numbers and offsets in the file."""
        scan = self.scan
        pending, scan.pending_tail = scan.pending_tail, []
        for stripped, starts, matched, line_no, (block, lines_before) in pending:
            scan._tail(stripped, starts, matched, line_no)
            nlines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
            for entry in list(scan.tail)[-len(starts):]:
                idx = entry["line"] - lines_before - 1  # 0-based line of this block
                pos = len(block)
                for _dummy in range(nlines - idx):
                    pos = block.rfind(b"\n", 0, pos - 1) + 1 if pos > 0 else 0
                colon = block.index(b":", pos)
                entry["line"] = int(block[pos:colon])
                entry["offset"] = int(block[colon + 1:block.index(b":", colon + 1)])
                entry["own_ts"] = line_timestamp(entry["text"].encode("utf-8", "replace")) is not None

    def _feed_exact(self, block):
        """What FileScan.feed does with a block of which every line matches the one pattern, without its
        per-line search."""
        scan = self.scan
        lines = block.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        k = len(lines)
        if not k:
            return
        scan.bytes += len(block)
        scan.total += k
        scan.counts[0] += k
        cap = scan.max_line
        scan.signatures.add_lines([line[:cap] for line in lines])
        if scan.tail_n:
            starts, matched = [], {}
            pos = len(block)
            for line in reversed(lines[-scan.tail_n:]):
                end = pos - 1 if block[pos - 1:pos] == b"\n" else pos
                start = end - len(line)
                starts.append(start)
                matched[start] = end
                pos = start
            starts.reverse()
            scan.tail_block(block, starts, matched, scan.lines + k - len(starts) + 1)
        scan.lines += k

    def _last(self, block, start):
        if start >= len(block):
            return
        first = block.find(b":", start)
        second = block.find(b":", first + 1)
        if first < 0 or second < 0:
            return
        end = block.find(b"\n", second)
        end = len(block) if end < 0 else end + 1
        self.last_line = int(block[start:first])
        self.last_end = int(block[first + 1:second]) + (end - second - 1)

    def read_output(self, path, size):
        """Feed the first ``size`` bytes of grep's output file (whole lines) in blocks of about 1 MiB."""
        carry = b""
        left = size
        with open(path, "rb") as f:
            while left > 0:
                chunk = f.read(min(_FEED, left))
                if not chunk:
                    break
                left -= len(chunk)
                data = carry + chunk
                cut = data.rfind(b"\n") + 1
                if cut:
                    self.feed_output(data[:cut])
                carry = data[cut:]
        self.finish_tail()


def _count_lines_from(f, offset, deadline):
    """Newlines from ``offset`` to the end of the open file, and whether the last byte is one."""
    f.seek(offset)
    n, last = 0, b"\n"
    buf = bytearray(_FEED)
    while time.monotonic() < deadline:
        got = f.readinto(buf)
        if not got:
            return n, last == b"\n", True
        n += buf.count(b"\n", 0, got)
        last = bytes(buf[got - 1:got])
    return n, last == b"\n", False


def _grep_file(tools, args, fd, left, out, run_command):
    """Run grep on ``/dev/fd/<fd>`` (passed with ``pass_fds``), its output into the file ``out``. Returns
    (size of the output, timed out). GrepError: nothing usable."""
    grep, timeout = tools
    cmd = ["/bin/sh", "-c", _SCRIPT, "sh", str(GREP_OUTPUT_CAP + 1), out, timeout, "-k", "1", "%.3f" % left,
           grep, "-n", "-b"] + list(args) + ["--", "/dev/fd/%d" % fd]
    _rc, _out, err = run_command(cmd, environ_update={"LC_ALL": "C"}, encoding=None, pass_fds=(fd,))
    err = err or b""
    status = re.search(br"rc=(\d+)", err)
    grep_rc = int(status.group(1)) if status else None
    if b"binary file" in err.lower():
        raise GrepError("grep: NUL bytes past the start of the file (grep stops printing lines there)")
    size = os.path.getsize(out) if os.path.exists(out) else 0
    if size > GREP_OUTPUT_CAP:
        raise GrepError("grep: more than %d MiB of matching lines" % (GREP_OUTPUT_CAP >> 20))
    timed_out = grep_rc in (124, 137)
    if not timed_out and grep_rc not in (0, 1):
        raise GrepError("grep exited with status %s (%s)" % (grep_rc, err.decode("utf-8", "replace").strip()[:200]))
    return size, timed_out


def grep_plain(tools, args, f, scan, deadline, run_command):
    """Scan the open plain file ``f`` with grep; fills ``scan`` as FileScan would. Returns False when the
    deadline passed. GrepError: nothing usable, scan the file again in Python."""
    left = deadline - time.monotonic()
    if left <= 0:
        return False
    fd = f.fileno()
    tmp = tempfile.mkdtemp(prefix="log_grep_")  # mode 0700
    try:
        out = os.path.join(tmp, "out")
        size, timed_out = _grep_file(tools, args, fd, left, out, run_command)
        timed_out = timed_out or time.monotonic() >= deadline
        gs = GrepScan(scan, deadline)
        gs.read_output(out, size)  # after a timeout: the lines grep finished printing
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if timed_out:
        scan.bytes = gs.last_end
        scan.lines = gs.last_line
        _place_continuations(f, scan)
        return False
    rest, ends_nl, whole = _count_lines_from(f, gs.last_end, deadline)
    scan.lines = gs.last_line + rest + (0 if ends_nl else 1)
    scan.bytes = os.fstat(fd).st_size if whole else f.tell()
    _place_continuations(f, scan)
    return whole


def _place_continuations(f, scan):
    """A tail line without a timestamp of its own (a stack trace line) gets the timestamp of the entry above
    it in the file, as in the Python path."""
    for entry in scan.tail:
        if entry.pop("own_ts", True):
            continue
        lo = max(0, entry["offset"] - _LOOKBACK)
        f.seek(lo)
        before = f.read(entry["offset"] - lo)
        ts = _last_ts(before, len(before), limit=500) if before else None
        entry["timestamp"] = ts


# The pipe between the decompressing thread and grep: 1 MiB (Linux's default pipe-max-size) instead of 64 KiB.
PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Python < 3.10 has no name for it
# Compressed bytes read per call, and the most decompressed bytes per zlib call (one write into the pipe).
GZ_READ = 1 << 20
GZ_CHUNK = 1 << 20
# The end of the decompressed stream kept in memory, to place a stack-trace line of the tail in time without
# decompressing the file again.
_KEEP = 4 << 20


class GzipFeeder(threading.Thread):
    """Decompresses an open .gz file into a pipe's write end for grep (zlib releases the GIL, so this runs beside
    grep), stops at the expansion cap, and keeps the error the Python reader would report (damage, cap) and the end
    of the stream. A second thread counts the decompressed lines meanwhile (off the decompression's path). It ends
    when the file is read, when ``stop`` is set or when the read end is closed (EPIPE: grep stopped, or its time ran
    out), and closes the write end in every case (grep's end of file)."""

    def __init__(self, f, wfd, max_bytes):
        super(GzipFeeder, self).__init__()
        self.daemon = True
        self.f = f
        self.wfd = wfd
        self.max_bytes = max_bytes
        self.stop = threading.Event()
        self.total = 0
        self.lines = 0
        self.last = b"\n"
        self.error = None
        self.broken = False
        self.recent = collections.deque()
        self.kept = 0
        self.counted = queue.Queue(maxsize=8)
        self.counter = threading.Thread(target=self._count)
        self.counter.daemon = True

    def _count(self):
        while True:
            chunk = self.counted.get()
            if chunk is None:
                return
            self.lines += chunk.count(b"\n")
            self.last = chunk[-1:]

    def run(self):
        self.counter.start()
        try:
            for out in inflate(self.f, self.max_bytes, self.stop, GZ_READ, GZ_CHUNK):
                if not out:
                    continue
                self.counted.put(out)
                self.recent.append((self.total, out))
                self.total += len(out)
                self.kept += len(out)
                while self.kept - len(self.recent[0][1]) >= _KEEP:
                    self.kept -= len(self.recent.popleft()[1])
                view = memoryview(out)
                while view:
                    view = view[os.write(self.wfd, view):]
        except BrokenPipeError:
            self.broken = True
        except (EOFError, zlib.error, OSError, GzipCapError) as exc:
            self.error = exc
        finally:
            os.close(self.wfd)
            self.counted.put(None)
            self.counter.join()


def grep_gzip(tools, args, f, scan, deadline, run_command, max_bytes):
    """Scan the open .gz file ``f`` with grep: a thread decompresses it (``inflate``, as the Python reader does)
    into a pipe that grep reads as ``/dev/fd/N``. Fills ``scan`` as FileScan would; returns False when the
    deadline passed. After filling ``scan``, raises GzipCapError or GzipTruncatedError as ``read_gzip`` does.
    GrepError: nothing usable, scan the file again in Python."""
    left = deadline - time.monotonic()
    if left <= 0:
        return False
    rfd, wfd = os.pipe()
    try:
        fcntl.fcntl(wfd, _F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:
        pass  # not Linux, or a lower pipe-max-size: the default pipe works too
    feeder = GzipFeeder(f, wfd, max_bytes)
    tmp = None
    try:
        try:
            feeder.start()
        except BaseException:
            os.close(wfd)
            raise
        tmp = tempfile.mkdtemp(prefix="log_grep_")  # mode 0700
        out = os.path.join(tmp, "out")
        try:
            size, timed_out = _grep_file(tools, args, rfd, left, out, run_command)
        finally:
            # a feeder still writing gets EPIPE and ends; one blocked on a full pipe is woken by the close
            os.close(rfd)
            rfd = None
            feeder.stop.set()
            feeder.join()
        timed_out = timed_out or time.monotonic() >= deadline
        if feeder.broken and not timed_out:
            raise GrepError("grep stopped reading the decompressed data before its end")
        gs = GrepScan(scan, deadline)
        gs.read_output(out, size)  # after a timeout: the lines grep finished printing
    finally:
        if rfd is not None:
            os.close(rfd)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    if timed_out:
        scan.bytes = gs.last_end
        scan.lines = gs.last_line
    else:
        scan.bytes = feeder.total
        scan.lines = feeder.lines + (0 if feeder.last == b"\n" else 1)
    _place_continuations_gz(f, scan, feeder.recent, max_bytes, deadline)
    if timed_out:
        return False
    if isinstance(feeder.error, GzipCapError):
        raise feeder.error
    if feeder.error is not None:
        raise GzipTruncatedError(str(feeder.error) or type(feeder.error).__name__)
    return True


def _place_continuations_gz(f, scan, recent, max_bytes, deadline):
    """``_place_continuations`` for a .gz file: the bytes before each such line come from the end of the stream
    the feeder kept, or else from decompressing the file again up to them."""
    todo = [entry for entry in scan.tail if not entry.pop("own_ts", True)]
    if not todo:
        return
    base = recent[0][0] if recent else 0
    kept = b"".join(chunk for _off, chunk in recent)
    windows = {}
    missing = []
    for entry in todo:
        lo = max(0, entry["offset"] - _LOOKBACK)
        if lo >= base and entry["offset"] <= base + len(kept):
            windows[id(entry)] = kept[lo - base:entry["offset"] - base]
        else:
            missing.append((lo, entry["offset"], entry))
            windows[id(entry)] = b""
    if missing:
        end = max(hi for _lo, hi, _e in missing)
        pos = 0
        f.seek(0)
        try:
            for out in inflate(f, max_bytes, threading.Event(), GZ_READ):
                for lo, hi, entry in missing:
                    if lo < pos + len(out) and hi > pos:
                        windows[id(entry)] += out[max(0, lo - pos):hi - pos]
                pos += len(out)
                if pos >= end or time.monotonic() >= deadline:
                    break
        except (EOFError, zlib.error, OSError, GzipCapError):
            pass  # the damage comes after: what was read is all there is
    for entry in todo:
        before = windows[id(entry)]
        entry["timestamp"] = _last_ts(before, len(before), limit=500) if before else None
