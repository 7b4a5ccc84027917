#!/usr/bin/env bash
# Proves a PostgreSQL + pgvector install runs on an x86-64 CPU without AVX-512, whatever CPU this
# machine has: probe.sql runs in a single-user backend on an AMD EPYC Zen 3 (AVX2 + FMA, no
# AVX-512) emulated by qemu-user, on a scratch cluster. A build compiled for AVX-512 dies there with
# an illegal instruction, as it would on such a machine. Used by start.sh when it installs.
#
# Usage: scripts/pg/portable.sh BIN_DIR
# Exit 0: portable; 1: not; 2: could not check (no qemu-user, and not root to install it).
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
cpu=EPYC-Milan
if ! command -v qemu-x86_64 >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing qemu-user to check that PostgreSQL runs on a CPU without AVX-512" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null 2>&1; }
  fi
  command -v qemu-x86_64 >/dev/null || { echo "portable.sh: not checked: qemu-x86_64 (Debian's qemu-user) is not installed and could not be" >&2; exit 2; }
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
scratch=$(mktemp -d /var/tmp/ragd-pg-portable.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
chmod 755 "$scratch"
mkdir "$scratch/data" && chown postgres "$scratch/data" 2>/dev/null || true
as_pg "$bin/initdb" -D "$scratch/data" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
out=$(as_pg qemu-x86_64 -cpu "$cpu" "$bin/postgres" --single -D "$scratch/data" postgres < "$here/probe.sql" 2>&1) && status=0 || status=$?
if [ "$status" = 0 ] && echo "$out" | grep -q '= "probe ok"'; then
  echo "PostgreSQL + pgvector in $(dirname "$bin") passed the pgvector probe on an emulated $cpu (AVX2, no AVX-512)" >&2
  exit 0
fi
echo "PostgreSQL + pgvector in $(dirname "$bin") does not run on an x86-64 CPU without AVX-512: the" \
  "pgvector probe on an emulated $cpu ended with status $status:" >&2
echo "$out" | grep -v "TCG doesn't support" | tail -n 5 >&2
exit 1
