"""reflexion.incident.report_file's action plugin, run() through a real Task, PlayContext and local connection.

It writes on the controller: the file's content and mode are asserted on disk, in normal, check and diff mode.
"""

import os
import stat

import pytest


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_the_file_and_its_directory_with_private_modes(run_action, tmp_path):
    path = str(tmp_path / "incident-1" / "triage-web1.md")
    out = run_action("report_file", {"path": path, "content": "# Triage\nP1\n"})
    assert out.get("failed") is not True, out
    assert out["changed"] is True and out["size"] == len("# Triage\nP1\n")
    with open(path) as f:
        assert f.read() == "# Triage\nP1\n"
    assert mode_of(path) == 0o600 and mode_of(os.path.dirname(path)) == 0o700
    assert [n for n in os.listdir(os.path.dirname(path)) if n.startswith(".report-")] == []  # no temp file left


def test_same_content_is_no_change_and_a_new_mode_is(run_action, tmp_path):
    path = str(tmp_path / "r.md")
    run_action("report_file", {"path": path, "content": "x"})
    assert run_action("report_file", {"path": path, "content": "x"})["changed"] is False
    out = run_action("report_file", {"path": path, "content": "x", "mode": "0640"})
    assert out["changed"] is True and mode_of(path) == 0o640


def test_check_mode_reports_the_change_and_writes_nothing(run_action, tmp_path):
    path = str(tmp_path / "sub" / "r.md")
    out = run_action("report_file", {"path": path, "content": "new"}, check_mode=True)
    assert out["changed"] is True
    assert not os.path.exists(os.path.dirname(path))


def test_diff_mode_shows_before_and_after(run_action, tmp_path):
    path = str(tmp_path / "r.md")
    run_action("report_file", {"path": path, "content": "old\n"})
    out = run_action("report_file", {"path": path, "content": "new\n"}, check_mode=True, diff=True)
    assert out["diff"]["before"] == "old\n" and out["diff"]["after"] == "new\n"
    with open(path) as f:
        assert f.read() == "old\n"


def test_a_fifo_at_the_path_is_refused_not_read(run_action, tmp_path):
    path = str(tmp_path / "pipe")
    os.mkfifo(path)
    out = run_action("report_file", {"path": path, "content": "x"})
    assert out["failed"] is True and "FIFO" in out["msg"] and "path" in out["msg"], out
    assert stat.S_ISFIFO(os.stat(path).st_mode)


@pytest.mark.parametrize("args, option", [
    ({"path": "relative/r.md", "content": "x"}, "path"),
    ({"content": "x"}, "path"),
    ({"path": "/tmp/never-written.md"}, "content"),
    ({"path": "/tmp/never-written.md", "content": "x", "mode": "rw-r--r--"}, "mode"),
    ({"path": "/tmp/never-written.md", "content": "x", "directory_mode": "99999"}, "directory_mode"),
])
def test_bad_input_fails_naming_the_option_and_writes_nothing(run_action, args, option):
    out = run_action("report_file", args)
    assert out["failed"] is True, out
    assert option in out["msg"], out["msg"]
    assert "Traceback" not in out["msg"]
    assert not os.path.exists("/tmp/never-written.md")
