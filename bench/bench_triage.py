"""Triage cost as users feel it (issue 9).

1. localhost: `playbooks/triage.yml` against a host whose service is down (every probe answers at
   once) vs a one-task `ansible.builtin.ping` playbook. Target: triage <= 2x ping.
2. fleet: triage over 1, 10, 50 and 100 hosts. The hosts are containers started from the seeded
   image, reached over community.docker.docker, each with its own log files and processes.
   Target: 100 hosts <= 4x the time of 1 host.
3. time to first signal: from `ansible-playbook` start to the severity banner, per fleet size.

The fleet image (bench/fleet/Dockerfile, built once from the seeded base image) has what a reflexion
host has for the probes (python3 with psycopg2, redis, prometheus_client), so every probe runs on
every host, as in a real triage. Nothing leaves loopback: every URL and port points at 127.0.0.1, where
nothing listens inside the containers, so each probe answers at once and the figures are Ansible's cost.

Writes bench/results/triage.json. Usage: python bench/bench_triage.py [--sizes 1,10,50,100] [--runs 3] [--quick]
[--out-dir DIR]. --quick: the localhost case once, no fleet (--sizes '' ; no Docker engine needed).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import _benchio

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
IMAGE = os.environ.get("BENCH_IMAGE", "reflexion-incident/fleet:bookworm")
PREFIX = "rxi-fleet-"

# Everything down and on loopback: the probes answer at once and nothing leaves the host.
LOCAL_VARS = {
    "reflexion_base_url": "http://127.0.0.1:1",
    "reflexion_pg_port": 1, "reflexion_redis_port": 1,
    "reflexion_openai_base_url": "http://127.0.0.1:1", "reflexion_anthropic_base_url": "http://127.0.0.1:1",
    "triage_metrics_sample_interval": 0, "triage_memory_samples": 1, "triage_open_incident_at": "never",
}
FLEET_VARS = dict(LOCAL_VARS, triage_log_paths=["/var/log/reflexion/*.log"])


def ensure_image():
    """Build the fleet image when it is missing (cached afterwards)."""
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode == 0:
        return
    subprocess.run(["docker", "build", "-q", "-t", IMAGE, os.path.join(ROOT, "bench", "fleet")], check=True)


def env():
    e = dict(os.environ)
    e.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PATH=BIN + os.pathsep + e.get("PATH", ""),
             ANSIBLE_NOCOLOR="1")
    return e


def timed_run(cmd):
    """Wall time of cmd, and the time at which the severity banner first appeared."""
    start = time.monotonic()
    first_signal = None
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail = []
    for line in proc.stdout:
        tail = (tail + [line])[-40:]
        if first_signal is None and "====================" in line and ": P" in line:
            first_signal = time.monotonic() - start
    rc = proc.wait()
    wall = time.monotonic() - start
    if rc != 0:  # a triage that failed on a host is not a triage: never time it
        sys.stderr.write("".join(tail))
        raise SystemExit("command failed (rc=%d): %s" % (rc, " ".join(cmd)))
    return wall, first_signal


def playbook(name, inventory, extra, forks=50):
    return [os.path.join(BIN, "ansible-playbook"), "-i", inventory, "-f", str(forks), "-e", json.dumps(extra),
            os.path.join(ROOT, name)]


def median_runs(cmd, runs):
    walls, signals = [], []
    for _run in range(runs):
        wall, signal = timed_run(cmd)
        walls.append(wall)
        if signal is not None:
            signals.append(signal)
    return statistics.median(walls), (statistics.median(signals) if signals else None)


def start_fleet(n):
    names = ["%s%03d" % (PREFIX, i) for i in range(n)]
    script = ("mkdir -p /var/log/reflexion && i=0; while [ $i -lt 2000 ]; do "
              "echo \"$(date -u +%Y-%m-%dT%H:%M:%S) ERROR [req=$i] request failed: timeout\" >> /var/log/reflexion/app.log; "
              "echo \"$(date -u +%Y-%m-%dT%H:%M:%S) INFO [req=$i] ok\" >> /var/log/reflexion/app.log; i=$((i+1)); done; "
              "sleep infinity & sleep infinity & exec sleep infinity")
    for name in names:
        subprocess.run(["docker", "run", "-d", "--name", name, "--network", "none", IMAGE, "sh", "-c", script],
                       check=True, capture_output=True)
    return names


def stop_fleet():
    """Remove the fleet. The containers are not started with --rm: --rm racing `docker rm -f` over 100
    containers once left dockerd stuck removing them."""
    out = subprocess.run(["docker", "ps", "-aq", "--filter", "name=" + PREFIX], capture_output=True, text=True, check=False)
    ids = out.stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f"] + ids, capture_output=True, check=False)


def inventory(names, path):
    with open(path, "w") as f:
        f.write("[fleet]\n")
        for name in names:
            f.write("%s ansible_connection=community.docker.docker ansible_python_interpreter=/usr/bin/python3\n" % name)


def fleet(sizes, runs, rows):
    ensure_image()
    stop_fleet()
    base = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in sizes:
                stop_fleet()
                names = start_fleet(n)
                inv = os.path.join(tmp, "fleet-%d.ini" % n)
                inventory(names, inv)
                wall, signal = median_runs(playbook("playbooks/triage.yml", inv, FLEET_VARS, forks=50), max(1, runs - 1))
                base = base or wall
                rows.append({"case": "fleet triage, %d host(s)" % n, "ours_s": wall, "ref_s": base,
                             "ratio": wall / base, "target": "100 hosts <= 4x 1 host" if n == 100 else "",
                             "met": (wall / base <= 4.0) if n == 100 else "", "per_host_s": wall / n,
                             "first_signal_s": signal})
                print(rows[-1], flush=True)
    finally:
        stop_fleet()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,50,100")
    parser.add_argument("--runs", type=int, default=3)
    args = _benchio.parse(parser, runs=1, sizes="")
    rows = []
    local_inv = os.path.join(ROOT, "inventories", "local")
    ping_s, dummy = median_runs(playbook("bench/playbooks/ping.yml", local_inv, {}), args.runs)
    tri_s, tri_signal = median_runs(playbook("playbooks/triage.yml", local_inv, LOCAL_VARS), args.runs)
    rows.append({"case": "triage on localhost vs one-task ping playbook", "ours_s": tri_s, "ref_s": ping_s,
                 "ratio": tri_s / ping_s, "target": "<= 2.0", "met": tri_s / ping_s <= 2.0,
                 "first_signal_s": tri_signal})
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if sizes:  # the fleet needs the Docker engine and the fleet image; --sizes '' (quick) skips it
        fleet(sizes, args.runs, rows)
    _benchio.write_result(args, "triage", {"runs": args.runs, "forks": 50, "note": (
        "ours_s/ref_s in seconds (medians). Fleet rows compare with the 1-host run. first_signal_s: from "
        "ansible-playbook start to the severity banner."), "rows": rows})
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
