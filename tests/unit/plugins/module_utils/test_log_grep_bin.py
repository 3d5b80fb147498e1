"""log_grep's grep fast path, its pure parts: the prefilter arguments, telling GNU grep from another grep,
and reading grep's -n -b output back into a FileScan (line numbers and offsets of the tail)."""

import os
import stat
import subprocess

from ansible_collections.reflexion.incident.plugins.module_utils._log_grep_bin import (
    GrepScan,
    gnu_grep,
    prefilter_args,
)
from ansible_collections.reflexion.incident.plugins.module_utils._log_patterns import compile_patterns
from ansible_collections.reflexion.incident.plugins.module_utils._log_scan import FileScan
from ansible_collections.reflexion.incident.plugins.module_utils._log_signatures import Signatures


def test_prefilter_is_the_literals_every_match_contains():
    pats = compile_patterns([("errors", "error"), ("network", "timeout|connection|failed")])
    assert prefilter_args(pats) == ["-F", "-i", "-e", b"error", "-e", b"timeout", "-e", b"connection", "-e", b"failed"]
    # case-sensitive patterns: no -i; one ignoring case widens grep's output only (the scan decides)
    assert prefilter_args(compile_patterns([("e", "ERROR")], ignore_case=False)) == ["-F", "-e", b"ERROR"]
    mixed = compile_patterns([("e", "ERROR"), ("x", "(?i)fatal")], ignore_case=False)
    assert prefilter_args(mixed)[:2] == ["-F", "-i"]


def test_no_prefilter_without_a_literal_in_every_pattern():
    assert prefilter_args(compile_patterns([("e", "error"), ("d", r"\d{3}")])) is None
    assert prefilter_args(compile_patterns([("n", "a\nbcd")])) is None  # grep -e would split it in two


def run_command(cmd, environ_update=None, encoding=None):
    """What AnsibleModule.run_command returns, for the one call gnu_grep makes (a real process)."""
    proc = subprocess.run(cmd, capture_output=True, env=dict(os.environ, **(environ_update or {})), check=False)
    return proc.returncode, proc.stdout, proc.stderr


def test_only_gnu_grep_is_used(tmp_path):
    fake = tmp_path / "grep"
    fake.write_text("#!/bin/sh\necho 'grep (BusyBox) 1.36'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    timeout = "/usr/bin/timeout"
    assert gnu_grep(lambda name: str(fake) if name == "grep" else timeout, run_command) is None
    assert gnu_grep(lambda name: None, run_command) is None
    assert gnu_grep(None, run_command) is None
    real = "/usr/bin/grep" if os.path.exists("/usr/bin/grep") else "/bin/grep"
    assert gnu_grep(lambda name: real if name == "grep" else None, run_command) is None  # no timeout(1)
    assert gnu_grep(lambda name: real if name == "grep" else timeout, run_command) == (real, timeout)
    assert gnu_grep(lambda name: real if name == "grep" else timeout, None) is None


def test_grep_output_becomes_the_scan_of_the_file():
    """Two blocks of `grep -n -b` output: counts, signatures, lines and the tail at the file's own numbers."""
    pats = compile_patterns([("errors", "error"), ("network", "timeout")])
    scan = FileScan(pats, 2, 2048)
    gs = GrepScan(scan, deadline=float("inf"))
    gs.feed_output(b"3:120:2026-11-26T22:41:18Z ERROR db id=1\n9:400:2026-11-26T22:41:19Z WARNING timeout 5 ms\n")
    gs.feed_output(b"12:600:2026-11-26T22:41:20Z error: timeout id=2\n")
    gs.finish_tail()
    assert scan.counts == [2, 2] and scan.total == 3
    assert [(m["line"], m["offset"]) for m in scan.tail] == [(9, 400), (12, 600)]
    assert gs.last_line == 12 and gs.last_end == 600 + len(b"2026-11-26T22:41:20Z error: timeout id=2\n")


def test_one_literal_pattern_takes_every_line_grep_prints():
    scan = FileScan(compile_patterns([("errors", "error")]), 1, 16)
    gs = GrepScan(scan, deadline=float("inf"))
    assert gs.exact
    gs.feed_output(b"1:0:ERROR one which is long\n2:27:error two\n")
    gs.finish_tail()
    assert scan.total == 2 and scan.lines == 2
    assert [(m["line"], m["offset"], m["text"]) for m in scan.tail] == [(2, 27, "error two")]


def test_signature_examples_are_the_first_line_of_each_key():
    sigs = Signatures()
    sigs.add_lines([b"ERROR id=1 first", b"ERROR id=2 first", b"WARN x"])
    sigs.add_lines([b"ERROR id=3 first"])
    assert sorted(sigs.example.values()) == [b"ERROR id=1 first", b"WARN x"]
    assert sigs.top(1) == [{"signature": "ERROR id=<n> first", "count": 3}]
