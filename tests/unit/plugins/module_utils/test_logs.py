"""log_grep's pure logic: timestamps, time specs, literal prefilters, signatures, block scanning."""

import calendar
import re

import pytest

from ansible_collections.reflexion.incident.plugins.module_utils._log_files import glob_root, resolve_inside
from ansible_collections.reflexion.incident.plugins.module_utils._log_patterns import PRESETS, compile_patterns
from ansible_collections.reflexion.incident.plugins.module_utils._log_scan import FileScan
from ansible_collections.reflexion.incident.plugins.module_utils._log_signatures import mask_message, signature_keys
from ansible_collections.reflexion.incident.plugins.module_utils._log_time import (
    line_timestamp,
    parse_time_spec,
    timestamp_format,
)

T = calendar.timegm((2026, 11, 26, 22, 41, 18, 0, 0, 0))


@pytest.mark.parametrize("line, expected, fmt", [
    (b"2026-11-26T22:41:18Z ERROR x", T, "iso8601"),
    (b"2026-11-26T22:41:18.250Z ERROR x", T + 0.25, "iso8601"),
    (b"2026-11-27T00:41:18+02:00 ERROR x", T, "iso8601"),
    (b"2026-11-26T17:41:18-0500 ERROR x", T, "iso8601"),
    (b'10.0.0.1 - - [26/Nov/2026:22:41:18 +0000] "GET / HTTP/1.1" 500 1', T, "clf"),
    (b'{"time": "2026-11-26T22:41:18Z", "msg": "x"}', T, "json"),
    (b'{"ts": %d.5, "msg": "x"}' % T, T + 0.5, "json"),
    (b'{"level": "error", "timestamp": %d000}' % T, T, "json"),
])
def test_zoned_timestamps(line, expected, fmt):
    assert line_timestamp(line) == pytest.approx(expected)
    assert timestamp_format(line) == fmt


def test_naive_timestamps_are_local_time():
    import time
    local = time.mktime((2026, 11, 26, 22, 41, 18, 0, 0, -1))
    assert line_timestamp(b"2026-11-26 22:41:18,123 - app - ERROR - boom") == pytest.approx(local + 0.123)
    assert timestamp_format(b"2026-11-26 22:41:18,123 - app - ERROR - boom") == "python"
    syslog = line_timestamp(b"Nov 26 22:41:18 host app[1]: error", now=local + 60)
    assert syslog == pytest.approx(local)
    # a December line read in early January belongs to the year before
    jan = time.mktime((2027, 1, 2, 0, 0, 0, 0, 0, -1))
    dec = line_timestamp(b"Dec 31 23:00:00 host app: x", now=jan)
    assert dec == pytest.approx(time.mktime((2026, 12, 31, 23, 0, 0, 0, 0, -1)))


@pytest.mark.parametrize("line", [b"  File \"x.py\", line 3, in run", b"Traceback (most recent call last):", b"",
                                  b"\xff\xfe\x00junk", b'{"msg": "no time"}', b"Foo 99 99:99:99 nonsense"])
def test_lines_without_timestamp(line):
    assert line_timestamp(line) is None


def test_parse_time_spec():
    assert parse_time_spec("1h", now=10000) == 6400
    assert parse_time_spec("30m", now=10000) == 8200
    assert parse_time_spec("2d", now=200000) == 200000 - 172800
    assert parse_time_spec("2026-11-26T22:41:18Z") == T
    for bad in ("yesterday", "1y", "2026-13-01T00:00:00", ""):
        with pytest.raises(ValueError):
            parse_time_spec(bad)


@pytest.mark.parametrize("source, literals, pure", [
    ("error", [b"error"], True),
    ("timeout|connection|failed", [b"timeout", b"connection", b"failed"], True),
    ("rate limit|timeout|unauthorized", [b"rate limit", b"timeout", b"unauthorized"], True),
    (r"ERROR.*db\d+", [b"error"], False),
    (r"(?:conn(ection)? refused)", [b" refused"], False),
    (r"\d+ ms", [b" ms"], False),
    (r"\d+\.\d+", None, False),
    ("a|bc", None, False),
])
def test_literal_prefilter(source, literals, pure):
    p = compile_patterns([(source, source)])[0]
    assert p.literals == literals
    assert p.pure == pure


def test_invalid_regex_names_the_pattern():
    with pytest.raises(ValueError, match=re.escape("'(unclosed'")):
        compile_patterns([("x", "(unclosed")])


def test_presets_are_the_runbooks_greps():
    assert PRESETS["errors"] == ["error"]
    assert PRESETS["network"] == ["timeout|connection|failed"]


