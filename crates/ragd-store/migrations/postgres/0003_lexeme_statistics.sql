-- Full-text search reads the lexeme frequencies ANALYZE keeps for `chunks.tsv` (pg_stats'
-- most_common_elems) to find a query's rare terms; a larger sample keeps more of them.
ALTER TABLE chunks ALTER COLUMN tsv SET STATISTICS 1000;
