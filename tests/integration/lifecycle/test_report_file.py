"""report_file writes the triage report on the controller: directories, modes, idempotence, check mode."""

import os
import stat

import pytest


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_writes_creates_and_is_idempotent(run_module, tmp_path):
    path = tmp_path / "incidents" / "incident-1" / "triage-web1.md"
    args = {"path": str(path), "content": "# Triage: high_error_rate\n\nSeverity | **P1**\n"}
    dry = run_module("report_file", args, check=True)
    assert not dry.failed, dry.output
    assert dry["changed"] is True and not path.exists() and not path.parent.exists()
    first = run_module("report_file", args, diff=True)
    assert not first.failed, first.output
    assert first["changed"] is True and first["size"] == len(args["content"])
    assert path.read_text() == args["content"]
    assert mode_of(path) == 0o600 and mode_of(path.parent) == 0o700
    again = run_module("report_file", args)
    assert again["changed"] is False
    changed = run_module("report_file", dict(args, content="# Triage: P0\n", mode="0640"))
    assert changed["changed"] is True and path.read_text() == "# Triage: P0\n" and mode_of(path) == 0o640
    assert [p for p in os.listdir(str(path.parent)) if p.startswith(".report-")] == []


@pytest.mark.parametrize("args,needle", [
    ({"path": "relative/report.md", "content": "x"}, "path: must be absolute"),
    ({"path": "/tmp/rxi-report-bad-mode.md", "content": "x", "mode": "rw-"}, "mode: an octal mode"),
    ({"path": "/proc/rxi-report/nope.md", "content": "x"}, "cannot write /proc/rxi-report/nope.md"),
    ({"content": "x"}, "path"),
])
def test_bad_input(run_module, args, needle):
    r = run_module("report_file", args)
    assert r.failed and needle in r["msg"], r.output
    assert "Traceback" not in r.output
    assert not os.path.exists("/tmp/rxi-report-bad-mode.md")


def test_fifo_and_devices_are_refused_not_read(run_module, tmp_path):
    # before issue #15 a FIFO hung the task (open + read with no writer) and /dev/zero was read until memory ran out
    fifo = tmp_path / "report.fifo"
    os.mkfifo(str(fifo))
    for path, kind in ((str(fifo), "a FIFO"), ("/dev/zero", "a character device"), (str(tmp_path), "a directory")):
        for check in (False, True):
            r = run_module("report_file", {"path": path, "content": "# Triage\n"}, check=check, diff=True, timeout=60)
            assert r.failed, r.output
            assert r["msg"] == "path: %s exists and is not a regular file (%s); refusing to read or replace it" % (
                path, kind), r.output
            assert "Traceback" not in r.output
    assert stat.S_ISFIFO(os.stat(str(fifo)).st_mode)
    assert stat.S_ISCHR(os.stat("/dev/zero").st_mode)
    assert [p for p in os.listdir(str(tmp_path)) if p.startswith(".report-")] == []


def test_a_huge_existing_file_is_read_capped(run_module, tmp_path):
    path = tmp_path / "triage.md"
    with open(str(path), "wb") as f:  # 64 MiB of an old report
        f.write(b"# old report line\n" * (64 << 20 >> 4))
    size = os.path.getsize(str(path))
    r = run_module("report_file", {"path": str(path), "content": "# Triage: P1\n"}, diff=True)
    assert not r.failed, r.output
    assert r["changed"] is True and path.read_text() == "# Triage: P1\n"
    before = r["diff"]["before"]
    assert len(before) < (1 << 20) + 200 and before.endswith(
        "[truncated: the existing file has %d bytes, only the first %d are shown]\n" % (size, (1 << 20) + 14))
    assert len(r.output) < 8 << 20  # before the fix the whole 64 MiB came back in the diff
