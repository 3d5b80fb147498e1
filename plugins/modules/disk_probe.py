#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: disk_probe
short_description: Free space of the filesystems holding given paths (replaces df -h)
version_added: 0.2.0
description:
  - The runbook's C(df -h) (Debug Information) and C(df -h /var/lib/postgresql/data/) (Database Connection Issues)
    as one read-only probe - for each filesystem that holds one of O(paths) - size, used, available, df's Use% and
    the inodes in use.
  - A path that does not exist (yet, or on this host) is measured on its closest existing parent, and RV(paths)
    says so (C(exists=false)).
  - A filesystem at or above O(full_pct) (space or inodes) is evidence - the probe is V(degraded) and says which.
  - Each path is measured under one deadline (O(timeout)), so a hung network filesystem cannot hold the probe.
author:
  - Reflexion SRE team (@reflexion)
extends_documentation_fragment:
  - reflexion.incident.probe
options:
  paths:
    description:
      - Absolute paths whose filesystems to measure (the log directory, the compose project directory, the
        database data directory). Paths on the same filesystem are reported once, under that filesystem.
    type: list
    elements: path
    required: true
  full_pct:
    description: Used space (or inodes) in percent at or above which a filesystem counts as full.
    type: float
    default: 90.0
seealso:
  - module: reflexion.incident.triage_probe
"""

EXAMPLES = r"""
- name: Disk space of the log, deployment and database directories
  reflexion.incident.disk_probe:
    paths: [/var/log/reflexion, /opt/reflexion, /var/lib/postgresql/data]
    full_pct: 90
  register: disk
"""

RETURN = r"""
status:
  description: V(healthy), or V(degraded) when a filesystem is full or a path could not be measured.
  returned: always
  type: str
reason:
  description: Each filesystem's Use% and free space, or what is full.
  returned: always
  type: str
  sample: "/ 25.0% used, 77.0G free"
filesystems:
  description:
    - One entry per filesystem, with its C(mount) point, C(source) (device), C(fstype), C(size_mb), C(used_mb),
      C(avail_mb), C(used_pct) (df's Use% - used / (used + available), rounded up), C(size_h) and C(avail_h)
      (df -h style), C(inodes), C(inodes_free), C(inodes_used_pct), C(full) and the given C(paths) it holds.
  returned: always
  type: list
  elements: dict
  sample: [{"mount": "/", "source": "/dev/vda", "fstype": "ext4", "size_mb": 258048.0, "used_mb": 26624.0,
            "avail_mb": 78848.0, "used_pct": 25.3, "size_h": "252.0G", "avail_h": "77.0G", "inodes": 16384000,
            "inodes_free": 15000000, "inodes_used_pct": 8.5, "full": false, "paths": ["/var/log/reflexion"]}]
paths:
  description:
    - One entry per given path - C(path), C(exists), C(measured) (the path measured - the closest existing parent
      when it does not exist), C(mount) and C(error) (why it could not be measured, else null).
  returned: always
  type: list
  elements: dict
full_pct:
  description: The threshold used.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._probe import finish
from ansible_collections.reflexion.incident.plugins.module_utils._probe_disk import DiskProbe, argument_spec, validate


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    validate(module)
    finish(module, DiskProbe(module.params).run())


if __name__ == "__main__":
    main()
