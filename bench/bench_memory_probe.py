"""Benchmark memory_probe against `ps aux --sort=-%mem | head` and itself with 50 vs 1 container, in one run.

Usage: .venv/bin/python bench/bench_memory_probe.py [--runs 7] [--procs 500] [--containers 50] [--quick] [--out-dir DIR]
--quick: 5 extra processes, one run, no container (--containers 0 skips the container case; --quick --containers 1
runs it with one container, the lightest check of that path).

What is measured:
  * "in-process": the module's own work - MemoryProbe(params).run() (read /proc/meminfo, statm of every process,
    comm+cmdline of the top 10, /dev/kmsg, containers), timed inside one Python process. This is what the
    targets are about: the probe vs the ps pipeline doing the same job.
  * "process": `python plugins/modules/memory_probe.py args.json`, i.e. plus interpreter start-up and
    AnsibleModule import (~0.1-0.2 s). Ansible's own per-task overhead (~0.65 s) is never counted.
Targets (issue 5): with --procs extra processes running, in-process probe <= 2x `ps aux --sort=-%mem | head`;
container memory for 50 containers <= 1.5x the time for 1 container.
Containers are `sleep infinity` from debian:bookworm-slim named rxi-mem-bench-*, removed at the end.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "collections"))
MODULE = os.path.join(ROOT, "plugins", "modules", "memory_probe.py")
ENV = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "collections"))

import _benchio  # noqa: E402

from ansible_collections.reflexion.incident.plugins.module_utils._probe_memory import MemoryProbe, argument_spec  # noqa: E402

# every option's default as AnsibleModule fills it in (an option added later is not missed), then the bench's own
DEFAULTS = {name: spec.get("default") for name, spec in argument_spec().items()}
DEFAULTS.update(top=10, process_pattern=None, containers=False, docker_host="unix:///var/run/docker.sock",
                container_names=[], compose_project=None, samples=1, interval=0.0, leak_threshold=10.0, oom_since=60.0,
                used_degraded_pct=90.0, used_down_pct=98.0, max_workers=16, fail_on_unhealthy=False)


def med(fn, runs):
    fn()  # warm-up (page cache, imports)
    times = []
    for _dummy in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def params(**kw):
    p = dict(DEFAULTS)
    p.update(kw)
    return p


def as_process(args, tmp):
    path = os.path.join(tmp, "args.json")
    with open(path, "w") as f:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, f)
    out = subprocess.run([sys.executable, MODULE, path], env=ENV, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--procs", type=int, default=500)
    ap.add_argument("--containers", type=int, default=50)
    a = _benchio.parse(ap, runs=1, procs=5, containers=0)
    tmp = tempfile.mkdtemp(prefix="bench_mem_")
    sleepers = []
    names = ["rxi-mem-bench-%02d" % i for i in range(a.containers)]
    rows = []
    try:
        sleepers = [subprocess.Popen(["sleep", "600"]) for _dummy in range(a.procs)]
        nproc = len([d for d in os.listdir("/proc") if d.isdigit()])
        ps = med(lambda: subprocess.run("ps aux --sort=-%mem | head", shell=True, capture_output=True, check=True), a.runs)
        ours = med(lambda: MemoryProbe(params()).run(), a.runs)
        proc = med(lambda: as_process({"containers": False}, tmp), a.runs)
        rows.append(dict(case="top processes, %d processes on the host" % nproc, ours_s=ours, ref_s=ps,
                         ref="ps aux --sort=-%mem | head", ratio=ours / ps, target=2.0, process_s=proc,
                         process_ratio=proc / ps))
        for proc_ in sleepers:
            proc_.kill()
            proc_.wait()
        sleepers = []

        if names:  # --containers 0 (the quick default): no container case, no Docker engine needed
            for n in names:
                subprocess.run(["docker", "run", "-d", "--name", n, "--memory", "32m", "debian:bookworm-slim", "sleep",
                                "infinity"], capture_output=True, check=True)
            many_result = MemoryProbe(params(containers=True, container_names=names, top=1)).run()
            assert len(many_result["containers"]) == len(names), many_result["containers_error"]
            # interleaved, so that load from other work on the machine hits both sides alike
            t_one, t_many = [], []
            for _dummy in range(a.runs):
                for names_, acc in ((names[:1], t_one), (names, t_many)):
                    t = time.perf_counter()
                    MemoryProbe(params(containers=True, container_names=names_, top=1)).run()
                    acc.append(time.perf_counter() - t)
            one, many = statistics.median(t_one), statistics.median(t_many)
            t = time.perf_counter()
            subprocess.run(["docker", "stats", "--no-stream"] + names, capture_output=True, check=True)
            docker_stats = time.perf_counter() - t
            rows.append(dict(case="container memory, %d containers vs 1" % len(names), ours_s=many, ref_s=one,
                             ref="memory_probe with 1 container", ratio=many / one, target=1.5,
                             note="`docker stats --no-stream` on the same %d containers: %.2f s (one run)"
                             % (len(names), docker_stats), source=many_result["containers"][0]["source"]))
    finally:
        for proc_ in sleepers:
            proc_.kill()
            proc_.wait()
        if names:
            subprocess.run(["docker", "rm", "-f"] + names, capture_output=True, check=False)
    print("| case | ours (median) | reference | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %.1f ms | %s: %.1f ms | %.2fx | <= %.1fx | %s |" % (
            r["case"], r["ours_s"] * 1000, r["ref"], r["ref_s"] * 1000, r["ratio"], r["target"],
            "yes" if r["ratio"] <= r["target"] else "NO"))
    for r in rows:
        if "process_s" in r:
            print("\nAs a process (interpreter + AnsibleModule start-up included): %.1f ms, %.2fx ps"
                  % (r["process_s"] * 1000, r["process_ratio"]))
        if "note" in r:
            print("\n%s; read from %s" % (r["note"], r["source"]))
    _benchio.write_result(a, "memory_probe", dict(runs=a.runs, rows=rows))


if __name__ == "__main__":
    main()
