# Sourced by the bench scripts: the model fetched into .cache, and the benchmark's Python
# environment (.cache/bench-venv) holding the given packages, installed once.
#   bench_setup MODULE,... PACKAGE...     e.g. bench_setup sentence_transformers sentence-transformers
cache=$PWD/.cache
export RAGD_CACHE_DIR=$cache/ragd RAGD_MODEL_DIR=$cache/models/all-MiniLM-L6-v2
venv=$cache/bench-venv
bench_setup() {
  local modules=$1
  shift
  bash scripts/model/fetch.sh "$RAGD_MODEL_DIR"
  if ! "$venv/bin/python" -c "import ${modules}" 2>/dev/null; then
    echo "installing $* into $venv (once; PyTorch is ~6 GB)" >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "$@"
  fi
}

# The CPU line every table prints: model and the ISA flags that decide the local model's speed.
cpu_line() {
  local flags
  flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|fma|avx512f|avx512_vnni|avx512_bf16|amx_bf16|amx_int8' | xargs)
  echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; flags: $flags"
}

# A release `ragd serve` on the embedded default in a fresh data directory ($work, removed on
# exit), on a free port; sets work, pid, port, api (tenant "bench") and token.
bench_serve() {
  bash scripts/model/fetch.sh "$RAGD_MODEL_DIR"
  cargo build --release -q -p ragd
  work=$(mktemp -d)
  trap '[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  target/release/ragd serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/log" 2>&1 &
  pid=$!
  api="http://127.0.0.1:$port/v1/tenants/bench"
  for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break; sleep 0.1; done
  token=$(target/release/ragd token --tenant bench --data-dir "$work/data")
}
