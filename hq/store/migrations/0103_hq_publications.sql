-- What HQ publishes to missions: each version of each document, in the
-- order published (seq, which release versions are made from), with the
-- missions it is for.
CREATE TABLE publications (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	kind         TEXT NOT NULL,
	doc_id       TEXT NOT NULL,
	version      INTEGER NOT NULL,
	body         TEXT NOT NULL,
	-- "all", "region:NAME" or "missions:CODE,CODE"
	scope        TEXT NOT NULL,
	-- shipped with every agent: missions hold it without being sent it
	builtin      INTEGER NOT NULL DEFAULT 0,
	published_at TEXT NOT NULL,
	published_by TEXT NOT NULL,
	UNIQUE (kind, doc_id, version)
) STRICT;

-- Where each mission stands with HQ's releases, from HQ's side (sent)
-- and from the mission's reports (applied, failed).
CREATE TABLE mission_updates (
	mission         TEXT PRIMARY KEY REFERENCES missions(code),
	sent_version    INTEGER NOT NULL DEFAULT 0,
	sent_at         TEXT,
	sent_expires    TEXT,
	applied_version INTEGER NOT NULL DEFAULT 0,
	applied_at      TEXT,
	failed_version  INTEGER NOT NULL DEFAULT 0,
	failed_at       TEXT,
	failed_reason   TEXT NOT NULL DEFAULT ''
) STRICT;

-- Acknowledgements of protocol versions by mission staff, as reported.
CREATE TABLE acks (
	mission  TEXT NOT NULL REFERENCES missions(code),
	protocol TEXT NOT NULL,
	version  INTEGER NOT NULL,
	username TEXT NOT NULL,
	at       TEXT NOT NULL,
	PRIMARY KEY (mission, protocol, version, username)
) STRICT;
