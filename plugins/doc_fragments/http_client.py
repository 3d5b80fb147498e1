# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """HTTP client options shared by the probes that call HTTP APIs."""

    DOCUMENTATION = r"""
options:
  timeout:
    description: Seconds allowed for one request, from DNS lookup to the last body byte.
    type: float
    default: 5.0
  validate_certs:
    description: Verify TLS certificates for V(https) URLs.
    type: bool
    default: true
notes:
  - Proxies are not used; the probe measures the direct path to the service.
"""
