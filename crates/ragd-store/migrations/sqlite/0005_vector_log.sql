-- Every chunk write and delete, in commit order, per asset: the in-process vector indexes replay
-- this log to stay consistent with the database across processes and restarts.

CREATE TABLE vector_log (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_id  TEXT NOT NULL,
    chunk_seq INTEGER NOT NULL,
    added     INTEGER NOT NULL                       -- 1 written, 0 deleted
);
CREATE INDEX vector_log_by_asset ON vector_log (asset_id, seq);

CREATE TRIGGER chunks_vector_insert AFTER INSERT ON chunks WHEN length(new.embedding) > 0 BEGIN
    INSERT INTO vector_log (asset_id, chunk_seq, added) VALUES (new.asset_id, new.seq, 1);
END;
CREATE TRIGGER chunks_vector_delete AFTER DELETE ON chunks WHEN length(old.embedding) > 0 BEGIN
    INSERT INTO vector_log (asset_id, chunk_seq, added) VALUES (old.asset_id, old.seq, 0);
END;
