"""llm_api_probe against a fake OpenAI/Anthropic server on loopback (real HTTP, real sockets)."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

KEY = "sk-test-CANARY-0123456789abcdef"
ANT_KEY = "sk-ant-CANARY-fedcba9876543210"


class FakeProvider(BaseHTTPRequestHandler):
    """Behaviour chosen by the first path segment: /ok, /auth, /ratelimit, /boom, /hang, /overloaded."""

    def _answer(self):
        mode = self.path.split("/")[1]
        self.server.seen.append({"path": self.path, "method": self.command,
                                 "auth": self.headers.get("Authorization"), "x-api-key": self.headers.get("x-api-key"),
                                 "version": self.headers.get("anthropic-version")})
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.server.bodies.append(json.loads(self.rfile.read(length)))
        key = (self.headers.get("Authorization") or "").replace("Bearer ", "") or self.headers.get("x-api-key")
        headers = {}
        if mode == "hang":
            time.sleep(3)
            code, body = 200, {"data": []}
        elif mode == "auth" or key not in (KEY, ANT_KEY):
            code, body = 401, {"error": {"message": "Incorrect API key provided: %s...%s" % (key[:6], key[-4:]) if key
                                         else "missing key", "type": "invalid_request_error"}}
        elif mode == "ratelimit":
            code, body = 429, {"error": {"message": "Rate limit reached for requests", "type": "requests"}}
            headers = {"retry-after": "20", "x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "0",
                       "x-ratelimit-reset-requests": "20s", "anthropic-ratelimit-requests-remaining": "0"}
        elif mode == "ratelimitms":
            code, body = 429, {"error": {"type": "rate_limit_error", "message": "slow down"}}
            headers = {"retry-after-ms": "1500", "retry-after": "2"}
        elif mode == "boom":
            code, body = 500, {"error": {"message": "The server had an error"}}
        elif mode == "overloaded":
            code, body = 529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        else:
            code, body = 200, {"data": [{"id": "gpt-4o-mini"}], "object": "list"}
        payload = json.dumps(body).encode()
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _answer  # noqa: N815
    do_POST = _answer  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def fake():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeProvider)
    httpd.daemon_threads = True
    httpd.seen = []
    httpd.bodies = []
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    httpd.base = "http://127.0.0.1:%d" % httpd.server_address[1]
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def provs(fake, mode_openai, mode_anthropic, **extra):
    return [dict(name="openai", base_url="%s/%s" % (fake.base, mode_openai), api_key=KEY, **extra),
            dict(name="anthropic", base_url="%s/%s/v1" % (fake.base, mode_anthropic), api_key=ANT_KEY, **extra)]


def test_ok_both_providers_list_models(run_module, fake):
    del fake.seen[:]
    r = run_module("llm_api_probe", {"providers": provs(fake, "ok", "ok")})
    assert not r.failed, r.output
    assert r["status"] == "healthy" and r["changed"] is False
    for name in ("openai", "anthropic"):
        p = r["providers"][name]
        assert p["outcome"] == "ok" and p["status_code"] == 200 and p["latency_ms"] > 0
        assert p["key_source"] == "param"
    paths = sorted(s["path"] for s in fake.seen)
    assert paths == ["/ok/v1/models", "/ok/v1/models"]
    ant = [s for s in fake.seen if s["x-api-key"]][0]
    assert ant["version"] == "2023-06-01" and ant["auth"] is None
    loud = run_module("llm_api_probe", {"providers": provs(fake, "ok", "ok")}, verbosity=3)
    assert "\"outcome\": \"ok\"" in loud.output
    assert KEY not in loud.output + r.output and ANT_KEY not in loud.output + r.output


def test_rate_limited_with_headers(run_module, fake):
    r = run_module("llm_api_probe", {"providers": provs(fake, "ratelimit", "ratelimitms")})
    assert not r.failed, r.output
    o, a = r["providers"]["openai"], r["providers"]["anthropic"]
    assert o["outcome"] == "rate_limited" and o["status"] == "degraded" and o["status_code"] == 429
    assert o["retry_after"] == 20.0
    assert o["rate_limits"]["x-ratelimit-remaining-requests"] == "0"
    assert o["rate_limits"]["anthropic-ratelimit-requests-remaining"] == "0"
    assert a["retry_after"] == 1.5
    assert r["status"] == "degraded"


def test_auth_failed_and_key_never_leaks(run_module, fake):
    r = run_module("llm_api_probe", {"providers": provs(fake, "auth", "auth")})
    assert not r.failed, r.output
    assert r["providers"]["openai"]["outcome"] == "auth_failed" and r["providers"]["openai"]["status_code"] == 401
    assert r["status"] == "down"
    assert "Incorrect API key" in r["providers"]["openai"]["error"]
    loud = run_module("llm_api_probe", {"providers": provs(fake, "auth", "auth")}, verbosity=3)
    assert "auth_failed" in loud.output
    for secret in (KEY, ANT_KEY, KEY[-4:], "CANARY"):
        assert secret not in r.output + loud.output


def test_server_errors_timeout_unreachable(run_module, fake):
    dead = "http://127.0.0.1:%d" % free_port()
    r = run_module("llm_api_probe", {"providers": [
        dict(name="openai", base_url=fake.base + "/boom", api_key=KEY),
        dict(name="anthropic", base_url=fake.base + "/overloaded", api_key=ANT_KEY)]})
    assert r["providers"]["openai"]["outcome"] == "server_error" and r["providers"]["openai"]["status_code"] == 500
    assert r["providers"]["anthropic"]["outcome"] == "server_error" and r["providers"]["anthropic"]["status_code"] == 529
    r = run_module("llm_api_probe", {"timeout": 0.5, "providers": [
        dict(name="openai", base_url=fake.base + "/hang", api_key=KEY)]})
    assert not r.failed, r.output
    assert r["providers"]["openai"]["outcome"] == "timeout" and r["providers"]["openai"]["status_code"] is None
    assert r["status"] == "down"
    # the closed port in a call of its own, with the default timeout: a stall of the loaded machine
    # before the connect must not turn "refused" into "timeout"
    r = run_module("llm_api_probe", {"providers": [dict(name="anthropic", base_url=dead, api_key=ANT_KEY)]})
    assert not r.failed, r.output
    assert r["providers"]["anthropic"]["outcome"] == "unreachable"
    assert r["status"] == "down"


def test_completion_call_and_env_key(run_module, fake, monkeypatch):
    del fake.bodies[:]
    del fake.seen[:]
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    r = run_module("llm_api_probe", {"call": "completion", "providers": [
        dict(name="openai", base_url=fake.base + "/ok", model="gpt-test"),
        dict(name="anthropic", base_url=fake.base + "/ok")]}, check=True)
    assert not r.failed, r.output
    assert r["providers"]["openai"]["key_source"] == "env" and r["providers"]["openai"]["outcome"] == "ok"
    assert r["providers"]["anthropic"]["key_source"] in ("env", "none")
    paths = sorted(s["path"] for s in fake.seen)
    assert paths == ["/ok/v1/chat/completions", "/ok/v1/messages"]
    assert all(b["max_tokens"] == 1 for b in fake.bodies)
    assert "gpt-test" in [b["model"] for b in fake.bodies]
    assert KEY not in r.output


def test_fail_on_unhealthy(run_module, fake):
    r = run_module("llm_api_probe", {"providers": provs(fake, "boom", "ok"), "fail_on_unhealthy": True})
    assert r.failed and "server_error" in r["msg"]


@pytest.mark.parametrize("args, needle", [
    ({"providers": [{"name": "mistral"}]}, "name"),
    ({"providers": [{"name": "openai"}, {"name": "openai"}]}, "providers"),
    ({"providers": [{"name": "openai", "base_url": "ftp://x"}]}, "base_url"),
    ({"timeout": 0}, "timeout"),
    ({"call": "chat"}, "call"),
])
def test_bad_input(run_module, args, needle):
    r = run_module("llm_api_probe", args)
    assert r.failed
    assert needle in r["msg"]
    assert "Traceback" not in r.output
