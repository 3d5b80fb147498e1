#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: log_grep
short_description: Search application logs for error patterns, fast, with time windows and signatures
version_added: 0.1.0
description:
  - The runbook's C(grep -i error /var/log/reflexion/*.log | tail -20) and
    C(grep -E "(timeout|connection|failed)" /var/log/reflexion/*.log) as one read-only probe that
    returns structured evidence.
  - Counts matching lines per pattern (a line counts once per pattern, like C(grep -c)), keeps the
    last O(tail) matches with file, line number and timestamp, and groups all matches into
    C(signatures), messages with numbers, ids and hex masked, with counts (the runbook's
    "analyze error patterns").
  - Plain files are read in large blocks; the literals each pattern needs are searched first and only
    the lines they hit are checked with the regex. A O(since) window is found by binary search in
    plain files, and rotated files last written before O(since) are skipped, so a time window costs
    time proportional to the window, not to the file.
  - Rotated files (C(app.log.1), C(app.log.2.gz), C(app.log-20261126.gz)) are read with
    O(include_rotated=true); gzip files are recognised by their content.
  - Unreadable files, binary files and truncated gzip files are reported per file and skipped; the
    task does not fail.
  - Only regular files are read; a FIFO, a device or a socket is reported per file and skipped. A file
    that resolves (through a symlink) outside the directory its path or glob names is not read either;
    it is listed in RV(outside_root), with a warning.
  - A gzip file is decompressed up to 100 times its compressed size (at least 64 MiB); past that cap the
    rest is not scanned and the file's warnings say so with C([truncated]) (a gzip bomb).
author:
  - Reflexion SRE team (@reflexion)
extends_documentation_fragment:
  - reflexion.incident.probe
options:
  paths:
    description:
      - Files or glob patterns, for example V(/var/log/reflexion/*.log).
      - Each names a root directory, its part before any glob character (for a plain path, its directory);
        a match whose real path, symlinks resolved, is outside that root is skipped and listed in
        RV(outside_root). A root that is itself a symlink is followed.
    type: list
    elements: path
    required: true
    aliases: [path]
  include_rotated:
    description:
      - Also read the rotated siblings of each matched file (C(.1), C(.2.gz), C(-YYYYMMDD[.gz])).
    type: bool
    default: false
  patterns:
    description:
      - Regular expressions (Python syntax), matched against each line's bytes. A line that matches
        counts once per pattern.
      - Preset names are expanded, V(errors) is C(error) and V(network) is C(timeout|connection|failed)
        as in the runbook, V(llm) is C(rate limit|timeout|unauthorized) and V(http5xx) is C(500|error).
    type: list
    elements: str
    default: [errors]
  ignore_case:
    description:
      - Case-insensitive matching (ASCII letters), like C(grep -i).
    type: bool
    default: true
  since:
    description:
      - Only lines at or after this time, V(1h), V(30m), V(2d), V(90s) ago, or an ISO 8601 time.
      - Lines without a timestamp belong to the entry above them (stack traces).
      - Times without a zone, in the option and in the logs, are the target host's local time.
      - A duration longer than 100 years, or a time before 1970 or after 9999, fails naming the option.
      - A file in which not one line has a timestamp log_grep recognises cannot be placed in time, so it is
        scanned whole (without the window), counted in RV(unparsed_timestamps) and named in a warning
        and in RV(reason), never reported as quiet.
    type: str
  until:
    description:
      - Only lines at or before this time (same syntax as O(since)).
    type: str
  tail:
    description:
      - How many of the last matches to return (over all files, oldest file first).
    type: int
    default: 20
  max_line_length:
    description:
      - Returned lines are cut to this many bytes; longer lines are counted and reported per file.
    type: int
    default: 2048
  top_signatures:
    description:
      - How many of the most frequent signatures to return.
    type: int
    default: 10
  unhealthy_matches:
    description:
      - Total matches at or above this make RV(status) V(down); above zero it is V(degraded).
    type: int
    default: 100
  workers:
    description:
      - Processes that share the whole-file scan of a large plain log (64 MiB or more, no O(since)
        or O(until)), each taking a line-aligned part; the results are merged in file order.
      - V(0) uses the CPUs this process may run on, at most 4. V(1) keeps the scan on one core.
    type: int
    default: 0
  engine:
    description:
      - How a whole-file scan (no O(since), no O(until)) finds its lines.
      - V(auto) runs the host's GNU grep (C(LC_ALL=C grep -n -b -F), under C(timeout) with what is left of
        O(timeout)) as a prefilter on the literals every match of the patterns must contain, and confirms
        only the lines it prints in Python. A rotated .gz file is decompressed by this process (zlib, in a
        thread, with the same expansion cap and damage handling as V(python)) into a pipe that grep reads.
        It falls back to V(python) when the host has no GNU grep or C(timeout), when a pattern has no such
        literal, when the file (or the decompressed .gz) has NUL bytes past its start, when the matching
        lines pass 256 MiB, or when grep fails (said in RV(files[].warnings)). RV(files[].engine) tells which
        one scanned each file.
      - V(python) scans in this process only; O(workers) applies to the Python path only.
      - Both give the same counts, matches, signatures and line numbers.
    type: str
    choices: [auto, python]
    default: auto
notes:
  - Matching is on bytes; invalid UTF-8 in returned lines is shown as U+FFFD and counted per file.
  - With O(since) the line numbers of a plain file are unknown (null) when the scan started after a
    binary search instead of at the first line; RV(matches[].offset) is always the byte offset.
seealso:
  - module: reflexion.incident.health_probe
"""

EXAMPLES = r"""
- name: Log analysis (runbook, Investigation and Diagnosis)
  reflexion.incident.log_grep:
    paths: /var/log/reflexion/*.log
    patterns: [errors, network]
    since: 1h
    tail: 20
  register: logs

- name: LLM API failures in the current and rotated logs
  reflexion.incident.log_grep:
    paths: /var/log/reflexion/app.log
    include_rotated: true
    patterns: [llm]
    since: "2026-11-26T22:00:00Z"
"""

RETURN = r"""
status:
  description: V(healthy) (no match), V(degraded) (some) or V(down) (O(unhealthy_matches) or more).
  returned: always
  type: str
  sample: degraded
reason:
  description: Why, in one line.
  returned: always
  type: str
  sample: "42 matching line(s) in 2 file(s); top: ERROR app.db could not connect (attempt <n>)"
total_matches:
  description: Lines that match at least one pattern.
  returned: always
  type: int
counts:
  description: Matching lines per pattern (keyed by the pattern or preset name as given).
  returned: always
  type: dict
  sample: {"errors": 40, "network": 12}
matches:
  description: The last O(tail) matching lines, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: The file.
      type: str
    line:
      description: 1-based line number, or null when unknown (see notes).
      type: int
    offset:
      description: Byte offset of the line in the (decompressed) file.
      type: int
    timestamp:
      description: The entry's time, ISO 8601 UTC, or null when the line and those above it have none.
      type: str
    text:
      description: The line, cut to O(max_line_length).
      type: str
signatures:
  description: The most frequent messages with numbers, ids and hex masked, and their counts.
  returned: always
  type: list
  elements: dict
  sample: [{"signature": "ERROR app.db could not connect to server (attempt <n>)", "count": 31}]
signatures_approximate:
  description: True when there were so many distinct messages that rare ones were dropped from the counts.
  returned: always
  type: bool
files:
  description: One entry per file considered, with what was read or why it was skipped.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
    matches:
      description: Matching lines in this file.
      type: int
    bytes_scanned:
      description: Bytes searched (decompressed for gzip).
      type: int
    lines_scanned:
      description: Lines searched.
      type: int
    compressed:
      description: Whether the file is gzip.
      type: bool
    timestamp_format:
      description: The detected timestamp format (iso8601, python, syslog, clf, json) or null.
      type: str
    skipped:
      description: Why the file was skipped (unreadable, binary, older than since, ...), else null.
      type: str
    workers:
      description: How many processes scanned the file (more than 1 only for a large plain file scanned whole).
      type: int
    engine:
      description:
        - V(grep) when the host's GNU grep prefiltered the file (a .gz one decompressed by this process into
          grep's pipe, RV(files[].compressed)), V(python) when this process scanned it all (see O(engine)); null
          for a file that was skipped.
      type: str
      sample: grep
    unparsed_timestamps:
      description:
        - Lines of this file scanned without the O(since)/O(until) window because not one of its lines has a
          timestamp log_grep recognises; 0 when the window applied (or none was given).
      type: int
    outside_root:
      description: True when the file resolves outside the directory its path or glob names (then not read).
      type: bool
    warnings:
      description: Problems met while reading (truncated or capped gzip, timestamps not recognised, invalid UTF-8,
        long lines).
      type: list
      elements: str
bytes_scanned:
  description: Total bytes searched.
  returned: always
  type: int
lines_scanned:
  description: Total lines searched.
  returned: always
  type: int
unparsed_timestamps:
  description:
    - Lines scanned without the time window, over all files, because their file has no timestamp log_grep
      recognises (see O(since)). Above 0, RV(reason) and a warning name the files.
  returned: always
  type: int
  sample: 0
timeout:
  description: The total scan deadline that was applied, in seconds (O(timeout), or its default).
  returned: always
  type: float
  sample: 300.0
timed_out:
  description:
    - Whether the deadline (O(timeout)) passed before every file was scanned whole. The counts and matches are
      then partial, the files not reached are listed in RV(files) as skipped, and a V(healthy) status becomes
      V(degraded).
  returned: always
  type: bool
  sample: false
outside_root:
  description: Files that resolve outside the directory their path or glob names; skipped, never read.
  returned: always
  type: list
  elements: str
  sample: ["/var/log/reflexion/evil.log"]
window:
  description: The time window applied, ISO 8601 UTC (null ends when not given).
  returned: always
  type: dict
  sample: {"since": "2026-11-26T21:41:18Z", "until": null}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._probe import finish
from ansible_collections.reflexion.incident.plugins.module_utils._probe_logs import LogGrep, argument_spec, validate


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    patterns, since, until = validate(module)
    result = LogGrep(module.params, patterns, since, until, find_bin=module.get_bin_path,
                     run_command=module.run_command).run()
    finish(module, result)


if __name__ == "__main__":
    main()
