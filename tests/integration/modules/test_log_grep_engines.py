"""log_grep's two engines on the same real files: GNU grep as the prefilter (engine=auto) and the Python scanner
(engine=python) give the same counts, tail (line numbers, offsets, timestamps), signatures and warnings."""

import gzip
import os
import shutil
import time

import pytest

# GNU grep is on every host the lab and CI use (Debian's base system); the test fails loudly without it
assert shutil.which("grep"), "needs GNU grep on PATH"

T0 = time.time() - 3600


def ts(i):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(T0 + i)) + ".%03dZ" % (i % 1000)


def app_log(n=3000, seed=0):
    """Lines of every kind the scanner must treat alike: errors with ids, network errors, a stack trace
    (continuation lines without a timestamp), CRLF endings, a long line, invalid UTF-8."""
    out = []
    for i in range(n):
        k = (i + seed) % 50
        if k == 0:
            out.append("%s ERROR db could not connect: Connection refused (attempt %d) id=%08x\n"
                       % (ts(i), i, 0xa0000000 + i))
        elif k == 7:
            out.append("%s WARNING upstream timeout after %d ms\r\n" % (ts(i), i))
        elif k == 13:
            out.append("%s ERROR unhandled exception in worker %d\n" % (ts(i), i))
            out.append("Traceback (most recent call last):\n  File \"app.py\", line %d, in run\n" % i)
            out.append("RuntimeError: upstream failed with status 500\n")
        elif k == 21:
            out.append("%s ERROR payload %s end\n" % (ts(i), "x" * 300))
        elif k == 33:
            out.append("%s ERROR bad bytes \xff\xfe in request %d\n" % (ts(i), i))
        elif k == 41:
            out.append("%s INFO rate limit ok for Unauthorized-Looking-But-Fine user=%d\n" % (ts(i), i))
        else:
            out.append("%s INFO GET /v1/items/%d 200 in %d ms\n" % (ts(i), i, i % 97))
    return "".join(out).encode("latin-1")


def without_engine(result):
    """The result minus what may differ between the engines (which one ran, how many processes)."""
    res = {k: v for k, v in result.items() if k not in ("invocation", "_ansible_no_log")}
    res["files"] = [{k: v for k, v in f.items() if k not in ("engine", "workers")} for f in res["files"]]
    return res


def both(run_module, args):
    fast = run_module("log_grep", dict(args, engine="auto"))
    slow = run_module("log_grep", dict(args, engine="python"))
    assert not fast.failed and not slow.failed, (fast.output, slow.output)
    assert "Traceback" not in fast.output
    return fast, slow


@pytest.fixture
def logs(tmp_path):
    plain = tmp_path / "app.log"
    plain.write_bytes(app_log() + b"2026-11-26T22:41:18Z ERROR last line without a newline")
    rotated = tmp_path / "app.log.1.gz"
    with gzip.open(str(rotated), "wb") as f:  # two gzip members, as `cat a.gz b.gz` makes
        f.write(app_log(1500, seed=3))
    with open(str(rotated), "ab") as f:
        f.write(gzip.compress(app_log(1500, seed=11)))
    old = time.time() - 7200
    os.utime(str(rotated), (old, old))
    return tmp_path, plain, rotated


@pytest.mark.parametrize("args", [
    {"patterns": ["errors"]},                                                   # one literal: grep's lines are the matches
    {"patterns": ["errors", "network", "llm", "http5xx"], "top_signatures": 20},  # several: Python attributes each line
    {"patterns": [r"connect\w*:? (?:connection )?refused", "status 5\\d\\d"], "tail": 7},  # regexes: Python confirms
    {"patterns": ["ERROR", "Unauthorized"], "ignore_case": False, "max_line_length": 64},  # case-sensitive, lines cut
])
def test_grep_and_python_give_the_same_result(run_module, logs, args):
    tmp, plain, rotated = logs
    args = dict(args, paths=[str(plain)], include_rotated=True)
    fast, slow = both(run_module, args)
    assert [f["engine"] for f in fast["files"]] == ["grep", "grep"]  # the rotated .gz (first) through zlib into grep
    assert [f["engine"] for f in slow["files"]] == ["python", "python"]
    assert without_engine(fast.result) == without_engine(slow.result)
    assert fast["total_matches"] > 0 and fast["matches"]
    # real state: the line numbers and byte offsets point at the lines in the file
    data = plain.read_bytes()
    for m in fast["matches"]:
        if m["file"] == str(plain):
            assert data.split(b"\n")[m["line"] - 1].startswith(data[m["offset"]:m["offset"] + 20])
    unzipped = gzip.decompress(rotated.read_bytes())
    assert fast["files"][0]["lines_scanned"] == unzipped.count(b"\n")  # oldest first: the rotated file
    assert fast["files"][1]["lines_scanned"] == data.count(b"\n") + 1  # the last line has no newline
    assert fast["bytes_scanned"] == len(unzipped) + len(data)


def test_stack_trace_lines_get_the_time_of_their_entry(run_module, logs):
    """A continuation line that matches (``RuntimeError: upstream failed``) has no timestamp of its own: both
    engines give it the one of the entry above it in the file, not of the previous match."""
    tmp, plain, rotated = logs
    fast, slow = both(run_module, {"paths": [str(plain)], "patterns": ["upstream failed"], "tail": 3})
    assert fast["files"][0]["engine"] == "grep"
    assert fast["matches"] == slow["matches"]
    for m in fast["matches"]:
        assert m["text"].startswith("RuntimeError") and m["timestamp"] is not None


