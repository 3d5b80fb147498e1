# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE: this module_utils is internal to reflexion.incident. Its API may change in any
# release without notice; do not import it from other collections.
"""PostgreSQL connection options, a guarded psycopg2 import and the pure helpers of the pg_* modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

try:
    import psycopg2
    import psycopg2.extensions
    import psycopg2.extras
    HAS_PSYCOPG2 = True
    PSYCOPG2_IMPORT_ERROR = None
except ImportError:
    psycopg2 = None
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()

SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

POSTGRES_COMMON_SPEC = dict(
    login_host=dict(type="str", aliases=["host"], fallback=(env_fallback, ["PGHOST"])),
    port=dict(type="int", aliases=["login_port"], fallback=(env_fallback, ["PGPORT"])),
    login_unix_socket=dict(type="path", aliases=["unix_socket"]),
    login_user=dict(type="str", aliases=["user"], fallback=(env_fallback, ["PGUSER"])),
    login_password=dict(type="str", aliases=["password"], no_log=True, fallback=(env_fallback, ["PGPASSWORD"])),
    login_db=dict(type="str", aliases=["db"], fallback=(env_fallback, ["PGDATABASE"])),
    dsn=dict(type="str", no_log=True),
    ssl_mode=dict(type="str", choices=SSL_MODES, fallback=(env_fallback, ["PGSSLMODE"])),
    ca_cert=dict(type="path", aliases=["ssl_rootcert"], fallback=(env_fallback, ["PGSSLROOTCERT"])),
    connect_timeout=dict(type="int", default=5),
)

# Backend states as pg_stat_activity spells them.
PG_STATES = ["active", "idle", "idle in transaction", "idle in transaction (aborted)",
             "fastpath function call", "disabled"]


def ensure_psycopg2(module):
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)


def validate_connection_params(params):
    """Return an error message naming the bad option, or None."""
    port = params.get("port")
    if port is not None and not 1 <= port <= 65535:
        return "port: must be 1-65535, got %d" % port
    if params.get("connect_timeout") is not None and params["connect_timeout"] < 1:
        return "connect_timeout: must be 1 or more seconds, got %d" % params["connect_timeout"]
    if params.get("dsn"):
        try:
            psycopg2.extensions.parse_dsn(params["dsn"])
        except psycopg2.ProgrammingError as exc:
            # The DSN may hold a password: describe the problem, never echo the string.
            detail = re.sub(r'"[^"]*"', '"..."', str(exc).strip().splitlines()[0])
            return "dsn: not a valid libpq connection string or URI (%s)" % detail
        # parse_dsn accepts any port text; a bad one would otherwise be reported as an outage
        dsn_port = psycopg2.extensions.parse_dsn(params["dsn"]).get("port")
        for part in (dsn_port or "").split(","):
            if part and not (part.isdigit() and 1 <= int(part) <= 65535):
                return "dsn: the port must be 1-65535"
    return None


def connect_kwargs(params):
    """The keyword arguments for psycopg2.connect: the DSN, overridden by the explicit options."""
    kw = {}
    if params.get("dsn"):
        kw["dsn"] = params["dsn"]
    mapping = (("login_host", "host"), ("port", "port"), ("login_user", "user"),
               ("login_password", "password"), ("login_db", "dbname"), ("ssl_mode", "sslmode"),
               ("ca_cert", "sslrootcert"), ("connect_timeout", "connect_timeout"))
    for option, key in mapping:
        if params.get(option) not in (None, ""):
            kw[key] = params[option]
    if params.get("login_unix_socket"):
        kw["host"] = params["login_unix_socket"]
    kw.setdefault("application_name", "reflexion.incident")
    return kw


def connect(params, application_name):
    """Open a connection; raises psycopg2.Error. The caller decides what failure means."""
    kw = connect_kwargs(params)
    kw["application_name"] = application_name
    return psycopg2.connect(**kw)


def describe_error(exc):
    """One line for a psycopg2 error, without the DSN."""
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " ".join(lines) if lines else type(exc).__name__


def classify_connect_error(message):
    """Name the kind of connection failure from libpq's message."""
    m = message.lower()
    if "too many clients" in m or "remaining connection slots are reserved" in m:
        return "too_many_connections"
    if "password authentication failed" in m or "no password supplied" in m or "authentication failed" in m:
        return "auth_failed"
    if "does not exist" in m:
        return "not_found"
    if "timeout expired" in m:
        return "timeout"
    if "connection refused" in m or "no such file or directory" in m or "could not connect" in m:
        return "unreachable"
    if "starting up" in m or "shutting down" in m:
        return "unavailable"
    return "error"


# ---- query masking --------------------------------------------------------------------------------

_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_$.])(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)(?![A-Za-z0-9_])")


