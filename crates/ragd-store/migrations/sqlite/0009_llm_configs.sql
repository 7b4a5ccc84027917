-- (ragd) LLM configs: a tenant's endpoint and sealed key for a remote embedding provider, named
-- by assets' embedding_llm_config_id.
CREATE TABLE llm_configs (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL,
    display_name        TEXT NOT NULL,
    provider            TEXT NOT NULL,
    base_url            TEXT,
    api_key_sealed      BLOB,
    requests_per_minute INTEGER,
    tokens_per_minute   INTEGER,
    max_concurrency     INTEGER,
    created_by          TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    modified_at         INTEGER NOT NULL
);
CREATE INDEX llm_configs_tenant ON llm_configs (tenant_id, created_at);
