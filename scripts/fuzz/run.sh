#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for SECONDS each (default 600; the test command
# runs each for 10 as a smoke run). Installs cargo-fuzz (crates.io) into .cache/cargo-fuzz once;
# needs the nightly toolchain. Any crash fails the run; its input is in fuzz/artifacts/<target>/
# and belongs, once fixed, in fuzz/regressions/<target>/ (replayed by crates/ragd-pipeline's
# fuzz_regressions test).
#   scripts/fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
shift || true
root="$PWD/.cache/cargo-fuzz"
if [ ! -x "$root/bin/cargo-fuzz" ]; then
  echo "installing cargo-fuzz into $root (once)" >&2
  cargo install --quiet --locked cargo-fuzz --root "$root" >&2
fi
export PATH="$root/bin:$PATH"
export RAGD_MODEL_DIR="${RAGD_MODEL_DIR:-$PWD/.cache/models/all-MiniLM-L6-v2}"
bash scripts/model/fetch.sh "$RAGD_MODEL_DIR" >&2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
cargo +nightly fuzz build -O >&2
status=0
printf '%-18s %8s %10s %s\n' target seconds runs result
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/regressions/$t"
  log=$(mktemp)
  # The corpus grows across runs (fuzz/corpus is not committed; regressions are, and seed it).
  if cargo +nightly fuzz run -O "$t" "fuzz/corpus/$t" "fuzz/regressions/$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see fuzz/artifacts/$t/)"
    status=1
    tail -30 "$log" >&2
  fi
  runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  printf '%-18s %8s %10s %s\n' "$t" "$seconds" "${runs:-0}" "$result"
  rm -f "$log"
done
exit "$status"
