#!/usr/bin/env bash
# Retrieval: ragd's search against Chroma on the same 100,000 chunks of real text (the toolchain's
# docs) with real all-MiniLM-L6-v2 embeddings and the same 500 held-out queries, in one run.
#
# Usage: bench/retrieval.sh   (first run: embeds the corpus, ~100k chunks, cached in .cache/bench;
#                              installs chromadb into .cache/chroma-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
cache=$PWD/.cache
corpus="$(bash bench/corpus.sh)"
venv=$cache/chroma-venv
if ! "$venv/bin/python" -c "import chromadb" 2>/dev/null; then
  echo "installing chromadb into $venv (once)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet chromadb numpy
fi
RAGD_CORPUS=$corpus cargo bench -q -p ragd --bench retrieval 2>/dev/null | tee /tmp/ragd-retrieval.txt
peer=$("$venv/bin/python" bench/chroma_peer.py "$corpus" 500 10 2>/dev/null | tail -1)
python3 - "$peer" "$(grep '^RAGD_VECTOR' /tmp/ragd-retrieval.txt)" <<'PY'
import json, sys
c = json.loads(sys.argv[1])
_, p50, p99, qps, recall, build = sys.argv[2].split()
p50, p99, qps, recall, build = map(float, (p50, p99, qps, recall, build))
print(f"\nVECTOR search against Chroma {c['version']} (same vectors, same queries, k=10, one client)")
print("| | p50 ms | p99 ms | QPS | recall@10 | build s |")
print("|---|---|---|---|---|---|")
print(f"| Chroma (peer) | {c['p50']:.2f} | {c['p99']:.2f} | {c['qps']:.0f} | {c['recall']:.3f} | {c['build']:.1f} |")
print(f"| ragd | {p50:.2f} | {p99:.2f} | {qps:.0f} | {recall:.3f} | {build:.1f} |")
print(f"| ragd / Chroma | {p50 / c['p50']:.2f}x | {p99 / c['p99']:.2f}x | {qps / c['qps']:.2f}x | | |")
PY
