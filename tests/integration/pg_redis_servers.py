"""Real PostgreSQL 15 and Redis servers on loopback, for the pg_* and redis_probe integration tests.

PostgreSQL: ``initdb`` in a temporary directory (as the ``postgres`` OS user when the tests run as root,
because initdb refuses root), ``pg_ctl start`` on a free 127.0.0.1 port, password (scram) auth over TCP.
Roles: ``postgres`` (superuser), ``rxi_monitor`` (pg_monitor + pg_signal_backend, not superuser) and
``rxi_app`` (a plain application role owning database ``reflexion``).
Redis: ``redis-server`` on a free port, optionally with ``requirepass``.
"""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

import psycopg2
import psycopg2.extras

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
SUPER_PASSWORD = "rxi-super-pw"
MONITOR_PASSWORD = "rxi-monitor-pw"
APP_PASSWORD = "rxi-app-pw"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _as_postgres(cmd):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


class PostgresServer(object):
    def __init__(self, max_connections=30):
        self.max_connections = max_connections
        self.host = "127.0.0.1"
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix="rxi-pg-")
        self.data = os.path.join(self.tmp, "data")
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
        os.chmod(self.tmp, 0o755)
        pwfile = os.path.join(self.tmp, "pw")
        with open(pwfile, "w") as f:
            f.write(SUPER_PASSWORD + "\n")
        if os.geteuid() == 0:
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        subprocess.run(_as_postgres([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "postgres",
                                     "--pwfile", pwfile, "--auth-local=trust", "--auth-host=scram-sha-256",
                                     "-E", "UTF8", "--no-sync"]),
                       check=True, capture_output=True)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\nlisten_addresses = '127.0.0.1'\nport = %d\nmax_connections = %d\n"
                    "unix_socket_directories = '%s'\nfsync = off\nshared_buffers = 16MB\n"
                    "superuser_reserved_connections = 3\n" % (self.port, max_connections, self.tmp))

    def start(self):
        subprocess.run(_as_postgres([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l",
                                     os.path.join(self.tmp, "log"), "-w", "-t", "30", "start"]),
                       check=True, capture_output=True)

    def stop(self):
        subprocess.run(_as_postgres([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop"]),
                       check=False, capture_output=True)

    def connect(self, user="postgres", password=SUPER_PASSWORD, dbname="reflexion", application_name="rxi-test",
                autocommit=True):
        conn = psycopg2.connect(host=self.host, port=self.port, user=user, password=password, dbname=dbname,
                                application_name=application_name, connect_timeout=5)
        conn.autocommit = autocommit
        return conn

    def setup_roles(self):
        conn = self.connect(dbname="postgres")
        cur = conn.cursor()
        cur.execute("CREATE ROLE rxi_monitor LOGIN PASSWORD %s IN ROLE pg_monitor, pg_signal_backend", (MONITOR_PASSWORD,))
        cur.execute("CREATE ROLE rxi_app LOGIN PASSWORD %s", (APP_PASSWORD,))
        cur.execute("CREATE DATABASE reflexion OWNER rxi_app")
        conn.close()
        conn = self.connect(user="rxi_app", password=APP_PASSWORD)
        conn.cursor().execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int); "
                              "INSERT INTO accounts VALUES (1, 100), (2, 200)")
        conn.close()

    def monitor_args(self, **extra):
        args = dict(login_host=self.host, port=self.port, login_user="rxi_monitor", login_password=MONITOR_PASSWORD,
                    login_db="reflexion")
        args.update(extra)
        return args

    def activity(self, where="true"):
        """Rows of pg_stat_activity seen by the superuser (fresh snapshot)."""
        conn = self.connect(dbname="postgres", application_name="rxi-test-observer")
        cur = conn.cursor()
        cur.execute("SELECT pid, application_name, state, usename, query FROM pg_stat_activity "
                    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND (%s)" % where)
        rows = cur.fetchall()
        conn.close()
        return rows

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Sessions(object):
    """Sessions a test opens on purpose (long runner, idle in transaction, lock chain); closed at the end."""

    def __init__(self, server):
        self.server = server
        self.conns = []

    def open(self, user="rxi_app", password=APP_PASSWORD, app="rxi-app", autocommit=True):
        conn = self.server.connect(user=user, password=password, application_name=app, autocommit=autocommit)
        self.conns.append(conn)
        return conn

    def sleeper(self, seconds=60, app="rxi-sleeper", user="rxi_app", password=APP_PASSWORD):
        """A backend running pg_sleep (asynchronously, so the test goes on)."""
        conn = psycopg2.connect(host=self.server.host, port=self.server.port, user=user, password=password,
                                dbname="reflexion", application_name=app, async_=True)
        psycopg2.extras.wait_select(conn)
        pid = conn.get_backend_pid()
        conn.cursor().execute("SELECT pg_sleep(%s) /* rxi long runner */" % float(seconds))
        self.conns.append(conn)
        return pid

    def idle_in_transaction(self, app="rxi-idle-tx"):
        conn = self.open(app=app, autocommit=False)
        conn.cursor().execute("SELECT balance FROM accounts WHERE id = 1")
        return conn.get_backend_pid()

    def lock_chain(self):
        """A holder (idle in transaction with a row lock) and a waiter blocked on it; returns (holder, waiter)."""
        holder = self.open(app="rxi-lock-holder", autocommit=False)
        holder.cursor().execute("UPDATE accounts SET balance = balance + 1 WHERE id = 2")
        waiter = psycopg2.connect(host=self.server.host, port=self.server.port, user="rxi_app", password=APP_PASSWORD,
                                  dbname="reflexion", application_name="rxi-lock-waiter", async_=True)
        psycopg2.extras.wait_select(waiter)
        waiter.cursor().execute("UPDATE accounts SET balance = balance - 1 WHERE id = 2")
        self.conns.append(waiter)
        return holder.get_backend_pid(), waiter.get_backend_pid()

    def close(self):
        for conn in self.conns:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - the server may already have killed it
                pass
        self.conns = []


def fill_connections(connect, limit=1000):
    """Open sessions with ``connect()`` until the server refuses one for lack of slots; returns them.

    Only "too many clients" / "reserved" ends the loop: any other error (a connect slowed past its
    timeout on a loaded machine) is retried, so no free slot is left behind by accident."""
    held = []
    other_errors = []
    while len(held) < limit and len(other_errors) < 20:
        try:
            held.append(connect())
        except psycopg2.OperationalError as exc:
            text = str(exc)
            if "too many clients" in text or "reserved" in text:
                return held
            other_errors.append(text)
            time.sleep(0.2)
    for conn in held:
        conn.close()
    raise AssertionError("could not fill the server's slots: %d sessions, errors %r" % (len(held), other_errors[-3:]))


def wait_until(predicate, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


@contextlib.contextmanager
def postgres_server():
    """A started PostgreSQL with the test roles; use in a module-scoped fixture."""
    server = PostgresServer()
    try:
        server.start()
        server.setup_roles()
        yield server
    finally:
        server.cleanup()


@contextlib.contextmanager
def opened_sessions(server):
    """Sessions opened by one test, closed after it, waiting until the server no longer lists them."""
    s = Sessions(server)
    try:
        yield s
    finally:
        s.close()
        # a closed client does not stop a running pg_sleep on the server: end what the test left behind
        conn = server.connect(dbname="postgres", application_name="rxi-test-observer")
        conn.cursor().execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'rxi-%' "
                              "AND application_name <> 'rxi-test-observer'")
        conn.close()
        left = "application_name LIKE 'rxi-%' AND application_name <> 'rxi-test-observer'"
        # a session left behind would be counted by the next test: fail here, where the cause is
        assert wait_until(lambda: not server.activity(left), timeout=60), server.activity(left)


class RedisServer(object):
    def __init__(self, password=None):
        self.host = "127.0.0.1"
        self.port = free_port()
        self.password = password
        self.tmp = tempfile.mkdtemp(prefix="rxi-redis-")
        self.proc = None

    def start(self):
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", self.tmp, "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"]
        if self.password:
            cmd += ["--requirepass", self.password]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start on port %d" % self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


@contextlib.contextmanager
def redis_server(password=None):
    server = RedisServer(password=password)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
