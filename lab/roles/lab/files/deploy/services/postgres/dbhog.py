"""Fault: a runaway client that grabs every connection slot it can and never reconnects.

It opens connections as the app's user until the server refuses ("too many clients") or `--max` is
reached: `--sleepers` of them run `SELECT pg_sleep(N)` (long-running queries), `--idle-tx` sit
idle in transaction, the rest sit idle. A terminated backend is never replaced.
"""

import argparse
import os
import sys
import threading
import time

import psycopg2

# Seconds to keep taking released slots after the server first refuses a connection.
TOPUP_S = 5.0
# Written when the top-up is over: from then on the fault is fixed in place, and a terminated backend
# stays free (the lab's fault task removes a stale marker before it starts this client, then waits for
# the file, so tests and scenarios never race the top-up).
SETTLED = "/tmp/dbhog.settled"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--max", type=int, default=1000)
    parser.add_argument("--sleepers", type=int, default=5)
    parser.add_argument("--idle-tx", type=int, default=5)
    parser.add_argument("--sleep-s", type=int, default=3600)
    parser.add_argument("--pidfile", default="/tmp/dbhog.pid")
    args = parser.parse_args()
    with open(args.pidfile, "w") as handle:
        handle.write(str(os.getpid()))
    dsn = dict(host=args.host, dbname=os.environ.get("HOG_DB", "reflexion"), user=os.environ.get("HOG_USER", "reflexion"),
               password=os.environ.get("APP_DB_PASSWORD", ""), application_name="reflexion-worker", connect_timeout=3)
    conns = []
    while len(conns) < args.max:
        try:
            conns.append(psycopg2.connect(**dsn))
        except psycopg2.OperationalError as exc:
            print("dbhog: stopped at %d connections: %s" % (len(conns), str(exc).strip()), flush=True)
            break
    threads = []
    for index, conn in enumerate(conns):
        if index < args.sleepers:
            conn.autocommit = True

            def sleeper(c=conn):
                try:
                    with c.cursor() as cur:
                        cur.execute("SELECT pg_sleep(%s) /* reflexion-worker batch */", (args.sleep_s,))
                except psycopg2.Error:
                    pass  # terminated: do not reconnect

            thread = threading.Thread(target=sleeper, daemon=True)
            thread.start()
            threads.append(thread)
        elif index < args.sleepers + args.idle_tx:
            with conn.cursor() as cur:  # opens a transaction and leaves it open
                cur.execute("SELECT count(*) FROM pg_class /* reflexion-worker idle in transaction */")
                cur.fetchone()
    print("dbhog: holding %d connections (%d sleeping, %d idle in transaction)" % (
        len(conns), min(args.sleepers, len(conns)), max(0, min(args.idle_tx, len(conns) - args.sleepers))), flush=True)
    sys.stdout.flush()
    # Like a runaway pool: for a few seconds more, take the slots other clients release (their
    # short-lived connections close within moments), so the server stays saturated.
    topup_until = time.monotonic() + TOPUP_S
    while len(conns) < args.max and time.monotonic() < topup_until:
        try:
            conns.append(psycopg2.connect(**dsn))
        except psycopg2.OperationalError:
            time.sleep(0.2)
    with open(SETTLED, "w") as marker:
        marker.write("%d\n" % len(conns))
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
