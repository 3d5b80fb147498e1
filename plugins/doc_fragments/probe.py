# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options and attributes every read-only probe shares."""

    DOCUMENTATION = r"""
options:
  fail_on_unhealthy:
    description:
      - Fail the task when the overall RV(ignore:status) is not V(healthy).
      - By default a probe reports what it found and never fails because the thing probed is down,
        so that triage can go on collecting evidence.
    type: bool
    default: false
  max_workers:
    description:
      - How many targets are probed at once.
    type: int
    default: 16
attributes:
  check_mode:
    support: full
    description: The probe only reads; it behaves the same in check mode.
  diff_mode:
    support: none
    description: A probe has nothing to diff.
  idempotent:
    support: full
    description: A probe never changes anything; RV(ignore:changed) is always false.
"""
