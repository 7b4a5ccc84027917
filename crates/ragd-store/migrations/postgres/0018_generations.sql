-- Index generations (ragd): an asset's chunks belong to the index `chunks.asset_id` names: the
-- asset's own id for its first generation, a generation's id after a re-index built one.
-- `serving_index` is the index searches read (NULL: the asset's id); `serving`, `building` and
-- `previous` describe the serving generation, the one a REINDEX fills, and the one kept for a
-- rollback (JSON `Generation`: index, number, spec, retiredAt). NULL `serving`: the first
-- generation, with the asset's embedding columns.
ALTER TABLE assets ADD COLUMN serving_index TEXT;
ALTER TABLE assets ADD COLUMN serving TEXT;
ALTER TABLE assets ADD COLUMN building TEXT;
ALTER TABLE assets ADD COLUMN previous TEXT;
