-- What a REINDEX reckoned it would do as it started (ragd): documents, chunks and tokens,
-- counted from the stored texts as :estimate counts. NULL for other operations.
ALTER TABLE operations ADD COLUMN estimate_documents BIGINT;
ALTER TABLE operations ADD COLUMN estimate_chunks BIGINT;
ALTER TABLE operations ADD COLUMN estimate_tokens BIGINT;
