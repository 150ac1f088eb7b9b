-- HQ's root of trust as the mission follows it: the newest root statement
-- taken (empty: none yet, HQ's key pinned at enrollment is trusted).
ALTER TABLE link ADD COLUMN hq_root TEXT NOT NULL DEFAULT '';

-- How far HQ holds the mission's audit chain (its receipts say): the next
-- pouch carries the chain's hash at that entry, so that HQ sees a history
-- rewritten since.
ALTER TABLE link ADD COLUMN audit_at INTEGER NOT NULL DEFAULT 0;

-- The key ids HQ's latest receipt says are revoked or retired: peers'
-- cards for them are refused before they expire. A JSON array.
ALTER TABLE link ADD COLUMN revoked TEXT NOT NULL DEFAULT '[]';
