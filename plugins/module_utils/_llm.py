# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""Pure logic of llm_api_probe: requests per provider, outcome classification, rate-limit headers,
and redaction of API keys from anything that could be returned."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import json
import re
import time

ENV_KEYS = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
DEFAULT_BASE = {"openai": "https://api.openai.com", "anthropic": "https://api.anthropic.com"}
DEFAULT_MODEL = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest"}
ANTHROPIC_VERSION = "2023-06-01"

OUTCOME_STATUS = {"ok": "healthy", "rate_limited": "degraded", "auth_failed": "down", "server_error": "down",
                  "timeout": "down", "unreachable": "down", "unexpected": "degraded"}

_RL_HEADER = re.compile(r"^(x-ratelimit-|anthropic-ratelimit-|retry-after)", re.IGNORECASE)
_KEYLIKE = re.compile(r"(sk-[A-Za-z0-9_\-*]{3,}|sk-ant-[A-Za-z0-9_\-*]{3,}|Bearer\s+\S+)")


def endpoint(base_url, path):
    """Join ``base_url`` (with or without a trailing /v1) and a ``/v1/...`` path."""
    base = base_url.rstrip("/")
    if base.endswith("/v1") and path.startswith("/v1/"):
        path = path[3:]
    return base + path


def build_request(provider, base_url, api_key, call, model):
    """(method, url, headers, body bytes or None) for a cheap authenticated call."""
    headers = {"Accept": "application/json"}
    body = None
    if provider == "openai":
        if api_key:
            headers["Authorization"] = "Bearer " + api_key
        if call == "completion":
            url = endpoint(base_url, "/v1/chat/completions")
            body = {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}
        else:
            url = endpoint(base_url, "/v1/models")
    else:
        if api_key:
            headers["x-api-key"] = api_key
        headers["anthropic-version"] = ANTHROPIC_VERSION
        if call == "completion":
            url = endpoint(base_url, "/v1/messages")
            body = {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}
        else:
            url = endpoint(base_url, "/v1/models")
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body).encode("utf-8")
    return ("POST" if body is not None else "GET"), url, headers, body


def classify_status(code):
    """Outcome for an HTTP answer."""
    if 200 <= code < 300:
        return "ok"
    if code in (401, 403):
        return "auth_failed"
    if code == 429:
        return "rate_limited"
    if code == 529 or code >= 500:  # 529: Anthropic's "overloaded"
        return "server_error"
    return "unexpected"


def classify_error(phase, message):
    """Outcome for a request that got no answer."""
    if "timed out" in message or "timeout" in message.lower():
        return "timeout"
    return "unreachable"


def parse_retry_after(headers, now=None):
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date), else None."""
    h = dict((k.lower(), v) for k, v in (headers or {}).items())
    if h.get("retry-after-ms"):
        try:
            return round(float(h["retry-after-ms"]) / 1000.0, 3)
        except ValueError:
            pass
    value = h.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, round(when.timestamp() - now, 3))


def rate_limit_headers(headers):
    """The providers' rate-limit headers (x-ratelimit-*, anthropic-ratelimit-*, retry-after*)."""
    return dict((k.lower(), v) for k, v in (headers or {}).items() if _RL_HEADER.match(k))


def redact(text, secrets):
    """``text`` with every secret, and anything that looks like an API key, replaced."""
    if text is None:
        return None
    text = str(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
            if len(secret) > 12:  # providers echo keys partially: sk-abc...wxyz
                text = text.replace(secret[-4:], "****")
    return _KEYLIKE.sub("********", text)


def error_message(body):
    """The provider's error message from a JSON error body (OpenAI and Anthropic shapes)."""
    try:
        doc = json.loads(body.decode("utf-8", "replace")) if body else None
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        err = doc.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err.get("type") or "")[:300]
        if isinstance(err, str):
            return err[:300]
        if doc.get("message"):
            return str(doc["message"])[:300]
    if body:
        return body[:200].decode("utf-8", "replace")
    return ""