def mask_literals(sql):
    """Replace string literals (also E'', dollar-quoted) with '?' and numeric literals with ?.

    Identifiers in double quotes and comments are kept; $1-style parameters are kept.
    """
    if not sql:
        return sql
    out = []
    i = 0
    n = len(sql)
    plain_start = 0

    def flush_plain(end):
        out.append(_NUMBER.sub("?", sql[plain_start:end]))

    while i < n:
        c = sql[i]
        if c == "'":
            flush_plain(i)
            # E'..' / B'..' / X'..' / N'..' prefixes: drop the prefix letter from the output
            if out and out[-1] and out[-1][-1] in "eEbBxXnN" and (len(out[-1]) == 1 or not
                                                                  (out[-1][-2].isalnum() or out[-1][-2] == "_")):
                backslash = out[-1][-1] in "eE"
                out[-1] = out[-1][:-1]
            else:
                backslash = False
            j = i + 1
            while j < n:
                if backslash and sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == "'":
                    if j + 1 < n and sql[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            out.append("'?'")
            i = j + 1
            plain_start = i
        elif c == '"':
            j = sql.find('"', i + 1)
            j = n - 1 if j < 0 else j
            flush_plain(i)
            out.append(sql[i:j + 1])
            i = j + 1
            plain_start = i
        elif c == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            flush_plain(i)
            out.append(sql[i:j])
            i = j
            plain_start = i
        elif c == "/" and sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            flush_plain(i)
            out.append(sql[i:j])
            i = j
            plain_start = i
        elif c == "$" and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
            m = _DOLLAR.match(sql, i)
            if m:
                tag = m.group(0)
                j = sql.find(tag, m.end())
                flush_plain(i)
                out.append("'?'")
                i = n if j < 0 else j + len(tag)
                plain_start = i
            else:
                i += 1
        else:
            i += 1
    flush_plain(n)
    return "".join(out)


def shorten_query(sql, max_length, mask):
    """Masked (optionally) and truncated query text; an ellipsis marks a cut."""
    if sql is None:
        return None
    text = mask_literals(sql) if mask else sql
    text = " ".join(text.split())
    if max_length and len(text) > max_length:
        text = text[:max_length] + "..."
    return text


def classify_activity(snapshot, thresholds):
    """Status and reason for a pg_activity snapshot (pure).

    ``snapshot`` has utilization_pct, long_running, idle_in_transaction, blocked;
    ``thresholds`` has utilization_degraded_pct and utilization_down_pct.
    """
    reasons = []
    status = "healthy"
    util = snapshot.get("utilization_pct") or 0.0
    if util >= thresholds["utilization_down_pct"]:
        status = "down"
        reasons.append("connections at %.0f%% of max_connections" % util)
    elif util >= thresholds["utilization_degraded_pct"]:
        status = "degraded"
        reasons.append("connections at %.0f%% of max_connections" % util)
    for key, label in (("long_running", "long-running quer%s"), ("idle_in_transaction", "idle-in-transaction session%s"),
                       ("blocked", "blocked session%s")):
        count = len(snapshot.get(key) or [])
        if count:
            if status == "healthy":
                status = "degraded"
            plural = ("y", "ies") if key == "long_running" else ("", "s")
            reasons.append("%d %s" % (count, label % plural[count != 1]))
    if not reasons:
        return "healthy", "%d connection(s), %.0f%% of max_connections, nothing long-running or blocked" % (
            snapshot.get("total_connections") or 0, util)
    return status, "; ".join(reasons)


# ---- pg_backend target selection ------------------------------------------------------------------

def select_targets(rows, filters, own_pid, allow_superuser=False, protected_applications=()):
    """Split pg_stat_activity rows into (targets, spared) - pure.

    ``rows`` are dicts with pid, database, user, application_name, backend_type, state, duration,
    superuser, replication and query. ``filters`` has pids, min_duration, states, databases, users,
    application_names and query_regex (a compiled pattern or None); empty/None filters match all.
    A row must match every given filter. Matching rows that must never be touched go to ``spared``
    with the reason.
    """
    targets, spared = [], []
    protected = set(protected_applications or ())
    for row in rows:
        if filters.get("pids") and row["pid"] not in filters["pids"]:
            continue
        # "not >=": a NaN threshold (or duration) matches nothing instead of everything
        minimum = filters.get("min_duration")
        if minimum is not None and (row.get("duration") is None or not row["duration"] >= minimum):
            continue
        if filters.get("states") and row.get("state") not in filters["states"]:
            continue
        if filters.get("databases") and row.get("database") not in filters["databases"]:
            continue
        if filters.get("users") and row.get("user") not in filters["users"]:
            continue
        if filters.get("application_names") and row.get("application_name") not in filters["application_names"]:
            continue
        if filters.get("query_regex") is not None and not filters["query_regex"].search(row.get("query") or ""):
            continue
        reason = None
        if row["pid"] == own_pid:
            reason = "own session"
        elif row.get("backend_type") != "client backend":
            reason = "not a client backend (%s)" % row.get("backend_type")
        elif row.get("replication"):
            reason = "replication connection"
        elif row.get("superuser") and not allow_superuser:
            reason = "superuser session (allow_superuser is false)"
        elif row.get("application_name") in protected:
            reason = "protected application %s" % row.get("application_name")
        if reason:
            spared.append(dict(pid=row["pid"], application_name=row.get("application_name"), user=row.get("user"),
                               reason=reason))
        else:
            targets.append(row)
    return targets, spared
