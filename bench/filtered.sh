#!/usr/bin/env bash
# Filtered search at 100k chunks with real embeddings: no filter and metadata filters keeping
# 50 %, 5 %, 0.5 % and 0.05 % of the chunks, embedded and PostgreSQL side by side in one run
# (p50/p99 of the documents the filter keeps + the nearest neighbours among them, recall@10 against
# exact search over the matching chunks).
# Usage: bench/filtered.sh   (first run: builds the corpus, ~100k chunks, cached in .cache/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
RAGD_CORPUS="$(bash bench/corpus.sh)"
export RAGD_CORPUS
if [ -z "${RAGD_TEST_DATABASE_URL:-}" ]; then
  RAGD_TEST_DATABASE_URL="$(bash scripts/pg/start.sh)"
  export RAGD_TEST_DATABASE_URL
fi
cargo bench -q -p ragd --bench filtered
