# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic behind reflexion.incident.plan: the runbook's "Common Incident Scenarios" as decisions.

``plan()`` turns the triage evidence of one scenario, the operator's switches and what was already
tried into an ordered list of mitigation steps, each one applied now, proposed (with the switch that
would apply it and the command to run), kept for later, or left to people. ``check()`` is the verify
side: does the fix hold, measured on the same signals that opened the incident.

Nothing here runs anything, reads a file or renders a template: every input is data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import math
import re

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.reflexion.incident.plugins.module_utils._thresholds import ERROR_RATIO, P95_LATENCY_S

SCENARIOS = ("high_error_rate", "database_connection_issues", "memory_leak", "llm_api_failures")

# The Prometheus alerts each scenario answers (extensions/prometheus/reflexion_alerts.yml).
SCENARIO_ALERTS = {
    "high_error_rate": ["HighErrorRate", "ServiceDown"],
    "database_connection_issues": ["DatabaseConnectionFailures", "ServiceDown"],
    "memory_leak": ["HighMemoryUsage", "ServiceDown"],
    "llm_api_failures": ["LLMAPIFailures", "HighErrorRate", "ServiceDown"],
}

DEFAULT_THRESHOLDS = {
    "error_ratio": ERROR_RATIO,  # HighErrorRate's level
    "p95_latency_s": P95_LATENCY_S,  # the classify P1 level for p95
    "db_utilization_pct": 80.0,  # connections / max_connections
    "memory_used_pct": 85.0,  # a container at this share of its limit
    "deploy_window_h": 24.0,  # a checkout younger than this is a recent deployment
}

DEFAULT_SWITCHES = {
    "auto_mitigate": True,
    "rollback_confirm": False,
    "pg_cleanup_confirm": False,
    "restart_allow_database": False,
    "memory_relief_allow_drop_caches": False,
    "memory_leak_memory_limit": "",
}

# The switch that applies a guarded step. A step without an entry is reversible and applied
# automatically when auto_mitigate is on.
GUARDS = {
    "rollback": "rollback_confirm",
    "pg_cleanup": "pg_cleanup_confirm",
    "restart_database": "restart_allow_database",
    "drop_caches": "memory_relief_allow_drop_caches",
    "raise_memory_limit": "memory_leak_memory_limit",
}

# Steps that people do; the plan names them, nothing applies them.
MANUAL = ("increase_pool_size", "exponential_backoff", "rate_limit_increase", "check_api_key", "fix_the_leak")

# Markers of the LLM in an error line (high_error_rate: an external dependency is to blame).
LLM_WORDS = re.compile(r"(?i)llm|provider|openai|anthropic")


class PlanError(ValueError):
    """Bad input, reported as the action's failure message."""


def _num(value, name, default=None):
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise PlanError("%s: must be a number, got a boolean" % name)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise PlanError("%s: must be a number, got %r" % (name, str(value)[:40])) from None
    if math.isnan(out) or math.isinf(out):
        raise PlanError("%s: must be a finite number" % name)
    return out


