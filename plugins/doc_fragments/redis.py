# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Redis connection options."""

    DOCUMENTATION = r"""
options:
  login_host:
    description: Host name or address of the Redis server.
    type: str
    default: 127.0.0.1
    aliases: [host]
  login_port:
    description: TCP port of the Redis server (1-65535).
    type: int
    default: 6379
    aliases: [port]
  login_user:
    description: ACL user name (Redis 6 and later). Without it, O(login_password) is the C(requirepass) password.
    type: str
    aliases: [user]
  login_password:
    description: Password (C(AUTH)). Never logged.
    type: str
    aliases: [password]
  db:
    description: Database number to select.
    type: int
    default: 0
  tls:
    description: Connect with TLS (O(validate_certs) then says whether the server's certificate is verified).
    type: bool
    default: false
  ca_certs:
    description: With O(tls=true), a file of trusted certificate authorities.
    type: path
  connect_timeout:
    description:
      - Seconds allowed to connect and for each command.
      - O(timeout), when set, is the probe's total deadline and caps this value.
    type: float
    default: 2.0
requirements:
  - redis (the Python client; C(redis) from PyPI or C(python3-redis) from Debian) on the managed host.
"""
