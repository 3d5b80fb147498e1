"""`make bench`: run every bench/bench_*.py (each pairs our tool with its reference in the same run),
then rewrite docs/benchmarks.md from bench/results/*.json with the machine and the date.

Usage: python bench/run.py [--only name,name] [--render-only] [--quick] [--out-dir DIR]

--quick runs every benchmark once on tiny inputs (each script's --quick) so that CI proves they still complete;
its results and its rendered benchmarks.md go to --out-dir (default tests/output/bench-quick, or
BENCH_RESULTS_DIR), never over bench/results or docs/benchmarks.md. --out-dir without --quick does the same
for a full run.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import subprocess
import sys
import time

import _benchio

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
DOC = os.path.join(ROOT, "docs", "benchmarks.md")
QUICK_NOTE = (
    "## Quick mode in CI\n\nEvery benchmark also has a quick mode (`--quick`: tiny inputs, one run, no Docker engine "
    "needed) that `make bench-quick` and tests/integration/test_bench_quick.py run, so that a benchmark that no longer "
    "completes fails the tests instead of rotting. Its results go to `--out-dir` (or `BENCH_RESULTS_DIR`; default "
    "tests/output/bench-quick), never over bench/results or this page, and its figures mean nothing: only that "
    "each benchmark completes and writes its result file is asserted.")


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return "%s, %d cores, %.0f GiB RAM, %s, Python %s" % (
        cpu, os.cpu_count() or 0, mem_gb, platform.platform(terse=True), platform.python_version())


def fmt(value):
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return "%.3f" % value if abs(value) < 100 else "%.0f" % value
    return str(value).replace("|", "\\|")


# Issue 20's targets, each found in the results by (result file, start of the case name, or a target text),
# with the key of the process-level figure and of the in-process one beside it.
ISSUE_20 = (
    ("log_grep full scan, 1 GB page-cached, runbook patterns, as a process (errors)", "<= 1.0x `LC_ALL=C grep -c -E -i`",
     "log_grep", "full scan", "errors"),
    ("log_grep full scan, 1 GB page-cached, runbook patterns, as a process (network)", "<= 1.0x `LC_ALL=C grep -c -E -i`",
     "log_grep", "full scan", "network"),
    ("log_grep on a rotated .gz, throughput", ">= 1.0x `zcat \\| grep -c -E -i`", "log_grep", "gzip", ""),
    ("memory_probe task vs the task a user writes instead (`ps aux --sort=-%mem \\| head` + `docker stats "
     "--no-stream`), both as processes", "<= 1.0x", "memory_probe", "memory_probe task", ""),
    ("memory_probe, 50 containers vs 1, as a process", "<= 1.5x", "memory_probe", "container memory", ""),
    ("fleet triage over SSH: controller CPU seconds per host, 10 hosts", "<= 0.15 s per host", "fleet_ssh",
     "controller CPU per host, 10 host(s)", ""),
    ("fleet triage over SSH: controller CPU seconds per host, 50 hosts", "<= 0.15 s per host", "fleet_ssh",
     "controller CPU per host, 50 host(s)", ""),
    ("fleet triage over SSH, 1 host, wall time", "<= 1.25x the CPU-bound limit", "fleet_ssh",
     "wall vs CPU-bound limit, 1 host(s)", ""),
    ("fleet triage over SSH, 10 hosts, wall time", "<= 1.25x the CPU-bound limit", "fleet_ssh",
     "wall vs CPU-bound limit, 10 host(s)", ""),
    ("fleet triage over SSH, 50 hosts, wall time", "<= 1.25x the CPU-bound limit", "fleet_ssh",
     "wall vs CPU-bound limit, 50 host(s)", ""),
    ("time to first signal (severity banner) on the lab, as the user types the command", "<= 3 s",
     "lab_first_signal", "first signal", ""),
    ("alert fired -> mitigation done (closed loop), incl. Alertmanager's group_wait", "<= 60 s", "eda_closed_loop",
     "firing -> mitigated", ""),
)
PENDING = {}
SECONDS = {"lab_first_signal": 3.0, "eda_closed_loop": 60.0}
BUSY_NOTE = (
    "**Check each benchmark's load.** Each result was taken when its benchmark last ran, and its run details give "
    "the load average it saw (`loadavg`). Some ran while several sessions shared the 2 cores: ratios between two "
    "things measured in the same interleaved rounds hold better than absolute seconds there. A run on an idle "
    "machine (load average about 1 or less) gives the figures to quote.")


def _load(results, name):
    path = os.path.join(results, "%s.json" % name)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def issue_20_table(results):
    """Every target of issue 20, met or not: the process-level figure and the in-process one beside it."""
    out = ["## Issue 20's targets", "", "| what | as a process | beside it | target | met |", "| --- | --- | --- | --- | --- |"]
    for what, target, name, case, also in ISSUE_20:
        data = _load(results, name) or {}
        row = None
        for r in data.get("rows", []):
            if case.startswith("@"):
                hit = case[1:] in str(r.get("target", ""))
            else:
                hit = str(r.get("case", "")).startswith(case) and also in str(r.get("case", ""))
            if hit:
                row = r
                break
        if row is None:
            out.append("| %s | %s | | %s | %s |" % (what, PENDING.get(name, "not measured in this run"), target, "n/a"))
            continue
        beside = []
        for key, label in (("module_ratio", "module alone"), ("inproc_ratio", "in-process"), ("total_ratio", "Ansible included"),
                           ("net_ratio", "both minus ping")):
            if isinstance(row.get(key), (int, float)):
                beside.append("%s %.2fx" % (label, row[key]))
        if row.get("ping_s") is not None:
            beside.append("ping %.2f s" % row["ping_s"])
        met = row.get("met")
        if name in SECONDS:  # a time, not a ratio
            value = row.get("ours_s", row.get("seconds"))
            shown = "%.1f s" % value
            if met in (None, ""):
                met = value <= SECONDS[name]
        else:
            shown = "%.2fx" % row["ratio"] if isinstance(row.get("ratio"), (int, float)) else "n/a"
        if row.get("shown"):  # a row that says how its figure reads (seconds per host; the limit's terms)
            shown = row["shown"]
        verdict = fmt(met) if met not in (None, "") else "n/a"
        out.append("| %s | %s | %s | %s | %s |" % (what, shown, ", ".join(beside), target, verdict))
    return out + [""]


def render(results=RESULTS, doc=DOC):
    out = ["# Benchmarks", "",
           "Written by `make bench` (bench/run.py) on %s." % datetime.datetime.now(datetime.timezone.utc).strftime(
               "%Y-%m-%d %H:%M UTC"),
           "", "Machine: %s." % machine(), "",
           "Each benchmark runs our tool and its reference in the same run, several times, and reports medians "
           "(seconds). `ratio` is ours / reference unless the target says otherwise; `met` compares it with the "
           "issue's target. Timing never appears in the tests: these machines are noisy.", "", BUSY_NOTE, "",
           QUICK_NOTE, ""]
    out += issue_20_table(results)
    summary = ["## Targets at a glance", "", "| benchmark | case | ratio | target | met |", "| --- | --- | --- | --- | --- |"]
    for path in sorted(glob.glob(os.path.join(results, "*.json"))):
        with open(path) as f:
            data = json.load(f)
        for row in data.get("rows", []):
            target = row.get("target")
            if target in (None, ""):
                continue
            met = row.get("met")
            if met in (None, "") and isinstance(target, (int, float)) and isinstance(row.get("ratio"), (int, float)):
                met = row["ratio"] <= target
            summary.append("| %s | %s | %s | %s | %s |" % (
                os.path.splitext(os.path.basename(path))[0], fmt(row.get("case", "")),
                fmt(row.get("shown") or row.get("ratio", "")),
                fmt(target if isinstance(target, str) else "<= %s" % target), fmt(met) if met not in (None, "") else "n/a"))
    out += summary + ["", "Targets not listed here were not measured in this run. The settings behind these figures, "
                      "what the profiles showed and what was tried for each target not met: docs/performance.md.", ""]
    for path in sorted(glob.glob(os.path.join(results, "*.json"))):
        name = os.path.splitext(os.path.basename(path))[0]
        with open(path) as f:
            data = json.load(f)
        rows = data.get("rows", [])
        out += ["## %s" % name, ""]
        if data.get("note"):
            out += [data["note"], ""]
        if rows:
            keys = []
            for row in rows:
                keys += [k for k in row if k not in keys]
            out.append("| " + " | ".join(keys) + " |")
            out.append("|" + " --- |" * len(keys))
            for row in rows:
                out.append("| " + " | ".join(fmt(row.get(k, "")) for k in keys) + " |")
            out.append("")
        extra = {k: v for k, v in data.items() if k not in ("rows", "note")}
        if extra:
            out += ["Run details: `%s`" % json.dumps(extra, sort_keys=True), ""]
    with open(doc, "w") as f:
        f.write("\n".join(out))
    print("wrote %s" % doc)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    parser.add_argument("--render-only", action="store_true")
    _benchio.add_arguments(parser)
    args = parser.parse_args()
    results, doc, extra = RESULTS, DOC, []
    if args.quick or args.out_dir:
        results = args.out_dir or _benchio.QUICK_RESULTS
        doc = os.path.join(results, "benchmarks.md")
        extra = ["--out-dir", results] + (["--quick"] if args.quick else [])
        os.makedirs(results, exist_ok=True)
    failed = []
    if not args.render_only:
        only = set(filter(None, args.only.split(",")))
        for script in sorted(glob.glob(os.path.join(HERE, "bench_*.py"))):
            name = os.path.basename(script)[len("bench_"):-3]
            if only and name not in only:
                continue
            print("==> bench %s" % name, flush=True)
            start = time.monotonic()
            rc = subprocess.run([sys.executable, script] + extra, cwd=ROOT, check=False).returncode
            print("<== bench %s: rc=%d in %.0fs" % (name, rc, time.monotonic() - start), flush=True)
            if rc:
                failed.append(name)
    render(results, doc)
    if failed:
        print("benchmarks that failed to run: %s" % ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
