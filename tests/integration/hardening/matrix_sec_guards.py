"""Bad-input cases added by the Security II issue (#15), area: guards. Same shapes as matrix.py's MODULES and ROLES."""

MODULES = {
}

ROLES = {
    # guard switches of a bad type: refused by the role's argument spec before anything runs
    "guards-restart-database-maybe": ("restart", None, {"restart_database": "maybe"}, "restart_database"),
    "guards-restart-allow-db-maybe": ("restart", None, {"restart_allow_database": "perhaps"}, "restart_allow_database"),
    "guards-pg-cleanup-confirm-maybe": ("pg_cleanup", None, {"pg_cleanup_confirm": "maybe"}, "pg_cleanup_confirm"),
    "guards-memory-relief-drop-maybe": ("memory_relief", None, {"memory_relief_allow_drop_caches": "maybe"},
                                        "memory_relief_allow_drop_caches"),
    "guards-rollback-any-ref-maybe": ("rollback", None, {"rollback_allow_any_ref": "maybe"}, "rollback_allow_any_ref"),
    "guards-rollback-any-ref-list": ("rollback", None, {"rollback_allow_any_ref": ["true"]}, "rollback_allow_any_ref"),
    "guards-circuit-breaker-verify-maybe": ("circuit_breaker", None, {"circuit_breaker_verify": "maybe"},
                                            "circuit_breaker_verify"),
    # rollback to a ref that is not a plain tag name (option injection, a revision expression)
    "guards-rollback-to-option": ("rollback", None, {"rollback_to": "--orphan"}, "rollback_to"),
    "guards-rollback-to-revision-expr": ("rollback", None, {"rollback_to": "HEAD@{1}"}, "rollback_to"),
    # the mitigation lock's own options
    "guards-lock-missing-owner": ("mitigation_lock", None, {}, "mitigation_lock_owner"),
    "guards-lock-owner-injection": ("mitigation_lock", None, {"mitigation_lock_owner": "scale; rm -rf /"},
                                    "mitigation_lock_owner"),
    "guards-lock-project-traversal": ("mitigation_lock", None, {"mitigation_lock_owner": "scale",
                                                                "mitigation_lock_project": "../../etc/passwd"},
                                      "mitigation_lock_project"),
    "guards-lock-stale-zero": ("mitigation_lock", None, {"mitigation_lock_owner": "scale",
                                                         "mitigation_lock_stale_seconds": 0},
                               "mitigation_lock_stale_seconds"),
    "guards-lock-stale-type": ("mitigation_lock", None, {"mitigation_lock_owner": "scale",
                                                         "mitigation_lock_stale_seconds": "an hour"},
                               "mitigation_lock_stale_seconds"),
    "guards-lock-dir-relative": ("mitigation_lock", None, {"mitigation_lock_owner": "scale",
                                                           "mitigation_lock_dir": "relative/locks"},
                                 "mitigation_lock_dir"),
    "guards-lab-remove-volumes-maybe": ("reflexion.lab.lab", None, {"lab_state": "absent", "lab_remove_volumes": "maybe"},
                                        "lab_remove_volumes"),
}
