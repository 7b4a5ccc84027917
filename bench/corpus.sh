#!/usr/bin/env bash
# The retrieval benchmarks' corpus: ~100k chunks of the toolchain's docs with their real
# all-MiniLM-L6-v2 vectors, built once (embedding takes minutes) and cached in .cache/bench/corpus.
# Prints the corpus directory (for RAGD_CORPUS).
# Usage: bench/corpus.sh   (RAGD_BENCH_CHUNKS: how many chunks, default 100500 with 500 queries)
set -euo pipefail
cd "$(dirname "$0")/.."
cache=$PWD/.cache
export RAGD_CACHE_DIR=$cache/ragd RAGD_MODEL_DIR=$cache/models/all-MiniLM-L6-v2
bash scripts/model/fetch.sh "$RAGD_MODEL_DIR" >&2
corpus=$cache/bench/corpus
if [ ! -s "$corpus/vectors.f32" ]; then
  cargo run --release -q -p ragd --example build_corpus -- "$corpus" "${RAGD_BENCH_CHUNKS:-100500}" >&2
fi
echo "$corpus"
