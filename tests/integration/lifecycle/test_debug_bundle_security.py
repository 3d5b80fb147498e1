"""debug_bundle on a hostile host (issue #15): symlinks out of the log directory, FIFOs and devices, huge
files, a destination another user prepared, a URL that drips. The real module, real files, a real server."""

import json
import os
import stat
import tarfile
import time

from ..http_fixtures import DripServer

CANARY = "CNRY-io-bundle-4b1d-shadow"
ID = "incident-2026-11-26-150000"


def bundle(dest):
    out = {}
    with tarfile.open(os.path.join(str(dest), ID + ".tar.gz"), "r:gz") as tar:
        for m in tar.getmembers():
            out[m.name.split("/", 1)[1]] = tar.extractfile(m).read().decode("utf-8", "replace")
    return out


def plant(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    shadow = outside / "shadow"
    shadow.write_text("root:%s:19000:0:99999:7:::\n" % CANARY)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text("2026-11-26 14:00:01 INFO started\n2026-11-26 14:00:02 ERROR real entry\n")
    os.symlink(str(shadow), str(logs / "evil.log"))
    os.symlink("../outside/shadow", str(logs / "evil2.log"))
    os.symlink("app.log", str(logs / "current.log"))
    os.mkfifo(str(logs / "pipe.log"))
    return logs


def test_symlinks_out_of_the_root_fifos_and_devices_are_listed_not_read(run_module, tmp_path):
    logs = plant(tmp_path)
    dest = tmp_path / "remote"
    started = time.monotonic()
    r = run_module("debug_bundle", {"incident_id": ID, "dest_dir": str(dest), "items": [
        {"name": "app-logs", "files": [str(logs / "*.log")]},
        {"name": "devices", "files": ["/dev/zero"]},
    ]}, timeout=120)
    assert time.monotonic() - started < 60
    assert not r.failed, r.output
    assert CANARY not in r.output
    files = bundle(dest)
    everything = "\n".join(files.values())
    assert CANARY not in everything
    assert "ERROR real entry" in files["app-logs.txt"]
    assert "==> %s <==" % (logs / "current.log") in files["app-logs.txt"]  # a link inside the directory is read
    refused = dict((os.path.basename(x["path"]), x["reason"]) for x in r["manifest"]["refused"])
    assert refused["evil.log"].startswith("resolves outside") and refused["evil2.log"].startswith("resolves outside")
    assert refused["pipe.log"] == "not a regular file (a FIFO)"
    assert refused["zero"] == "not a regular file (a character device)"
    assert json.loads(files["manifest.json"])["refused"] == r["manifest"]["refused"]
    # staged in a private directory that is gone afterwards: only the bundle is left
    assert os.listdir(str(dest)) == [ID + ".tar.gz"]
    assert stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o700


def test_a_huge_file_is_read_from_its_end_only(run_module, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    big = logs / "big.log"
    with open(str(big), "wb") as f:  # 4 GiB, sparse: one endless line of NULs, then a last line
        f.truncate(4 << 30)
        f.seek(0, 2)
        f.write(b"\n2026-11-26 14:00:02 ERROR the last line\n")
    started = time.monotonic()
    r = run_module("debug_bundle", {"incident_id": ID, "dest_dir": str(tmp_path / "remote"), "max_item_bytes": 65536,
                                    "items": [{"name": "big", "files": [str(big)], "lines": 5}]}, timeout=300)
    assert time.monotonic() - started < 60  # before the fix: the whole 4 GiB line in memory
    assert not r.failed, r.output
    collected = r["manifest"]["collected"][0]
    assert collected["bytes"] <= 65536
    assert "ERROR the last line" in bundle(tmp_path / "remote")["big.txt"]


def test_a_destination_prepared_by_someone_else_is_refused(run_module, tmp_path):
    logs = plant(tmp_path)
    items = [{"name": "app-logs", "files": [str(logs / "app.log")]}]
    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o700)
    os.chown(str(foreign), 65534, 65534)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(str(shared), 0o1777)
    target = tmp_path / "real-dest"
    target.mkdir(mode=0o700)
    link = tmp_path / "link-dest"
    os.symlink(str(target), str(link))
    for dest, needle in ((foreign, "owned by uid 65534"), (shared, "writable by group or others"),
                         (link, "is a symlink")):
        for check in (False, True):
            r = run_module("debug_bundle", {"incident_id": ID, "dest_dir": str(dest), "items": items}, check=check)
            assert r.failed and r["msg"].startswith("dest_dir: ") and needle in r["msg"], r.output
            assert "Traceback" not in r.output
        assert os.listdir(str(dest)) == []
    assert os.listdir(str(target)) == []


def test_a_dripping_url_is_cut_at_its_timeout(run_module, tmp_path):
    with DripServer() as drip:
        started = time.monotonic()
        r = run_module("debug_bundle", {"incident_id": ID, "dest_dir": str(tmp_path / "remote"), "items": [
            {"name": "health", "url": drip.base + "/body", "timeout": 1},
            {"name": "uname", "command": ["uname", "-a"]},
        ]}, timeout=120)
        elapsed = time.monotonic() - started
    assert not r.failed, r.output
    assert elapsed < 15, elapsed  # before the fix the 40 s drip was waited for
    failed = dict((f["name"], f["error"]) for f in r["manifest"]["failed"])
    assert "deadline exceeded" in failed["health"]
    assert [c["name"] for c in r["manifest"]["collected"]] == ["uname"]