def _bool(value, name):
    """A switch as AWX and -e pass it, read the way ``| bool`` reads it (an empty value is false)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return False
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise PlanError("switches.%s: must be a boolean (true/false, yes/no, on/off, 1/0), got %r"
                        % (name, str(value)[:40])) from None


def normalise(scenario, switches, thresholds):
    if scenario not in SCENARIOS:
        raise PlanError("scenario: must be one of %s, got %r" % (", ".join(SCENARIOS), str(scenario)[:60]))
    sw = dict(DEFAULT_SWITCHES)
    for key, value in (switches or {}).items():
        if key not in DEFAULT_SWITCHES:
            raise PlanError("switches: unknown switch %r (known: %s)" % (str(key)[:40], ", ".join(sorted(DEFAULT_SWITCHES))))
        sw[key] = value
    for key in DEFAULT_SWITCHES:
        if key == "memory_leak_memory_limit":
            limit = "" if sw[key] is None else str(sw[key]).strip()
            if limit and not re.match(r"^[0-9]+(\.[0-9]+)?[bkmgBKMG]?\Z", limit):
                raise PlanError("switches.memory_leak_memory_limit: a size like 4g or 512m, got %r" % limit[:40])
            sw[key] = limit
        else:
            sw[key] = _bool(sw[key], key)
    th = dict(DEFAULT_THRESHOLDS)
    for key, value in (thresholds or {}).items():
        if key not in DEFAULT_THRESHOLDS:
            raise PlanError(
                "thresholds: unknown threshold %r (known: %s)" % (str(key)[:40], ", ".join(sorted(DEFAULT_THRESHOLDS)))
            )
        th[key] = _num(value, "thresholds.%s" % key)
        if th[key] is None or th[key] < 0:
            raise PlanError("thresholds.%s: must be a number >= 0" % key)
    if th["error_ratio"] > 1:
        raise PlanError("thresholds.error_ratio: a share within 0..1, got %s" % th["error_ratio"])
    return sw, th


def _dict(evidence, key):
    value = (evidence or {}).get(key)
    if value is None or value.get("skipped"):
        return {}
    return value


def _step(action, title, why, params=None, together=False):
    return {
        "action": action,
        "title": title,
        "why": why,
        "params": params or {},
        "together": together,
        "guard": GUARDS.get(action, ""),
        "mode": "next",
        "needs": {},
        "command": "",
    }


# ---------------------------------------------------------------------------------------------
# Symptoms: what opened the incident, measured the same way at triage and at verify.


def symptoms(scenario, evidence, th, context=None):
    """The scenario's symptom lines found in the evidence (empty: no symptom)."""
    context = context or {}
    health = _dict(evidence, "health")
    metrics = _dict(evidence, "metrics")
    pg = _dict(evidence, "pg")
    memory = _dict(evidence, "memory")
    llm = _dict(evidence, "llm")
    found = []
    ratio = _num((metrics.get("rates") or {}).get("error_ratio"), "metrics.rates.error_ratio", 0.0)
    failing = sorted(
        name for name, p in (llm.get("providers") or {}).items() if isinstance(p, dict) and p.get("outcome", "ok") != "ok"
    )
    if scenario == "high_error_rate":
        if ratio >= th["error_ratio"]:
            found.append("5xx share %.1f%% >= %.1f%%" % (ratio * 100, th["error_ratio"] * 100))
        if health.get("status") == "down":
            found.append("service down: %s" % (health.get("reason") or "no answer"))
    elif scenario == "database_connection_issues":
        if pg and pg.get("connectable") is False:
            found.append("PostgreSQL unreachable: %s" % (pg.get("reason") or pg.get("error") or "no connection"))
        util = _num(pg.get("utilization_pct"), "pg.utilization_pct", 0.0)
        if util >= th["db_utilization_pct"]:
            found.append("connections at %.0f%% of max_connections (>= %.0f%%)" % (util, th["db_utilization_pct"]))
        if pg.get("long_running"):
            found.append("%d long-running queries (> 5 min)" % len(pg["long_running"]))
        if pg.get("idle_in_transaction"):
            found.append("%d sessions idle in transaction" % len(pg["idle_in_transaction"]))
        db = (health.get("components") or {}).get("db") or {}
        if db.get("status") == "down":
            found.append("the app reports its database down")
    elif scenario == "memory_leak":
        growing = app_growing(memory, context) + pattern_growing(memory, context)
        if growing:
            found.append("memory growing: %s" % ", ".join(sorted(set(str(s.get("name")) for s in growing))))
        if memory.get("oom_kills"):
            found.append("%d OOM kills" % len(memory["oom_kills"]))
        near = [
            c.get("name")
            for c in memory.get("containers") or []
            if _num(c.get("pct"), "memory.containers.pct", 0.0) >= th["memory_used_pct"]
        ]
        if near:
            found.append("near the memory limit (>= %.0f%%): %s" % (th["memory_used_pct"], ", ".join(str(n) for n in near)))
    elif scenario == "llm_api_failures":
        llm_comp = (health.get("components") or {}).get("llm") or {}
        if llm_comp.get("status") == "down":
            found.append("the app reports its LLM component down")
        if ratio >= th["error_ratio"] and failing:
            found.append("5xx share %.1f%% while %s fail" % (ratio * 100, ", ".join(failing)))
    return found


