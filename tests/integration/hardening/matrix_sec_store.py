"""Bad-input cases of the incident store (issue 19, area: store). Same shapes as matrix.py's MODULES and ROLES.

Each must fail with a message naming the option, without a traceback, and write nothing (no directory, no table).
"""

_PG = {"store": "postgresql", "login_host": "127.0.0.1", "connect_timeout": 3}

MODULES = {
    "store-choice": ("incident", {"dir": "{tmp}/incidents", "store": "sqlite", "event": "open"}, "store"),
    "store-files-without-dir": ("incident", {"store": "files", "event": "open"}, "dir"),
    "store-pg-port-range": ("incident", dict(_PG, port=70000, event="open"), "port"),
    "store-pg-bad-dsn": ("incident", dict(_PG, dsn="host=127.0.0.1 port=abc", event="open"), "dsn"),
    "store-pg-timeout-zero": ("incident", dict(_PG, port="{pg_port}", connect_timeout=0, event="open"),
                              "connect_timeout"),
    # a real server, a wrong password: refused, named, nothing echoed, nothing created
    "store-pg-auth": ("incident", dict(_PG, port="{pg_port}", login_user="rxi_app", login_db="reflexion",
                                       login_password="rxi-secret-wrong-store-pw", event="open"), "store"),
    # nothing listens on port 1
    "store-pg-unreachable": ("incident", dict(_PG, port=1, event="open"), "store"),
    "store-read-without-id": ("incident", {"dir": "{tmp}/incidents", "event": "read"}, "id"),
    "store-read-traversal": ("incident", {"dir": "{tmp}/incidents", "event": "read", "id": "../../etc"}, "id"),
    "store-read-missing": ("incident", {"dir": "{tmp}/incidents", "event": "read", "id": "incident-2026-01-01-000000"},
                           "id"),
}

ROLES = {
    "store-pir-missing-incident": ("post_incident_review", None,
                                   {"post_incident_review_incident_id": "incident-2026-01-01-000000",
                                    "post_incident_review_incidents_dir": "{tmp}/incidents"},
                                   "post_incident_review_incident_id"),
}
