"""memory_probe against the real host /proc and the real Docker engine (tiny rxi-mem-* containers, removed after)."""

import os
import subprocess
import sys
import uuid

import pytest

from ..pg_redis_servers import wait_until

IMAGE = "debian:bookworm-slim"

# Grows 4 MB every 0.2 s for argv[1] steps: 200 steps keep it growing for 40 s, long after a slow
# ansible start on a loaded machine, so the probe's samples always see the growth.
GROWER = """
import sys, time
blocks = []
for _ in range(int(sys.argv[1])):
    blocks.append(bytearray(4 * 1024 * 1024))
    for i in range(0, len(blocks[-1]), 4096):
        blocks[-1][i] = 1
    time.sleep(0.2)
time.sleep(60)
"""


def docker(*args):
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, check=True, timeout=60).stdout.strip()


@pytest.fixture
def container():
    name = "rxi-mem-%s" % uuid.uuid4().hex[:8]
    docker("run", "-d", "--name", name, "--memory", "64m", IMAGE, "sleep", "infinity")
    try:
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


@pytest.fixture
def procs():
    started = []

    def spawn(*argv):
        proc = subprocess.Popen([sys.executable, "-c"] + list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        return proc

    yield spawn
    for proc in started:
        proc.kill()
        proc.wait()


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        return [int(line.split()[1]) / 1024.0 for line in f if line.startswith("VmRSS:")][0]


def wait_rss_mb(pid, at_least, timeout=60):
    """Wait until the process is resident with at least ``at_least`` MB (/proc/PID/status)."""
    assert wait_until(lambda: rss_mb(pid) >= at_least, timeout=timeout, step=0.1), (
        "pid %d did not reach %d MB resident in %ds" % (pid, at_least, timeout))


def meminfo_kb(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def test_host_and_top_processes(run_module, procs):
    marker = "rxi-mem-top-%s" % uuid.uuid4().hex[:6]
    p = procs("import time; x = bytearray(120 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096]); time.sleep(60)",
              marker, "--password=hunter2-canary", "--api-token", "tok-canary-99", "redis://app:pw-canary@127.0.0.1:6379/0")
    wait_rss_mb(p.pid, 120)
    r = run_module("memory_probe", {"top": 50, "containers": False})
    assert not r.failed, r.output
    assert r["changed"] is False
    host = r["host"]
    assert host["total_mb"] == round(meminfo_kb("MemTotal") / 1024.0, 1)
    assert 0 < host["available_mb"] <= host["total_mb"] and 0 < host["used_pct"] < 100
    assert host["swap_total_mb"] == round(meminfo_kb("SwapTotal") / 1024.0, 1)
    rss = [e["rss_mb"] for e in r["processes"]]
    assert rss == sorted(rss, reverse=True) and len(rss) == 50
    mine = [e for e in r["processes"] if e["pid"] == p.pid]
    assert mine, "the 120 MB process is among the top 50"
    assert mine[0]["rss_mb"] >= 120
    cmd = mine[0]["cmdline"]
    assert marker in cmd and "--password=********" in cmd and "--api-token ********" in cmd
    assert "redis://app:********@127.0.0.1" in cmd
    for canary in ("hunter2-canary", "tok-canary-99", "pw-canary"):
        assert canary not in r.output
    assert r["containers"] == [] and r["containers_error"] is None


def test_growing_process_is_a_leak_suspect(run_module, procs):
    tag = uuid.uuid4().hex[:6]
    marker = "rxi-mem-leak-%s" % tag
    pattern = "rxi-mem-lea[k]-%s" % tag  # the grep trick: the ansible command line holding the pattern does not match
    grower = procs(GROWER, "200", marker)
    steady = procs("import time; x = bytearray(30 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096]); time.sleep(60)",
                   "0", marker)
    wait_rss_mb(steady.pid, 30)
    wait_rss_mb(grower.pid, 12)
    r = run_module("memory_probe", {"process_pattern": pattern, "containers": False, "samples": 4, "interval": 1.5,
                                    "leak_threshold": 30})
    assert not r.failed, r.output
    pids = sorted(e["pid"] for e in r["processes"])
    assert pids == sorted([grower.pid, steady.pid])
    assert [s["pid"] for s in r["leak_suspects"]] == [grower.pid]
    suspect = r["leak_suspects"][0]
    assert suspect["kind"] == "process" and suspect["last_mb"] > suspect["first_mb"] + 20
    assert suspect["slope_mb_per_min"] >= 30
    steady_entry = [e for e in r["processes"] if e["pid"] == steady.pid][0]
    assert abs(steady_entry["slope_mb_per_min"]) < 5
    assert r["status"] == "degraded" and "leak suspect" in r["reason"]
    assert r["samples"]["count"] == 4


def test_container_limit_after_docker_update(run_module, container):
    r = run_module("memory_probe", {"container_names": [container], "top": 1})
    assert not r.failed, r.output
    assert [c["name"] for c in r["containers"]] == [container]
    c = r["containers"][0]
    assert c["limit_mb"] == 64.0 and c["limited"] is True
    assert 0 < c["usage_mb"] < 64
    assert abs(c["pct"] - 100.0 * c["usage_mb"] / 64.0) < 0.05
    assert c["oom_killed"] is False and c["image"] == IMAGE

    docker("update", "--memory", "96m", container)
    assert docker("inspect", "-f", "{{.HostConfig.Memory}}", container) == str(96 * 1024 * 1024)
    r = run_module("memory_probe", {"container_names": [container], "top": 1})
    assert r["containers"][0]["limit_mb"] == 96.0


def test_docker_socket_missing(run_module, tmp_path):
    sock = "unix://%s" % os.path.join(str(tmp_path), "no-such-docker.sock")
    r = run_module("memory_probe", {"docker_host": sock, "top": 3})
    assert not r.failed, r.output
    assert r["status"] == "degraded"
    assert r["containers"] == [] and "cannot reach the Docker engine" in r["containers_error"]
    assert "no-such-docker.sock" in r["reason"]
    assert r["host"]["total_mb"] > 0 and len(r["processes"]) == 3
    assert "Traceback" not in r.output


@pytest.mark.parametrize("args, needle", [
    ({"top": 0}, "top"),
    ({"samples": 0}, "samples"),
    ({"interval": -1}, "interval"),
    ({"leak_threshold": -0.5}, "leak_threshold"),
    ({"used_degraded_pct": 0}, "used_degraded_pct"),
    ({"process_pattern": "(["}, "process_pattern"),
    ({"docker_host": "/var/run/docker.sock"}, "docker_host"),
])
def test_bad_input(run_module, args, needle):
    r = run_module("memory_probe", args)
    assert r.failed
    assert needle in r["msg"]
    assert "Traceback" not in r.output