# ---------------------------------------------------------------------------------------------
# Memory: which containers are the app's and which grow (by compose labels, never by name).


def _is_app(item, context):
    return item.get("compose_project") == context.get("project", "reflexion") and item.get("compose_service") == context.get(
        "app_service", "reflexion"
    )


def app_growing(memory, context):
    return [s for s in memory.get("leak_suspects") or [] if s.get("compose_service") is not None and _is_app(s, context)]


def pattern_growing(memory, context):
    pattern = context.get("process_pattern") or ""
    if not pattern:
        return []
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise PlanError("context.process_pattern: not a regular expression (%s)" % exc) from None
    return [
        s
        for s in memory.get("leak_suspects") or []
        if s.get("kind") == "process" and rx.search("%s %s" % (s.get("name") or "", s.get("cmdline") or ""))
    ]


def memory_targets(memory, context):
    """Containers to restart: every app replica when the app grows, else the growing ones, else the biggest."""
    protected = set(context.get("protected_services") or ["postgres", "redis"])
    containers = [c for c in memory.get("containers") or [] if c.get("compose_service") not in protected]
    suspects = [s for s in memory.get("leak_suspects") or [] if s.get("compose_service") not in protected]
    if app_growing(memory, context):
        return [c["name"] for c in containers if _is_app(c, context)]
    growing = [s.get("name") for s in suspects if s.get("kind") == "container"]
    growing += [s.get("container") for s in pattern_growing(memory, context) if s.get("container")]
    if growing:
        return sorted(set(g for g in growing if g))
    biggest = sorted(containers, key=lambda c: _num(c.get("usage_mb"), "memory.containers.usage_mb", 0.0), reverse=True)
    return [c["name"] for c in biggest[:1]]


# ---------------------------------------------------------------------------------------------
# Database: who holds the connections (any client, any application_name).


def top_holder(pg, context):
    """The client group holding the most sessions: {application_name, user, client_addr, count, is_app}."""
    own = context.get("own_application_prefix", "reflexion.incident")
    groups = pg.get("holders")
    if not groups:
        groups = [
            {"application_name": name, "user": None, "client_addr": None, "count": count}
            for name, count in (pg.get("by_application") or {}).items()
        ]
    groups = [g for g in groups if not str(g.get("application_name") or "").startswith(own)]
    if not groups:
        return None
    best = sorted(groups, key=lambda g: (-int(g.get("count") or 0), str(g.get("application_name") or "")))[0]
    app_names = context.get("app_application_names") or [context.get("app_service", "reflexion")]
    app_users = context.get("app_users") or []
    name = best.get("application_name") or ""
    is_app = bool(name) and name in app_names
    is_app = is_app or (bool(app_users) and best.get("user") in app_users)
    holder = dict(best)
    holder["is_app"] = is_app
    return holder


def _describe_holder(h):
    parts = ["application_name=%s" % (repr(h.get("application_name")) if h.get("application_name") else "'' (none set)")]
    if h.get("user"):
        parts.append("user=%s" % h["user"])
    if h.get("client_addr"):
        parts.append("client=%s" % h["client_addr"])
    return "%s (%s sessions)" % (", ".join(parts), h.get("count"))


# ---------------------------------------------------------------------------------------------
# The steps of each scenario, in the runbook's order for the evidence at hand.


def _steps_high_error_rate(evidence, th, context):
    llm = _dict(evidence, "llm")
    failing = sorted(n for n, p in (llm.get("providers") or {}).items() if isinstance(p, dict) and p.get("outcome", "ok") != "ok")
    lines = [str(x) for x in context.get("error_lines") or []]
    llm_lines = [x for x in lines if LLM_WORDS.search(x)]
    llm_blamed = bool(failing) or (bool(lines) and 2 * len(llm_lines) >= len(lines))
    age = _num(context.get("deploy_age_hours"), "context.deploy_age_hours")
    recent = age is not None and age < th["deploy_window_h"]
    breaker = _step(
        "circuit_breaker",
        "enable the circuit breaker for the external service (DISABLE_EXTERNAL_SERVICE=true)",
        ("LLM providers failing: %s" % ", ".join(failing))
        if failing
        else "%d of the latest %d error lines name the LLM or a provider" % (len(llm_lines), len(lines)),
    )
    rollback = _step(
        "rollback",
        "roll back the recent deployment (git checkout previous-stable-tag)",
        "the running release was checked out %d h ago (< %.0f h)" % (int(age), th["deploy_window_h"])
        if recent
        else "no recent deployment seen",
        {"deploy_age_hours": age},
    )
    scale = _step(
        "scale",
        "scale up (docker compose up --scale %s=%s)" % (context.get("app_service", "reflexion"), context.get("replicas", 3)),
        "no external dependency or recent deployment to blame: capacity",
        {"replicas": context.get("replicas", 3)},
    )
    if llm_blamed:
        return [breaker] + ([rollback] if recent else []) + [scale]
    if recent:
        return [rollback, scale]
    return [scale]


