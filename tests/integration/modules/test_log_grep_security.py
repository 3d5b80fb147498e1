"""log_grep on hostile or unusual inputs (issue #15): timestamps it does not know, symlinks that leave the
log directory, FIFOs and devices, gzip bombs, absurd time windows. Real files, the real module."""

import os
import time
import zlib

import pytest

CANARY = "CNRY-io-7f3a9e-shadow-canary"


def write(path, text):
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def test_unknown_timestamp_format_is_scanned_whole_and_said(run_module, tmp_path):
    # day.month.year: a format log_grep does not know; before the fix, since: 1h skipped every line and
    # reported "healthy, no matching line"
    stamp = time.strftime("%d.%m.%Y %H:%M:%S", time.localtime(time.time() - 60))
    lines = ["%s INFO request ok" % stamp, "%s ERROR db connection refused" % stamp,
             "%s ERROR db connection refused" % stamp, "%s INFO request ok" % stamp,
             "%s ERROR upstream failed" % stamp]
    odd = write(tmp_path / "odd.log", "\n".join(lines) + "\n")
    known = write(tmp_path / "known.log", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 60))
                  + "Z ERROR known format\n")
    r = run_module("log_grep", {"paths": [odd, known], "since": "1h"})
    assert not r.failed, r.output
    files = dict((os.path.basename(f["path"]), f) for f in r["files"])
    assert files["odd.log"]["matches"] == 3 and files["odd.log"]["lines_scanned"] == 5
    assert files["odd.log"]["unparsed_timestamps"] == 5
    assert any("scanned whole" in w for w in files["odd.log"]["warnings"])
    assert files["known.log"]["matches"] == 1 and files["known.log"]["unparsed_timestamps"] == 0
    assert r["unparsed_timestamps"] == 5 and r["total_matches"] == 4
    assert r["status"] == "degraded" and "no timestamp log_grep recognises" in r["reason"]
    assert "no timestamp log_grep recognises" in r.output  # the module warning, shown by ansible
    # the same file with no window: nothing to say about timestamps
    plain = run_module("log_grep", {"paths": [odd]})
    assert plain["unparsed_timestamps"] == 0 and plain["total_matches"] == 3


def test_unknown_format_without_errors_is_healthy_but_said(run_module, tmp_path):
    odd = write(tmp_path / "odd.log", "26.11.2026 14:00:01 INFO fine\n" * 10)
    r = run_module("log_grep", {"paths": [odd], "since": "30m", "until": "1m"})
    assert r["status"] == "healthy" and r["unparsed_timestamps"] == 10
    assert "scanned without the since/until window" in r["reason"]


def test_symlinks_leaving_the_log_dir_are_skipped_and_listed(run_module, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    canary = write(outside / "shadow", "root:%s:19000:0:99999:7:::\nERROR %s\n" % (CANARY, CANARY))
    logs = tmp_path / "logs"
    logs.mkdir()
    write(logs / "app.log", "2026-11-26T14:00:01Z ERROR real entry\n")
    os.symlink(canary, str(logs / "evil.log"))                       # absolute target, outside
    os.symlink("../outside/shadow", str(logs / "evil2.log"))         # relative target, outside
    os.symlink("app.log", str(logs / "current.log"))                 # inside the directory: read
    sub = logs / "sub"
    os.symlink(str(outside), str(sub))                               # a directory link leaving it
    for args in ({"paths": [str(logs / "*.log"), str(logs / "*" / "*")]},
                 {"paths": [str(logs / "evil.log"), str(logs / "app.log")], "include_rotated": True}):
        r = run_module("log_grep", dict(args, patterns=["error", "root"]))
        assert not r.failed, r.output
        assert CANARY not in r.output
        files = dict((os.path.basename(f["path"]), f) for f in r["files"])
        assert files["evil.log"]["skipped"].startswith("resolves outside") and files["evil.log"]["outside_root"]
        assert str(logs / "evil.log") in r["outside_root"]
        assert files["app.log"]["matches"] == 1
        assert "resolve outside" in r["reason"]
    r = run_module("log_grep", {"paths": [str(logs / "*.log"), str(logs / "*" / "*")]})
    files = dict((os.path.basename(f["path"]), f) for f in r["files"])
    assert files["current.log"]["skipped"] is None and files["current.log"]["matches"] == 1
    assert files["evil2.log"]["skipped"].startswith("resolves outside")
    assert files["shadow"]["skipped"].startswith("resolves outside")  # logs/*/* through the linked dir
    assert sorted(os.path.basename(p) for p in r["outside_root"]) == ["evil.log", "evil2.log", "shadow"]


def test_fifo_and_devices_are_not_read(run_module, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    os.mkfifo(str(logs / "pipe.log"))
    write(logs / "app.log", "2026-11-26T14:00:01Z ERROR real entry\n")
    started = time.monotonic()
    r = run_module("log_grep", {"paths": [str(logs / "*.log")]}, timeout=120)
    assert time.monotonic() - started < 60
    files = dict((os.path.basename(f["path"]), f) for f in r["files"])
    assert files["pipe.log"]["skipped"] == "not a regular file (a FIFO)"
    assert files["app.log"]["matches"] == 1
    r = run_module("log_grep", {"paths": ["/dev/zero"]}, timeout=120)
    assert not r.failed and r["files"][0]["skipped"] == "not a regular file (a character device)"
    assert r["status"] == "degraded"


def gzip_bomb(path, size=1 << 30):
    """``size`` bytes of empty lines, gzip'ed to about 1 MiB (ratio ~1000:1), written in 1 MiB steps."""
    block = b"\n" * (1 << 20)
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    done = 0
    with open(str(path), "wb") as f:
        f.write(comp.compress(b"2026-11-26T14:00:00Z ERROR first line before the bomb\n"))
        while done < size:
            f.write(comp.compress(block))
            done += len(block)
        f.write(comp.flush())
    return done


def test_gzip_bomb_is_capped(run_module, tmp_path):
    bomb = tmp_path / "app.log.1.gz"
    inflated = gzip_bomb(bomb)
    compressed = os.path.getsize(str(bomb))
    assert compressed < 2 << 20 and inflated >= 1 << 30
    started = time.monotonic()
    r = run_module("log_grep", {"paths": [str(bomb)]}, timeout=300)
    assert time.monotonic() - started < 120
    assert not r.failed, r.output
    f = r["files"][0]
    cap = max(64 << 20, 100 * compressed)
    assert f["bytes_scanned"] <= cap < inflated  # before the fix: the whole GiB
    assert any("[truncated]" in w and "cap" in w for w in f["warnings"]), f["warnings"]
    assert f["matches"] == 1


@pytest.mark.parametrize("args, needle", [
    ({"since": "99999999999d"}, "since: '99999999999d' is longer than 100 years"),
    ({"since": "9" * 400 + "d"}, "since:"),
    ({"since": "0001-01-01T00:00:00Z"}, "since: '0001-01-01T00:00:00Z' is out of range"),
    ({"since": "0001-01-01T00:00:00+14:00"}, "since:"),
    ({"until": "0001-01-01"}, "until:"),
    ({"until": "9999-12-31T23:59:59-14:00"}, "until:"),
])
def test_absurd_windows_fail_naming_the_option(run_module, tmp_path, args, needle):
    path = write(tmp_path / "a.log", "2026-11-26T14:00:01Z ERROR boom\n")
    r = run_module("log_grep", dict(args, paths=[path]))
    assert r.failed and needle in r["msg"], r.output
    assert "Traceback" not in r.output
