-- Search. Chunks get a stable integer key (`seq`, the rowid alias, which VACUUM keeps), so the
-- full-text index can use them as its external content: BM25 over content and contextText, kept in
-- step by triggers inside the same transactions that replace a document's chunks.

CREATE TABLE chunks_v2 (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    tenant_id    TEXT NOT NULL,
    asset_id     TEXT NOT NULL,
    document_id  TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    chunk_index  INTEGER NOT NULL,
    content      TEXT NOT NULL,
    context_text TEXT NOT NULL,
    heading_path TEXT NOT NULL,
    page_number  TEXT,
    start_char   INTEGER NOT NULL,
    end_char     INTEGER NOT NULL,
    start_line   INTEGER NOT NULL,
    end_line     INTEGER NOT NULL,
    token_count  INTEGER NOT NULL,
    text_hash    TEXT NOT NULL,
    embedding    BLOB NOT NULL                       -- little-endian f32; empty when not vectorized
);
INSERT INTO chunks_v2 (id, tenant_id, asset_id, document_id, chunk_index, content, context_text, heading_path, page_number,
    start_char, end_char, start_line, end_line, token_count, text_hash, embedding)
SELECT id, tenant_id, asset_id, document_id, chunk_index, content, context_text, heading_path, page_number,
    start_char, end_char, start_line, end_line, token_count, text_hash, embedding FROM chunks;
DROP TABLE chunks;
ALTER TABLE chunks_v2 RENAME TO chunks;
CREATE INDEX chunks_by_document ON chunks (document_id, chunk_index);
CREATE INDEX chunks_by_asset ON chunks (tenant_id, asset_id);

CREATE VIRTUAL TABLE chunks_fts USING fts5(
    content, context_text,
    content = 'chunks', content_rowid = 'seq',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, content, context_text) VALUES (new.seq, new.content, new.context_text);
END;
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, content, context_text) VALUES ('delete', old.seq, old.content, old.context_text);
END;
CREATE TRIGGER chunks_fts_update AFTER UPDATE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, content, context_text) VALUES ('delete', old.seq, old.content, old.context_text);
    INSERT INTO chunks_fts (rowid, content, context_text) VALUES (new.seq, new.content, new.context_text);
END;
INSERT INTO chunks_fts (chunks_fts) VALUES ('rebuild');
