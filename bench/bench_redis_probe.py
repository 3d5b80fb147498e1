"""Benchmark redis_probe against `redis-cli ping` as a process, in one run.

Usage: .venv/bin/python bench/bench_redis_probe.py [--runs 21]

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

from integration.pg_redis_servers import redis_server  # noqa: E402

from ansible_collections.reflexion.incident.plugins.modules.redis_probe import RedisProbe  # noqa: E402


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    a = ap.parse_args()
    with redis_server() as srv:
        params = dict(login_host=srv.host, login_port=srv.port, login_user=None, login_password=None, db=0, tls=False,
                      validate_certs=True, ca_certs=None, connect_timeout=2.0, pings=5, slow_ms=50.0,
                      memory_degraded_pct=90.0, fail_on_unhealthy=False, max_workers=16)

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
        proc = statistics.median([timed(lambda: subprocess.run([sys.executable, MODULE, path], env=ENV,
                                                               capture_output=True, check=True)) for _dummy in range(5)])
    o, c = statistics.median(t_ours), statistics.median(t_cli)
    row = dict(case="redis_probe (5 pings + INFO) vs redis-cli ping", ours_s=o, ref_s=c, ratio=o / c, target=1.5,
               process_s=proc, process_ratio=proc / c)
    print("| case | ours (median) | redis-cli ping (process) | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    print("| %s | %.2f ms | %.2f ms | %.2fx | <= 1.5x | %s |" % (row["case"], o * 1000, c * 1000, o / c,
                                                                 "yes" if o / c <= 1.5 else "NO"))
    print("\nAs a process (interpreter + AnsibleModule + redis-py start-up included): %.1f ms, %.1fx redis-cli"
          % (proc * 1000, proc / c))
    with open(os.path.join(ROOT, "bench", "results", "redis_probe.json"), "w") as f:
        json.dump(dict(runs=a.runs, rows=[row]), f, indent=2)


if __name__ == "__main__":
    main()
