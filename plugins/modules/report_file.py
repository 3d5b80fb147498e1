#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: report_file
short_description: Write a report (the triage report) on the controller, its directory included
version_added: 0.1.0
description:
  - Writes O(content) to O(path) on the Ansible controller, creating the missing directories with
    O(directory_mode). The file is replaced atomically (a temporary file in the same directory, then a rename).
  - An action plugin that runs in the controller process. The triage role writes its report with it
    because C(ansible.builtin.file) plus C(ansible.builtin.template) with C(delegate_to=localhost)
    start two modules, about a second on the critical path of every triage.
  - The incident record itself is written by M(reflexion.incident.incident); this is for reports, the
    outputs of a run.
author:
  - Reflexion SRE team (@reflexion)
options:
  path:
    description:
      - Absolute path of the file on the controller.
      - When something exists there it must be a regular file; a FIFO, a device such as C(/dev/zero), a socket or
        a directory is neither read nor replaced, and the task fails naming O(path).
      - Of an existing file at most the size of O(content) plus one byte is read to compare it (plus 1 MiB for
        the diff, which then ends with a C([truncated ...]) line when the file is larger).
    type: path
    required: true
  content:
    description: What to write (already rendered and redacted, for example with the C(template) lookup).
    type: str
    required: true
  mode:
    description: Permissions of the file.
    type: raw
    default: "0600"
  directory_mode:
    description: Permissions of the directories created for it.
    type: raw
    default: "0700"
attributes:
  action:
    support: full
    description: Runs on the controller as an action plugin.
  check_mode:
    support: full
    description: In check mode nothing is written and RV(ignore:changed) says whether it would be. A task with
      C(check_mode=false) writes even under C(--check), as the triage role does for its report.
  diff_mode:
    support: full
    description: The old and new content.
  idempotent:
    support: full
    description: The same content at the same path is no change.
seealso:
  - module: reflexion.incident.incident
"""

EXAMPLES = r"""
- name: Report | write the Markdown report
  reflexion.incident.report_file:
    path: "{{ incident_dir }}/triage-{{ inventory_hostname }}.md"
    content: "{{ lookup('ansible.builtin.template', 'report.md.j2') }}"
"""

RETURN = r"""
path:
  description: The file written.
  returned: success
  type: str
size:
  description: Its size in bytes.
  returned: success
  type: int
"""
