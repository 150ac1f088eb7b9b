-- How many times HQ failed a carried pouch (an error of HQ's, not a
-- refusal), and the last error: after a few, the pouch is set aside, so
-- that it does not hold up the others carried.
ALTER TABLE relay_pouches ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE relay_pouches ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
