"""The reflexion app: /health, /metrics, /api/chat on a stdlib ThreadingHTTPServer."""

import concurrent.futures
import hashlib
import json
import logging
import logging.handlers
import os
import random
import signal
import socket
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import psycopg2
import redis
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from . import llm, promagg
from .config import load_config

CFG = load_config()
REPLICA = socket.gethostname()[:12]

REQUESTS = Counter("reflexion_requests_total", "HTTP requests answered, by status code", ["status"])
DURATION = Histogram("reflexion_request_duration_seconds", "HTTP request duration",
                     buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
LLM_REQUESTS = Counter("reflexion_llm_requests_total", "LLM provider calls, by provider and outcome", ["provider", "outcome"])
DB_ERRORS = Counter("reflexion_db_errors_total", "Database errors, by kind (connect|query)", ["kind"])
REDIS_ERRORS = Counter("reflexion_redis_errors_total", "Redis errors")
INFO = Gauge("reflexion_build_info", "Running release", ["version"])
LEAKED = Gauge("reflexion_leaked_bytes", "Bytes held by the (injected) memory leak")
BREAKER = Gauge("reflexion_circuit_breaker_open", "1 when DISABLE_EXTERNAL_SERVICE is on")
INFO.labels(version=CFG.version).set(1)
BREAKER.set(1 if CFG.disable_external else 0)

_log_ctx = threading.local()


class _ReqFilter(logging.Filter):
    def filter(self, record):
        record.req = getattr(_log_ctx, "req", "-")
        record.replica = REPLICA
        return True


def setup_logging():
    fmt = logging.Formatter("%(asctime)s %(levelname)s [req=%(req)s] %(name)s replica=%(replica)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    handlers = [logging.StreamHandler(sys.stdout)]
    try:
        os.makedirs(CFG.log_dir, exist_ok=True)
        handlers.append(logging.handlers.WatchedFileHandler(os.path.join(CFG.log_dir, CFG.log_file)))
    except OSError as exc:
        print("cannot log to %s: %s" % (CFG.log_dir, exc), file=sys.stderr)
    for handler in handlers:
        handler.setFormatter(fmt)
        handler.addFilter(_ReqFilter())
        root.addHandler(handler)


log = logging.getLogger("reflexion")


# --- dependencies -------------------------------------------------------------------------------
def db_connect():
    return psycopg2.connect(application_name="reflexion-app", **CFG.db)


def db_init():
    for _attempt in range(60):
        try:
            conn = db_connect()
            with conn, conn.cursor() as cur:
                cur.execute("CREATE TABLE IF NOT EXISTS messages (id bigserial PRIMARY KEY, session text NOT NULL, "
                            "prompt text NOT NULL, answer text, provider text, created_at timestamptz DEFAULT now())")
            conn.close()
            return
        except psycopg2.Error as exc:
            log.warning("database not ready yet: %s", str(exc).strip())
            time.sleep(1)


_redis = redis.Redis(socket_timeout=1, socket_connect_timeout=1, **CFG.redis)


def check_db():
    start = time.monotonic()
    try:
        conn = db_connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchone()
        finally:
            conn.close()
        return {"status": "ok", "latency_ms": round((time.monotonic() - start) * 1000, 1)}
    except psycopg2.Error as exc:
        DB_ERRORS.labels(kind="connect").inc()
        log.error("health: database connection failed: %s", str(exc).strip().splitlines()[0] if str(exc).strip() else exc)
        return {"status": "down", "latency_ms": round((time.monotonic() - start) * 1000, 1), "error": str(exc).strip()[:200]}


def check_redis():
    start = time.monotonic()
    try:
        _redis.ping()
        return {"status": "ok", "latency_ms": round((time.monotonic() - start) * 1000, 1)}
    except redis.RedisError as exc:
        REDIS_ERRORS.inc()
        log.error("health: redis connection failed: %s", exc)
        return {"status": "down", "latency_ms": round((time.monotonic() - start) * 1000, 1), "error": str(exc)[:200]}


def check_llm():
    if CFG.disable_external:
        return {"status": "disabled", "latency_ms": 0.0, "provider": CFG.llm_provider}
    status, latency, error = llm.models_check(CFG.llm_provider, CFG.base_urls.get(CFG.llm_provider, ""),
                                              CFG.api_keys.get(CFG.llm_provider, ""), min(CFG.llm_timeout, 2.0))
    entry = {"status": status, "latency_ms": round(latency, 1), "provider": CFG.llm_provider}
    if error:
        entry["error"] = error
        if CFG.fallback_provider:
            entry["status"] = "degraded"
            entry["fallback"] = CFG.fallback_provider
    return entry


def _with_req(req, func):
    _log_ctx.req = req
    return func()


def health():
    req = getattr(_log_ctx, "req", "-")
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_with_req, req, func) for name, func in
                   (("db", check_db), ("redis", check_redis), ("llm", check_llm))}
        components = {name: fut.result() for name, fut in futures.items()}
    if components["db"]["status"] == "down":
        overall = "unhealthy"
    elif any(c["status"] in ("down", "degraded") for c in components.values()):
        overall = "degraded"
    else:
        overall = "healthy"
    return overall, {"status": overall, "version": CFG.version, "replica": REPLICA,
                     "circuit_breaker": CFG.disable_external, "components": components}


