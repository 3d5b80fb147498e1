"""Benchmark redis_probe against `redis-cli ping` as a process, in one run.

Usage: .venv/bin/python bench/bench_redis_probe.py [--runs 21] [--process-runs 5] [--quick] [--out-dir DIR]

A throwaway redis-server on a free loopback port.
What is measured:
  * ours: RedisProbe(params).run() in-process - connect, 5 PINGs with latency, INFO (5 sections), close.
  * reference: `redis-cli -h 127.0.0.1 -p PORT ping` started as a process (what the runbook runs).
  * also shown: the module as a process (python plugins/modules/redis_probe.py args.json), which adds the
    interpreter, AnsibleModule and redis-py import. Ansible's per-task overhead is not counted.
Target (issue 5): ours <= 1.5x the reference.
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
sys.path.insert(0, os.path.join(ROOT, "tests"))
MODULE = os.path.join(ROOT, "plugins", "modules", "redis_probe.py")
ENV = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "collections"))

import _benchio  # noqa: E402
from integration.pg_redis_servers import redis_server  # noqa: E402

# the probe's class and argument spec live in module_utils/_probe_redis.py (the module is a thin main())
from ansible_collections.reflexion.incident.plugins.module_utils._probe_redis import RedisProbe, argument_spec  # noqa: E402


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--process-runs", type=int, default=5)
    a = _benchio.parse(ap, runs=1, process_runs=1)
    with redis_server() as srv:
        # every option's default as AnsibleModule fills it in (an option added later is not missed), then ours
        params = {name: spec.get("default") for name, spec in argument_spec().items()}
        params.update(login_host=srv.host, login_port=srv.port, pings=5)

        def ours():
            assert RedisProbe(params).run()["connectable"]

        def cli():
            out = subprocess.run(["redis-cli", "-h", srv.host, "-p", str(srv.port), "ping"], capture_output=True,
                                 text=True, check=True).stdout
            assert out.strip() == "PONG"

        tmp = tempfile.mkdtemp(prefix="bench_redis_")
        path = os.path.join(tmp, "args.json")
        with open(path, "w") as f:
            json.dump({"ANSIBLE_MODULE_ARGS": {"login_host": srv.host, "login_port": srv.port}}, f)
        ours()
        cli()
        t_ours, t_cli = [], []
        for _dummy in range(a.runs):
            t_ours.append(timed(ours))
            t_cli.append(timed(cli))

        def process():
            subprocess.run([sys.executable, MODULE, path], env=ENV, capture_output=True, check=True)

        proc = statistics.median([timed(process) for _dummy in range(a.process_runs)])
    o, c = statistics.median(t_ours), statistics.median(t_cli)
    row = dict(case="redis_probe (5 pings + INFO) vs redis-cli ping", ours_s=o, ref_s=c, ratio=o / c, target=1.5,
               process_s=proc, process_ratio=proc / c)
    print("| case | ours (median) | redis-cli ping (process) | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    print("| %s | %.2f ms | %.2f ms | %.2fx | <= 1.5x | %s |" % (row["case"], o * 1000, c * 1000, o / c,
                                                                 "yes" if o / c <= 1.5 else "NO"))
    print("\nAs a process (interpreter + AnsibleModule + redis-py start-up included): %.1f ms, %.1fx redis-cli"
          % (proc * 1000, proc / c))
    _benchio.write_result(a, "redis_probe", dict(runs=a.runs, rows=[row]))


if __name__ == "__main__":
    main()
