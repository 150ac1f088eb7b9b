-- Evidence files of missions' incidents, stored once under their SHA-256,
-- which HQ checked on arrival.
CREATE TABLE attachments (
	sha256 TEXT PRIMARY KEY,
	size   INTEGER NOT NULL,
	data   BLOB NOT NULL
) STRICT;