# --- circuit breaker around the primary provider ------------------------------------------------
class Breaker(object):
    """After `threshold` consecutive failures of the primary, skip it for `cooldown` seconds (fallback only)."""

    def __init__(self, threshold=5, cooldown=30.0):
        self.threshold, self.cooldown = threshold, cooldown
        self.failures, self.open_until = 0, 0.0
        self.lock = threading.Lock()

    def allow(self):
        with self.lock:
            return time.monotonic() >= self.open_until

    def record(self, ok):
        with self.lock:
            if ok:
                self.failures = 0
            else:
                self.failures += 1
                if self.failures >= self.threshold:
                    self.open_until = time.monotonic() + self.cooldown
                    self.failures = 0


BREAKERS = {"openai": Breaker(), "anthropic": Breaker()}


def ask_llm(prompt):
    """Primary, then FALLBACK_LLM_PROVIDER. Returns (LLMResult or None when disabled, list of failures)."""
    if CFG.disable_external:
        return None, []
    chain = [CFG.llm_provider]
    if CFG.fallback_provider and CFG.fallback_provider != CFG.llm_provider:
        chain.append(CFG.fallback_provider)
    failures = []
    for index, provider in enumerate(chain):
        if index < len(chain) - 1 and not BREAKERS[provider].allow():
            continue
        result = llm.call(provider, CFG.base_urls.get(provider, ""), CFG.api_keys.get(provider, ""),
                          CFG.models.get(provider, ""), prompt, CFG.llm_timeout)
        LLM_REQUESTS.labels(provider=provider, outcome=result.outcome).inc()
        BREAKERS.setdefault(provider, Breaker()).record(result.ok)
        if result.ok:
            return result, failures
        failures.append(result)
        words = {"rate_limited": "rate limit exceeded", "auth_failed": "unauthorized (authentication failed)",
                 "timeout": "timeout", "server_error": "server error", "unreachable": "connection failed"}
        log.error("%s request failed: %s: %s%s", provider, words.get(result.outcome, result.outcome), result.error,
                  (" (retry-after %ss)" % result.retry_after) if result.retry_after else "")
    return failures[-1] if failures else None, failures


def chat(session, prompt):
    """The work: store the prompt, answer from the cache or the LLM, store the answer. Returns (code, body)."""
    if CFG.release_error_rate and random.random() < CFG.release_error_rate:
        log.error("request failed: unhandled exception in prompt builder (release %s): KeyError 'context'", CFG.version)
        return 500, {"error": "internal server error"}
    try:
        conn = db_connect()
    except psycopg2.Error as exc:
        DB_ERRORS.labels(kind="connect").inc()
        log.error("database connection failed: %s", " ".join(str(exc).split())[:200])
        return 503, {"error": "database unavailable"}
    try:
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO messages (session, prompt) VALUES (%s, %s) RETURNING id", (session, prompt))
            row_id = cur.fetchone()[0]
        key = "chat:" + hashlib.sha256(prompt.encode()).hexdigest()
        cached = None
        try:
            cached = _redis.get(key)
        except redis.RedisError as exc:
            REDIS_ERRORS.inc()
            log.error("redis connection failed (cache bypassed): %s", exc)
        if cached is not None:
            answer, provider, code, degraded = cached.decode(), "cache", 200, False
        else:
            result, _failures = ask_llm(prompt)
            if result is None:
                answer = "[degraded] The assistant is unavailable; your message was saved."
                provider, code, degraded = "none", 200, True
            elif result.ok:
                answer, provider, code, degraded = result.text, result.provider, 200, False
                try:
                    _redis.setex(key, CFG.cache_ttl, answer)
                except redis.RedisError as exc:
                    REDIS_ERRORS.inc()
                    log.error("redis connection failed (answer not cached): %s", exc)
            else:
                code = 504 if result.outcome == "timeout" else 502
                log.error("request failed: LLM %s (%s)", result.outcome, result.provider)
                return code, {"error": "llm %s" % result.outcome, "provider": result.provider}
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE messages SET answer = %s, provider = %s WHERE id = %s", (answer, provider, row_id))
        return code, {"answer": answer, "provider": provider, "cached": cached is not None, "degraded": degraded}
    except psycopg2.Error as exc:
        DB_ERRORS.labels(kind="query").inc()
        log.error("database query failed: %s", " ".join(str(exc).split())[:200])
        return 503, {"error": "database error"}
    finally:
        conn.close()


