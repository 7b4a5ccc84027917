#!/usr/bin/env bash
# Retrieval quality: hit@1, hit@5 and MRR@10 per search mode over the Cargo book as the toolchain
# publishes it, with the questions of bench/quality/cargo.tsv. RAGD_QUALITY_GRID=1 adds a grid of
# fusion settings. A re-ranking row is added when RAGD_BENCH_RERANK_MODEL names a model (with
# RAGD_RERANK_BASE_URL / RAGD_RERANK_API_KEY for a provider's endpoint).
#
# Usage: bench/quality.sh   (needs the local model: ./scripts/test or `ragd model fetch` puts it
#                            in .cache/models)
set -euo pipefail
cd "$(dirname "$0")/.."
export RAGD_MODEL_DIR=${RAGD_MODEL_DIR:-$PWD/.cache/models/all-MiniLM-L6-v2}
cargo bench -q -p ragd --bench quality 2>/dev/null
