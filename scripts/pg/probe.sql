-- The pgvector probe of start.sh and portable.sh: an HNSW index (vector and halfvec) built, written
-- to and queried, and a bit distance. Prints "probe ok" last when every answer is right. One
-- statement a line: portable.sh feeds it to a single-user backend, which ends statements at newlines.
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TEMP TABLE ragd_probe AS SELECT i, (SELECT array_agg(sin(i * 7 + j))::vector(384) FROM generate_series(1, 384) j) AS v FROM generate_series(1, 300) i;
CREATE INDEX ON ragd_probe USING hnsw (v vector_cosine_ops);
CREATE INDEX ON ragd_probe USING hnsw ((v::halfvec(384)) halfvec_l2_ops);
INSERT INTO ragd_probe SELECT 0, (SELECT array_agg(cos(j))::vector(384) FROM generate_series(1, 384) j);
SET enable_seqscan = off;
CREATE TEMP TABLE ragd_probe_answers AS SELECT (SELECT i FROM ragd_probe ORDER BY v <=> (SELECT v FROM ragd_probe WHERE i = 0) LIMIT 1) AS cosine, (SELECT i FROM ragd_probe ORDER BY v::halfvec(384) <-> (SELECT v::halfvec(384) FROM ragd_probe WHERE i = 5) LIMIT 1) AS half, (SELECT binary_quantize(v) <~> binary_quantize(v) FROM ragd_probe WHERE i = 7) AS bits;
SELECT CASE WHEN cosine = 0 AND half = 5 AND bits = 0 THEN 'probe ok' ELSE format('probe wrong: %s %s %s', cosine, half, bits) END FROM ragd_probe_answers;