def _steps_database(evidence, th, context):
    pg = _dict(evidence, "pg")
    if pg and pg.get("connectable") is False:
        return [
            _step(
                "restart_database",
                "restart the database (docker compose restart %s), the runbook's last resort"
                % context.get("db_service", "postgres"),
                "PostgreSQL does not accept connections",
            ),
            _step(
                "restart_app", "restart the application to reset its connection pool", "after the database is back", together=True
            ),
        ]
    util = _num(pg.get("utilization_pct"), "pg.utilization_pct", 0.0)
    manual = _step(
        "increase_pool_size",
        "increase the connection pool size / max_connections (configuration change)",
        "if the load is legitimate",
    )
    if util >= th["db_utilization_pct"]:
        holder = top_holder(pg, context)
        if holder and holder["is_app"]:
            return [
                _step(
                    "restart_app",
                    "restart the application to reset its connection pool",
                    "the app holds the connections: %s" % _describe_holder(holder),
                ),
                _step(
                    "pg_cleanup", "terminate the app's sessions", "if the restart does not release them", _cleanup_params(holder)
                ),
                manual,
            ]
        if holder:
            return [
                _step(
                    "pg_cleanup",
                    "terminate the sessions of the client holding the connections",
                    "connections at %.0f%%, held by %s" % (util, _describe_holder(holder)),
                    _cleanup_params(holder),
                ),
                _step(
                    "restart_app",
                    "restart the application to reset its connection pool",
                    "its pool saw connections fail",
                    together=True,
                ),
                manual,
            ]
    if pg.get("long_running") or pg.get("idle_in_transaction"):
        return [
            _step(
                "pg_cleanup",
                "terminate long-running and idle-in-transaction sessions",
                "%d long-running, %d idle in transaction"
                % (len(pg.get("long_running") or []), len(pg.get("idle_in_transaction") or [])),
                {"states": ["active", "idle in transaction"], "min_duration": 300},
            ),
            _step(
                "restart_app",
                "restart the application to reset its connection pool",
                "after the sessions are gone",
                together=True,
            ),
            manual,
        ]
    return [
        _step(
            "restart_app",
            "restart the application to reset its connection pool",
            "the app reports database trouble while PostgreSQL answers",
        ),
        manual,
    ]


def _cleanup_params(holder):
    params = {
        "application_names": [holder.get("application_name") or ""],
        "states": ["active", "idle", "idle in transaction"],
        "min_duration": 0,
        "cancel_first": False,
        "max_targets": max(int(holder.get("count") or 0), 1),
    }
    if holder.get("user"):
        params["users"] = [holder["user"]]
    return params


def _steps_memory(evidence, th, context, sw):
    memory = _dict(evidence, "memory")
    targets = memory_targets(memory, context)
    steps = []
    limit = sw["memory_leak_memory_limit"]
    if limit:
        steps.append(
            _step(
                "raise_memory_limit",
                "increase memory limits temporarily (docker update --memory=%s)" % limit,
                "the limit buys time until the leak is fixed",
                {"memory": limit},
            )
        )
    steps.append(
        _step(
            "restart_containers",
            "restart %s to free memory" % (", ".join(targets) or "nothing"),
            "growing or biggest containers (never %s)" % ", ".join(context.get("protected_services") or ["postgres", "redis"]),
            {"targets": targets},
            together=bool(limit),
        )
    )
    if not limit:
        steps.append(
            _step(
                "raise_memory_limit",
                "increase memory limits temporarily (docker update --memory=4g)",
                "if the restart does not hold",
                {"memory": "4g"},
            )
        )
    steps.append(
        _step("drop_caches", "clear the page cache (echo 3 > /proc/sys/vm/drop_caches)", "if the host is short of memory")
    )
    steps.append(
        _step("fix_the_leak", "find and fix the leak (memory profiling, git log --grep=memory)", "a restart only buys time")
    )
    return steps


