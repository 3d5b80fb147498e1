"""Benchmark health_probe against `curl -w` on a loopback HTTP server, in the same run.

Usage: .venv/bin/python bench/bench_health_probe.py [--runs 5] [--targets 20] [--quick] [--out-dir DIR]
One target: the module process vs one curl. N targets: one module call (concurrent) vs N curls in a row.
The module runs as a process (python plugins/modules/health_probe.py args.json); Ansible's per-task
overhead (~0.65 s) is not counted.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import _benchio

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = os.path.join(ROOT, "plugins", "modules", "health_probe.py")
ENV = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "collections"))
BODY = json.dumps({"status": "healthy", "components": {"db": {"status": "healthy", "latency_ms": 1.0}}}).encode()


class H(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        time.sleep(0.05)  # a health check that does some work
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


def med(fn, runs):
    times = []
    for _dummy in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--targets", type=int, default=20)
    a = _benchio.parse(ap, runs=1, targets=2)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/health" % httpd.server_address[1]
    tmp = tempfile.mkdtemp(prefix="bench_health_")
    rows = []
    try:
        def module(urls):
            path = os.path.join(tmp, "args.json")
            with open(path, "w") as f:
                json.dump({"ANSIBLE_MODULE_ARGS": {"urls": urls, "detailed": True}}, f)
            out = subprocess.run([sys.executable, MODULE, path], env=ENV, capture_output=True, check=True).stdout
            assert json.loads(out)["status"] == "healthy"

        def curl():
            out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", url],
                                 capture_output=True, check=True).stdout
            assert out.startswith(b"200")

        o1, c1 = med(lambda: module([url]), a.runs), med(curl, a.runs)
        rows.append(dict(case="1 target", ours_s=o1, ref_s=c1, ratio=o1 / c1))
        on = med(lambda: module([url] * a.targets), a.runs)
        cn = med(lambda: [curl() for _dummy in range(a.targets)], a.runs)
        rows.append(dict(case="%d targets" % a.targets, ours_s=on, ref_s=cn, ratio=on / cn))
    finally:
        httpd.shutdown()
        httpd.server_close()
    print("| case | health_probe (s) | curl -w (s) | ours/curl |")
    print("|---|---|---|---|")
    for r in rows:
        print("| %s | %.3f | %.3f | %.2f |" % (r["case"], r["ours_s"], r["ref_s"], r["ratio"]))
    _benchio.write_result(a, "health_probe", {"runs": a.runs, "rows": rows})


if __name__ == "__main__":
    main()
