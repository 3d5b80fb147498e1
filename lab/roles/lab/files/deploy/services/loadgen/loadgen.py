"""Steady traffic against the load balancer: /api/chat mostly, /health now and then."""

import json
import os
import random
import threading
import time
import urllib.error
import urllib.request

TARGET = os.environ.get("LOADGEN_TARGET", "http://lb:8000").rstrip("/")
RPS = float(os.environ.get("LOADGEN_RPS", "4"))
WORKERS = int(os.environ.get("LOADGEN_WORKERS", "8"))
WORDS = "reflect plan agent memory tool answer retry context summary critique".split()
STATS = {}
LOCK = threading.Lock()


def one():
    if random.random() < 0.1:
        req = urllib.request.Request(TARGET + "/health")
    else:
        body = json.dumps({"session": "load-%d" % random.randint(1, 20),
                           "message": " ".join(random.choice(WORDS) for _word in range(6)) + " %d" % random.randint(1, 10 ** 6)})
        req = urllib.request.Request(TARGET + "/api/chat", data=body.encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
            code = resp.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    except OSError:
        code = "error"
    with LOCK:
        STATS[code] = STATS.get(code, 0) + 1


def worker(interval):
    while True:
        start = time.monotonic()
        one()
        time.sleep(max(0.0, interval - (time.monotonic() - start)))


def main():
    interval = WORKERS / RPS
    for _worker in range(WORKERS):
        threading.Thread(target=worker, args=(interval,), daemon=True).start()
        time.sleep(interval / WORKERS)
    while True:
        time.sleep(10)
        with LOCK:
            snapshot = dict(STATS)
            STATS.clear()
        print("loadgen: last 10s %s" % json.dumps({str(k): v for k, v in sorted(snapshot.items(), key=str)}), flush=True)


if __name__ == "__main__":
    main()