def _steps_llm(evidence, th, context):
    llm = _dict(evidence, "llm")
    providers = llm.get("providers") or {}
    primary = context.get("primary_provider", "openai")
    ok = sorted(n for n, p in providers.items() if isinstance(p, dict) and p.get("outcome") == "ok" and n != primary)
    outcomes = dict((n, p.get("outcome")) for n, p in providers.items() if isinstance(p, dict))
    steps = []
    if ok:
        steps.append(
            _step(
                "llm_fallback",
                "switch to the backup API provider (FALLBACK_LLM_PROVIDER=%s)" % ok[0],
                "%s fails (%s), %s answers" % (primary, outcomes.get(primary, "?"), ok[0]),
                {"provider": ok[0]},
            )
        )
    steps.append(
        _step(
            "circuit_breaker",
            "open the circuit breaker (DISABLE_EXTERNAL_SERVICE=true)",
            "no provider answers" if not ok else "if the backup fails too",
        )
    )
    if "rate_limited" in outcomes.values():
        steps.append(_step("rate_limit_increase", "request a rate limit increase (contact the API provider)", "rate limited"))
        steps.append(_step("exponential_backoff", "implement exponential backoff (code change)", "rate limited"))
    if "auth_failed" in outcomes.values():
        steps.append(_step("check_api_key", "check the API key's validity and rotate it", "authentication failures"))
    return steps


def _command(context, scenario, needs):
    inventory = context.get("inventory") or ""
    parts = ["ansible-playbook"]
    if inventory:
        parts += ["-i", inventory]
    parts.append("playbooks/%s.yml" % scenario)
    if context.get("limit"):
        parts += ["--limit", context["limit"]]
    for key in sorted(needs):
        parts += ["-e", "%s=%s" % (key, str(needs[key]).lower() if isinstance(needs[key], bool) else needs[key])]
    return " ".join(parts)


def plan(scenario, evidence, switches=None, thresholds=None, context=None, tried=None):
    """The plan for one scenario run. See plugins/modules/plan.py RETURN for the shape."""
    sw, th = normalise(scenario, switches, thresholds)
    context = dict(context or {})
    tried = [str(t) for t in tried or []]
    found = symptoms(scenario, evidence, th, context)
    result = {
        "scenario": scenario,
        "symptom": bool(found),
        "symptoms": found,
        "steps": [],
        "apply": [],
        "proposed": [],
        "modes": {},
        "summary": "",
        "alerts": SCENARIO_ALERTS[scenario],
    }
    if not found:
        result["summary"] = "no %s symptom: nothing to mitigate" % scenario
        return result
    if scenario == "high_error_rate":
        steps = _steps_high_error_rate(evidence, th, context)
    elif scenario == "database_connection_issues":
        steps = _steps_database(evidence, th, context)
    elif scenario == "memory_leak":
        steps = _steps_memory(evidence, th, context, sw)
    else:
        steps = _steps_llm(evidence, th, context)
    lead = None
    for step in steps:
        if step["action"] in MANUAL:
            step["mode"] = "manual"
        elif step["action"] in tried:
            step["mode"] = "tried"
        elif lead is None or (step["together"] and lead["mode"] in ("apply", "propose")):
            needs = {}
            if step["guard"] and not sw[step["guard"]]:
                needs[step["guard"]] = "4g" if step["guard"] == "memory_leak_memory_limit" else True
            if not sw["auto_mitigate"]:
                needs["auto_mitigate"] = True
            if lead is not None and lead["mode"] == "propose":
                # a step that goes with a proposed one waits for it (the app restart after the cleanup)
                needs.update(lead["needs"])
            step["needs"] = needs
            step["mode"] = "propose" if needs else "apply"
            if needs:
                step["command"] = _command(context, scenario, needs)
            lead = lead or step
        result["modes"].setdefault(step["action"], step["mode"])
    for step in steps:
        if step["mode"] == "next":
            # what it would take to apply it when the lead does not hold: a re-run (the lead is then tried)
            needs = {}
            if step["guard"] and not sw[step["guard"]]:
                needs[step["guard"]] = "4g" if step["guard"] == "memory_leak_memory_limit" else True
            if not sw["auto_mitigate"]:
                needs["auto_mitigate"] = True
            step["needs"] = needs
            step["command"] = _command(context, scenario, needs)
    result["steps"] = steps
    result["apply"] = [s for s in steps if s["mode"] == "apply"]
    result["proposed"] = [s for s in steps if s["mode"] == "propose"]
    if result["apply"]:
        result["summary"] = "apply: " + "; then ".join(s["title"] for s in result["apply"])
    elif result["proposed"]:
        p = result["proposed"][0]
        result["summary"] = "proposed: %s (%s); run `%s`" % (p["title"], p["why"], p["command"])
    else:
        result["summary"] = "every automated step was tried; left to people: " + "; ".join(
            s["title"] for s in steps if s["mode"] == "manual"
        )
    nxt = [s for s in steps if s["mode"] == "next"]
    result["next"] = nxt[0] if nxt else None
    return result


