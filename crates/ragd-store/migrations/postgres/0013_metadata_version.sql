-- The embedded backend counts the changes to an asset's documents' metadata here (see its 0013)
-- to keep their parsed metadata between filtered searches. PostgreSQL serves several processes,
-- and a count on the asset row would add a lock on it to every document write, so it reads the
-- documents' metadata for each filtered search instead: nothing changes in this schema. The file
-- keeps the two backends' migration numbers shared.
SELECT 1;
