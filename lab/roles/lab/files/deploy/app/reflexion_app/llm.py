"""Calls to the LLM providers in their own wire formats (OpenAI chat completions, Anthropic messages)."""

import json
import socket
import time
import urllib.error
import urllib.request

OUTCOMES = ("ok", "auth_failed", "rate_limited", "server_error", "timeout", "unreachable", "bad_response")


def classify_status(code):
    """Map an HTTP status from a provider to an outcome word."""
    if 200 <= code < 300:
        return "ok"
    if code in (401, 403):
        return "auth_failed"
    if code == 429:
        return "rate_limited"
    if code >= 500:
        return "server_error"
    return "bad_response"


def build_request(provider, base_url, api_key, model, prompt):
    """Return (url, headers, body bytes) for one chat call."""
    if provider == "anthropic":
        url = base_url + "/v1/messages"
        headers = {"x-api-key": api_key, "anthropic-version": "2023-06-01", "content-type": "application/json"}
        body = {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": prompt}]}
    else:
        url = base_url + "/v1/chat/completions"
        headers = {"Authorization": "Bearer " + api_key, "Content-Type": "application/json"}
        body = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    return url, headers, json.dumps(body).encode()


def extract_text(provider, data):
    if provider == "anthropic":
        return "".join(part.get("text", "") for part in data.get("content", []) if part.get("type") == "text")
    return data["choices"][0]["message"]["content"]


class LLMResult(object):
    def __init__(self, provider, outcome, status_code=None, text=None, error=None, retry_after=None, latency_ms=0.0):
        self.provider = provider
        self.outcome = outcome
        self.status_code = status_code
        self.text = text
        self.error = error
        self.retry_after = retry_after
        self.latency_ms = latency_ms

    @property
    def ok(self):
        return self.outcome == "ok"


def call(provider, base_url, api_key, model, prompt, timeout):
    """One chat call; never raises, returns an LLMResult."""
    url, headers, body = build_request(provider, base_url, api_key, model, prompt)
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    start = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data = json.loads(resp.read().decode())
            return LLMResult(provider, "ok", resp.status, text=extract_text(provider, data),
                             latency_ms=(time.monotonic() - start) * 1000)
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read().decode()).get("error", {})
            message = detail.get("message", "") if isinstance(detail, dict) else str(detail)
        except (ValueError, OSError, AttributeError):
            message = ""
        return LLMResult(provider, classify_status(exc.code), exc.code, error="HTTP %d %s" % (exc.code, message),
                         retry_after=exc.headers.get("retry-after"), latency_ms=(time.monotonic() - start) * 1000)
    except (socket.timeout, TimeoutError) as exc:
        return LLMResult(provider, "timeout", error="timeout after %.1fs (%s)" % (timeout, exc),
                         latency_ms=(time.monotonic() - start) * 1000)
    except urllib.error.URLError as exc:
        outcome = "timeout" if isinstance(exc.reason, (socket.timeout, TimeoutError)) else "unreachable"
        return LLMResult(provider, outcome, error="connection failed: %s" % (exc.reason,),
                         latency_ms=(time.monotonic() - start) * 1000)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return LLMResult(provider, "bad_response", error="unparseable answer: %s" % (exc,),
                         latency_ms=(time.monotonic() - start) * 1000)
    except OSError as exc:
        return LLMResult(provider, "unreachable", error="connection failed: %s" % (exc,),
                         latency_ms=(time.monotonic() - start) * 1000)


def models_check(provider, base_url, api_key, timeout):
    """GET /v1/models in the provider's format; returns (status word, latency_ms, error)."""
    headers = {"Authorization": "Bearer " + api_key} if provider == "openai" else {
        "x-api-key": api_key, "anthropic-version": "2023-06-01"}
    req = urllib.request.Request(base_url + "/v1/models", headers=headers)
    start = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
            return "ok", (time.monotonic() - start) * 1000, None
    except urllib.error.HTTPError as exc:
        return "down", (time.monotonic() - start) * 1000, "%s: HTTP %d" % (classify_status(exc.code), exc.code)
    except (socket.timeout, TimeoutError) as exc:
        return "down", (time.monotonic() - start) * 1000, "timeout: %s" % (exc,)
    except urllib.error.URLError as exc:
        word = "timeout" if isinstance(exc.reason, (socket.timeout, TimeoutError)) else "connection failed"
        return "down", (time.monotonic() - start) * 1000, "%s: %s" % (word, exc.reason)
    except (OSError, ValueError) as exc:
        return "down", (time.monotonic() - start) * 1000, "connection failed: %s" % (exc,)
