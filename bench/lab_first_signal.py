"""Time to first signal on the lab: from the moment the user's command starts to the severity banner.

Usage (under the shared lab's lock, the lab up):
    flock /tmp/reflexion-lab.lock .venv/bin/python bench/lab_first_signal.py [--runs 3] [--fault none]

Runs `ansible-playbook -i inventories/lab playbooks/triage.yml -e triage_open_incident_at=never` as a user types
it (default settings: on the lab the metrics probe reads the rates the lab's Prometheus has computed, one memory
sample), and records the wall time of the run and when the banner line appeared (`==== <SCENARIO>: P<n> ====`, or
the healthy banner), and where the rates came from (the report's metrics line). In the same interleaved rounds it
runs the sampling path (`triage_metrics_prometheus_url=""`, `triage_memory_samples=2`: two scrapes 3 s apart, two
memory samples, the settings before issue 20) and a one-task `ansible.builtin.ping` playbook on the lab inventory
(Ansible's own fixed cost). Not a bench_*.py: it needs the lab, so `make bench` does not run it; it writes
bench/results/lab_first_signal.json, which bench/run.py renders.
"""

import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import _benchio

ROOT = _benchio.ROOT
BANNER = re.compile(r"={5,} [^=]+ ={5,}")


# the settings before issue 20: rates from two scrapes 3 s apart, two memory samples 2 s apart
SAMPLING = {"triage_metrics_prometheus_url": "", "triage_memory_samples": 2}
# the Prometheus path is opt-in (roles/triage): the "default settings" run turns it on, as the lab's alert-driven runs can
PROMETHEUS_ON = {"triage_metrics_prometheus_url": "http://127.0.0.1:9090"}


def once(incidents, extra=None):
    """(wall, banner at, banner, where the rates came from) of one triage run as a user types it."""
    shutil.rmtree(incidents, ignore_errors=True)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", os.path.join(ROOT, "inventories", "lab"),
           os.path.join(ROOT, "playbooks", "triage.yml"), "-e", "triage_open_incident_at=never",
           "-e", json.dumps(dict(extra or {}, incidents_dir=incidents, reflexion_incident_dir=incidents))]
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
    reports = glob.glob(os.path.join(incidents, "**", "triage-localhost.md"), recursive=True)
    if len(reports) != 1:
        raise SystemExit("not one triage report under %s: %s" % (incidents, reports))
    with open(reports[0]) as f:
        source = "prometheus" if "rates from Prometheus" in f.read() else "scrape"
    return wall, first, banner, source


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-compare", action="store_true", help="only the default settings (no sampling path, no ping)")
    a = _benchio.parse(ap, runs=1)
    sides = {"default": PROMETHEUS_ON} if a.no_compare else {"default": PROMETHEUS_ON, "sampling": SAMPLING}
    runs = {name: [] for name in sides}
    pings = []
    with tempfile.TemporaryDirectory(prefix="rxi-h4-first-signal-") as tmp:
        ping = _benchio.ping_playbook(tmp)
        for _round in range(a.runs):
            for name, extra in sides.items():
                load = os.getloadavg()[0]
                wall, first, banner, source = once(os.path.join(tmp, "incidents"), extra)
                runs[name].append(dict(wall_s=round(wall, 2), banner_s=round(first, 2), banner=banner, source=source,
                                       loadavg_1m=round(load, 1)))
                print("%s: wall %.2f s, banner at %.2f s (rates from %s, load %.1f): %s"
                      % (name, wall, first, source, load, banner), flush=True)
            if not a.no_compare:
                pings.append(_benchio.run_playbook(ping, os.path.join(ROOT, "inventories", "lab")))
                print("ping playbook: %.2f s" % pings[-1], flush=True)
    ours = runs["default"]
    first = statistics.median(r["banner_s"] for r in ours)
    wall = statistics.median(r["wall_s"] for r in ours)
    row = dict(case="first signal: ansible-playbook -i inventories/lab playbooks/triage.yml", ours_s=first,
               ref="the whole run", ref_s=wall, ratio=first / wall, target="<= 3 s", met=first <= 3.0,
               banner=ours[-1]["banner"], source=",".join(sorted(set(r["source"] for r in ours))))
    rows = [row]
    if not a.no_compare:
        old = runs["sampling"]
        row.update(ping_s=round(statistics.median(pings), 2))
        rows.append(dict(case="sampling path (two scrapes 3 s apart, two memory samples): banner",
                         ours_s=statistics.median(r["banner_s"] for r in old), ref="the whole run",
                         ref_s=statistics.median(r["wall_s"] for r in old), banner=old[-1]["banner"],
                         source=",".join(sorted(set(r["source"] for r in old)))))
        rows.append(dict(case="ansible-playbook ansible.builtin.ping on the lab inventory (Ansible's fixed cost)",
                         ours_s=round(statistics.median(pings), 2)))
    _benchio.write_result(a, "lab_first_signal", dict(runs=a.runs, rows=rows, each_run=runs, note=(
        "Measured by bench/lab_first_signal.py on the shared lab (under its lock), triage with its default settings "
        "(rates from the lab's Prometheus over 1m, one memory sample), from the command's start to the severity "
        "banner (medians); beside it, in the same interleaved rounds, the sampling path (the settings before issue 20) "
        "and a one-task ping playbook.")))


if __name__ == "__main__":
    main()
