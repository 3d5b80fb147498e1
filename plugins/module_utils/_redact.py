# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""Redact secrets from text before it leaves the host. Pure functions; no I/O.

What is redacted (the replacement is MASK; values are never returned or counted by value):
- ``pem``: PEM private key blocks;
- ``dsn``: the password in a URL/DSN (``postgresql://user:PASSWORD@host``);
- ``bearer``: ``Bearer <token>`` and ``Basic <credentials>``;
- ``provider_key``: provider keys by shape (``sk-ant-...``, ``sk-...``, ``AKIA...``, ``ghp_...``, ``xox?-...``,
  ``glpat-...``) and JWTs, wherever they appear;
- ``assignment``: the value of any env var / config key / JSON key / query parameter whose NAME matches
  KEY, TOKEN, SECRET, PASSWORD, PASSWD, PWD, CREDENTIAL or AUTHORIZATION (``OPENAI_API_KEY=...``,
  ``"password": "..."``, ``redis_password: ...``, ``?token=...``), and of a command-line flag so named
  (``--password VALUE``).

Redacting already-redacted text changes nothing and counts nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MASK = "[REDACTED]"

_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?-----END [A-Z0-9 ]*PRIVATE KEY-----", re.S)
_DSN = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s\"']*:)(?P<pw>[^@\s/\"']+)(?P<at>@)")
_BEARER = re.compile(r"(?P<head>\b(?:Bearer|Basic|Token)\s+)(?P<tok>[A-Za-z0-9._~+/=\-]{6,})", re.I)
_PROVIDER = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"sk-ant-[A-Za-z0-9_\-]{8,}"
    r"|sk-(?:proj-|live-|test-)?[A-Za-z0-9_\-]{16,}"
    r"|AKIA[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}"
    r"|glpat-[A-Za-z0-9_\-]{16,}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
    r")"
)
# name, optional closing quote, separator; then (looked at, not consumed) a quoted or bare value, so
# that ``msg=OPENAI_API_KEY=...`` still finds the inner assignment.
_ASSIGN = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)(?P<nq>[\"']?)(?P<sep>[ \t]*(?:=|:)[ \t]*)"
    r"(?=(?P<q>[\"'])(?P<qval>(?:(?!(?P=q)).)*)(?P=q)|(?P<val>[^\s\"',;&}\]\)]+))"
)
# a command-line flag and its separate value: ``--password VALUE``, ``-api-token VALUE``
_FLAG = re.compile(r"(?P<head>(?<![^\s\"'])--?(?P<name>[A-Za-z][A-Za-z0-9_\-]*)[ \t]+)(?P<val>[^\s\"'\-][^\s\"']*)")
_SENSITIVE_NAME = re.compile(r"(key|token|secret|passw|pwd|credential|authorization)", re.I)
_NOT_SENSITIVE = re.compile(r"^(keyspace|keys?$|key_?count|keyspace_\w+|tokens?_(total|count|used|limit)|max_tokens)", re.I)

KINDS = ("pem", "dsn", "bearer", "provider_key", "assignment")


def sensitive_name(name):
    """True when a variable/key name says its value is a secret (KEY|TOKEN|SECRET|PASSWORD...)."""
    base = name.rsplit(".", 1)[-1]
    return bool(_SENSITIVE_NAME.search(base)) and not _NOT_SENSITIVE.search(base)


def _sensitive_flag(name):
    """A flag whose next argument is a secret (``--password``, ``--api-token``, redis ``--requirepass``)."""
    name = name.replace("-", "_")
    return sensitive_name(name) or name.lower() in ("requirepass", "masterauth", "pass")


def _redact_assignments(text):
    out, pos, count = [], 0, 0
    while True:
        m = _ASSIGN.search(text, pos)
        if m is None:
            break
        if not sensitive_name(m.group("name")):
            out.append(text[pos : m.end()])
            pos = m.end()
            continue
        quoted = m.group("q") is not None
        value = m.group("qval") if quoted else m.group("val")
        vend = m.end() + len(value) + (2 if quoted else 0)
        skip = not value or MASK in value or value.startswith(MASK[:-1]) or value.lower() in ("bearer", "basic", "token")
        if skip:
            out.append(text[pos : m.end()])
            pos = m.end()
            continue
        q = m.group("q") or ""
        out.append(text[pos : m.end()] + q + MASK + q)
        count += 1
        pos = vend
    out.append(text[pos:])
    return "".join(out), count


def redact_detail(text):
    """Return ``(redacted_text, {kind: count})``."""
    counts = dict((k, 0) for k in KINDS)
    if not text:
        return text, counts

    def sub(pattern, kind, repl, s):
        def _r(m):
            out = repl(m)
            if out != m.group(0):
                counts[kind] += 1
            return out

        return pattern.sub(_r, s)

    text = sub(_PEM, "pem", lambda m: MASK, text)
    text = sub(_DSN, "dsn", lambda m: m.group(0) if m.group("pw") == MASK else m.group("head") + MASK + m.group("at"), text)
    text = sub(_BEARER, "bearer", lambda m: m.group("head") + MASK, text)
    text = sub(_PROVIDER, "provider_key", lambda m: MASK, text)

    text, counts["assignment"] = _redact_assignments(text)
    text = sub(_FLAG, "assignment", lambda m: m.group(0) if m.group("val") == MASK or not _sensitive_flag(
        m.group("name")) else m.group("head") + MASK, text)
    return text, counts


def redact(text):
    """Return ``(redacted_text, count)``: the text with every secret replaced by MASK, and how many."""
    out, counts = redact_detail(text)
    return out, sum(counts.values())
