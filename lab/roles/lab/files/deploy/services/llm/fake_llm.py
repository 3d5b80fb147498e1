"""A fake LLM provider speaking the OpenAI and Anthropic wire formats, with switchable failure modes.

Provider routes: OpenAI  GET /v1/models, POST /v1/chat/completions (Authorization: Bearer ...)
                 Anthropic POST /v1/messages, GET /v1/models with x-api-key + anthropic-version
Admin:  GET /_admin/mode            -> current modes and counters
        POST /_admin/mode {"provider": "openai"|"anthropic"|"all", "mode": "ok"|"429"|"401"|"5xx"|"hang",
                           "share": 0.0-1.0 (5xx only, default 1), "hang_s": seconds (hang only), "retry_after": s}
        POST /_admin/reset          -> every provider back to ok
"""

import json
import os
import random
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "429", "401", "5xx", "hang")
PROVIDERS = ("openai", "anthropic")
LOCK = threading.Lock()


def default_state():
    return {p: {"mode": "ok", "share": 1.0, "hang_s": 30.0, "retry_after": 20} for p in PROVIDERS}


STATE = default_state()
COUNTS = {p: {} for p in PROVIDERS}


def count(provider, code):
    with LOCK:
        COUNTS[provider][str(code)] = COUNTS[provider].get(str(code), 0) + 1


def openai_ratelimit_headers(remaining, reset_s):
    return {"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": str(remaining),
            "x-ratelimit-reset-requests": "%ds" % reset_s, "x-ratelimit-limit-tokens": "200000",
            "x-ratelimit-remaining-tokens": str(0 if remaining == 0 else 199000), "x-ratelimit-reset-tokens": "%ds" % reset_s}


