-- The highest reply counter of HQ's taken (see exchange.Receipt.Serial):
-- what tells an old reply from a new one, instead of either clock.
ALTER TABLE link ADD COLUMN reply_serial INTEGER NOT NULL DEFAULT 0;

-- How far this machine's clock was from HQ's at the last direct exchange,
-- in milliseconds (positive: ahead), for the Sync page to warn of.
ALTER TABLE link ADD COLUMN clock_skew_ms INTEGER NOT NULL DEFAULT 0;
