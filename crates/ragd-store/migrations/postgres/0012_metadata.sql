-- Document metadata (issue 20): `metadata` is what ingestion wrote (derived from the source,
-- overlaid by what the client gave with the document), `metadata_patch` what a PATCH of the
-- document set; uploads keep the metadata the client gave with them until an ingestion reads it.
ALTER TABLE documents ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE documents ADD COLUMN metadata_patch TEXT NOT NULL DEFAULT '{}';
ALTER TABLE files ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
