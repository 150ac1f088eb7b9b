-- The mission's link to HQ as one typed row, in place of loose meta keys:
-- who the mission is, HQ's pinned address and keys, the mission's own key
-- pairs by slot, what HQ's receipts cover, and the last sync's outcome.
-- Empty text is "not set"; NULL is "never".
CREATE TABLE link (
	id             INTEGER PRIMARY KEY CHECK (id = 1),
	mission        TEXT NOT NULL DEFAULT '',
	name           TEXT NOT NULL DEFAULT '',
	hq_url         TEXT NOT NULL DEFAULT '',
	hq_recipients  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(hq_recipients)),
	hq_signing     TEXT NOT NULL DEFAULT '',
	card           TEXT NOT NULL DEFAULT '',
	key_current    TEXT NOT NULL DEFAULT '',
	key_next       TEXT NOT NULL DEFAULT '',
	key_previous   TEXT NOT NULL DEFAULT '',
	key_enrolling  TEXT NOT NULL DEFAULT '',
	acked          INTEGER NOT NULL DEFAULT 0 CHECK (acked >= 0),
	receipt_at     TEXT,
	last_ok        TEXT,
	last_try       TEXT,
	last_error     TEXT NOT NULL DEFAULT '',
	upload_sent    INTEGER NOT NULL DEFAULT 0,
	upload_total   INTEGER NOT NULL DEFAULT 0,
	-- The newest release the peers held when the last pouch asked HQ to
	-- leave a release's documents out; NULL when it did not ask.
	peer_documents INTEGER,
	-- The release that waits because the peers lacked its documents, and
	-- the newest release they held then; 0 when none waits.
	deferred       INTEGER NOT NULL DEFAULT 0,
	deferred_had   INTEGER NOT NULL DEFAULT 0
) STRICT;

INSERT INTO link (id, mission, name, hq_url, hq_recipients, hq_signing, card,
	key_current, key_next, key_previous, key_enrolling, acked, receipt_at, last_ok, last_try, last_error,
	peer_documents, deferred, deferred_had)
SELECT 1,
	coalesce((SELECT value FROM meta WHERE key = 'mission_code'), ''),
	coalesce((SELECT value FROM meta WHERE key = 'mission_name'), ''),
	coalesce((SELECT value FROM meta WHERE key = 'uplink_hq_url'), ''),
	coalesce((SELECT value FROM meta WHERE key = 'uplink_hq_recipients' AND json_valid(value)), '[]'),
	coalesce((SELECT value FROM meta WHERE key = 'uplink_hq_signing'), ''),
	coalesce((SELECT value FROM meta WHERE key = 'uplink_card'), ''),
	coalesce((SELECT value FROM meta WHERE key = 'uplink_key_current'), ''),
	coalesce((SELECT value FROM meta WHERE key = 'uplink_key_next'), ''),
	coalesce((SELECT value FROM meta WHERE key = 'uplink_key_previous'), ''),
	coalesce((SELECT value FROM meta WHERE key = 'uplink_key_enrolling'), ''),
	coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'uplink_acked'), 0),
	(SELECT nullif(value, '') FROM meta WHERE key = 'uplink_receipt_at'),
	(SELECT nullif(value, '') FROM meta WHERE key = 'uplink_last_ok'),
	(SELECT nullif(value, '') FROM meta WHERE key = 'uplink_last_try'),
	coalesce((SELECT value FROM meta WHERE key = 'uplink_last_error'), ''),
	(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'uplink_peer_documents' AND value != ''),
	coalesce((SELECT CAST(substr(value, 1, instr(value, ' ') - 1) AS INTEGER) FROM meta WHERE key = 'uplink_docs_from_peers' AND instr(value, ' ') > 0), 0),
	coalesce((SELECT CAST(substr(value, instr(value, ' ') + 1) AS INTEGER) FROM meta WHERE key = 'uplink_docs_from_peers' AND instr(value, ' ') > 0), 0);

-- How far each escalated incident has got towards HQ.
CREATE TABLE deliveries (
	incident TEXT PRIMARY KEY,
	state    TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'received')),
	at       TEXT
) STRICT;

INSERT INTO deliveries (incident, state, at)
SELECT substr(key, 10),
	CASE WHEN instr(value, ' ') > 0 THEN substr(value, 1, instr(value, ' ') - 1) ELSE value END,
	CASE WHEN instr(value, ' ') > 0 THEN substr(value, instr(value, ' ') + 1) END
FROM meta WHERE key LIKE 'delivery:%' AND
	(CASE WHEN instr(value, ' ') > 0 THEN substr(value, 1, instr(value, ' ') - 1) ELSE value END) IN ('queued', 'sent', 'received');

-- The release state's times become NULL when unset, as the link's.
CREATE TABLE update_state_new (
	id             INTEGER PRIMARY KEY CHECK (id = 1),
	version        INTEGER NOT NULL DEFAULT 0,
	expires        TEXT,
	error          TEXT NOT NULL DEFAULT '',
	failed_version INTEGER NOT NULL DEFAULT -1,
	failures       INTEGER NOT NULL DEFAULT 0,
	retry_at       TEXT
) STRICT;
INSERT INTO update_state_new SELECT id, version, nullif(expires, ''), error, failed_version, failures, nullif(retry_at, '') FROM update_state;
DROP TABLE update_state;
ALTER TABLE update_state_new RENAME TO update_state;

DROP TABLE meta;