# --- memory leak (injected with SIGUSR1; a restart clears it) --------------------------------------
_leak = []
_leak_started = threading.Event()


def _leak_loop():
    chunk = int(CFG.leak_mb_per_s * 1024 * 1024)
    limit = int(CFG.leak_max_mb * 1024 * 1024)
    log.warning("memory usage growing: leak in conversation cache (%.1f MB/s, up to %.0f MB)", CFG.leak_mb_per_s, CFG.leak_max_mb)
    while sum(len(b) for b in _leak) + chunk <= limit:
        _leak.append(bytearray(b"\x01") * chunk)
        LEAKED.set(sum(len(b) for b in _leak))
        if len(_leak) % 10 == 0:
            log.warning("memory usage growing: %d MB held by the conversation cache", sum(len(b) for b in _leak) // (1024 * 1024))
        time.sleep(1)
    log.error("memory usage high: %d MB held by the conversation cache", sum(len(b) for b in _leak) // (1024 * 1024))


def _on_usr1(_signum, _frame):
    if not _leak_started.is_set():
        _leak_started.set()
        threading.Thread(target=_leak_loop, name="leak", daemon=True).start()


# --- metrics across replicas --------------------------------------------------------------------
def local_metrics():
    return generate_latest().decode()


def peer_addresses():
    try:
        infos = socket.getaddrinfo(CFG.service_name, CFG.port, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({info[4][0] for info in infos})


def fetch_peer(addr):
    with urllib.request.urlopen("http://%s:%d/metrics/local" % (addr, CFG.port), timeout=1.5) as resp:
        return resp.read().decode()


def cluster_metrics():
    peers = peer_addresses()
    pages = {}
    if peers:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(peers)) as pool:
            futures = {addr: pool.submit(fetch_peer, addr) for addr in peers}
            for addr, fut in futures.items():
                try:
                    pages[addr] = fut.result()
                except (OSError, ValueError):
                    continue
    if not pages:
        pages = {"self": local_metrics()}
    return promagg.aggregate(pages)


# --- HTTP -----------------------------------------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    server_version = "reflexion/" + CFG.version
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # access log off: the app log is for the app
        return

    def _send(self, code, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Request-Id", getattr(_log_ctx, "req", "-"))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method):
        url = urlparse(self.path)
        _log_ctx.req = (self.headers.get("X-Request-Id") or uuid.uuid4().hex)[:12]
        if url.path == "/metrics":
            return self._send(200, cluster_metrics().encode(), CONTENT_TYPE_LATEST)
        if url.path == "/metrics/local":
            return self._send(200, local_metrics().encode(), CONTENT_TYPE_LATEST)
        start = time.monotonic()
        code = 500
        try:
            if url.path == "/health/live":
                code, body = 200, {"status": "alive", "replica": REPLICA}
            elif url.path == "/health":
                overall, body = health()
                code = 503 if overall == "unhealthy" else 200
            elif url.path == "/api/chat" and method in ("GET", "POST"):
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                if method == "POST":
                    length = int(self.headers.get("Content-Length") or 0)
                    try:
                        params.update(json.loads(self.rfile.read(length).decode() or "{}"))
                    except ValueError:
                        code, body = 400, {"error": "body is not JSON"}
                        return self._send(code, body)
                prompt = str(params.get("message") or "hello")
                code, body = chat(str(params.get("session") or "anonymous"), prompt)
            else:
                code, body = 404, {"error": "not found"}
            body["request_id"] = _log_ctx.req
            self._send(code, body)
        except Exception as exc:  # noqa: BLE001 - a web app logs and answers 500 on anything unexpected
            code = 500
            log.exception("request failed: %s", exc)
            self._send(500, {"error": "internal server error"})
        finally:
            if code >= 500:
                log.error("%s %s -> %d", method, url.path, code)
            REQUESTS.labels(status=str(code)).inc()
            DURATION.observe(time.monotonic() - start)

    def do_GET(self):  # noqa: N802
        self._handle("GET")

    def do_POST(self):  # noqa: N802
        self._handle("POST")


def main():
    setup_logging()
    signal.signal(signal.SIGUSR1, _on_usr1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log.info("reflexion %s starting on :%d (llm=%s fallback=%s disable_external=%s)", CFG.version, CFG.port,
             CFG.llm_provider, CFG.fallback_provider or "-", CFG.disable_external)
    db_init()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("0.0.0.0", CFG.port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
