"""No secret is echoed by the probes, in any result, including failures (Security II, #15, item 3).

Canary secrets (unique per run) are planted where the probes take secrets: triage_probe's sub-options
(PostgreSQL password and DSN, Redis password, LLM keys, header values), the environment the LLM probe
falls back to (OPENAI_API_KEY, ANTHROPIC_API_KEY) and PGPASSWORD - several of them ending in a newline, as
read from a file or a Kubernetes secret. The real modules run through ``ansible`` with -vvv and
ANSIBLE_INJECT_INVOCATION=1 (so the module arguments are printed back, as AWX and older ansible-core do),
against a real HTTP server on loopback that records what it received. Searched: stdout, stderr and the
result JSON; expected: no canary, in any form.
"""

import json
import os
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ..conftest import BIN, ROOT, ModuleRun, ansible_env

TAG = uuid.uuid4().hex[:10]
CANARY = {
    "pg": "rxisecpg%s" % TAG,
    "dsn": "rxisecdsn%s" % TAG,
    "redis": "rxisecredis%s" % TAG,
    "llm_opt": "sk-rxisecllmopt%s" % TAG,
    "header": "rxisechdr%s" % TAG,
    "env_openai": "sk-rxisecenvopenai%s" % TAG,
    "env_anthropic": "sk-ant-rxisecenvant%s" % TAG,
    "env_pg": "rxisecenvpg%s" % TAG,
    "url": "rxisecurl%s" % TAG,
}


def leaks(text):
    return sorted(name for name, value in CANARY.items() if value in text)


