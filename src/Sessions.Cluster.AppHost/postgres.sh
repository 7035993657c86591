#!/usr/bin/env bash
# PostgreSQL from the machine's own binaries for the app host (no container): creates the data folder, the role and
# the database "sessions" on first start, then runs the server in the foreground so the orchestrator owns its process.
# Usage: postgres.sh <data folder> <port>
set -euo pipefail
data="$1"; port="$2"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "PostgreSQL's server binaries are missing: apt-get install -y postgresql" >&2
  exit 1
fi
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$data"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$data"
if [ ! -f "$data/pgdata/PG_VERSION" ]; then
  as_owner "$bin/initdb" -D "$data/pgdata" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
  as_owner "$bin/pg_ctl" -D "$data/pgdata" -w -o "-p $port -k $data -c listen_addresses=127.0.0.1" start >/dev/null
  as_owner "$bin/createuser" -h 127.0.0.1 -p "$port" -U postgres --no-superuser --no-createdb --no-createrole sessions
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres -O sessions sessions
  as_owner "$bin/pg_ctl" -D "$data/pgdata" -w -m fast stop >/dev/null
fi
exec_owner() { if [ "$(id -u)" = 0 ]; then exec runuser -u postgres -- "$@"; else exec "$@"; fi; }
exec_owner "$bin/postgres" -D "$data/pgdata" -p "$port" -k "$data" -c listen_addresses=127.0.0.1 -c max_connections=300
