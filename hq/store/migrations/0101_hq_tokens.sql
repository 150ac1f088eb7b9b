-- API tokens for programs that read the readiness map. Stored as hashes;
-- a token is shown once, when it is made.
CREATE TABLE api_tokens (
	token_hash BLOB PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	role       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	revoked    INTEGER NOT NULL DEFAULT 0
) STRICT;
