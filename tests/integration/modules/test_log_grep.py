"""log_grep against real generated log files: every timestamp format, rotation, gzip, damage."""

import gzip
import json
import os
import time

import pytest

NOW = time.time()
OLD = NOW - 2 * 3600      # outside since: 1h
NEW = NOW - 10 * 60       # inside since: 1h


def iso_z(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".250Z"


def iso_offset(ts):
    # the same instant written in +02:00
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts + 7200)) + "+02:00"


def python_fmt(ts):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) + ",123"


def syslog_fmt(ts):
    lt = time.localtime(ts)
    return time.strftime("%b ", lt) + ("%2d" % lt.tm_mday) + time.strftime(" %H:%M:%S", lt)


def clf_fmt(ts):
    return time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime(ts))


FORMATS = {
    "iso8601": lambda ts, msg: "%s ERROR app %s" % (iso_z(ts), msg),
    "iso_offset": lambda ts, msg: "%s ERROR app %s" % (iso_offset(ts), msg),
    "python": lambda ts, msg: "%s - app - ERROR - %s" % (python_fmt(ts), msg),
    "syslog": lambda ts, msg: "%s host reflexion[42]: error %s" % (syslog_fmt(ts), msg),
    "clf": lambda ts, msg: '10.0.0.1 - - %s "GET /v1/chat HTTP/1.1" 500 12 "error %s"' % (clf_fmt(ts), msg),
    "json_iso": lambda ts, msg: json.dumps({"time": iso_z(ts), "level": "error", "msg": msg}),
    "json_epoch": lambda ts, msg: json.dumps({"ts": round(ts, 3), "level": "error", "msg": msg}),
    "json_ms": lambda ts, msg: json.dumps({"timestamp": int(ts * 1000), "level": "error", "msg": msg}),
}
DETECTED = {"iso8601": "iso8601", "iso_offset": "iso8601", "python": "python", "syslog": "syslog", "clf": "clf",
            "json_iso": "json", "json_epoch": "json", "json_ms": "json"}


