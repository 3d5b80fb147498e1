#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: redis_probe
short_description: Check Redis connectivity, ping latency and memory (replaces redis-cli ping)
version_added: 0.1.0
description:
  - The runbook's "Check Redis connectivity" (C(redis-cli ping)) as a read-only probe.
  - Sends O(pings) PINGs over one connection and reports min, median and max latency, then reads a subset of
    C(INFO) (memory, clients, evictions, rejected connections, role).
  - A server that is down or refuses the password is reported as RV(status=down) with the error; the task fails
    only with O(fail_on_unhealthy=true).
author:
  - Reflexion SRE team (@reflexion)
extends_documentation_fragment:
  - reflexion.incident.probe
  - reflexion.incident.redis
options:
  pings:
    description: How many PINGs to send (1-1000).
    type: int
    default: 5
  slow_ms:
    description: A median ping above this many milliseconds makes the status V(degraded).
    type: float
    default: 50.0
  memory_degraded_pct:
    description: used_memory at or above this percentage of maxmemory (when set) makes the status V(degraded).
    type: float
    default: 90.0
seealso:
  - module: reflexion.incident.health_probe
"""

EXAMPLES = r"""
- name: Check Redis connectivity (runbook, Investigation and Diagnosis)
  reflexion.incident.redis_probe:
    login_host: 127.0.0.1
    login_port: 6379
    login_password: "{{ reflexion_redis_password | default(omit, true) }}"
  register: redis

- name: Over TLS, failing the task when Redis is not healthy
  reflexion.incident.redis_probe:
    login_host: redis.internal
    login_port: 6380
    tls: true
    ca_certs: /etc/ssl/certs/internal-ca.pem
    fail_on_unhealthy: true
"""

RETURN = r"""
status:
  description: V(healthy), V(degraded) (slow, memory near maxmemory, blocked clients) or V(down).
  returned: always
  type: str
  sample: healthy
reason:
  description: Why, in one line.
  returned: always
  type: str
timeout:
  description: The total deadline that was applied (O(timeout)), in seconds; null when not set.
  returned: always
  type: float
  sample: 3.0
pings_sent:
  description: How many PINGs were sent (fewer than O(pings) when the deadline O(timeout) passed).
  returned: always
  type: int
  sample: 5
connectable:
  description: Whether PING got PONG.
  returned: always
  type: bool
error:
  description: The error when not connectable, else null.
  returned: always
  type: str
  sample: "Error 111 connecting to 127.0.0.1:6379. Connection refused."
error_kind:
  description: V(unreachable), V(auth_failed), V(timeout) or V(error); null when connected.
  returned: always
  type: str
ping_ms:
  description: PING round trips in milliseconds.
  returned: always
  type: dict
  sample: {"min": 0.08, "median": 0.1, "max": 0.2}
info:
  description: >-
    A subset of INFO - redis_version, role, used_memory, used_memory_human, maxmemory, maxmemory_policy,
    connected_clients, blocked_clients, evicted_keys, rejected_connections, uptime_in_seconds - and
    used_memory_pct (null without maxmemory).
  returned: always
  type: dict
  sample: {"role": "master", "used_memory": 1021352, "maxmemory": 67108864, "used_memory_pct": 1.5, "connected_clients": 1}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._probe import finish
from ansible_collections.reflexion.incident.plugins.module_utils._probe_redis import RedisProbe, argument_spec, validate
from ansible_collections.reflexion.incident.plugins.module_utils._redis import ensure_redis


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    ensure_redis(module)
    validate(module)
    result = RedisProbe(module.params).run()
    finish(module, result)


if __name__ == "__main__":
    main()
