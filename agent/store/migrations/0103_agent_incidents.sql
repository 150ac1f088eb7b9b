-- Narrative-risk incidents: the whole record as JSON (it travels as
-- such), with the columns the lists sort and filter by.
CREATE TABLE incidents (
	id         TEXT PRIMARY KEY,
	status     TEXT NOT NULL,
	severity   INTEGER NOT NULL,
	updated_at TEXT NOT NULL,
	body       TEXT NOT NULL
) STRICT;
CREATE INDEX incidents_by_status ON incidents(status, severity);

-- Evidence files, stored once under their SHA-256.
CREATE TABLE attachments (
	sha256 TEXT PRIMARY KEY,
	size   INTEGER NOT NULL,
	data   BLOB NOT NULL
) STRICT;