def write_lines(path, lines, mtime=None, opener=open):
    with opener(path, "wb") as f:
        for line in lines:
            f.write(line if isinstance(line, bytes) else (line + "\n").encode())
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    d = tmp_path_factory.mktemp("logs")
    for name, fmt in FORMATS.items():
        lines = [fmt(OLD + i, "old request %d failed" % i) for i in range(3)]
        lines += [fmt(NEW + i, "new request %d failed" % i) for i in range(2)]
        lines.insert(2, fmt(OLD + 2.5, "").replace("error", "info").replace("ERROR", "INFO"))
        write_lines(d / ("%s.log" % name), lines)
    return d


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_timestamp_format_and_since(run_module, logs, fmt):
    path = str(logs / ("%s.log" % fmt))
    full = run_module("log_grep", {"paths": [path]})
    assert not full.failed, full.output
    assert full["counts"] == {"errors": 5}
    assert full["files"][0]["timestamp_format"] == DETECTED[fmt]
    assert full["files"][0]["lines_scanned"] == 6
    win = run_module("log_grep", {"paths": [path], "since": "1h"})
    assert not win.failed, win.output
    assert win["total_matches"] == 2, win["matches"]
    assert [m["text"].count("new request") for m in win["matches"]] == [1, 1]
    for m in win["matches"]:
        ts = time.mktime(time.strptime(m["timestamp"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        assert abs(ts - NEW) < 5, m
    old = run_module("log_grep", {"paths": [path], "until": "90m"})
    assert old["total_matches"] == 3


def test_stack_traces_belong_to_the_entry_above(run_module, tmp_path):
    lines = [
        "%s ERROR worker job failed" % iso_z(OLD),
        "Traceback (most recent call last):",
        '  File "/app/worker.py", line 12, in run',
        "ConnectionError: old connection reset",
        "%s INFO worker recovered" % iso_z(NEW - 60),
        "%s ERROR worker job failed" % iso_z(NEW),
        "Traceback (most recent call last):",
        "ConnectionError: new connection reset",
    ]
    path = write_lines(tmp_path / "trace.log", lines)
    r = run_module("log_grep", {"paths": [path], "patterns": ["connection"], "since": "1h"})
    assert not r.failed, r.output
    assert r["total_matches"] == 1
    m = r["matches"][0]
    assert m["text"] == "ConnectionError: new connection reset" and m["line"] == 8
    assert m["timestamp"][:19] == iso_z(NEW)[:19]
    full = run_module("log_grep", {"paths": [path], "patterns": ["connection"]})
    assert full["total_matches"] == 2
    assert full["matches"][0]["timestamp"][:19] == iso_z(OLD)[:19]


@pytest.fixture
def rotated(tmp_path):
    base = tmp_path / "app.log"
    write_lines(str(base) + ".2.gz", ["%s ERROR oldest %d" % (iso_z(OLD - 86400 + i), i) for i in range(4)],
                mtime=OLD - 86400 + 10, opener=gzip.open)
    write_lines(str(base) + ".1", ["%s ERROR older %d" % (iso_z(OLD + i), i) for i in range(3)], mtime=OLD + 10)
    write_lines(base, ["%s ERROR current %d" % (iso_z(NEW + i), i) for i in range(2)], mtime=NEW + 10)
    write_lines(tmp_path / "other.txt", ["%s ERROR not a log" % iso_z(NEW)])
    return tmp_path


def test_rotated_files_and_gzip(run_module, rotated):
    only = run_module("log_grep", {"paths": [str(rotated / "*.log")]})
    assert only["total_matches"] == 2 and [f["path"] for f in only["files"]] == [str(rotated / "app.log")]
    r = run_module("log_grep", {"paths": [str(rotated / "*.log")], "include_rotated": True, "tail": 5})
    assert not r.failed, r.output
    assert [os.path.basename(f["path"]) for f in r["files"]] == ["app.log.2.gz", "app.log.1", "app.log"]
    assert [f["matches"] for f in r["files"]] == [4, 3, 2]
    assert r["files"][0]["compressed"] is True and r["files"][0]["lines_scanned"] == 4
    assert r["total_matches"] == 9
    # the tail is chronological across files
    assert [m["text"].split(" ", 2)[2] for m in r["matches"]] == ["older 1", "older 2", "current 0", "current 1"][-5:] \
        or [m["text"].split(" ", 2)[2] for m in r["matches"]] == ["older 0", "older 1", "older 2", "current 0", "current 1"]
    since = run_module("log_grep", {"paths": [str(rotated / "*.log")], "include_rotated": True, "since": "1h"})
    assert since["total_matches"] == 2
    skipped = dict((os.path.basename(f["path"]), f["skipped"]) for f in since["files"])
    assert "before since" in skipped["app.log.2.gz"] and "before since" in skipped["app.log.1"]
    assert skipped["app.log"] is None


def test_damaged_files_are_reported_not_fatal(run_module, tmp_path):
    good = "".join("%s ERROR item %d failed\n" % (iso_z(NEW + i), i) for i in range(5000)).encode()
    whole = gzip.compress(good)
    (tmp_path / "cut.log.gz").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "junk.log").write_bytes(b"\x7fELF\x00\x01\x02error\x00" * 100)
    (tmp_path / "utf8.log").write_bytes(("%s ERROR caf\xe9 " % iso_z(NEW)).encode("latin-1") + b"\xff\xfe broken\n")
    (tmp_path / "long.log").write_bytes(("%s INFO " % iso_z(NEW)).encode() + b"x" * (10 << 20) + b" error\n"
                                        + ("%s ERROR short\n" % iso_z(NEW)).encode())
    (tmp_path / "adir.log").mkdir()
    os.symlink(str(tmp_path / "missing"), str(tmp_path / "dangling.log"))
    r = run_module("log_grep", {"paths": [str(tmp_path / "*.log*")], "max_line_length": 100})
    assert not r.failed, r.output
    assert "Traceback" not in r.output
    files = dict((os.path.basename(f["path"]), f) for f in r["files"])
    assert "truncated" in files["cut.log.gz"]["warnings"][0]
    assert 0 < files["cut.log.gz"]["matches"] < 5000
    assert files["junk.log"]["skipped"].startswith("binary")
    assert files["utf8.log"]["matches"] == 1 and "UTF-8" in files["utf8.log"]["warnings"][0]
    assert files["long.log"]["matches"] == 2 and "cut" in files["long.log"]["warnings"][0]
    long_match = [m for m in r["matches"] if m["file"].endswith("long.log")][0]
    assert len(long_match["text"]) == 100 and long_match["line"] == 1
    assert files["adir.log"]["skipped"].startswith("not a regular file")
    assert files["dangling.log"]["skipped"].startswith("unreadable")


def test_big_file_since_uses_binary_search(run_module, tmp_path):
    path = tmp_path / "big.log"
    with open(str(path), "w") as f:
        t = OLD - 86400
        block = []
        for i in range(120000):  # ~8 MB, one day ago .. two hours ago
            block.append("%s INFO GET /v1/items/%d 200 error_rate=0\n" % (iso_z(t + i * 0.5), i))
        f.write("".join(block))
        for i in range(50):
            f.write("%s ERROR upstream timeout id=%08x\n" % (iso_z(NEW + i), 0xa0000000 + i * 7919))
            f.write("%s INFO fine\n" % iso_z(NEW + i + 0.5))
    r = run_module("log_grep", {"paths": [str(path)], "since": "1h", "patterns": ["errors", "network"], "tail": 3})
    assert not r.failed, r.output
    assert r["counts"] == {"errors": 50, "network": 50}
    assert r["bytes_scanned"] < os.path.getsize(str(path)) / 4
    assert r["matches"][-1]["line"] is None and r["matches"][-1]["offset"] > 0
    assert r["signatures"] == [{"signature": "ERROR upstream timeout id=<hex>", "count": 50}]
    full = run_module("log_grep", {"paths": [str(path)], "patterns": ["network"], "tail": 1})
    assert full["total_matches"] == 50 and full["matches"][0]["line"] == 120100 - 1
    assert full["bytes_scanned"] == os.path.getsize(str(path))


def test_parallel_full_scan_equals_one_process(run_module, tmp_path):
    """A file over the 64 MiB split point, scanned by 3 processes (and by grep), gives exactly the single-process answer:
    counts, lines, bytes, signatures, and the tail's absolute line numbers from the last part."""
    path = tmp_path / "huge.log"
    filler = "".join("%s INFO GET /v1/items/%d 200 ok\n" % (iso_z(OLD + i), i) for i in range(10000))
    lines_per_chunk = filler.count("\n")
    with open(str(path), "w") as f:
        for chunk in range(130):  # ~73 MB; an error line after every chunk
            f.write(filler)
            f.write("%s ERROR upstream timeout in chunk %d id=%08x\n" % (iso_z(NEW), chunk, 0xb0000000 + chunk))
    assert os.path.getsize(str(path)) > 64 << 20
    args = {"paths": [str(path)], "patterns": ["errors", "network"], "tail": 150, "top_signatures": 3}
    one = run_module("log_grep", dict(args, workers=1, engine="python"))
    three = run_module("log_grep", dict(args, workers=3, engine="python"))
    grep = run_module("log_grep", args)  # engine=auto: GNU grep as the prefilter, its output read in many blocks
    assert not one.failed and not three.failed and not grep.failed, (one.output, three.output, grep.output)
    assert one["files"][0]["workers"] == 1 and three["files"][0]["workers"] == 3
    assert grep["files"][0]["engine"] == "grep" and one["files"][0]["engine"] == "python"
    for key in ("counts", "total_matches", "lines_scanned", "bytes_scanned", "signatures", "matches", "status"):
        assert three[key] == one[key], key
        assert grep[key] == one[key], key
    assert one["counts"] == {"errors": 130, "network": 130}
    assert one["lines_scanned"] == 130 * (lines_per_chunk + 1)
    assert [m["line"] for m in three["matches"]] == [(c + 1) * (lines_per_chunk + 1) for c in range(130)]
    assert three["signatures"] == [{"signature": "ERROR upstream timeout in chunk <n> id=<hex>", "count": 130}]
    with open(str(path), "rb") as f:  # offsets are file offsets, not offsets in a block
        for match in (three["matches"][0], three["matches"][-1]):
            f.seek(match["offset"])
            assert f.readline().decode().rstrip("\n") == match["text"]


def test_signatures_tail_status_and_check_mode(run_module, tmp_path):
    lines = ["%s ERROR user %d not found in shard 0x%x" % (iso_z(NEW + i), 1000 + i, i * 4096) for i in range(30)]
    lines += ["%s WARNING request %s failed" % (iso_z(NEW + 40 + i), "9f0c%04x-1b2c-4d5e-8f90-a1b2c3d4e5f6" % i)
              for i in range(7)]
    path = write_lines(tmp_path / "sig.log", lines)
    r = run_module("log_grep", {"paths": [path], "patterns": ["error|failed"], "tail": 3, "unhealthy_matches": 10},
                   check=True)
    assert not r.failed, r.output
    assert r["changed"] is False and r["status"] == "down"
    assert r["signatures"] == [{"signature": "ERROR user <n> not found in shard <hex>", "count": 30},
                               {"signature": "WARNING request <uuid> failed", "count": 7}]
    assert [m["line"] for m in r["matches"]] == [35, 36, 37]
    case = run_module("log_grep", {"paths": [path], "patterns": ["ERROR"], "ignore_case": False})
    assert case["total_matches"] == 30
    quiet = run_module("log_grep", {"paths": [path], "patterns": ["panic"]})
    assert quiet["status"] == "healthy" and quiet["total_matches"] == 0 and quiet["matches"] == []


def test_fail_on_unhealthy(run_module, tmp_path):
    path = write_lines(tmp_path / "a.log", ["%s ERROR boom" % iso_z(NEW)])
    r = run_module("log_grep", {"paths": [path], "fail_on_unhealthy": True})
    assert r.failed and r["total_matches"] == 1 and "unhealthy" in r["msg"]


@pytest.mark.parametrize("args, needle", [
    ({"patterns": ["error", "(unclosed"]}, "(unclosed"),
    ({"since": "10m", "until": "1h"}, "since"),
    ({"since": "yesterday"}, "since"),
    ({"until": "2026-13-45T99:00:00"}, "until"),
    ({"tail": -1}, "tail"),
    ({"max_line_length": 0}, "max_line_length"),
    ({"patterns": []}, "patterns"),
])
def test_bad_input(run_module, tmp_path, args, needle):
    path = write_lines(tmp_path / "a.log", ["%s ERROR boom" % iso_z(NEW)])
    a = {"paths": [path]}
    a.update(args)
    r = run_module("log_grep", a)
    assert r.failed
    assert needle in r["msg"]
    assert "Traceback" not in r.output
