"""Tiny stand-in for the reflexion app, used by the mitigation roles' molecule scenarios.

stdlib only. Behaviour comes from the environment (the compose .env) and from files baked
into the image (VERSION, and BROKEN which makes /health answer 503: a "bad deploy").
  GET  /health   {"status", "version", "components": {"db", "llm"}}; llm is "disabled" when
                 DISABLE_EXTERNAL_SERVICE=true
  GET  /metrics  reflexion_requests_total{status="..."} counters (Prometheus text)
  GET  /work     a pretend LLM call: 502 while the primary provider fails and no fallback is
                 set (PRIMARY_LLM_FAILING=true), else 200 naming the provider that answered
  GET  /fail     always 500 (drives the error ratio)
  POST /leak?mb=N  holds N more MiB of memory (a pretend leak)
"""
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
COUNTS = {}
LEAK = []


def env_true(name):
    return os.environ.get(name, "false").strip().lower() in ("1", "true", "yes", "on")


def version():
    try:
        with open(os.path.join(HERE, "VERSION")) as handle:
            return handle.read().strip()
    except OSError:
        return "unknown"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):  # keep container logs quiet
        pass

    def reply(self, code, body, ctype="application/json"):
        data = (json.dumps(body) if ctype == "application/json" else body).encode()
        COUNTS[code] = COUNTS.get(code, 0) + 1
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = urlparse(self.path).path
        if path == "/health":
            broken = os.path.exists(os.path.join(HERE, "BROKEN"))
            llm = "disabled" if env_true("DISABLE_EXTERNAL_SERVICE") else (
                "degraded" if env_true("PRIMARY_LLM_FAILING") else "healthy")
            body = {"status": "unhealthy" if broken else "healthy", "version": version(),
                    "role": os.environ.get("ROLE", "app"),
                    "components": {"db": {"status": "healthy", "latency_ms": 1.0},
                                   "llm": {"status": llm, "latency_ms": None}}}
            self.reply(503 if broken else 200, body)
        elif path == "/metrics":
            lines = ["# TYPE reflexion_requests_total counter"]
            for code in sorted(COUNTS):
                lines.append('reflexion_requests_total{status="%d"} %d' % (code, COUNTS[code]))
            lines.append("reflexion_leak_bytes %d" % sum(len(b) for b in LEAK))
            self.reply(200, "\n".join(lines) + "\n", "text/plain; version=0.0.4")
        elif path == "/work":
            if env_true("DISABLE_EXTERNAL_SERVICE"):
                self.reply(200, {"provider": "none", "degraded": True})
            elif env_true("PRIMARY_LLM_FAILING"):
                fallback = os.environ.get("FALLBACK_LLM_PROVIDER", "").strip()
                if fallback:
                    self.reply(200, {"provider": fallback, "fallback": True})
                else:
                    self.reply(502, {"error": "primary LLM provider rate limited (429)"})
            else:
                self.reply(200, {"provider": os.environ.get("LLM_PROVIDER", "openai")})
        elif path == "/fail":
            self.reply(500, {"error": "injected"})
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        url = urlparse(self.path)
        if url.path == "/leak":
            mb = int(parse_qs(url.query).get("mb", ["10"])[0])
            block = bytearray(mb * 1024 * 1024)
            for i in range(0, len(block), 4096):  # touch every page so it is resident
                block[i] = 1
            LEAK.append(block)
            self.reply(200, {"leaked_mb": sum(len(b) for b in LEAK) // (1024 * 1024)})
        else:
            self.reply(404, {"error": "not found"})


def main():
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
