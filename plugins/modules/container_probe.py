#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: container_probe
short_description: State, health, restarts and logs of a compose project's containers (docker-compose ps and logs)
version_added: 0.2.0
description:
  - The runbook's C(docker-compose ps) - every container of the compose project O(compose_project), found by its
    C(com.docker.compose.project) label (never by name) - with its state, health, restart count, exit code,
    OOM kill and start time, read from the Docker Engine API (the Docker SDK for Python, as
    M(reflexion.incident.memory_probe) does).
  - Evidence, per service - no running container (an expected service in O(services) with no container at all,
    or a service whose containers exited; a service whose containers all exited 0 and that is not in O(services)
    is a finished one-off job), an unhealthy or restarting container, a container restarted by its restart policy
    and last started within O(restart_window), an OOM-killed container, a replica that exited non-zero.
  - With O(logs), the runbook's C(docker-compose logs reflexion --since 1h) for apps that log to stdout - the
    containers of O(logs.services) since O(logs.since), matched with the patterns and presets of
    M(reflexion.incident.log_grep), with its error signatures, capped in lines and bytes read, secrets redacted.
  - Read-only and bounded - every call shares one deadline (O(timeout)); an engine that does not answer is reported
    (V(degraded)), never a failure.
author:
  - Reflexion SRE team (@reflexion)
extends_documentation_fragment:
  - reflexion.incident.probe
options:
  compose_project:
    description: The compose project name (the C(com.docker.compose.project) label).
    type: str
    required: true
  services:
    description: Services expected to run; one with no container at all is evidence. Others found are reported too.
    type: list
    elements: str
    default: []
  docker_host:
    description: The Docker engine to ask. Falls back to E(DOCKER_HOST).
    type: str
    default: unix:///var/run/docker.sock
  restart_window:
    description:
      - A container restarted by its restart policy (C(RestartCount) > 0) whose last start is at or after this
        counts as restarted recently (C(1h), C(30m) ago, or an ISO 8601 time).
    type: str
    default: 1h
  logs:
    description: Read container logs (the runbook's C(docker-compose logs <service> --since 1h)). Omit to skip.
    type: dict
    suboptions:
      services:
        description: The compose services whose containers' logs to read.
        type: list
        elements: str
        required: true
      since:
        description: How far back (C(1h), C(30m), or an ISO 8601 time).
        type: str
        default: 1h
      patterns:
        description: Regular expressions or log_grep presets (C(errors), C(network), ...), as in M(reflexion.incident.log_grep).
        type: list
        elements: str
        default: [errors]
      ignore_case:
        description: Match case-insensitively.
        type: bool
        default: true
      tail:
        description: How many of the last matching lines to return (0-1000).
        type: int
        default: 20
      top_signatures:
        description: How many error signatures (lines with numbers and ids masked) to return (0-1000).
        type: int
        default: 10
      max_lines:
        description: The most log lines asked of each container (the newest; the engine's C(tail)).
        type: int
        default: 20000
      max_bytes:
        description: The most bytes read from each container's logs; the rest is not read (C(truncated) in RV(logs)).
        type: int
        default: 16777216
      max_line_length:
        description: Longer returned lines are cut to this many bytes.
        type: int
        default: 2048
      unhealthy_matches:
        description: This many matching lines or more make the probe V(down) instead of V(degraded).
        type: int
        default: 100
      unless_files:
        description:
          - Skip the container logs when any of these paths or globs names a non-empty regular file (the app writes
            log files, which M(reflexion.incident.log_grep) reads). Empty - always read them.
        type: list
        elements: path
        default: []
requirements:
  - docker (the Docker SDK for Python) on the host
seealso:
  - module: reflexion.incident.memory_probe
  - module: reflexion.incident.log_grep
  - module: reflexion.incident.triage_probe
"""

EXAMPLES = r"""
- name: Containers of the reflexion project, and the app's stdout of the last hour
  reflexion.incident.container_probe:
    compose_project: reflexion
    services: [reflexion, postgres, redis]
    logs:
      services: [reflexion]
      since: 1h
      patterns: [errors, network]
      unless_files: [/var/log/reflexion/*.log]
  register: containers
"""

RETURN = r"""
status:
  description:
    - V(healthy); V(degraded) for any evidence (or an engine that does not answer); V(down) when no container of
      the project runs, or when the container logs have O(logs.unhealthy_matches) matching lines or more.
  returned: always
  type: str
reason:
  description: Every piece of evidence, per service.
  returned: always
  type: str
  sample: >-
    service worker: no running container (rxi-worker-1 exited exit 3); service app: rxi-app-1 restarted 4 time(s),
    last start 2026-11-27T03:01:12.5Z
compose_project:
  description: The project probed.
  returned: always
  type: str
containers:
  description:
    - Every container of the project (running or not), by service then name - C(name), C(id), C(service),
      C(number), C(image), C(state) (created, running, restarting, exited, dead...), C(running), C(restarting),
      C(health) (healthy, unhealthy, starting, or null without a healthcheck), C(health_failing_streak),
      C(health_output) (the last check's output when unhealthy), C(restart_count), C(restart_policy),
      C(exit_code), C(oom_killed), C(error), C(started_at), C(finished_at), C(up_seconds) and
      C(restarted_recently).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "reflexion-app-1", "id": "3f2a9c1b7d0e", "service": "app", "number": "1", "image": "reflexion:1.1.0",
            "state": "running", "running": true, "restarting": false, "health": "healthy", "health_failing_streak": 0,
            "health_output": null, "restart_count": 0, "restart_policy": "unless-stopped", "exit_code": 0,
            "oom_killed": false, "error": null, "started_at": "2026-11-27T03:01:12.5Z", "finished_at": null,
            "up_seconds": 5400.2, "restarted_recently": false}]
services:
  description:
    - Per service - C(containers), C(running), C(healthy), C(unhealthy), C(restarts) (sum of restart counts),
      C(exit_codes) (of its stopped containers), C(oom_killed), C(expected) (named in O(services)), C(evidence)
      (this service's findings) and C(completed) (true for a finished one-off job).
  returned: always
  type: dict
  sample: {"app": {"containers": 2, "running": 2, "healthy": 2, "unhealthy": 0, "restarts": 0, "exit_codes": [],
           "oom_killed": 0, "expected": true, "evidence": []}}
engine_error:
  description: Why the Docker engine could not be asked, else null.
  returned: always
  type: str
restart_window:
  description: The start of O(restart_window) (C(since), ISO 8601 UTC).
  returned: when the engine answered
  type: dict
truncated:
  description: Whether some containers were not inspected (more than 200, or the deadline passed).
  returned: when the engine answered
  type: bool
logs:
  description:
    - The container logs read, null without O(logs) or when the engine did not answer - C(services), C(since),
      C(skipped) (why they were not read, else null), C(total_matches), C(counts) (per pattern), C(matches) (the
      last O(logs.tail) matching lines - C(container), C(service), C(timestamp), C(text), redacted), C(signatures)
      (C(signature), C(count), redacted),
      C(bytes_read), C(lines_scanned), C(truncated) (a cap or the deadline stopped the reading) and
      C(containers) (per container - C(container), C(service), C(bytes_read), C(lines), C(matches),
      C(truncated), C(error)).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._probe import finish
from ansible_collections.reflexion.incident.plugins.module_utils._probe_containers import (
    ContainerProbe,
    argument_spec,
    validate,
)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    extra = validate(module)
    finish(module, ContainerProbe(module.params, *extra).run())


if __name__ == "__main__":
    main()
