-- HQ's own settings and keys.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

-- The mission registry.
CREATE TABLE missions (
	code       TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	country    TEXT NOT NULL DEFAULT '',
	city       TEXT NOT NULL DEFAULT '',
	region     TEXT NOT NULL DEFAULT '',
	lat        REAL,
	lon        REAL,
	state      TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'enrolled', 'revoked')),
	demo       INTEGER NOT NULL DEFAULT 0,
	created_at TEXT NOT NULL,
	last_seen  TEXT,
	-- every change up to this sequence number has been applied
	through    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- A mission's keys: the one in use, retired ones, revoked ones.
CREATE TABLE mission_keys (
	mission       TEXT NOT NULL REFERENCES missions(code),
	key_id        TEXT NOT NULL,
	signing_key   BLOB NOT NULL,
	age_recipient TEXT NOT NULL,
	state         TEXT NOT NULL CHECK (state IN ('active', 'retired', 'revoked')),
	created_at    TEXT NOT NULL,
	PRIMARY KEY (mission, key_id)
) STRICT;

-- One-time enrollment codes, stored as hashes.
CREATE TABLE enroll_codes (
	code_hash  BLOB PRIMARY KEY,
	mission    TEXT NOT NULL REFERENCES missions(code),
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
) STRICT;

-- Every change received from a mission, as sent, whatever order pouches
-- arrive in. Changes are applied to the records below in sequence order,
-- up to the first gap.
CREATE TABLE received (
	mission TEXT NOT NULL REFERENCES missions(code),
	seq     INTEGER NOT NULL,
	entity  TEXT NOT NULL,
	key     TEXT NOT NULL,
	op      TEXT NOT NULL,
	body    TEXT,
	at      TEXT NOT NULL,
	pouch   TEXT NOT NULL,
	PRIMARY KEY (mission, seq)
) STRICT;

-- Pouches taken in, for the ingest ledger.
CREATE TABLE pouches (
	id          TEXT PRIMARY KEY,
	mission     TEXT NOT NULL REFERENCES missions(code),
	first       INTEGER NOT NULL,
	last        INTEGER NOT NULL,
	size        INTEGER NOT NULL,
	via         TEXT NOT NULL,
	received_at TEXT NOT NULL
) STRICT;

-- The missions' records, as rebuilt from their changes.
CREATE TABLE answers (
	mission     TEXT NOT NULL REFERENCES missions(code),
	item_id     TEXT NOT NULL,
	level       INTEGER NOT NULL,
	na          INTEGER NOT NULL,
	evidence    TEXT NOT NULL,
	answered_by TEXT NOT NULL,
	answered_at TEXT NOT NULL,
	PRIMARY KEY (mission, item_id)
) STRICT;

CREATE TABLE snapshots (
	mission           TEXT NOT NULL REFERENCES missions(code),
	id                TEXT NOT NULL,
	framework_version INTEGER NOT NULL,
	signed_by         TEXT NOT NULL,
	signed_at         TEXT NOT NULL,
	note              TEXT NOT NULL,
	answers           TEXT NOT NULL,
	PRIMARY KEY (mission, id)
) STRICT;
