-- A count of the changes to an asset's documents' metadata (every document inserted or deleted,
-- every write of `metadata` or `metadata_patch`), moved by triggers in the writing transaction.
-- The embedded backend keeps each asset's parsed document metadata for filtered searches and
-- reads it again only when this count moved (one process writes at a time, so the count and the
-- rows it stands for are read consistently).
ALTER TABLE assets ADD COLUMN metadata_version INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER documents_metadata_insert AFTER INSERT ON documents BEGIN
    UPDATE assets SET metadata_version = metadata_version + 1 WHERE id = new.asset_id;
END;

CREATE TRIGGER documents_metadata_delete AFTER DELETE ON documents BEGIN
    UPDATE assets SET metadata_version = metadata_version + 1 WHERE id = old.asset_id;
END;

CREATE TRIGGER documents_metadata_update AFTER UPDATE OF metadata, metadata_patch ON documents BEGIN
    UPDATE assets SET metadata_version = metadata_version + 1 WHERE id = new.asset_id;
END;