def anthropic_ratelimit_headers(remaining, reset_s):
    reset = (datetime.now(timezone.utc) + timedelta(seconds=reset_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"anthropic-ratelimit-requests-limit": "50", "anthropic-ratelimit-requests-remaining": str(remaining),
            "anthropic-ratelimit-requests-reset": reset, "anthropic-ratelimit-tokens-limit": "50000",
            "anthropic-ratelimit-tokens-remaining": str(0 if remaining == 0 else 49000),
            "anthropic-ratelimit-tokens-reset": reset}


def error_body(provider, kind, message):
    if provider == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def failure(provider, mode, retry_after):
    """(status, headers, body) for a failing mode, in the provider's own shape."""
    if mode == "429":
        if provider == "anthropic":
            headers = dict(anthropic_ratelimit_headers(0, retry_after), **{"retry-after": str(retry_after)})
            return 429, headers, error_body(provider, "rate_limit_error",
                                            "This request would exceed your organization's rate limit. Please try again later.")
        headers = dict(openai_ratelimit_headers(0, retry_after), **{"retry-after": str(retry_after)})
        body = error_body(provider, "requests", "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 500, "
                                                "Used 500, Requested 1. Please try again in %ds." % retry_after)
        body["error"]["code"] = "rate_limit_exceeded"
        return 429, headers, body
    if mode == "401":
        if provider == "anthropic":
            return 401, {}, error_body(provider, "authentication_error", "invalid x-api-key")
        body = error_body(provider, "invalid_request_error", "Incorrect API key provided: sk-lab-****. You can find your "
                                                             "API key at https://platform.openai.com/account/api-keys.")
        body["error"]["code"] = "invalid_api_key"
        return 401, {}, body
    if provider == "anthropic":
        return 529, {}, error_body(provider, "overloaded_error", "Overloaded")
    return 503, {}, error_body(provider, "server_error", "The server is overloaded or not ready yet.")


def success(provider, path, payload):
    now = int(time.time())
    if path == "/v1/models":
        if provider == "anthropic":
            data = [{"type": "model", "id": m, "display_name": m, "created_at": "2024-10-22T00:00:00Z"}
                    for m in ("claude-3-5-haiku-latest", "claude-3-5-sonnet-latest")]
            return {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
        return {"object": "list", "data": [{"id": m, "object": "model", "created": 1715367049, "owned_by": "system"}
                                           for m in ("gpt-4o-mini", "gpt-4o")]}
    messages = payload.get("messages") or [{"content": ""}]
    prompt = str(messages[-1].get("content", ""))
    text = "Reflected on %d characters: %s" % (len(prompt), prompt[:60][::-1])
    tokens_in, tokens_out = max(1, len(prompt) // 4), max(1, len(text) // 4)
    if provider == "anthropic":
        return {"id": "msg_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant",
                "model": payload.get("model", "claude-3-5-haiku-latest"), "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}
    return {"id": "chatcmpl-" + uuid.uuid4().hex[:24], "object": "chat.completion", "created": now,
            "model": payload.get("model", "gpt-4o-mini"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out, "total_tokens": tokens_in + tokens_out},
            "system_fingerprint": "fp_lab"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stdout.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    def _send(self, code, body, headers=None):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("content-length") or 0)
        if not length:
            return {}
        try:
            return json.loads(self.rfile.read(length).decode())
        except ValueError:
            return None

    def _admin(self, method):
        if self.path == "/_admin/reset" and method == "POST":
            with LOCK:
                STATE.clear()
                STATE.update(default_state())
            return self._send(200, {"modes": STATE, "counts": COUNTS})
        if self.path == "/_admin/mode" and method == "GET":
            return self._send(200, {"modes": STATE, "counts": COUNTS})
        if self.path == "/_admin/mode" and method == "POST":
            body = self._body() or {}
            provider, mode = body.get("provider", "all"), str(body.get("mode", ""))
            if mode not in MODES or provider not in PROVIDERS + ("all",):
                return self._send(400, {"error": "mode must be one of %s, provider one of %s" % (MODES, PROVIDERS + ("all",))})
            with LOCK:
                for name in (PROVIDERS if provider == "all" else (provider,)):
                    STATE[name] = {"mode": mode, "share": float(body.get("share", 1.0)),
                                   "hang_s": float(body.get("hang_s", 30)), "retry_after": int(body.get("retry_after", 20))}
            return self._send(200, {"modes": STATE, "counts": COUNTS})
        return self._send(404, {"error": "unknown admin path"})

    def _provider(self, path):
        if path == "/v1/messages" or self.headers.get("anthropic-version") or self.headers.get("x-api-key"):
            return "anthropic"
        return "openai"

    def _api(self, method):
        path = self.path.split("?", 1)[0]
        if path.startswith("/_admin/"):
            return self._admin(method)
        if path == "/health":
            return self._send(200, {"status": "ok"})
        routes = {("GET", "/v1/models"), ("POST", "/v1/chat/completions"), ("POST", "/v1/messages")}
        provider = self._provider(path)
        payload = self._body() if method == "POST" else {}
        request_id = ("req_" if provider == "anthropic" else "") + uuid.uuid4().hex[:24]
        base_headers = {"request-id": request_id} if provider == "anthropic" else {"x-request-id": request_id,
                                                                                   "openai-processing-ms": "42"}
        if (method, path) not in routes:
            count(provider, 404)
            return self._send(404, error_body(provider, "not_found_error", "Unknown request URL: %s %s" % (method, path)),
                              base_headers)
        if provider == "anthropic":
            if not self.headers.get("x-api-key"):
                count(provider, 401)
                return self._send(401, error_body(provider, "authentication_error", "x-api-key header is required"), base_headers)
        elif not (self.headers.get("authorization") or "").startswith("Bearer ") or len(self.headers["authorization"]) < 10:
            count(provider, 401)
            body = error_body(provider, "invalid_request_error", "You didn't provide an API key.")
            return self._send(401, body, base_headers)
        if payload is None:
            count(provider, 400)
            body = error_body(provider, "invalid_request_error", "We could not parse the JSON body.")
            return self._send(400, body, base_headers)
        with LOCK:
            state = dict(STATE[provider])
        mode = state["mode"]
        if mode == "hang":
            time.sleep(state["hang_s"])
        elif mode in ("429", "401") or (mode == "5xx" and random.random() < state["share"]):
            code, headers, body = failure(provider, mode, state["retry_after"])
            count(provider, code)
            headers.update(base_headers)
            return self._send(code, body, headers)
        headers = dict(base_headers)
        headers.update(anthropic_ratelimit_headers(49, 60) if provider == "anthropic" else openai_ratelimit_headers(499, 1))
        count(provider, 200)
        return self._send(200, success(provider, path, payload), headers)

    def do_GET(self):  # noqa: N802
        self._api("GET")

    def do_POST(self):  # noqa: N802
        self._api("POST")


def main():
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("LLM_PORT", "8080"))), Handler)
    print("fake LLM provider on :%d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
