#!/usr/bin/env bash
# Memory per document: a real `ragd serve` (release, embedded default, local model) is given
# hostile documents within the upload limit, one at a time, and its peak RSS (VmHWM) is read
# after each; the peer is the server's own peak after a small document.
#   a 50 MB upload of one "word" (no whitespace) and a 20 MB Markdown file on one line.
#   Then four of them at once.
# Usage: bench/memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/setup.sh
bench_serve
hwm() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status"; }

# Uploads a file as an asset and waits for its operation; prints the operation's status.
ingest() {
  local r asset op
  r=$(curl -fsS -X POST "$api/assets:file" -H "Authorization: Bearer $token" -F "File=@$1" -F 'Payload={"displayName":"m"}')
  asset=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["asset"]["id"])' "$r")
  op=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["operation"]["id"])' "$r")
  while :; do
    r=$(curl -fsS "$api/assets/$asset/operations/$op:wait?timeout=30" -H "Authorization: Bearer $token")
    python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["done"] else 1)' "$r" && break
  done
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["status"], d["chunkCount"], "chunks", (d.get("errorMessage") or "")[:80])' "$r"
}

python3 - "$work" <<'PY'
import sys, random, string
w = sys.argv[1]
open(f"{w}/small.md", "w").write("# Notes\n\n" + "The office moves upstairs in May. " * 200 + "\n")
random.seed(1)
letters = "".join(random.choice(string.ascii_lowercase) for _ in range(1 << 16))
def word(path, size):
    with open(path, "w") as f:
        for _ in range(size // len(letters)):
            f.write(letters)
word(f"{w}/word.txt", 50_000_000)
with open(f"{w}/line.md", "w") as f:
    f.write("# One line\n\n")
    for i in range(20_000_000 // 40):
        f.write(f"word{i % 977} text{i % 131} and more stuff ")
PY

echo "ragd serve, peak RSS (VmHWM) after each step"
cpu_line
echo "| step | result | peak RSS MiB |"
echo "|---|---|---|"
echo "| started | | $(hwm) |"
echo "| small Markdown file (peer: an ordinary document) | $(ingest "$work/small.md") | $(hwm) |"
base=$(hwm)
echo "| 50 MB of one word | $(ingest "$work/word.txt") | $(hwm) |"
echo "| 20 MB Markdown on one line | $(ingest "$work/line.md") | $(hwm) |"
echo "Added to the peak beyond the small document: $(( $(hwm) - base )) MiB"
# Four at once: two of each, uploaded and ingested in parallel (the two workers take two at a time).
parallel=()
for f in word.txt word.txt line.md line.md; do
  ingest "$work/$f" >"$work/par.$RANDOM" 2>&1 &
  parallel+=($!)
done
wait "${parallel[@]}"
echo "| 4 of them at once (2 × 50 MB word, 2 × 20 MB line) | $(cat "$work"/par.* | cut -d' ' -f1 | sort | uniq -c | xargs) | $(hwm) |"
