-- ragd core schema (SQLite). Times are milliseconds since the Unix epoch; ids are UUID text.
-- Every table carries tenant_id and every query filters by it.

CREATE TABLE assets (
    id                      TEXT PRIMARY KEY,
    tenant_id               TEXT NOT NULL,
    display_name            TEXT NOT NULL,
    source_type             TEXT NOT NULL,
    parameters              TEXT NOT NULL,           -- JSON object
    auth_method             TEXT,
    vectorized              INTEGER NOT NULL,
    integration_id          TEXT,
    embedding_provider      TEXT NOT NULL,
    embedding_model         TEXT NOT NULL,
    chunk_size              INTEGER NOT NULL,
    chunk_overlap           INTEGER NOT NULL,
    budget                  TEXT NOT NULL,           -- JSON BudgetLimits
    auto_update             TEXT,                    -- JSON AutoUpdateConfig, NULL = off
    embedding_llm_config_id TEXT,
    created_by              TEXT NOT NULL,
    created_at              INTEGER NOT NULL,
    modified_at             INTEGER NOT NULL,
    last_polled_at          INTEGER,
    operation_count         INTEGER NOT NULL DEFAULT 0, -- maintained with every insert: an O(1) exact totalCount
    deleted_at              INTEGER                  -- tombstone; parameters are cleared on delete
);
CREATE INDEX assets_by_tenant ON assets (tenant_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE operations (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    asset_id         TEXT NOT NULL REFERENCES assets (id),
    type             TEXT NOT NULL,
    status           TEXT NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_by       TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    completed_at     INTEGER,
    items_total      INTEGER NOT NULL DEFAULT 0,
    items_processed  INTEGER NOT NULL DEFAULT 0,
    items_failed     INTEGER NOT NULL DEFAULT 0,
    items_skipped    INTEGER NOT NULL DEFAULT 0,
    token_count      INTEGER NOT NULL DEFAULT 0,
    tokens_saved     INTEGER NOT NULL DEFAULT 0,
    chunk_count      INTEGER NOT NULL DEFAULT 0,
    error_message    TEXT,
    document_ids     TEXT NOT NULL DEFAULT '[]',     -- JSON array of UUIDs
    force            INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_token      TEXT,                            -- fencing token of the attempt holding the lease
    lease_expires_at INTEGER
);
CREATE INDEX operations_by_asset ON operations (tenant_id, asset_id, created_at DESC, id DESC);
CREATE INDEX operations_queue ON operations (created_at, id) WHERE status IN ('PENDING', 'RUNNING');
-- One active operation per asset, enforced by the database rather than by any process.
CREATE UNIQUE INDEX operations_one_active ON operations (asset_id) WHERE status IN ('PENDING', 'RUNNING');

CREATE TABLE documents (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    asset_id      TEXT NOT NULL REFERENCES assets (id),
    source_key    TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    source_url    TEXT,
    file_size     INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    chunk_count   INTEGER NOT NULL DEFAULT 0,
    token_count   INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL,
    error_message TEXT,
    operation_id  TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    modified_at   INTEGER NOT NULL,
    processed_at  INTEGER,
    UNIQUE (asset_id, source_key)
);

-- Tokens sent to the embedding model, per asset and UTC day, added when an operation ends.
-- Budgets and usage read a handful of rows here instead of summing every operation ever run.
CREATE TABLE asset_usage (
    tenant_id TEXT NOT NULL,
    asset_id  TEXT NOT NULL,
    day       INTEGER NOT NULL,                       -- start of the UTC day, ms
    tokens    INTEGER NOT NULL,
    PRIMARY KEY (asset_id, day)
);
