-- The protocol library: every version HQ published, kept.
CREATE TABLE protocols (
	id          TEXT NOT NULL,
	version     INTEGER NOT NULL CHECK (version >= 1),
	title       TEXT NOT NULL,
	category    TEXT NOT NULL,
	body        TEXT NOT NULL,
	note        TEXT NOT NULL DEFAULT '',
	issued_at   TEXT NOT NULL,
	received_at TEXT NOT NULL,
	PRIMARY KEY (id, version)
) STRICT;
CREATE TRIGGER protocols_frozen BEFORE UPDATE ON protocols
BEGIN SELECT RAISE(ABORT, 'a published protocol version cannot change'); END;

-- Full-text search over the version in force of each protocol.
CREATE VIRTUAL TABLE protocols_fts USING fts5(id UNINDEXED, title, body, tokenize = 'unicode61 remove_diacritics 2');

-- "Read and understood": one row per person per version.
CREATE TABLE acks (
	protocol TEXT NOT NULL,
	version  INTEGER NOT NULL,
	username TEXT NOT NULL,
	at       TEXT NOT NULL,
	PRIMARY KEY (protocol, version, username)
) STRICT;
