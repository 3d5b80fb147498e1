# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""Redact secrets from text before it leaves the host. Pure functions; no I/O.

What is redacted (the replacement is MASK; values are never returned or counted by value):
- ``pem``: PEM private key blocks (a block cut before its END line is masked to the end of its body);
- ``dsn``: the password in a URL/DSN (``postgresql://user:PASSWORD@host``). The password may hold ``@``
  and ``/``: it runs to the LAST ``@`` of the URL before any ``?`` or ``#``
  (``postgresql://u:p@ss/w0rd@host/db`` masks ``p@ss/w0rd``);
- ``bearer``: ``Bearer <token>``, ``Basic <credentials>`` and ``Token <token>`` (``Authorization:`` headers);
- ``provider_key``: provider keys by shape (``sk-ant-...``, ``sk-...``, ``AKIA...``, ``ghp_...``, ``xox?-...``,
  ``glpat-...``), JWTs, and the secret path of Slack webhook URLs (``hooks.slack.com/services/...``);
- ``assignment``:
  - the value of any env var / config key / JSON key / query parameter whose NAME says secret: KEY, TOKEN,
    SECRET, PASSWORD, PASSWD, PWD, PASSPHRASE, CREDENTIAL, AUTHORIZATION, COOKIE, or a name whose last part
    is PASS, PGPASS or AUTH (``OPENAI_API_KEY=...``, ``"password": "..."``, ``DB_PASS=...``, ``PGPASS=...``,
    ``REDIS_AUTH=...``, ``pass: ...``, ``?token=...``);
  - the whole value of ``Cookie:`` and ``Set-Cookie:`` headers;
  - SQL ``PASSWORD '...'`` and ``ENCRYPTED PASSWORD '...'``;
  - command-line flags: a flag so named and its separate value (``--password VALUE``, ``--requirepass V``),
    ``-p VALUE`` (except a port or port mapping such as ``-p 5432``, ``-p 8000:8000``,
    ``-p 127.0.0.1:80:80/tcp``, and a path such as ``mkdir -p /x``), ``-a VALUE`` after ``redis-cli`` on the
    same line, and the password of ``-u user:pass`` / ``--user user:pass`` (curl).

Bounded and linear: every line longer than LINE_CAP characters is cut first, with a visible
``[truncated N bytes]`` marker, and only then redacted. The patterns anchor each candidate at the start of
its run of name/token characters and bound every repetition, so a long token-like run is scanned a fixed
number of times (a 30 KB token or a 5 MB line takes milliseconds, not minutes).

Redacting already-redacted text changes nothing and counts nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported
    from urlparse import urlsplit  # type: ignore

MASK = "[REDACTED]"
# Longest line redacted as is; a longer one is cut (at a space near the cap when there is one) and ends
# with TRUNCATED % (bytes cut).
LINE_CAP = 65536
TRUNCATED = " [truncated %d bytes]"
# Longest value looked at after a name; a longer bare or unterminated quoted value is masked to its end.
_VMAX = 4096

_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----"
    r"(?:.{0,20000}?-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|[A-Za-z0-9+/=\s:,\-]{0,20000})",
    re.S,
)
# scheme://user:PASSWORD@host - the password runs to the last @ before whitespace, a quote, ? or # (found
# with rfind on a bounded run, see _redact_dsns, not by backtracking)
_DSN_HEAD = re.compile(r"(?<![a-zA-Z0-9+.\-])[a-zA-Z][a-zA-Z0-9+.\-]{0,31}://[^:/@\s\"'?#]{0,256}:")
_DSN_RUN = re.compile(r"[^\s\"'?#]{1,512}")
_PORT_PATH = re.compile(r"^\d{1,5}(?:/|$)")
_BEARER = re.compile(r"(?P<head>(?<![A-Za-z0-9_])(?:Bearer|Basic|Token)\s{1,16})(?P<tok>[A-Za-z0-9._~+/=\-]{6,})",
                     re.I)
_PROVIDER = re.compile(
    r"(?<![A-Za-z0-9_\-])(?:"
    r"sk-ant-[A-Za-z0-9_\-]{8,}"
    r"|sk-(?:proj-|live-|test-)?[A-Za-z0-9_\-]{16,}"
    r"|AKIA[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}"
    r"|glpat-[A-Za-z0-9_\-]{16,}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"
    r")"
)
_PROVIDER_LITERALS = ("sk-", "AKIA", "gho_", "ghp_", "ghu_", "ghs_", "ghr_", "xox", "glpat-", "eyJ")
_SLACK = re.compile(r"(?P<head>hooks\.slack\.com/(?:services|workflows|triggers)/)(?P<val>[A-Za-z0-9_/\-]{8,})",
                    re.I)
_COOKIE = re.compile(
    r"(?P<head>(?<![A-Za-z0-9_\-])(?:set-)?cookie[\"']?[ \t]{0,16}:[ \t]{0,16}[\"']?)(?P<val>[^\r\n\"']{1,8192})",
    re.I,
)
_SQL_PASSWORD = re.compile(
    r"(?P<head>(?<![A-Za-z0-9_])(?:ENCRYPTED[ \t]{1,16})?PASSWORD[ \t]{1,16}(?:=[ \t]{0,16})?')"
    r"(?P<val>(?:[^'\n]|''){1,1024})'",
    re.I,
)
# name (at the start of its run), optional closing quote, separator. The value is matched after it (with _VALUE)
# only when the name is sensitive, and not consumed otherwise, so that ``msg=OPENAI_API_KEY=...`` still finds
# the inner assignment.
_ASSIGN = re.compile(
    r"(?<![A-Za-z0-9_.\-])(?P<name>-{0,2}[A-Za-z_][A-Za-z0-9_.\-]{0,127})(?P<nq>[\"']?)"
    r"(?P<sep>[ \t]{0,16}(?:=>|[=:])[ \t]{0,16})"
)
_VALUE = re.compile(
    r"(?P<q>\")(?P<dq>(?:[^\"\\\n]|\\.){0,%d})|(?P<sq>')(?P<sqv>[^'\n]{0,%d})|(?P<val>[^\s\"',;&}\]\)]{1,%d})"
    % (_VMAX, _VMAX, _VMAX)
)
_REST = {"\"": re.compile(r"(?:[^\"\\\n]|\\.)*"), "'": re.compile(r"[^'\n]*"), "": re.compile(r"[^\s\"',;&}\]\)]*")}
# a command-line flag and its separate value: ``--password VALUE``, ``-api-token VALUE``, ``-p VALUE``; it starts
# with its literal dash (fast to search), preceded by a space or a quote (redact_detail prepends a space)
_FLAG = re.compile(
    r"(?P<head>-(?<=[\s\"']-)-?(?P<name>[A-Za-z][A-Za-z0-9_\-]{0,63})(?:[ \t]{1,16}|=))(?P<val>[^\s\"'\-][^\s\"']*)"
)
# redis-cli's -a PASSWORD, looked for in the rest of the redis-cli command (up to a newline, ;, | or &)
_REDIS_CLI = re.compile(r"\bredis-cli\b[^\n;|&]{0,512}")
_A_FLAG = re.compile(r"(?P<head>-(?<=\s-)a[ \t]{1,16})(?P<val>[^\s\"'\-][^\s\"']*)")
# -p 5432, -p 8000:8000, -p 127.0.0.1:8080:80/tcp, -p [::1]:80:80: a port (mapping), not a password
_PORT_LIKE = re.compile(r"^[0-9.:\[\]\-]+(?:/(?:tcp|udp|sctp))?$", re.I)
_SENSITIVE_NAME = re.compile(r"(key|token|secret|passw|pwd|passphrase|credential|authorization|cookie)", re.I)
_SENSITIVE_LAST_PART = ("pass", "pgpass", "auth", "dbpass")
_NOT_SENSITIVE = re.compile(r"^(keyspace|keys?$|key_?count|keyspace_\w+|tokens?_(total|count|used|limit)|max_tokens)", re.I)

KINDS = ("pem", "dsn", "bearer", "provider_key", "assignment")


def sensitive_name(name):
    """True when a variable/key name says its value is a secret (KEY|TOKEN|SECRET|PASSWORD|..._PASS|..._AUTH)."""
    base = name.rsplit(".", 1)[-1].lstrip("-")
    if _NOT_SENSITIVE.search(base):
        return False
    if _SENSITIVE_NAME.search(base):
        return True
    return re.split(r"[_\-]", base)[-1].lower() in _SENSITIVE_LAST_PART


_NAME_CACHE = {}


def _sensitive_cached(name):
    """sensitive_name() remembered for the names of one process (logs repeat the same few keys)."""
    known = _NAME_CACHE.get(name)
    if known is None:
        known = sensitive_name(name)
        if len(_NAME_CACHE) < 4096:
            _NAME_CACHE[name] = known
    return known


def _sensitive_flag(name):
    """A flag whose next argument is a secret (``--password``, ``--api-token``, redis ``--requirepass``, ``-p``)."""
    name = name.replace("-", "_")
    return sensitive_name(name) or name.lower() in ("requirepass", "masterauth", "pass", "p")


def truncate_lines(text, cap=LINE_CAP):
    """``(text, bytes_cut)``: every line longer than ``cap`` characters cut, ending with the TRUNCATED marker.

    The cut falls on the last space or tab of the line's final 256 characters before the cap when there is
    one, so that a token is kept or dropped whole."""
    if cap is None or len(text) <= cap:
        return text, 0
    lines = text.split("\n")
    cut_total = 0
    for i, line in enumerate(lines):
        if len(line) <= cap:
            continue
        end = cap
        space = max(line.rfind(" ", cap - 256, cap), line.rfind("\t", cap - 256, cap))
        if space > 0:
            end = space
        rest = line[end:]
        cut = len(rest) if rest.isascii() else len(rest.encode("utf-8", "replace"))
        cut_total += cut
        lines[i] = line[:end] + TRUNCATED % cut
    return "\n".join(lines), cut_total


def _redact_assignments(text):
    out, pos, count = [], 0, 0
    for m in _ASSIGN.finditer(text):
        if m.start() < pos or not _sensitive_cached(m.group("name")):
            continue  # inside a value masked already, or not a secret's name
        v = _VALUE.match(text, m.end())
        if v is None:
            continue
        q = v.group("q") or v.group("sq") or ""
        value = v.group("dq") if v.group("q") else v.group("sqv") if v.group("sq") else v.group("val")
        vend = m.end() + len(q) + len(value)
        if len(value) == _VMAX:  # longer than the bounded look: mask it to its end
            rest = _REST[q].match(text, vend).end()
            value += text[vend:rest]
            vend = rest
        if q and text.startswith(q, vend):
            vend += 1
        if not value or MASK in value or value.startswith(MASK[:-1]) or value.lower() in ("bearer", "basic", "token"):
            continue
        out.append(text[pos : m.end()] + q + MASK + q)
        count += 1
        pos = vend
    out.append(text[pos:])
    return "".join(out), count


def _flag(m):
    name, val = m.group("name"), m.group("val")
    if val.startswith(MASK[:-1]):
        return m.group(0)
    if name in ("u", "user"):  # curl -u user:password
        user, colon, password = val.partition(":")
        if not colon or not password or (user.isdigit() and password.isdigit()):  # -u 1000:1000 is uid:gid
            return m.group(0)
        return m.group("head") + user + colon + MASK
    if not _sensitive_flag(name):
        return m.group(0)
    if name == "p" and (_PORT_LIKE.match(val) or val[0] in "/.~$"):
        return m.group(0)
    return m.group("head") + MASK


def _redact_dsns(text):
    out, pos, count = [], 0, 0
    while True:
        m = _DSN_HEAD.search(text, pos)
        if m is None:
            break
        run = _DSN_RUN.match(text, m.end())
        at = run.group(0).rfind("@") if run else -1
        pw = run.group(0)[:at] if at > 0 else ""
        # http://host:8080/path@x: a port, not a password
        if not pw or pw == MASK or _PORT_PATH.match(pw):
            out.append(text[pos : m.end()])
            pos = m.end()
            continue
        out.append(text[pos : m.end()] + MASK)
        count += 1
        pos = m.end() + at
    out.append(text[pos:])
    return "".join(out), count


def _redact_redis_cli(text):
    out, pos, count = [], 0, 0
    while True:
        m = _REDIS_CLI.search(text, pos)
        if m is None:
            break
        found = [a for a in _A_FLAG.finditer(m.group(0)) if not a.group("val").startswith(MASK[:-1])]
        segment, last = [], 0
        for a in found:
            segment.append(m.group(0)[last : a.end("head")] + MASK)
            last = a.end()
        segment = "".join(segment) + m.group(0)[last:]
        count += len(found)
        out.append(text[pos : m.start()] + segment)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out), count


