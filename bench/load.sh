#!/usr/bin/env bash
# Limits under load: a real `ragd serve` (release, embedded default, default limits) while 200
# pollers of one tenant (wrk, 200 connections, one GET of an ingesting operation per second each)
# and 20 uploaders of another (curl, a real PDF to `assets:file` in a loop, each upload an
# ingestion, waiting `Retry-After` after a 429) run for DURATION seconds (default 30). Prints every status by kind of request, the pollers' latency percentiles and the
# server's peak RSS. Documented answers under load are 429s (the tenant's request rate, its
# active operations, the concurrent-upload cap); anything else is an error.
# Usage: bench/load.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/setup.sh
duration=${1:-30}
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
pdf=/usr/share/doc/libtasn1-doc/libtasn1.pdf
[ -f "$pdf" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libtasn1-doc >/dev/null
bench_serve
# The uploads come from another tenant: each tenant has its own request rate.
upload_token=$(target/release/ragd token --tenant uploads --data-dir "$work/data")
uploads="http://127.0.0.1:$port/v1/tenants/uploads"
# The polled operation: the ingestion of the Rust Book's print page, a large document.
book="$(rustc --print sysroot)/share/doc/rust/html/book/print.html"
r=$(curl -fsS -X POST "$api/assets:file" -H "Authorization: Bearer $token" -F "File=@$book")
asset=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["asset"]["id"])' "$r")
op=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["operation"]["id"])' "$r")

cat >"$work/poll.lua" <<LUA
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) codes = {} end
function request() return wrk.format("GET", nil, {["Authorization"] = "Bearer $token"}) end
function delay() return 1000 end
function response(status, headers, body) codes[status] = (codes[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("codes")) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, k .. ": " .. v) end
  table.sort(parts)
  io.write(string.format("POLL|%s|%.1f|%.1f|%.1f|%d\n", table.concat(parts, ", "),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA

# An uploader as a client should be: after a 429 it waits the `Retry-After` it was given.
upload_loop() {
  local end=$((SECONDS + duration)) out code wait
  while [ $SECONDS -lt "$end" ]; do
    out=$(curl -s -o /dev/null -w '%{http_code} %header{retry-after}' -X POST "$uploads/assets:file" -H "Authorization: Bearer $upload_token" -F "File=@$pdf") || out="000 "
    read -r code wait <<<"$out"
    echo "$code"
    if [ "$code" = 429 ]; then sleep "${wait:-1}"; fi
  done
}
sample() { while kill -0 "$pid" 2>/dev/null; do awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status"; sleep 0.5; done; }
sample >"$work/rss" &
sampler=$!
wrk -t2 -c200 -d"${duration}s" --timeout 10s -s "$work/poll.lua" "$api/assets/$asset/operations/$op" >"$work/wrk" 2>&1 &
wrk_pid=$!
uploaders=()
for i in $(seq 20); do
  upload_loop >"$work/up.$i" &
  uploaders+=($!)
done
wait "$wrk_pid" "${uploaders[@]}"
peak=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status")
kill "$sampler" 2>/dev/null || true
statuses=$(cat "$work"/up.* | sort | uniq -c | awk '{printf "%s%s: %s", sep, $2, $1; sep=", "}')
IFS='|' read -r _ polls p50 p99 max errors < <(grep '^POLL|' "$work/wrk")
echo "ragd serve under load for ${duration}s (default limits: 200 requests/s per tenant, bursts of 400; 16 uploads at once; 100 active operations per tenant)"
cpu_line
echo "| requests | statuses | latency p50 / p99 / max (ms) | socket errors |"
echo "|---|---|---|---|"
echo "| 200 pollers, GET operation 1/s each | $polls | $p50 / $p99 / $max | $errors |"
echo "| 20 uploaders, POST assets:file (libtasn1.pdf) in a loop | $statuses | | |"
echo "| server peak RSS | $peak MiB (samples: max $(sort -n "$work/rss" | tail -1) MiB) | | |"
if grep -q 'panicked' "$work/log"; then echo "the server log has a panic" >&2; exit 1; fi
