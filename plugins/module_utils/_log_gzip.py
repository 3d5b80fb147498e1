# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""log_grep's reader of rotated .gz files: zlib in a thread, capped expansion, damaged files read up to
the damage."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import queue
import threading
import zlib

from ansible_collections.reflexion.incident.plugins.module_utils._log_files import open_regular
from ansible_collections.reflexion.incident.plugins.module_utils._log_scan import BLOCK, MAX_CARRY


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


def inflate(f, max_bytes, stop, block=BLOCK // 4, out_chunk=GZIP_OUT_CHUNK):
    """The decompressed chunks of the open .gz file ``f``, each at most ``out_chunk`` bytes, until ``stop`` is
    set. Concatenated gzip members are all read. After ``max_bytes`` decompressed bytes it yields the part up to
    the cap and raises GzipCapError; a truncated file yields everything before the damage, then raises EOFError
    (or zlib.error for a corrupt stream). Both readers (Python's and grep's) decompress through this function,
    so they see the same bytes and the same errors."""
    d = zlib.decompressobj(47)
    fresh = True
    total = 0
    while not stop.is_set():
        raw = f.read(block)
        if not raw:
            break
        while raw and not stop.is_set():
            fresh = False
            out = d.decompress(raw, out_chunk)
            raw = d.unconsumed_tail
            if out:
                total += len(out)
                if total > max_bytes:
                    yield out[:len(out) - (total - max_bytes)]
                    raise GzipCapError(max_bytes)
                yield out
            if d.eof:  # next gzip member, if any
                raw = d.unused_data.lstrip(b"\x00")
                d = zlib.decompressobj(47)
                fresh = True
    if not fresh and not d.eof and not stop.is_set():
        out = d.flush()
        if out:
            yield out[:max(0, max_bytes - total)]
        raise EOFError("compressed file ended before the end-of-stream marker")


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
                for out in inflate(f, max_bytes, stop, block):
                    q.put(out)
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
            if scan.done:  # the deadline (or until) passed: stop decompressing
                break
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
