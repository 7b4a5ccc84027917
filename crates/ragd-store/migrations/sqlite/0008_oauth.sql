-- OAuth: short-lived grants (an authorization's state with its PKCE verifier; the tokens waiting
-- behind a single-use credential key), sealed by the service; and why an asset's credentials
-- stopped working (a refresh the provider refused), so that it shows as needing re-authorisation.
CREATE TABLE oauth_grants (
    id         TEXT PRIMARY KEY,   -- the state, or the SHA-256 of the credential key (never the key)
    tenant_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,      -- 'STATE' or 'CREDENTIAL'
    sealed     BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oauth_grants_expiry ON oauth_grants (expires_at);

ALTER TABLE assets ADD COLUMN auth_error TEXT;
