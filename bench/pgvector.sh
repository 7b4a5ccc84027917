#!/usr/bin/env bash
# Search on PostgreSQL + pgvector at 100k chunks against the embedded default, in one run, on the
# corpus bench/retrieval.sh builds and caches (run that first on a fresh machine).
set -euo pipefail
cd "$(dirname "$0")/.."
export RAGD_CORPUS=${RAGD_CORPUS:-$PWD/.cache/bench/corpus}
if [ -z "${RAGD_TEST_DATABASE_URL:-}" ]; then
  RAGD_TEST_DATABASE_URL="$(bash scripts/pg/start.sh)"
  export RAGD_TEST_DATABASE_URL
fi
cargo bench -q -p ragd --bench pgvector