def redact_detail(text, line_cap=LINE_CAP):
    """Return ``(redacted_text, {kind: count})``; lines longer than ``line_cap`` are cut first (None: no cap)."""
    counts = dict((k, 0) for k in KINDS)
    if not text:
        return text, counts
    text, _cut = truncate_lines(text, line_cap)

    def sub(pattern, kind, repl, s):
        def _r(m):
            out = repl(m)
            if out != m.group(0):
                counts[kind] += 1
            return out

        return pattern.sub(_r, s)

    # each pattern runs only when the text holds its literal part (one fast scan instead of a regex pass)
    low = text.lower()
    if "private key" in low:
        text = sub(_PEM, "pem", lambda m: MASK, text)
    if "://" in text:
        text, counts["dsn"] = _redact_dsns(text)
    if "bearer" in low or "basic" in low or "token" in low:
        text = sub(_BEARER, "bearer", lambda m: m.group("head") + MASK, text)
    if any(p in text for p in _PROVIDER_LITERALS):
        text = sub(_PROVIDER, "provider_key", lambda m: MASK, text)
    if "hooks.slack.com" in low:
        text = sub(_SLACK, "provider_key", lambda m: m.group("head") + MASK, text)
    if "cookie" in low:
        text = sub(_COOKIE, "assignment", lambda m: m.group(0) if m.group("val").startswith(MASK[:-1]) else
                   m.group("head") + MASK, text)
    if "password" in low:
        text = sub(_SQL_PASSWORD, "assignment", lambda m: m.group(0) if m.group("val") == MASK else
                   m.group("head") + MASK + "'", text)
    if "=" in text or ":" in text:
        text, n = _redact_assignments(text)
        counts["assignment"] += n
    if "-" in text:
        text = sub(_FLAG, "assignment", _flag, " " + text)[1:]
    if "redis-cli" in low:
        text, n = _redact_redis_cli(text)
        counts["assignment"] += n
    return text, counts


