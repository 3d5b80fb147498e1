#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: memory_probe
short_description: Host, process and container memory, OOM kills and leak trends (replaces free, ps and docker stats)
version_added: 0.1.0
description:
  - The runbook's "Memory Issues" (C(free -h), C(ps aux --sort=-%mem | head -10), C(docker stats)) as one
    read-only probe.
  - Host memory from C(/proc/meminfo) - total, available, used %, cache and swap.
  - The top O(top) processes by resident memory, read straight from C(/proc), with their command lines (secrets in
    arguments masked).
  - Recent OOM kills from the kernel log (C(/dev/kmsg), where readable) and per container (C(OOMKilled) and the
    cgroup's C(oom_kill) counter).
  - Per container usage, limit and % - read concurrently from the cgroup files when the probe runs on the Docker
    host, else from one-shot Docker stats calls; never one blocking two-sample stats call after another.
  - With O(samples) > 1, samples every O(interval) seconds and reports a slope in MB/min for each reported process and
    container, and RV(leak_suspects) - the runbook's "gradually increasing memory usage".
author:
  - Reflexion SRE team (@reflexion)
extends_documentation_fragment:
  - reflexion.incident.probe
options:
  top:
    description: How many processes to report, largest resident set first.
    type: int
    default: 10
  process_pattern:
    description:
      - Only processes whose name or command line matches this regular expression (like C(ps aux | grep reflexion)).
    type: str
  containers:
    description: Report containers (needs the Docker SDK for Python and access to the Docker engine).
    type: bool
    default: true
  docker_host:
    description: The Docker engine to ask. Falls back to E(DOCKER_HOST).
    type: str
    default: unix:///var/run/docker.sock
  container_names:
    description: Only these containers (names or ids); all running containers when empty.
    type: list
    elements: str
    default: []
  compose_project:
    description: Only the containers of this compose project.
    type: str
  samples:
    description: How many samples to take (1-100). With 2 or more, slopes are computed; leak detection needs 3.
    type: int
    default: 1
  interval:
    description: Seconds between samples.
    type: float
    default: 5.0
  leak_threshold:
    description:
      - A process or container growing by at least this many MB per minute over the samples is a leak suspect.
      - The growth must be sustained (at least three samples; without the first or the last sample the rest
        still grows at half this rate), so a request burst caught by one sample is not taken for a leak.
    type: float
    default: 10.0
  leak_min_growth:
    description:
      - A leak suspect must also have grown by at least this many MB from the first sample to the last.
      - This is the noise floor of a short window. A process's memory moves by a few MB with every burst
        of requests, so over a few seconds a 10 MB/min threshold means less than 1 MB, which is noise. A
        real leak passes this floor within its first samples (the lab's injected leak grows 16 MB in 4 s).
      - Set it to V(0) to judge by O(leak_threshold) alone, with a long window (O(samples) x O(interval)).
    type: float
    default: 5.0
  oom_since:
    description: Report kernel OOM kills of the last this many minutes.
    type: float
    default: 60
  used_degraded_pct:
    description: Host or container memory use at or above this percentage makes the status V(degraded).
    type: float
    default: 90
  used_down_pct:
    description: Host memory use at or above this percentage makes the status V(down).
    type: float
    default: 98
notes:
  - The status is V(degraded) when memory is high, a leak is suspected, there were recent OOM kills, or containers
    were asked for and the Docker engine could not be read (RV(containers_error)).
seealso:
  - module: reflexion.incident.health_probe
"""

EXAMPLES = r"""
- name: Check memory usage (runbook, Memory Issues)
  reflexion.incident.memory_probe:
    compose_project: reflexion
  register: mem

- name: Watch the app for a minute for gradually increasing memory
  reflexion.incident.memory_probe:
    process_pattern: reflexion
    compose_project: reflexion
    samples: 7
    interval: 10
    leak_threshold: 5
  register: trend

- name: Show the leak suspects
  ansible.builtin.debug:
    var: trend.leak_suspects
"""

RETURN = r"""
status:
  description: V(healthy), V(degraded) or V(down).
  returned: always
  type: str
  sample: degraded
reason:
  description: Why, in one line.
  returned: always
  type: str
  sample: "host memory 93% used; leak suspect(s): python3 (pid 4242) +35.1 MB/min"
host:
  description: Host memory in MB (like C(free -m)) and percentages.
  returned: always
  type: dict
  sample: {"total_mb": 7961.2, "available_mb": 5100.4, "used_mb": 2860.8, "used_pct": 35.9, "free_mb": 900.1,
           "cache_mb": 4100.3, "swap_total_mb": 0.0, "swap_used_mb": 0.0, "swap_used_pct": 0.0}
processes:
  description: The top O(top) processes by resident memory (last sample).
  returned: always
  type: list
  elements: dict
  contains:
    pid:
      description: Process id.
      type: int
    name:
      description: Process name (C(comm)).
      type: str
    cmdline:
      description: Command line, secrets in arguments masked, cut to 300 characters.
      type: str
    rss_mb:
      description: Resident set size in MB.
      type: float
    pct:
      description: RSS as a percentage of host memory.
      type: float
    slope_mb_per_min:
      description: Growth over the samples (null with one sample).
      type: float
    container:
      description:
        - Name of the container the process runs in (from C(/proc/<pid>/cgroup)), when it is one of the reported
          containers; null otherwise (a host process, or O(containers=false)).
      type: str
    compose_project:
      description: Compose project label of that container, if any.
      type: str
    compose_service:
      description:
        - Compose service label of that container, if any. Select the app's processes by this, not by their
          name (the app's process is often just C(python3)).
      type: str
containers:
  description: Per container memory (empty when O(containers=false) or the engine could not be read).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Container name.
      type: str
    id:
      description: Short id.
      type: str
    image:
      description: Image.
      type: str
    compose_project:
      description: Compose project label, if any.
      type: str
    compose_service:
      description: Compose service label, if any.
      type: str
    usage_mb:
      description: Usage without inactive file cache (as C(docker stats) shows it).
      type: float
    limit_mb:
      description: The memory limit, or the host's memory when the container has none.
      type: float
    limited:
      description: Whether the container has its own memory limit.
      type: bool
    pct:
      description: Usage as a percentage of the limit.
      type: float
    oom_killed:
      description:
        - Whether the container's cgroup counted an OOM kill (cgroup files), or Docker's C(State.OOMKilled) (stats API).
      type: bool
    oom_kill_count:
      description: The cgroup's oom_kill counter (null when read through the stats API).
      type: int
    source:
      description: Where the numbers came from - V(cgroup_v1), V(cgroup_v2) or V(stats_api).
      type: str
    slope_mb_per_min:
      description: Growth over the samples (null with one sample).
      type: float
containers_error:
  description: Why containers could not be read (Docker SDK missing, engine unreachable), else null.
  returned: always
  type: str
leak_suspects:
  description:
    - Processes and containers growing by at least O(leak_threshold) MB/min.
    - Each names the container it belongs to and that container's compose labels (C(container), C(compose_project),
      C(compose_service); null for a process outside the reported containers), so that callers select by label,
      never by name. A process suspect also has its C(pid) and masked C(cmdline).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "process", "pid": 4242, "name": "python3", "cmdline": "python3 -u /app/app.py",
            "slope_mb_per_min": 35.1, "first_mb": 40.2, "last_mb": 52.0, "container": "reflexion-app",
            "compose_project": "reflexion", "compose_service": "app"}]
oom_kills:
  description: Kernel OOM kills in the last O(oom_since) minutes (time is epoch seconds).
  returned: always
  type: list
  elements: dict
  sample: [{"time": 1764201600.5, "pid": 4242, "name": "python3", "cgroup": true, "anon_rss_mb": 61.2}]
oom_source:
  description: V(kmsg) when the kernel log was read, else why not.
  returned: always
  type: str
timeout:
  description: The deadline that was applied (O(timeout)), in seconds; null when not set.
  returned: always
  type: float
  sample: 30.0
samples:
  description:
    - How many samples were taken, and over how many seconds.
    - Fewer than O(samples) when the next one would have started after the deadline O(timeout).
  returned: always
  type: dict
  sample: {"count": 3, "seconds": 10.01}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._probe import finish
from ansible_collections.reflexion.incident.plugins.module_utils._probe_memory import MemoryProbe, argument_spec, validate


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    validate(module)
    result = MemoryProbe(module.params).run()
    finish(module, result)


if __name__ == "__main__":
    main()
