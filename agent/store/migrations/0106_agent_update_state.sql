-- Where the mission stands with HQ's releases, as one typed row in place
-- of loose meta keys: the release in force and its expiry, and the last
-- release refused, why, how many times in a row, and when it may be tried
-- again (a refused release is retried with backoff, not on every exchange,
-- and reported to HQ once).
CREATE TABLE update_state (
	id             INTEGER PRIMARY KEY CHECK (id = 1),
	version        INTEGER NOT NULL DEFAULT 0,
	expires        TEXT NOT NULL DEFAULT '',
	error          TEXT NOT NULL DEFAULT '',
	failed_version INTEGER NOT NULL DEFAULT -1,
	failures       INTEGER NOT NULL DEFAULT 0,
	retry_at       TEXT NOT NULL DEFAULT ''
) STRICT;

INSERT INTO update_state (id, version, expires, error)
SELECT 1,
	coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'update_version'), 0),
	coalesce((SELECT value FROM meta WHERE key = 'update_expires'), ''),
	coalesce((SELECT value FROM meta WHERE key = 'update_error'), '');

DELETE FROM meta WHERE key IN ('update_version', 'update_expires', 'update_error');