def redact(text, line_cap=LINE_CAP):
    """Return ``(redacted_text, count)``: the text with every secret replaced by MASK, and how many."""
    out, counts = redact_detail(text, line_cap)
    return out, sum(counts.values())


def secret_variants(value):
    """Every form in which a secret ``value`` can show up in a message, for masking (no_log_values).

    A value read from a file or a Kubernetes secret often ends in a newline: error messages then show it
    stripped, or escaped (``'abc\\n'`` in a repr, ``"abc\\n"`` in JSON). Returns the value, its stripped form,
    its repr- and JSON-escaped forms (and their stripped forms), and each line of a multi-line value;
    empty strings are left out."""
    if value is None:
        return set()
    value = value if isinstance(value, str) else str(value)
    forms = {value, value.strip()}
    for escaped in (repr(value)[1:-1], json.dumps(value)[1:-1], repr(value.encode("utf-8", "replace"))[2:-1]):
        forms.update((escaped, escaped.strip()))
    if "\n" in value.strip() or "\r" in value.strip():
        forms.update(line.strip() for line in re.split(r"[\r\n]+", value) if len(line.strip()) >= 6)
    return set(f for f in forms if f)


def url_passwords(value):
    """The passwords of every ``scheme://user:password@host`` URL among the strings of ``value`` (any depth)."""
    found = set()
    if isinstance(value, dict):
        for item in value.values():
            found |= url_passwords(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            found |= url_passwords(item)
    elif isinstance(value, str) and "://" in value and "@" in value:
        try:
            password = urlsplit(value.strip()).password
        except ValueError:
            password = None
        if password:
            found.add(password)
    return found


def register_secrets(module, values):
    """Add every value (and all its forms, see secret_variants) to ``module.no_log_values``."""
    for value in values:
        module.no_log_values.update(secret_variants(value))
