-- Connected sources: sealed credentials, poll schedules, webhooks and their backlog.

-- The asset's `auth` block, AES-256-GCM sealed by the service (never plaintext in the file).
ALTER TABLE assets ADD COLUMN auth_sealed BYTEA;
-- When its poll schedule fires next; NULL without one.
ALTER TABLE assets ADD COLUMN next_poll_at BIGINT;
-- Webhook deliveries waiting for the active operation to end: a JSON array of document ids
-- ('[]' = everything); NULL when none wait.
ALTER TABLE assets ADD COLUMN webhook_backlog TEXT;
CREATE INDEX assets_poll_due ON assets (next_poll_at) WHERE next_poll_at IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX assets_backlog ON assets (id) WHERE webhook_backlog IS NOT NULL AND deleted_at IS NULL;

-- One inbound webhook per asset; its id is the secret-free half of the URL, its signing secret is
-- sealed under that id.
CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    asset_id      TEXT NOT NULL UNIQUE REFERENCES assets (id),
    secret_sealed BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    modified_at   BIGINT NOT NULL
);
