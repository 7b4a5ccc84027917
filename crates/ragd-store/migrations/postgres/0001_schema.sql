-- The PostgreSQL backend's schema: the SQLite schema's tables and columns (same names, same
-- encodings: text ids, epoch-millisecond BIGINTs, JSON as TEXT), so both backends decode rows
-- alike; plus what only PostgreSQL does: pgvector columns with HNSW indexes per dimension and a
-- generated tsvector for full text.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE assets (
    id                      TEXT PRIMARY KEY,
    tenant_id               TEXT NOT NULL,
    display_name            TEXT NOT NULL,
    source_type             TEXT NOT NULL,
    parameters              TEXT NOT NULL,
    auth_method             TEXT,
    vectorized              BOOLEAN NOT NULL,
    integration_id          TEXT,
    embedding_provider      TEXT NOT NULL,
    embedding_model         TEXT NOT NULL,
    chunk_size              BIGINT NOT NULL,
    chunk_overlap           BIGINT NOT NULL,
    budget                  TEXT NOT NULL,
    auto_update             TEXT,
    embedding_llm_config_id TEXT,
    created_by              TEXT NOT NULL,
    created_at              BIGINT NOT NULL,
    modified_at             BIGINT NOT NULL,
    last_polled_at          BIGINT,
    operation_count         BIGINT NOT NULL DEFAULT 0,
    deleted_at              BIGINT
);
CREATE INDEX assets_by_tenant ON assets (tenant_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE operations (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    asset_id         TEXT NOT NULL REFERENCES assets (id),
    type             TEXT NOT NULL,
    status           TEXT NOT NULL,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    started_at       BIGINT,
    completed_at     BIGINT,
    items_total      BIGINT NOT NULL DEFAULT 0,
    items_processed  BIGINT NOT NULL DEFAULT 0,
    items_failed     BIGINT NOT NULL DEFAULT 0,
    items_skipped    BIGINT NOT NULL DEFAULT 0,
    token_count      BIGINT NOT NULL DEFAULT 0,
    tokens_saved     BIGINT NOT NULL DEFAULT 0,
    chunk_count      BIGINT NOT NULL DEFAULT 0,
    error_message    TEXT,
    document_ids     TEXT NOT NULL DEFAULT '[]',
    force            BOOLEAN NOT NULL DEFAULT FALSE,
    attempts         BIGINT NOT NULL DEFAULT 0,
    lease_token      TEXT,
    lease_expires_at BIGINT
);
CREATE INDEX operations_by_asset ON operations (tenant_id, asset_id, created_at DESC, id DESC);
CREATE INDEX operations_queue ON operations (created_at, id) WHERE status IN ('PENDING', 'RUNNING');
-- One active operation per asset, enforced by the database for every process.
CREATE UNIQUE INDEX operations_one_active ON operations (asset_id) WHERE status IN ('PENDING', 'RUNNING');

CREATE TABLE documents (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    asset_id      TEXT NOT NULL REFERENCES assets (id),
    source_key    TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    source_url    TEXT,
    file_size     BIGINT NOT NULL,
    content_hash  TEXT NOT NULL,
    chunk_count   BIGINT NOT NULL DEFAULT 0,
    token_count   BIGINT NOT NULL DEFAULT 0,
    status        TEXT NOT NULL,
    error_message TEXT,
    operation_id  TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    modified_at   BIGINT NOT NULL,
    processed_at  BIGINT,
    source_meta   TEXT NOT NULL DEFAULT '{}',
    UNIQUE (asset_id, source_key)
);
CREATE INDEX documents_by_asset ON documents (tenant_id, asset_id, created_at DESC, id DESC);

CREATE TABLE asset_usage (
    tenant_id TEXT NOT NULL,
    asset_id  TEXT NOT NULL,
    day       BIGINT NOT NULL,
    tokens    BIGINT NOT NULL,
    PRIMARY KEY (asset_id, day)
);

CREATE TABLE chunks (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    tenant_id    TEXT NOT NULL,
    asset_id     TEXT NOT NULL,
    document_id  TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    chunk_index  BIGINT NOT NULL,
    content      TEXT NOT NULL,
    context_text TEXT NOT NULL,
    heading_path TEXT NOT NULL,
    page_number  TEXT,
    start_char   BIGINT NOT NULL,
    end_char     BIGINT NOT NULL,
    start_line   BIGINT NOT NULL,
    end_line     BIGINT NOT NULL,
    token_count  BIGINT NOT NULL,
    text_hash    TEXT NOT NULL,
    embedding    vector,                             -- NULL when the asset is not vectorized
    -- BM25's stand-in: ts_rank_cd over content (weight A) and contextText (weight B).
    tsv          tsvector GENERATED ALWAYS AS
                 (setweight(to_tsvector('english', content), 'A') || setweight(to_tsvector('english', context_text), 'B')) STORED
);
CREATE INDEX chunks_by_document ON chunks (document_id, chunk_index);
CREATE INDEX chunks_by_asset ON chunks (tenant_id, asset_id);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
-- HNSW needs a fixed dimension: one partial expression index per dimension of the model catalog.
-- pgvector's HNSW takes up to 2,000 dimensions of `vector` and 4,000 of `halfvec`, so 3,072-d
-- embeddings are indexed at half precision (the search re-ranks them at full precision).
CREATE INDEX chunks_embedding_384 ON chunks USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE vector_dims(embedding) = 384;
CREATE INDEX chunks_embedding_1536 ON chunks USING hnsw ((embedding::vector(1536)) vector_cosine_ops) WHERE vector_dims(embedding) = 1536;
CREATE INDEX chunks_embedding_3072 ON chunks USING hnsw ((embedding::halfvec(3072)) halfvec_cosine_ops) WHERE vector_dims(embedding) = 3072;

CREATE TABLE embedding_cache (
    tenant_id TEXT NOT NULL,
    model     TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    tokens    BIGINT NOT NULL,
    embedding BYTEA NOT NULL,                        -- little-endian f32, as on SQLite
    PRIMARY KEY (tenant_id, model, text_hash)
);

CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    temporary    BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX files_temporary ON files (created_at) WHERE temporary;

-- Idle workers LISTEN on 'ragd_work'; a new or released operation wakes them at once.
CREATE FUNCTION ragd_notify_work() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ragd_work', NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER operations_notify_work AFTER INSERT OR UPDATE OF status, lease_expires_at ON operations
    FOR EACH ROW WHEN (NEW.status = 'PENDING' OR (NEW.status = 'RUNNING' AND NEW.lease_expires_at = 0))
    EXECUTE FUNCTION ragd_notify_work();
