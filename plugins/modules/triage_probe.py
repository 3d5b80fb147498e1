#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: triage_probe
short_description: Run several probes in one invocation, at once (the triage's whole detect step)
version_added: 0.1.0
description:
  - Runs any of M(reflexion.incident.health_probe), M(reflexion.incident.metrics_probe),
    M(reflexion.incident.log_grep), M(reflexion.incident.pg_activity_probe), M(reflexion.incident.redis_probe),
    M(reflexion.incident.memory_probe), M(reflexion.incident.llm_api_probe), M(reflexion.incident.disk_probe),
    M(reflexion.incident.container_probe) and M(reflexion.incident.deploy_probe) in one module invocation,
    each on its own thread.
  - Each option is the dictionary of options of the probe module it names, validated exactly as that
    module validates them (types, defaults, choices, environment fallbacks, no_log). Omit an option to
    skip that probe.
  - The reason for it is cost. In Ansible every task costs a module start-up on the host (about half a second locally, more
    over SSH), and the probes wait (a metrics sample interval, memory samples). One invocation with
    concurrent probes takes as long as the slowest probe instead of the sum of one task per probe.
  - Read-only, like every probe; RV(ignore:changed) is always false.
  - The common options of the C(probes) action group (O(timeout), O(validate_certs), O(max_workers)) are passed
    down to every probe whose dictionary does not set them itself; O(fail_on_unhealthy) applies to the
    overall RV(status).
author:
  - Reflexion SRE team (@reflexion)
extends_documentation_fragment:
  - reflexion.incident.probe
options:
  health:
    description: Options of M(reflexion.incident.health_probe) (for example C(urls), C(detailed)).
    type: dict
  metrics:
    description:
      - Options of M(reflexion.incident.metrics_probe) (for example C(urls), C(sample_interval)).
      - With C(prometheus_url) and no C(query), the rates come from Prometheus without waiting for C(sample_interval);
        the two scrapes are the fallback.
    type: dict
  logs:
    description:
      - Options of M(reflexion.incident.log_grep) (for example C(paths), C(patterns), C(since)).
      - Its C(workers) is 1 unless given, because a process that runs threads should not fork.
    type: dict
  pg:
    description: Options of M(reflexion.incident.pg_activity_probe) (for example C(login_host), C(login_password)).
    type: dict
  redis:
    description: Options of M(reflexion.incident.redis_probe) (for example C(login_host), C(login_port)).
    type: dict
  memory:
    description: Options of M(reflexion.incident.memory_probe) (for example C(compose_project), C(samples)).
    type: dict
  llm:
    description: Options of M(reflexion.incident.llm_api_probe) (for example C(providers)).
    type: dict
  disk:
    description: Options of M(reflexion.incident.disk_probe) (for example C(paths), C(full_pct)).
    type: dict
  containers:
    description:
      - Options of M(reflexion.incident.container_probe) (for example C(compose_project), C(services), C(logs)).
    type: dict
  deploys:
    description: Options of M(reflexion.incident.deploy_probe) (for example C(path), C(count)).
    type: dict
attributes:
  check_mode:
    support: full
    description: The probes only read; they behave the same in check mode.
  diff_mode:
    support: none
    description: A probe has nothing to diff.
  idempotent:
    support: full
    description: A probe never changes anything.
notes:
  - Secrets inside the dictionaries (C(login_password), C(dsn), C(api_key), C(headers) values, URL passwords,
    and the C(OPENAI_API_KEY)/C(ANTHROPIC_API_KEY) the llm probe reads from the environment) are masked in every
    output, including the failure message when an option of any probe is invalid, and in every form
    (also stripped of surrounding whitespace and escaped, as an error message may quote them).
  - Bad options of any probe fail the task before any probe runs, with a message naming the probe and the option.
  - A probe whose Python library is missing on the host (psycopg2, redis, prometheus_client) is skipped with a
    warning and listed in RV(unavailable); the others run.
seealso:
  - module: reflexion.incident.classify
  - module: reflexion.incident.health_probe
  - module: reflexion.incident.log_grep
"""

EXAMPLES = r"""
- name: Detect | every probe at once (the triage role does this)
  reflexion.incident.triage_probe:
    health:
      urls: [http://127.0.0.1:8000/health]
      detailed: true
    metrics:
      urls: [http://127.0.0.1:8000/metrics]
      prefix: reflexion_
      sample_interval: 3
      # the rates Prometheus already computed over 1m (no wait); the two scrapes 3 s apart if it does not answer
      prometheus_url: http://127.0.0.1:9090
      prometheus_selector: job="reflexion"
    logs:
      paths: [/var/log/reflexion/*.log]
      patterns: [errors, network]
      since: 1h
    pg:
      login_host: 127.0.0.1
      login_user: postgres
      login_password: "{{ reflexion_pg_password }}"
    redis:
      login_host: 127.0.0.1
    memory:
      compose_project: reflexion
    llm:
      providers:
        - name: openai
          api_key: "{{ reflexion_openai_api_key }}"
    disk:
      paths: [/var/log/reflexion, /opt/reflexion]
    containers:
      compose_project: reflexion
      logs:
        services: [reflexion]
        unless_files: [/var/log/reflexion/*.log]
    deploys:
      path: /opt/reflexion
  register: evidence

- name: Feed the evidence to classify
  reflexion.incident.classify:
    health: "{{ evidence.probes.health }}"
    metrics: "{{ evidence.probes.metrics }}"
    logs: "{{ evidence.probes.logs }}"
"""

RETURN = r"""
status:
  description: The worst status over the probes that ran (V(healthy), V(degraded) or V(down)).
  returned: always
  type: str
reason:
  description: Every probe that is not healthy, with its reason.
  returned: always
  type: str
probes:
  description:
    - One entry per probe that ran (C(health), C(metrics), C(logs), C(pg), C(redis), C(memory), C(llm), C(disk),
      C(containers), C(deploys)),
      each exactly the result its own module returns. A probe that crashed has C(status=down) and the error.
  returned: always
  type: dict
timings_ms:
  description: Wall time of each probe, in milliseconds (they run at the same time).
  returned: always
  type: dict
unavailable:
  description:
    - Probes that could not run because their Python library is missing on the host (name -> why).
      Their entry in RV(probes) is C(skipped=true), which M(reflexion.incident.classify) counts as missing
      evidence; the task does not fail, because the other probes' evidence matters more during an outage.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._batch import (
    PROBE_NAMES,
    BadProbeInputError,
    batch_secrets,
    overall,
    prepare,
    run_all,
)
from ansible_collections.reflexion.incident.plugins.module_utils._probe import PROBE_COMMON_SPEC, finish, resolve_timeout
from ansible_collections.reflexion.incident.plugins.module_utils._redact import register_secrets
from ansible_collections.reflexion.incident.plugins.module_utils._validate import require_finite


class TriageProbe(object):
    def __init__(self, module):
        self.module = module

    def run(self):
        module = self.module
        # Mask the probes' secrets everywhere (invocation, failure message, results), as each probe module
        # does - registered before any probe's options are validated, so that a bad option of one probe
        # cannot show another probe's password, and in every form (stripped of a trailing newline, escaped).
        register_secrets(module, batch_secrets(module.params))
        # the common options, checked once here before they are passed down to the probes
        require_finite(module, PROBE_COMMON_SPEC)
        resolve_timeout(module, None)
        try:
            runs, secrets, unavailable = prepare(module.params, run_command=module.run_command, find_bin=module.get_bin_path)
        except BadProbeInputError as exc:
            module.fail_json(msg=str(exc))
        register_secrets(module, secrets)
        if not runs and not unavailable:
            module.fail_json(msg="give at least one probe: %s" % ", ".join(PROBE_NAMES))
        results, timings = run_all(runs)
        status, reason = overall(results)
        for name, why in unavailable.items():
            results[name] = dict(skipped=True, skip_reason=why)
            module.warn("%s probe not run: %s" % (name, why))
        return dict(changed=False, status=status, reason=reason, probes=results, timings_ms=timings,
                    unavailable=unavailable)


def main():
    argument_spec = dict((name, dict(type="dict")) for name in PROBE_NAMES)
    argument_spec.update(PROBE_COMMON_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    finish(module, TriageProbe(module).run())


if __name__ == "__main__":
    main()
