"""Bad-input cases added by the Security II issue (#15), area: io. Same shapes as matrix.py's MODULES and ROLES."""

_LOG = {"paths": ["{tmp}/*.log"]}
_ITEMS = [{"name": "uname", "command": ["uname", "-a"]}]

MODULES = {
    # log_grep: time windows that overflowed the platform's time functions (a traceback before #15)
    "io-logs-since-huge-days": ("log_grep", dict(_LOG, since="99999999999d"), "since"),
    "io-logs-since-400-digits": ("log_grep", dict(_LOG, since="9" * 400 + "d"), "since"),
    "io-logs-tail-huge": ("log_grep", dict(_LOG, tail=10 ** 20), "tail"),  # review of #15: ssize_t overflow
    "io-logs-since-huge-weeks": ("log_grep", dict(_LOG, since="99999999w"), "since"),
    "io-logs-since-year-1": ("log_grep", dict(_LOG, since="0001-01-01T00:00:00Z"), "since"),
    "io-logs-since-year-1-east": ("log_grep", dict(_LOG, since="0001-01-01T00:00:00+14:00"), "since"),
    "io-logs-since-1969": ("log_grep", dict(_LOG, since="1969-12-31T00:00:00Z"), "since"),
    "io-logs-until-year-1": ("log_grep", dict(_LOG, until="0001-01-01"), "until"),
    "io-logs-until-year-9999-west": ("log_grep", dict(_LOG, until="9999-12-31T23:59:59-14:00"), "until"),
    # report_file: something that is not a regular file is neither read (hang, memory) nor replaced.
    # (No /dev/null case: before the fix, report_file replaced /dev/null with a regular file; a regression
    # must not break the machine the tests run on. /dev/zero fails on read first, FIFOs are in test_report_file.)
    "io-report-dev-zero": ("report_file", {"path": "/dev/zero", "content": "# Triage\n"}, "path"),
    "io-report-directory": ("report_file", {"path": "{tmp}", "content": "# Triage\n"}, "path"),
    # debug_bundle: a destination others can write to, or not a directory at all
    "io-bundle-dest-world-writable": ("debug_bundle", {"incident_id": "incident-io-1", "dest_dir": "/tmp",
                                                       "items": _ITEMS}, "dest_dir"),
    "io-bundle-dest-device": ("debug_bundle", {"incident_id": "incident-io-2", "dest_dir": "/dev/null",
                                               "items": _ITEMS}, "dest_dir"),
}

ROLES = {
}