def test_damaged_gzip_through_grep(run_module, tmp_path):
    """A damaged .gz (cut at two thirds) read through grep: everything before the damage is counted, the warning
    and the bytes and lines scanned are the Python reader's."""
    good = gzip.compress(app_log(4000))
    path = tmp_path / "app.log.2.gz"
    path.write_bytes(good[:len(good) * 2 // 3])
    fast, slow = both(run_module, {"paths": [str(path)], "patterns": ["errors"]})
    assert fast["files"][0]["engine"] == "grep" and slow["files"][0]["engine"] == "python"
    assert without_engine(fast.result) == without_engine(slow.result)
    assert "damaged or truncated" in " ".join(fast["files"][0]["warnings"])
    whole = app_log(4000)
    assert 0 < fast["bytes_scanned"] < len(whole)
    assert 0 < fast["total_matches"] < sum(1 for line in whole.split(b"\n") if b"ERROR" in line)


def test_gzip_expansion_cap_through_grep(run_module, tmp_path):
    """A .gz that expands past the cap (100x its size, at least 64 MiB): both paths stop at the cap, with the same
    warning, counts and tail; the matches past the cap are not counted."""
    line = b"%s INFO fine\n" % ts(0).encode()
    per_mib = (1 << 20) // len(line)
    path = tmp_path / "bomb.log.1.gz"
    with gzip.open(str(path), "wb", compresslevel=9) as f:
        for i in range(70):  # 70 MiB of text: an error line in each MiB, the 66th MiB onward past the cap
            f.write(b"%s ERROR part %d failed\n" % (ts(i).encode(), i))
            f.write(line * per_mib)
    assert path.stat().st_size * 100 < (64 << 20)  # the cap is the 64 MiB floor
    fast, slow = both(run_module, {"paths": [str(path)], "patterns": ["errors"], "tail": 3})
    assert fast["files"][0]["engine"] == "grep"
    assert without_engine(fast.result) == without_engine(slow.result)
    assert fast["bytes_scanned"] == 64 << 20
    assert "passed the cap of %d bytes" % (64 << 20) in " ".join(fast["files"][0]["warnings"])
    assert 60 < fast["total_matches"] < 70


def test_gzip_stack_trace_far_from_the_end(run_module, tmp_path):
    """Stack-trace lines in the tail of a .gz, one near the start of the stream (before what the feeder keeps, so
    the file is decompressed again up to it) and some near the end: each gets the time of its entry."""
    filler = b"%s INFO GET /v1/items 200\n" % ts(5).encode()
    data = (app_log(60) + filler * 300000 + app_log(60, seed=20))
    path = tmp_path / "trace.log.1.gz"
    path.write_bytes(gzip.compress(data))
    fast, slow = both(run_module, {"paths": [str(path)], "patterns": ["upstream failed"], "tail": 3})
    assert fast["files"][0]["engine"] == "grep"
    assert fast["matches"] == slow["matches"]
    assert fast["matches"][0]["offset"] < 64 << 10 and fast["matches"][-1]["offset"] > 8 << 20
    for m in fast["matches"]:
        assert m["text"].startswith("RuntimeError") and m["timestamp"] is not None


def test_python_is_the_fallback(run_module, tmp_path):
    """No literal every match must contain -> Python; NUL bytes past the start (grep would treat the file as
    binary) -> grep's lines are discarded, the file is scanned again in Python, and that is said."""
    digits = tmp_path / "codes.log"
    digits.write_bytes(app_log(500))
    res = run_module("log_grep", {"paths": [str(digits)], "patterns": [r"\s\d{3}\s"]})
    assert not res.failed and res["files"][0]["engine"] == "python" and res["total_matches"] > 0

    nul = tmp_path / "nul.log"
    nul.write_bytes(app_log(500) + b"\x00\x00\n" + app_log(500, seed=1))
    fast, slow = both(run_module, {"paths": [str(nul)], "patterns": ["errors"]})
    assert fast["files"][0]["engine"] == "python"
    assert "NUL bytes" in " ".join(fast["files"][0]["warnings"])
    assert fast["total_matches"] == slow["total_matches"] > 0
    assert fast["matches"] == slow["matches"]

    # the same inside a rotated .gz: grep sees the decompressed NUL bytes, the file goes to the Python reader
    nulgz = tmp_path / "nul.log.1.gz"
    nulgz.write_bytes(gzip.compress(nul.read_bytes()))
    fast, slow = both(run_module, {"paths": [str(nulgz)], "patterns": ["errors"]})
    assert fast["files"][0]["engine"] == "python"
    assert "NUL bytes" in " ".join(fast["files"][0]["warnings"])
    assert fast["total_matches"] == slow["total_matches"] > 0
    assert fast["matches"] == slow["matches"]


def test_warnings_count_the_returned_lines_only(run_module, tmp_path):
    """Bad UTF-8 and over-long matching lines in every 1 MiB block, tail 5: the warnings count the 5 lines that
    are returned, on both engines (they once counted every block's last lines, 5 per block)."""
    path = tmp_path / "big.log"
    line = b"%s INFO GET /v1/items 200 %s\n" % (ts(0).encode(), b"x" * 90)
    bad = b"%s ERROR bad bytes \xff\xfe %s\n" % (ts(1).encode(), b"y" * 200)
    with open(str(path), "wb") as f:
        for _block in range(4):  # ~4 MiB: several blocks, each with its own bad lines
            f.write(line * 9000)
            f.write(bad * 10)
    fast, slow = both(run_module, {"paths": [str(path)], "patterns": ["errors"], "tail": 5, "max_line_length": 100})
    assert fast["files"][0]["engine"] == "grep" and fast["total_matches"] == 40
    assert without_engine(fast.result) == without_engine(slow.result)
    warnings = fast["files"][0]["warnings"]
    assert "5 returned line(s) longer than 100 bytes were cut" in warnings, warnings
    assert "5 returned line(s) are not valid UTF-8 (shown with U+FFFD)" in warnings, warnings
