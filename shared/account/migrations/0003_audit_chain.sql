-- The audit log as a hash chain: each entry carries the hash of the one
-- before and its own, over its fields, so that an entry edited, deleted
-- or moved, even with the triggers dropped, is found by "audit verify".
-- Entries written before the chain have neither; the chain starts after
-- them.
ALTER TABLE audit ADD COLUMN prev TEXT NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN hash TEXT NOT NULL DEFAULT '';
