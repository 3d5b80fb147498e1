"""Bad-input cases of issue 17 item 2: the entry points scenario playbooks call with tasks_from now have specs.

Same shapes as matrix.py's ROLES. Before issue 17, triage's record/report/find_incident had no entry point in
meta/argument_specs.yml (and the playbooks called them as ``record.yml``, which names no entry point), so
these inputs reached the tasks and failed late on an undefined or mistyped variable, or not at all.
"""

MODULES = {}

ROLES = {
    "arch-triage-record-no-severity": ("triage", "record", {}, "triage_severity"),
    "arch-triage-report-severity-type": ("triage", "report", {"triage_severity": "P1", "triage_evidence": {}},
                                         "triage_severity"),
    "arch-triage-report-no-evidence": ("triage", "report", {"triage_severity": {"severity": "P1"}}, "triage_evidence"),
    "arch-triage-find-unresolved-maybe": ("triage", "find_incident", {"triage_find_unresolved_only": "maybe"},
                                          "triage_find_unresolved_only"),
}
