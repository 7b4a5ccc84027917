-- Chunks with their embeddings, replaced whole per document; and the embedding cache, keyed by
-- (tenant, model, hash of the exact text embedded), so identical text is never paid for twice.

CREATE TABLE chunks (
    id           TEXT PRIMARY KEY,
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
    embedding    BLOB NOT NULL                       -- little-endian f32
);
CREATE INDEX chunks_by_document ON chunks (document_id, chunk_index);
CREATE INDEX chunks_by_asset ON chunks (tenant_id, asset_id);

CREATE TABLE embedding_cache (
    tenant_id TEXT NOT NULL,
    model     TEXT NOT NULL,                         -- provider/model
    text_hash TEXT NOT NULL,
    tokens    INTEGER NOT NULL,
    embedding BLOB NOT NULL,
    PRIMARY KEY (tenant_id, model, text_hash)
);
