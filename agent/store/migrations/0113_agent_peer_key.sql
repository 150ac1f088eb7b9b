-- The peer keys HQ handed out in its receipts, sealed like the mission's
-- own keys: the one in force and the one before it, as "epoch.key". What
-- the mission tells its peers is sealed with the first; what they tell
-- it opens with either, while they catch up with HQ.
ALTER TABLE link ADD COLUMN peer_key TEXT NOT NULL DEFAULT '';
ALTER TABLE link ADD COLUMN peer_key_prev TEXT NOT NULL DEFAULT '';
