-- What an operation's traversal left out on purpose (noindex pages, duplicates, robots.txt), with why.
ALTER TABLE operations ADD COLUMN items_excluded BIGINT NOT NULL DEFAULT 0;
ALTER TABLE operations ADD COLUMN excluded TEXT NOT NULL DEFAULT '[]';