def _epoch(text):
    """Prometheus' RFC 3339 activeAt (nanoseconds, Z) as epoch seconds; None when absent or unreadable."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)\Z", str(text or ""))
    if not m:
        return None
    stamp = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    offset = 0 if m.group(3) == "Z" else (int(m.group(3)[1:3]) * 60 + int(m.group(3)[4:6])) * (1 if m.group(3)[0] == "+" else -1)
    seconds = (stamp - datetime.datetime(1970, 1, 1)).total_seconds() - offset * 60
    return seconds + (float("0" + m.group(2)) if m.group(2) else 0.0)


def check(scenario, evidence, thresholds=None, accept_health=None, alerts=None, since=None, context=None):
    """Verify: does the fix hold? The scenario's own symptom re-measured, plus health, 5xx, p95 and new alerts."""
    _sw, th = normalise(scenario, None, thresholds)
    context = dict(context or {})
    accept = list(accept_health or ["healthy"])
    regressions = []
    # memory growth needs a series of samples after the restart; verify reads the level (limit share, OOM kills)
    ev = dict(evidence or {})
    if ev.get("memory"):
        ev["memory"] = dict(ev["memory"], leak_suspects=[])
    regressions += symptoms(scenario, ev, th, context)
    health = _dict(evidence, "health")
    if health and health.get("status") not in accept and not any(r.startswith("service down") for r in regressions):
        regressions.append("health %s (accepted: %s): %s" % (health.get("status"), ", ".join(accept), health.get("reason") or ""))
    rates = _dict(evidence, "metrics").get("rates") or {}
    ratio = _num(rates.get("error_ratio"), "metrics.rates.error_ratio")
    if ratio is not None and ratio > th["error_ratio"] and not any(r.startswith("5xx share") for r in regressions):
        regressions.append("5xx share %.1f%% > %.1f%%" % (ratio * 100, th["error_ratio"] * 100))
    p95 = _num(rates.get("p95_latency_s"), "metrics.rates.p95_latency_s")
    if p95 is not None and p95 > th["p95_latency_s"]:
        regressions.append("p95 latency %.2f s > %.2f s" % (p95, th["p95_latency_s"]))
    since_ts = _num(since, "since")
    watched = set(SCENARIO_ALERTS[scenario])
    for alert in alerts or []:
        if not isinstance(alert, dict) or alert.get("state") != "firing":
            continue
        name = (alert.get("labels") or {}).get("alertname")
        if name not in watched:
            continue
        started = _epoch(alert.get("activeAt"))
        # an alert that fired before the fix may still be inside its rate window: only new ones count
        if since_ts is not None and started is not None and started < since_ts:
            continue
        regressions.append("alert %s firing since the fix" % name)
    return {"scenario": scenario, "holds": not regressions, "regressions": regressions}