def test_mask_and_keys():
    a = b"2026-11-26T22:41:18Z ERROR user 1234 not found id=9f0c0000-1b2c-4d5e-8f90-a1b2c3d4e5f6 at 0x7ffe12"
    b = b"2026-11-26T23:00:00Z ERROR user 77 not found id=00000000-1b2c-4d5e-8f90-a1b2c3d4e5f6 at 0xdead"
    assert mask_message(a) == "ERROR user <n> not found id=<uuid> at <hex>"
    assert mask_message(b) == mask_message(a)
    ka, kb = signature_keys([a, b])
    assert ka == kb
    assert signature_keys([b"cache miss", b"cache hit"])[0] != signature_keys([b"cache miss", b"cache hit"])[1]


def scan(text, patterns=("error",), since=None, until=None, tail=5, icase=True):
    pats = compile_patterns([(p, p) for p in patterns], icase)
    s = FileScan(pats, tail, 100, since, until)
    s.feed(text)
    return s


def test_scan_counts_like_grep_c():
    text = b"Error one\nfine\nerror two ERROR again\nTIMEOUT and connection\n"
    s = scan(text, ("error", "timeout|connection|failed"))
    assert s.counts == [2, 1] and s.total == 3 and s.lines == 4
    assert [m["line"] for m in s.tail] == [1, 3, 4]
    assert scan(text, ("error",), icase=False).counts == [1]
    assert scan(text, (r"\w+ two",)).counts == [1]


def test_scan_window_and_continuations():
    lines = [b"2026-11-26T22:00:00Z ERROR old", b"ValueError: old trace",
             b"2026-11-26T22:41:18Z ERROR new", b"ValueError: new trace",
             b"2026-11-26T23:30:00Z ERROR later"]
    text = b"\n".join(lines) + b"\n"
    s = scan(text, since=T, until=T + 600)
    assert s.total == 2
    assert [m["text"] for m in s.tail] == ["2026-11-26T22:41:18Z ERROR new", "ValueError: new trace"]
    assert [m["line"] for m in s.tail] == [3, 4]
    assert s.tail[1]["timestamp"] == T


@pytest.mark.parametrize("spec, needle", [
    ("99999999999d", "longer than 100 years"),
    ("9" * 400 + "d", "longer than 100 years"),
    ("36700d", "longer than 100 years"),
    ("0001-01-01T00:00:00Z", "out of range"),
    ("0001-01-01T00:00:00+14:00", "out of range"),
    ("0001-01-01", "out of range"),
    ("1969-12-31T23:59:59Z", "out of range"),
    ("9999-12-31T23:59:59-14:00", "out of range"),
])
def test_parse_time_spec_bounds(spec, needle):
    # before issue #15 these overflowed the platform's time_t (a traceback) or meant "since year 1"
    with pytest.raises(ValueError, match=needle):
        parse_time_spec(spec, now=T)


def test_parse_time_spec_bounds_keep_real_windows():
    assert parse_time_spec("20000d", now=T) == T - 20000 * 86400
    assert parse_time_spec("1970-01-01T00:00:00Z", now=T) == 0
    assert parse_time_spec("9999-12-31T23:59:59Z", now=T) == 253402300799


@pytest.mark.parametrize("spec, root", [
    ("/var/log/reflexion/*.log", "/var/log/reflexion"),
    ("/var/log/reflexion/app.log", "/var/log/reflexion"),
    ("/var/log/*/app.log", "/var/log"),
    ("/var/log/reflexion/**/x[0-9].log", "/var/log/reflexion"),
    ("/*.log", "/"),
    ("app.log", "."),
    ("logs/*.log", "logs"),
])
def test_glob_root(spec, root):
    assert glob_root(spec) == root


def test_resolve_inside(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("x")
    (tmp_path / "secret").write_text("x")
    (tmp_path / "logs" / "out.log").symlink_to(tmp_path / "secret")
    (tmp_path / "logs" / "in.log").symlink_to("app.log")
    (tmp_path / "logsx").mkdir()  # a sibling whose name starts like the root is not inside it
    (tmp_path / "logs" / "sib.log").symlink_to(tmp_path / "logsx")
    root = str(tmp_path / "logs")
    assert resolve_inside(str(tmp_path / "logs" / "app.log"), root)[1] is None
    assert resolve_inside(str(tmp_path / "logs" / "in.log"), root) == (str(tmp_path / "logs" / "app.log"), None)
    assert resolve_inside(str(tmp_path / "logs" / "out.log"), root)[1].startswith("resolves outside")
    assert resolve_inside(str(tmp_path / "logs" / "sib.log"), root)[1].startswith("resolves outside")
