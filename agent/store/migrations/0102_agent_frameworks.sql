-- Capability framework versions HQ has sent; the newest is in force.
CREATE TABLE frameworks (
	version     INTEGER PRIMARY KEY,
	body        TEXT NOT NULL,
	received_at TEXT NOT NULL
) STRICT;
