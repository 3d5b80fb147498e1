"""Time to first signal on the lab: from the moment the user's command starts to the severity banner.

Usage (under the shared lab's lock, the lab up):
    flock /tmp/reflexion-lab.lock .venv/bin/python bench/lab_first_signal.py [--runs 3] [--fault none]

Runs `ansible-playbook -i inventories/lab playbooks/triage.yml -e triage_open_incident_at=never` as a user types
it (default settings: the metrics sample interval, the memory samples), and records the wall time of the run and
when the banner line appeared (`==== <SCENARIO>: P<n> ====`, or the healthy banner). Not a bench_*.py: it needs
the lab, so `make bench` does not run it; it writes bench/results/lab_first_signal.json, which bench/run.py renders.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import _benchio

ROOT = _benchio.ROOT
BANNER = re.compile(r"={5,} [^=]+ ={5,}")


def once():
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", os.path.join(ROOT, "inventories", "lab"),
           os.path.join(ROOT, "playbooks", "triage.yml"), "-e", "triage_open_incident_at=never"]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_benchio.ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    first, banner, tail = None, None, []
    for line in proc.stdout:
        tail = (tail + [line])[-40:]
        found = BANNER.search(line)
        if first is None and found:  # whatever the stdout callback's layout (default, yaml)
            first, banner = time.monotonic() - start, found.group(0)
    rc = proc.wait()
    wall = time.monotonic() - start
    if rc != 0 or first is None:
        sys.stderr.write("".join(tail))
        raise SystemExit("triage failed or printed no banner (rc=%d)" % rc)
    return wall, first, banner


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    a = _benchio.parse(ap, runs=1)
    walls, firsts, banner = [], [], None
    for _run in range(a.runs):
        wall, first, banner = once()
        walls.append(wall)
        firsts.append(first)
        print("run: wall %.2f s, banner at %.2f s: %s" % (wall, first, banner), flush=True)
    first = statistics.median(firsts)
    rows = [dict(case="first signal: ansible-playbook -i inventories/lab playbooks/triage.yml", ours_s=first,
                 ref="the whole run", ref_s=statistics.median(walls), ratio=first / statistics.median(walls),
                 target="<= 3 s", met=first <= 3.0, banner=banner)]
    _benchio.write_result(a, "lab_first_signal", dict(runs=a.runs, rows=rows, note=(
        "Measured by bench/lab_first_signal.py on the shared lab (under its lock), triage with its default "
        "settings, from the command's start to the severity banner (medians).")))


if __name__ == "__main__":
    main()
