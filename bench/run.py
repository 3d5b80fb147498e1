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


def render(results=RESULTS, doc=DOC):
    out = ["# Benchmarks", "",
           "Written by `make bench` (bench/run.py) on %s." % datetime.datetime.now(datetime.timezone.utc).strftime(
               "%Y-%m-%d %H:%M UTC"),
           "", "Machine: %s." % machine(), "",
           "Each benchmark runs our tool and its reference in the same run, several times, and reports medians "
           "(seconds). `ratio` is ours / reference unless the target says otherwise; `met` compares it with the "
           "issue's target. Timing never appears in the tests: these machines are noisy.", "", QUICK_NOTE, ""]
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
                os.path.splitext(os.path.basename(path))[0], fmt(row.get("case", "")), fmt(row.get("ratio", "")),
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
