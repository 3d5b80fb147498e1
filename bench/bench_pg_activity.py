"""Benchmark pg_activity_probe against a bare psycopg2 connect plus the same queries, in one run.

Usage: .venv/bin/python bench/bench_pg_activity.py [--runs 15] [--sessions 20] [--process-runs 5] [--quick]
       [--out-dir DIR]

A throwaway PostgreSQL 15 (initdb in a temp dir, free loopback port, see tests/integration/pg_redis_servers.py)
with --sessions idle client sessions, so pg_stat_activity has rows to read.
What is measured:
  * ours: PgActivityProbe(params).run() in-process - connect over TCP with scram auth, read-only transaction,
    the settings, activity and database-size queries, analysis and classification, close.
  * reference: psycopg2.connect(...) with the same credentials, the same three queries, fetchall, close.
  * also shown: the module as a process (python plugins/modules/pg_activity_probe.py args.json), which adds the
    interpreter and AnsibleModule start-up. Ansible's per-task overhead is not counted.
Target (issue 5): ours <= 1.3x the reference.
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
MODULE = os.path.join(ROOT, "plugins", "modules", "pg_activity_probe.py")
ENV = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "collections"))

import _benchio  # noqa: E402
import psycopg2  # noqa: E402
from integration.pg_redis_servers import MONITOR_PASSWORD, postgres_server  # noqa: E402

# the probe's SQL, argument spec and class live in module_utils/_probe_pg.py (the module is a thin main())
from ansible_collections.reflexion.incident.plugins.module_utils import _probe_pg as mod  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--process-runs", type=int, default=5)
    a = _benchio.parse(ap, runs=1, sessions=2, process_runs=1)
    with postgres_server() as pg:
        held = [pg.connect(application_name="rxi-bench-%d" % i) for i in range(a.sessions)]
        args = pg.monitor_args()
        # the module's own defaults (as AnsibleModule would fill them in), then the connection
        params = {name: spec.get("default") for name, spec in mod.argument_spec().items()}
        params.update(long_running_threshold=300.0, idle_in_transaction_threshold=60.0, database_sizes=True)
        params.update(args)

        def ours():
            r = mod.PgActivityProbe(params).run()
            assert r["connectable"], r["error"]

        def bare():
            conn = psycopg2.connect(host=pg.host, port=pg.port, user="rxi_monitor", password=MONITOR_PASSWORD,
                                    dbname="reflexion", connect_timeout=5)
            cur = conn.cursor()
            for sql in (mod.SETTINGS_SQL, mod.ACTIVITY_SQL, mod.SIZES_SQL):
                cur.execute(sql)
                cur.fetchall()
            conn.close()

        tmp = tempfile.mkdtemp(prefix="bench_pg_")
        path = os.path.join(tmp, "args.json")
        with open(path, "w") as f:
            json.dump({"ANSIBLE_MODULE_ARGS": args}, f)

        def process():
            subprocess.run([sys.executable, MODULE, path], env=ENV, capture_output=True, check=True)

        ours()
        bare()
        t_ours, t_bare = [], []
        for _dummy in range(a.runs):  # interleaved: machine load hits both sides alike
            for fn, acc in ((ours, t_ours), (bare, t_bare)):
                t = time.perf_counter()
                fn()
                acc.append(time.perf_counter() - t)
        o, b = statistics.median(t_ours), statistics.median(t_bare)
        proc = statistics.median([_timed(process) for _dummy in range(a.process_runs)])
        for c in held:
            c.close()
    row = dict(case="pg_activity_probe incl. connect, %d sessions" % a.sessions, ours_s=o, ref_s=b, ratio=o / b,
               target=1.3, process_s=proc)
    print("| case | ours (median) | bare psycopg2 connect + same queries | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    print("| %s | %.2f ms | %.2f ms | %.2fx | <= 1.3x | %s |" % (row["case"], o * 1000, b * 1000, o / b,
                                                                 "yes" if o / b <= 1.3 else "NO"))
    print("\nAs a process (interpreter + AnsibleModule start-up included): %.1f ms" % (proc * 1000))
    _benchio.write_result(a, "pg_activity", dict(runs=a.runs, rows=[row]))


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
