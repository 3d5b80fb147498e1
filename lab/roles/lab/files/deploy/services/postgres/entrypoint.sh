#!/bin/sh
# PostgreSQL 15 from Debian: initialise the cluster in the named volume on first start, then run it.
set -eu
BIN=/usr/lib/postgresql/15/bin
PGDATA=/var/lib/postgresql/data
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
  chown postgres "$pwfile"
  as_pg "$BIN/initdb" -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  as_pg "$BIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  as_pg psql -q -v ON_ERROR_STOP=1 -v pw="$APP_DB_PASSWORD" -U postgres -d postgres <<'SQL'
CREATE ROLE reflexion LOGIN PASSWORD :'pw';
CREATE DATABASE reflexion OWNER reflexion;
SQL
  as_pg "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  echo "postgres: cluster initialised"
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$BIN/postgres" -D "$PGDATA" \
  -c listen_addresses='*' -c max_connections="${PG_MAX_CONNECTIONS:-40}" -c superuser_reserved_connections=3 \
  -c log_connections=off -c log_min_duration_statement=-1
