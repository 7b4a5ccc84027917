#!/usr/bin/env bash
# Search while the index is rebuilt: p50/p99 of hybrid searches through the API on ≥ 100k chunks
# of real text (the toolchain's docs with their real all-MiniLM-L6-v2 vectors), idle and while a
# REINDEX builds the next generation with another chunking, in one run, on the embedded default.
#
# Usage: bench/generations.sh   (first run: embeds the corpus, cached in .cache/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="$(bash bench/corpus.sh)"
RAGD_CORPUS=$corpus cargo bench -q -p ragd --bench generations 2>/dev/null
