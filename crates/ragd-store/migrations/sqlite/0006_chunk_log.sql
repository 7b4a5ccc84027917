-- The change log now feeds two in-process indexes: the vector graphs (vectorized chunks) and the
-- full-text index (every chunk). So it records every chunk write and delete, and its name says so.

DROP TRIGGER chunks_vector_insert;
DROP TRIGGER chunks_vector_delete;
ALTER TABLE vector_log RENAME TO chunk_log;
DROP INDEX vector_log_by_asset;
CREATE INDEX chunk_log_by_asset ON chunk_log (asset_id, seq);

CREATE TRIGGER chunks_log_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunk_log (asset_id, chunk_seq, added) VALUES (new.asset_id, new.seq, 1);
END;
CREATE TRIGGER chunks_log_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunk_log (asset_id, chunk_seq, added) VALUES (old.asset_id, old.seq, 0);
END;
