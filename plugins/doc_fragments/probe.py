# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options and attributes every member of the ``probes`` action group shares.

    Every member accepts all of these options, so that ``module_defaults`` for
    ``group/reflexion.incident.probes`` can set them once for every probe."""

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
      - Accepted by every probe of the C(probes) action group; probes with a single target ignore it.
    type: int
    default: 16
  timeout:
    description:
      - The probe's deadline in seconds, more than 0 and at most 86400 (a finite number).
      - Accepted by every member of the C(probes) action group, so that
        C(module_defaults) for C(group/reflexion.incident.probes) can set it once.
      - When not set, each probe uses its own default.
      - M(reflexion.incident.health_probe), M(reflexion.incident.metrics_probe) and
        M(reflexion.incident.llm_api_probe) - one total deadline per HTTP request (DNS lookup to the last body byte);
        default V(5).
      - M(reflexion.incident.log_grep) - the total scan deadline over all files (default V(300)). When it passes,
        scanning stops, the counts are partial, RV(ignore:timed_out) is true and a V(healthy) status becomes
        V(degraded).
      - M(reflexion.incident.pg_activity_probe) - a deadline separate from O(ignore:connect_timeout); the connect
        waits at most the smaller of the two, and C(statement_timeout) of each query is at most O(timeout).
        Not set by default (then O(ignore:connect_timeout) and O(ignore:statement_timeout) alone bound it).
      - M(reflexion.incident.redis_probe) - the probe's total deadline, separate from O(ignore:connect_timeout); each
        connect and command waits at most the smaller of the two, and no further ping is sent once it has passed.
        Not set by default (then O(ignore:connect_timeout) alone bounds each step).
      - M(reflexion.incident.memory_probe) - no sample is started after it, and each Docker Engine call waits at most
        that long (at most 10 s). Not set by default (then O(ignore:samples) times O(ignore:interval) bounds it).
      - M(reflexion.incident.disk_probe) (default V(5)), M(reflexion.incident.container_probe) (default V(20)) and
        M(reflexion.incident.deploy_probe) (default V(10)) - one deadline for all their work, at most V(300).
      - M(reflexion.incident.triage_probe) - passed down to every probe whose dictionary does not set its own.
    type: float
  validate_certs:
    description:
      - Verify TLS certificates.
      - Honoured by M(reflexion.incident.health_probe), M(reflexion.incident.metrics_probe) and
        M(reflexion.incident.llm_api_probe) for V(https) URLs, and by M(reflexion.incident.redis_probe) with
        O(ignore:tls=true).
      - Accepted and ignored by the probes that make no TLS connection of their own (M(reflexion.incident.log_grep),
        M(reflexion.incident.memory_probe), M(reflexion.incident.disk_probe), M(reflexion.incident.container_probe),
        M(reflexion.incident.deploy_probe)); ignored by M(reflexion.incident.pg_activity_probe) too, whose
        certificate checks are set by O(ignore:ssl_mode).
      - M(reflexion.incident.triage_probe) passes it down to every probe whose dictionary does not set its own.
    type: bool
    default: true
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
