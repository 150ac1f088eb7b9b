-- The documents of HQ's releases as HQ sent them, byte for byte, under
-- the SHA-256 the signed release gives: what this mission serves to its
-- peers, so that an update crosses the link to HQ once per network.
CREATE TABLE documents (
	sha256 TEXT PRIMARY KEY,
	body   BLOB NOT NULL
) STRICT;
