-- The large pouch on its way to HQ, kept until HQ's receipt covers it, so
-- that the next attempt (the next sync, or after a restart) resumes its
-- upload from HQ's offset instead of sealing a new pouch and starting
-- from nothing. At most one: the oldest changes HQ lacks.
CREATE TABLE outgoing (
	sum      TEXT PRIMARY KEY,           -- SHA-256 of the pouch's bytes
	id       TEXT NOT NULL,              -- the pouch's manifest id
	first    INTEGER NOT NULL,
	last     INTEGER NOT NULL,
	records  INTEGER NOT NULL,
	raw      BLOB NOT NULL,
	location TEXT NOT NULL DEFAULT '',   -- HQ's address of its upload, once created
	sealed   TEXT NOT NULL
) STRICT;
