# -*- coding: utf-8 -*-
# Copyright: reflexion.incident contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """PostgreSQL connection options shared by pg_activity_probe and pg_backend."""

    DOCUMENTATION = r"""
options:
  login_host:
    description:
      - Host name or IP address of the PostgreSQL server, or a directory holding its Unix socket.
      - Falls back to the E(PGHOST) environment variable, then to libpq's default (the local Unix socket).
    type: str
    aliases: [host]
  port:
    description:
      - TCP port of the server (1-65535).
      - Falls back to E(PGPORT), then to 5432.
    type: int
    aliases: [login_port]
  login_unix_socket:
    description:
      - Directory of the server's Unix socket. Takes precedence over O(login_host).
    type: path
    aliases: [unix_socket]
  login_user:
    description:
      - Role to connect as. Falls back to E(PGUSER), then to the operating system user.
      - For the full picture the role needs C(pg_monitor) (or C(pg_read_all_stats)); without it other roles'
        query texts read as C(<insufficient privilege>).
    type: str
    aliases: [user]
  login_password:
    description:
      - Password of O(login_user). Falls back to E(PGPASSWORD). Never logged.
    type: str
    aliases: [password]
  login_db:
    description:
      - Database to connect to. Falls back to E(PGDATABASE), then to the role's name.
    type: str
    aliases: [db]
  dsn:
    description:
      - A libpq connection string (C(host=... port=... dbname=...)) or URI (C(postgresql://...)).
      - Options given explicitly override the same keys of the DSN. Treated as a secret because it may hold a password.
    type: str
  ssl_mode:
    description:
      - libpq's C(sslmode). Falls back to E(PGSSLMODE), then to libpq's default (V(prefer)).
    type: str
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  ca_cert:
    description:
      - File of trusted certificate authorities for O(ssl_mode=verify-ca) or O(ssl_mode=verify-full).
      - Falls back to E(PGSSLROOTCERT).
    type: path
    aliases: [ssl_rootcert]
  connect_timeout:
    description:
      - Seconds allowed to connect.
      - In M(reflexion.incident.pg_activity_probe), its O(reflexion.incident.pg_activity_probe#module:timeout)
        caps this value when set.
    type: int
    default: 5
requirements:
  - psycopg2 (C(psycopg2-binary) from PyPI or C(python3-psycopg2) from Debian) on the managed host.
"""
