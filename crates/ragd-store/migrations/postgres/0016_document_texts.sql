-- The text each indexed document was parsed to, with what chunking reads besides it (JSON
-- `DocumentText`): what `:estimate` prices another chunking or model from, without fetching the
-- source again. Removed with its document.
CREATE TABLE document_texts (
    document_id TEXT PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    tenant_id   TEXT NOT NULL,
    asset_id    TEXT NOT NULL,
    parsed      TEXT NOT NULL
);
CREATE INDEX document_texts_by_asset ON document_texts (tenant_id, asset_id, document_id);
