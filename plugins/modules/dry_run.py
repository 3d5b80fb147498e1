#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: dry_run
short_description: Tell whether this task runs as a dry run (check mode from any source)
version_added: 0.1.0
description:
  - Returns RV(dry_run=true) when the task runs in check mode, whether check mode comes from C(--check),
    from a C(check_mode) keyword on the play or a block, or from the C(include_role) that runs the role.
  - C(ansible_check_mode) reflects only C(--check); the mitigation roles of this collection use this action
    once, at their start, to decide whether they only print what they would do.
  - An action plugin that runs on the controller; it needs no connection to the host.
author:
  - Reflexion SRE team (@reflexion)
options: {}
attributes:
  action:
    support: full
    description: Runs on the controller as an action plugin.
  check_mode:
    support: full
    description: Runs in check mode too; that is its purpose.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
  platform:
    support: full
    platforms: posix
    description: Needs no connection to the target.
"""

EXAMPLES = r"""
- name: Detect check mode (from --check or a check_mode keyword on the play or include)
  reflexion.incident.dry_run:
  register: restart_mode

- name: Restart only on a real run
  ansible.builtin.debug:
    msg: restarting
  when: not restart_mode.dry_run
"""

RETURN = r"""
dry_run:
  description: Whether the task ran in check mode.
  returned: success
  type: bool
  sample: false
"""

# The work is done by the action plugin of the same name (plugins/action/dry_run.py).
