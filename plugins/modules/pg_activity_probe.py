#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pg_activity_probe
short_description: Read PostgreSQL activity - connections, long-running queries, idle transactions, lock chains
version_added: 0.1.0
description:
  - The runbook's "Database Issues" queries (C(SELECT count(*) FROM pg_stat_activity) and the long-running
    query list) as one read-only probe.
  - Connects, and runs its queries in a B(read-only) transaction that it rolls back.
  - Reports the server version, max_connections, client connections and utilization, counts by state,
    database, user and application, long-running queries, sessions idle in a transaction, blocked sessions with
    the pids that block them (C(pg_blocking_pids)), and database sizes.
  - A server that cannot be reached is reported as RV(status=down) with RV(connectable=false) and the error;
    the task fails only with O(fail_on_unhealthy=true).
author:
  - Reflexion SRE team (@reflexion)
extends_documentation_fragment:
  - reflexion.incident.probe
  - reflexion.incident.postgres
options:
  long_running_threshold:
    description:
      - An active query running for more than this many seconds is listed in RV(long_running).
      - The runbook uses five minutes.
    type: float
    default: 300
  idle_in_transaction_threshold:
    description:
      - A session idle in a transaction for more than this many seconds is listed in RV(idle_in_transaction).
    type: float
    default: 60
  mask_literals:
    description:
      - Replace string and number literals in reported query texts with C(?), so that data and secrets in
        queries do not end up in reports.
    type: bool
    default: true
  query_max_length:
    description:
      - Query texts are cut to this many characters (0 keeps them whole).
    type: int
    default: 500
  utilization_degraded_pct:
    description: Client connections at or above this percentage of max_connections make the status V(degraded).
    type: float
    default: 80
  utilization_down_pct:
    description: Client connections at or above this percentage of max_connections make the status V(down).
    type: float
    default: 95
  database_sizes:
    description: Report the size of every database the login role may connect to.
    type: bool
    default: true
  statement_timeout:
    description: Milliseconds each query of the probe may take.
    type: int
    default: 10000
notes:
  - Counts and utilization consider client backends only (C(backend_type = 'client backend')), which are what
    max_connections limits; the probe's own session is counted but never listed.
seealso:
  - module: reflexion.incident.pg_backend
"""

EXAMPLES = r"""
- name: Check database connections and long-running queries (runbook, Database Issues)
  reflexion.incident.pg_activity_probe:
    login_host: 127.0.0.1
    port: 5432
    login_user: monitor
    login_password: "{{ reflexion_pg_password }}"
    login_db: reflexion
  register: pg

- name: Show what is stuck
  ansible.builtin.debug:
    msg: "{{ pg.long_running | map(attribute='pid') }} blocked: {{ pg.blocked | map(attribute='pid') }}"

- name: Stricter thresholds, full query texts
  reflexion.incident.pg_activity_probe:
    long_running_threshold: 30
    idle_in_transaction_threshold: 10
    mask_literals: false
    fail_on_unhealthy: true
"""

RETURN = r"""
status:
  description: V(healthy), V(degraded) (long-running, idle-in-transaction or blocked sessions, or high utilization) or V(down).
  returned: always
  type: str
  sample: degraded
reason:
  description: Why, in one line.
  returned: always
  type: str
  sample: "1 long-running query; 1 blocked session"
timeout:
  description: The deadline that was applied (O(timeout)), in seconds; null when not set.
  returned: always
  type: float
  sample: 3.0
connectable:
  description: Whether the probe could connect and read.
  returned: always
  type: bool
error:
  description: The error when RV(connectable) is false (or a query failed), else null.
  returned: always
  type: str
  sample: "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused"
error_kind:
  description: >-
    The kind of failure: V(unreachable), V(too_many_connections), V(auth_failed), V(not_found), V(timeout),
    V(unavailable), V(query_failed) or V(error); null when connected.
  returned: always
  type: str
server_version:
  description: The server's version string (C(server_version)).
  returned: always
  type: str
  sample: "15.8 (Debian 15.8-0+deb12u1)"
server_version_num:
  description: The server's version as a number.
  returned: always
  type: int
  sample: 150008
max_connections:
  description: The server's max_connections.
  returned: always
  type: int
  sample: 100
total_connections:
  description: Client backends, the probe's own session included.
  returned: always
  type: int
  sample: 12
total_backends:
  description: Every row of pg_stat_activity (background workers included), like the runbook's count.
  returned: always
  type: int
utilization_pct:
  description: RV(total_connections) as a percentage of RV(max_connections).
  returned: always
  type: float
  sample: 12.0
probe_pid:
  description: The pid of the probe's own backend.
  returned: always
  type: int
by_state:
  description: Client backends per state.
  returned: always
  type: dict
  sample: {"active": 2, "idle": 8, "idle in transaction": 1}
by_database:
  description: Client backends per database.
  returned: always
  type: dict
by_user:
  description: Client backends per role.
  returned: always
  type: dict
by_application:
  description: Client backends per application_name (the empty string when unset).
  returned: always
  type: dict
holders:
  description:
    - Who holds the connections, the biggest holder first (at most 50 groups) - client backends grouped by
      C(application_name), C(user) and C(client_addr), so a client with an empty application_name (psql, a script)
      is a holder like the app. The probe's own session is not counted.
    - Each item has C(application_name) (the empty string when unset), C(user), C(client_addr) (null for a Unix
      socket), C(count), C(by_state) (state -> sessions) and C(databases).
  returned: always
  type: list
  elements: dict
  sample: [{"application_name": "", "user": "app", "client_addr": "10.0.0.7", "count": 42,
            "by_state": {"idle in transaction": 40, "active": 2}, "databases": ["reflexion"]}]
holders_other:
  description: Sessions in the holder groups past the first 50 (0 when every group is listed).
  returned: always
  type: int
long_running:
  description: Active queries over O(long_running_threshold), longest first.
  returned: always
  type: list
  elements: dict
  contains:
    pid:
      description: Backend pid.
      type: int
    duration:
      description: Seconds since the query started.
      type: float
    state:
      description: Backend state.
      type: str
    wait_event_type:
      description: Wait event type, or null.
      type: str
    wait_event:
      description: Wait event, or null.
      type: str
    application_name:
      description: The client's application_name.
      type: str
    client_addr:
      description: Client address, null for a Unix socket.
      type: str
    database:
      description: Database name.
      type: str
    user:
      description: Role name.
      type: str
    query:
      description: The query, truncated and (with O(mask_literals)) masked.
      type: str
idle_in_transaction:
  description:
    - Sessions idle in a transaction for more than O(idle_in_transaction_threshold).
    - Same keys as RV(long_running); C(duration) counts from the start of the transaction.
  returned: always
  type: list
  elements: dict
blocked:
  description: Sessions waiting on a lock; same keys as RV(long_running) plus C(blocked_by), the pids that block them.
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4242, "blocked_by": [4240], "duration": 12.5, "wait_event_type": "Lock", "wait_event": "relation"}]
database_sizes:
  description: Bytes per database (only databases the role may connect to).
  returned: always
  type: dict
  sample: {"reflexion": 8561123}
queries:
  description: The SQL the probe ran.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.reflexion.incident.plugins.module_utils._postgres import ensure_psycopg2
from ansible_collections.reflexion.incident.plugins.module_utils._probe import finish
from ansible_collections.reflexion.incident.plugins.module_utils._probe_pg import PgActivityProbe, argument_spec, validate


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    ensure_psycopg2(module)
    validate(module)
    result = PgActivityProbe(module.params).run()
    finish(module, result)


if __name__ == "__main__":
    main()
