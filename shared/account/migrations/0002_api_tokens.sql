-- API tokens for programs that read HQ's readiness map. Stored as hashes;
-- a token is shown once, when it is made. HQ databases made before tokens
-- joined the accounts have the table already (as 0101_hq_tokens.sql).
CREATE TABLE IF NOT EXISTS api_tokens (
	token_hash BLOB PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	role       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	revoked    INTEGER NOT NULL DEFAULT 0
) STRICT;