class Recorder(BaseHTTPRequestHandler):
    """Answers 200 to everything and records every request's path and headers."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.seen.append((self.path, dict((k.lower(), v) for k, v in self.headers.items())))
        payload = json.dumps({"status": "healthy", "data": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def web():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.seen = []
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.base = "http://127.0.0.1:%d" % httpd.server_address[1]
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def run(name, args, env=None):
    """The real module through ansible, -vvv, with the invocation injected into the result."""
    cmd = [os.path.join(BIN, "ansible"), "localhost", "-i", os.path.join(ROOT, "inventories/local"),
           "-m", "reflexion.incident." + name, "-a", json.dumps(args), "-vvv"]
    e = ansible_env(ANSIBLE_INJECT_INVOCATION="1")
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PGPASSWORD"):
        e.pop(var, None)
    e.update(env or {})
    proc = subprocess.run(cmd, cwd=ROOT, env=e, capture_output=True, text=True, timeout=300, check=False)
    return ModuleRun(proc)


def assert_no_leak(r):
    everything = r.output + json.dumps(r.result, default=str)
    found = leaks(everything)
    assert not found, "canaries %s leaked:\n%s" % (found, everything[-4000:])


NEWLINE_ENV = {"OPENAI_API_KEY": CANARY["env_openai"] + "\n", "ANTHROPIC_API_KEY": CANARY["env_anthropic"] + "\n",
               "PGPASSWORD": CANARY["env_pg"] + "\n"}


def secret_options(base):
    """Every probe given a secret (several ending in a newline); each probe is valid as given."""
    return {
        "health": {"urls": [base + "/health"], "headers": {"X-Token": CANARY["header"] + "\n"}},
        "pg": {"login_host": "127.0.0.1", "login_port": 1, "login_password": CANARY["pg"] + "\n",
               "connect_timeout": 1},
        "redis": {"login_host": "127.0.0.1", "login_port": 1, "login_password": CANARY["redis"] + "\n",
                  "connect_timeout": 1},
        "llm": {"providers": [{"name": "openai", "base_url": base},
                              {"name": "anthropic", "base_url": base, "api_key": CANARY["llm_opt"] + "\n"}]},
        "metrics": {"urls": ["http://rxi:%s@127.0.0.1:1/metrics" % CANARY["url"]], "sample_interval": 0},
    }


# one invalid sub-option each; every other probe carries its secrets
INVALID = {
    "logs-since": ("logs", {"paths": ["/nonexistent/rxi/*.log"], "since": "-1h"}, "since"),
    "pg-port": ("pg", {"login_port": "abc", "login_password": CANARY["pg"] + "\n",
                       "dsn": "postgresql://app:%s@127.0.0.1/db" % CANARY["dsn"]}, "port"),
    "llm-name": ("llm", {"providers": [{"name": "bogus", "api_key": CANARY["llm_opt"] + "\n"}]}, "name"),
    "llm-base-url": ("llm", {"providers": [{"name": "openai", "api_key": CANARY["llm_opt"],
                                            "base_url": "ftp://u:%s@127.0.0.1/" % CANARY["url"]}]}, "base_url"),
    "health-timeout": ("health", {"urls": ["http://127.0.0.1:1/"], "timeout": -1,
                                  "headers": {"X-Token": CANARY["header"] + "\n"}}, "timeout"),
    "redis-unknown": ("redis", {"login_password": CANARY["redis"] + "\n", "no_such_option": 1}, "no_such_option"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_an_invalid_sub_option_masks_every_secret(case, web):
    probe, bad, option = INVALID[case]
    args = secret_options(web.base)
    args[probe] = bad
    r = run("triage_probe", args, env=NEWLINE_ENV)
    assert r.failed, r.output[-3000:]
    assert option in r["msg"], r["msg"]
    assert "Traceback" not in r.output
    # the invocation is there, so a leak would show: the secrets in it are masked
    assert "invocation" in r.result, sorted(r.result)
    assert_no_leak(r)
    assert web.seen == [], "a probe ran although an option was invalid"


def test_keys_and_headers_ending_in_a_newline_are_sent_stripped_and_never_shown(web):
    args = secret_options(web.base)
    r = run("triage_probe", args, env=NEWLINE_ENV)
    assert not r.failed, r.output[-3000:]
    assert "invocation" in r.result
    probes = r["probes"]
    assert probes["health"]["status"] == "healthy", probes["health"]
    assert probes["llm"]["providers"]["openai"]["outcome"] == "ok", probes["llm"]
    assert probes["llm"]["providers"]["openai"]["key_source"] == "env"
    assert probes["llm"]["providers"]["anthropic"]["outcome"] == "ok", probes["llm"]
    # what the server really received: each secret without its newline
    sent = dict((path, headers) for path, headers in web.seen)
    assert sent["/health"]["x-token"] == CANARY["header"]
    auth = [h for p, h in web.seen if "authorization" in h]
    assert [h["authorization"] for h in auth] == ["Bearer " + CANARY["env_openai"]]
    assert [h["x-api-key"] for p, h in web.seen if "x-api-key" in h] == [CANARY["llm_opt"]]
    assert_no_leak(r)


def test_llm_api_probe_env_key_with_a_newline(web):
    r = run("llm_api_probe", {"providers": [{"name": "openai", "base_url": web.base},
                                            {"name": "anthropic", "base_url": web.base}]}, env=NEWLINE_ENV)
    assert not r.failed, r.output[-3000:]
    assert r["providers"]["openai"]["outcome"] == "ok", r["providers"]
    assert r["providers"]["anthropic"]["outcome"] == "ok", r["providers"]
    assert sorted(h.get("authorization") or h.get("x-api-key") for p, h in web.seen) == sorted(
        ["Bearer " + CANARY["env_openai"], CANARY["env_anthropic"]])
    assert_no_leak(r)


def test_llm_api_probe_env_key_with_a_newline_inside_is_not_sent(web):
    r = run("llm_api_probe", {"providers": [{"name": "openai", "base_url": web.base}]},
            env={"OPENAI_API_KEY": CANARY["env_openai"] + "\nX-Injected: 1"})
    assert not r.failed, r.output[-3000:]
    openai = r["providers"]["openai"]
    assert openai["outcome"] == "auth_failed" and openai["status"] == "down", openai
    assert "OPENAI_API_KEY" in openai["reason"]
    assert web.seen == []
    assert_no_leak(r)


@pytest.mark.parametrize("module,args,option", [
    ("llm_api_probe", {"providers": [{"name": "openai", "api_key": CANARY["llm_opt"] + "\nX-Injected: 1"}]},
     "providers[openai].api_key"),
    ("llm_api_probe", {"providers": [{"name": "openai", "base_url": "ftp://u:%s@127.0.0.1/" % CANARY["url"]}]},
     "providers[openai].base_url"),
    ("health_probe", {"urls": ["{base}/health"], "headers": {"X-Token": CANARY["header"] + "\r\nX-Injected: 1"}},
     "X-Token"),
    ("triage_probe", {"health": {"urls": ["{base}/health"],
                                 "headers": {"X-Token": CANARY["header"] + "\r\nX-Injected: 1"}}}, "X-Token"),
], ids=["llm-key-inner-newline", "llm-base-url-password", "health-header-crlf", "triage-header-crlf"])
def test_a_secret_with_cr_lf_inside_is_refused_without_showing_it(module, args, option, web):
    args = json.loads(json.dumps(args).replace("{base}", web.base))
    r = run(module, args, env=NEWLINE_ENV)
    assert r.failed, r.output[-3000:]
    assert option in r["msg"], r["msg"]
    assert "Traceback" not in r.output
    assert_no_leak(r)
    assert web.seen == [], "a request was sent"
