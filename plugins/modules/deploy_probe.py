#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: deploy_probe
short_description: Recent deploys of the deployment checkout (replaces git log --oneline -10)
version_added: 0.2.0
description:
  - The runbook's "check recent deployments" - the last O(count) commits of the deployment checkout (C(git log
    --oneline -10)), its C(git describe --tags), and when HEAD last moved there (C(git log -g -1 --format=%ct HEAD),
    the reflog; the HEAD commit's time when there is no reflog).
  - Read-only - git runs with no pager, no optional locks and C(core.fsmonitor) off, under one deadline (O(timeout)).
  - Never fails because the directory is missing or not a git checkout - RV(is_git_repo) is false and
    RV(reason) says why. A repository git refuses (C(safe.directory), another owner) is reported the same way;
    the probe does not override git's ownership check.
  - Deploys are context, not a fault - the status is always V(healthy); RV(recent_deploy) says whether HEAD moved
    within O(recent_window).
author:
  - Reflexion SRE team (@reflexion)
extends_documentation_fragment:
  - reflexion.incident.probe
options:
  path:
    description: Absolute path of the deployment checkout (the compose project directory).
    type: path
    required: true
  count:
    description: How many commits to list (1-100).
    type: int
    default: 10
  recent_window:
    description: A checkout at or after this is a recent deploy (C(24h), C(30m), C(2d) ago, or an ISO 8601 time).
    type: str
    default: 24h
seealso:
  - module: reflexion.incident.triage_probe
"""

EXAMPLES = r"""
- name: Recent deploys of the deployment checkout
  reflexion.incident.deploy_probe:
    path: /opt/reflexion
  register: deploys

- name: Show them
  ansible.builtin.debug:
    msg: "{{ deploys.oneline }} (checked out {{ deploys.checkout_time }})"
"""

RETURN = r"""
status:
  description: Always V(healthy) (deploys are context, not a fault).
  returned: always
  type: str
reason:
  description: HEAD, its describe and the checkout time, or why there is no deploy history.
  returned: always
  type: str
  sample: "HEAD v1.1.0 (3f2a9c1 release 1.1.0), checked out 2026-11-27T03:01:12Z; a deploy since 2026-11-26T03:09:47Z"
path:
  description: The checkout probed.
  returned: always
  type: str
is_git_repo:
  description: Whether O(path) is a git checkout git agrees to read.
  returned: always
  type: bool
commits:
  description:
    - The last O(count) commits, newest first - C(sha), C(short), C(epoch) and C(time) (commit time), C(author),
      C(refs) (branches and tags pointing at it), C(subject) and C(oneline) (as C(git log --oneline) prints it;
      secrets in subjects masked).
  returned: always
  type: list
  elements: dict
oneline:
  description: C(git log --oneline) lines, newest first.
  returned: always
  type: list
  elements: str
  sample: ["3f2a9c1 release 1.1.0", "8be01d2 release 1.0.0"]
head:
  description: The full sha of HEAD, or null.
  returned: always
  type: str
describe:
  description: C(git describe --tags --always) of HEAD, or null.
  returned: always
  type: str
  sample: v1.1.0
checkout_epoch:
  description: When HEAD last moved in this checkout (epoch seconds), or null.
  returned: always
  type: int
checkout_time:
  description: RV(checkout_epoch) as ISO 8601 UTC.
  returned: always
  type: str
checkout_source:
  description: V(reflog) (HEAD's reflog), V(head_commit) (no reflog - the HEAD commit's time), or null.
  returned: always
  type: str
recent_since:
  description: The start of O(recent_window), ISO 8601 UTC.
  returned: always
  type: str
recent_deploy:
  description: Whether HEAD moved at or after RV(recent_since).
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._probe import finish
from ansible_collections.reflexion.incident.plugins.module_utils._probe_deploys import DeployProbe, argument_spec, validate


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    extra = validate(module)
    finish(module, DeployProbe(module.params, *extra, run_command=module.run_command).run())


if __name__ == "__main__":
    main()
