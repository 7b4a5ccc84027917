-- Uploaded files (the bytes live in the blob store under "{tenant}/{id}"), and what a source said
-- about a document last time (ETag, Last-Modified, outgoing links), for cheap change detection.

CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    temporary    INTEGER NOT NULL,                   -- 1 until imported; swept after 24 h
    created_at   INTEGER NOT NULL
);
CREATE INDEX files_temporary ON files (created_at) WHERE temporary = 1;

ALTER TABLE documents ADD COLUMN source_meta TEXT NOT NULL DEFAULT '{}';
