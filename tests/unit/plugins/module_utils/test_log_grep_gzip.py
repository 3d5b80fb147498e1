"""log_grep's .gz through grep: a thread decompresses into a pipe that a real GNU grep reads. The result equals the
Python reader's; grep failing, stopping early or running out of time ends the thread (nothing left writing into a
pipe nobody reads)."""

import gzip
import os
import shutil
import subprocess
import threading
import time

import pytest

from ansible_collections.reflexion.incident.plugins.module_utils._log_grep_bin import GrepError, grep_gzip, prefilter_args
from ansible_collections.reflexion.incident.plugins.module_utils._log_gzip import (
    GzipCapError,
    GzipTruncatedError,
    gzip_cap,
    read_gzip,
)
from ansible_collections.reflexion.incident.plugins.module_utils._log_patterns import compile_patterns
from ansible_collections.reflexion.incident.plugins.module_utils._log_scan import FileScan

GREP = shutil.which("grep")
TIMEOUT = shutil.which("timeout")
assert GREP and TIMEOUT, "needs GNU grep and timeout(1) on PATH"


def run_command(cmd, environ_update=None, encoding=None, pass_fds=()):
    """What AnsibleModule.run_command does for grep_gzip's call: a real process, the descriptors passed on."""
    proc = subprocess.run(cmd, capture_output=True, env=dict(os.environ, **(environ_update or {})), check=False,
                          pass_fds=pass_fds)
    return proc.returncode, proc.stdout, proc.stderr


def text(n, seed=0):
    out = []
    for i in range(n):
        k = (i + seed) % 40
        if k == 0:
            out.append(b"2026-11-26T22:%02d:%02dZ ERROR db failed id=%d\r\n" % (i // 60 % 60, i % 60, i))
        elif k == 9:
            out.append(b"2026-11-26T22:%02d:%02dZ ERROR worker crashed\nTraceback (most recent call last):\n"
                       b"RuntimeError: upstream error \xff\xfe\n" % (i // 60 % 60, i % 60))
        else:
            out.append(b"2026-11-26T22:%02d:%02dZ INFO ok %d\n" % (i // 60 % 60, i % 60, i))
    return b"".join(out)


def state(scan):
    return (scan.counts, scan.total, scan.lines, scan.bytes, list(scan.tail), scan.signatures.top(10))


def both_paths(path, patterns, tail=5, max_bytes=None):
    """(grep's scan, its error, Python's scan, its error) of the .gz at ``path``."""
    pats = compile_patterns(patterns)
    results = []
    for reader in ("grep", "python"):
        scan = FileScan(pats, tail, 2048)
        error = None
        try:
            if reader == "grep":
                with open(path, "rb") as f:
                    cap = max_bytes or gzip_cap(os.fstat(f.fileno()).st_size)
                    assert grep_gzip((GREP, TIMEOUT), prefilter_args(pats), f, scan, time.monotonic() + 60, run_command,
                                     cap)
            else:
                read_gzip(path, scan, max_bytes=max_bytes)
        except (GzipTruncatedError, GzipCapError) as exc:
            error = type(exc)
        results += [scan, error]
    return results


def test_multi_member_crlf_no_final_newline(tmp_path):
    path = str(tmp_path / "app.log.1.gz")
    with open(path, "wb") as f:
        f.write(gzip.compress(text(3000)))
        f.write(gzip.compress(text(2000, seed=5) + b"2026-11-26T23:00:00Z ERROR last, no newline"))
    fast, fast_err, slow, slow_err = both_paths(path, [("errors", "error"), ("net", "failed|crashed")])
    assert fast_err is slow_err is None
    assert state(fast) == state(slow)
    assert fast.lines == (text(3000) + text(2000, seed=5)).count(b"\n") + 1
    assert fast.tail[-1]["text"] == "2026-11-26T23:00:00Z ERROR last, no newline"


def test_damaged_and_capped_streams_end_as_the_python_reader_ends(tmp_path):
    data = gzip.compress(text(20000))
    cut = str(tmp_path / "cut.gz")
    with open(cut, "wb") as f:
        f.write(data[:len(data) // 2])
    fast, fast_err, slow, slow_err = both_paths(cut, [("errors", "error")])
    assert fast_err is slow_err is GzipTruncatedError
    assert state(fast) == state(slow) and 0 < fast.total
    whole = str(tmp_path / "whole.gz")
    with open(whole, "wb") as f:
        f.write(data)
    fast, fast_err, slow, slow_err = both_paths(whole, [("errors", "error")], max_bytes=100000)
    assert fast_err is slow_err is GzipCapError
    assert state(fast) == state(slow) and fast.bytes == 100000


def big_gz(tmp_path):
    """About 6 MiB of text: far more than the pipe holds, so the thread blocks on it until grep reads."""
    path = str(tmp_path / "big.log.1.gz")
    with gzip.open(path, "wb", compresslevel=1) as f:
        chunk = text(4000)
        for _chunk in range(40):
            f.write(chunk)
    return path


def fake_grep(tmp_path, body):
    path = tmp_path / "grep"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def feeders():
    return [t for t in threading.enumerate() if type(t).__name__ == "GzipFeeder"]


@pytest.mark.parametrize("body", [
    "exit 2",                          # grep fails at once, reading nothing
    "for a; do last=$a; done; head -c 100 \"$last\" >/dev/null; echo 'grep: broken' >&2; exit 2",  # reads, fails
])
def test_grep_failing_ends_the_thread(tmp_path, body):
    path = big_gz(tmp_path)
    pats = compile_patterns([("errors", "error")])
    scan = FileScan(pats, 5, 2048)
    with open(path, "rb") as f:
        with pytest.raises(GrepError):
            grep_gzip((fake_grep(tmp_path, body), TIMEOUT), prefilter_args(pats), f, scan, time.monotonic() + 60,
                      run_command, 1 << 40)
    assert not feeders()


def test_deadline_stops_grep_and_the_thread(tmp_path):
    """A grep that never reads: timeout(1) ends it at the deadline, the thread blocked on the full pipe gets EPIPE."""
    path = big_gz(tmp_path)
    pats = compile_patterns([("errors", "error")])
    scan = FileScan(pats, 5, 2048)
    with open(path, "rb") as f:
        finished = grep_gzip((fake_grep(tmp_path, "exec sleep 600"), TIMEOUT), prefilter_args(pats), f, scan,
                             time.monotonic() + 1, run_command, 1 << 40)
    assert finished is False
    assert scan.total == 0 and scan.bytes == 0
    assert not feeders()
