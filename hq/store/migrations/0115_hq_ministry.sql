-- A mission's answer keeps its evidence date and files as the mission
-- sent them (files: JSON; their bytes are in mission_attachments).
ALTER TABLE answers ADD COLUMN evidence_on TEXT;
ALTER TABLE answers ADD COLUMN files TEXT NOT NULL DEFAULT '';

-- Headquarters' own assessment, of the framework's ministry items: the
-- same answers as a mission's, on the same scale.
CREATE TABLE ministry_answers (
	item_id     TEXT PRIMARY KEY,
	level       INTEGER NOT NULL,
	na          INTEGER NOT NULL DEFAULT 0,
	evidence    TEXT NOT NULL DEFAULT '',
	answered_by TEXT NOT NULL,
	answered_at TEXT NOT NULL,
	evidence_on TEXT,
	files       TEXT NOT NULL DEFAULT ''
) STRICT;

-- The bytes of HQ's evidence files, by hash.
CREATE TABLE ministry_files (
	sha256 TEXT PRIMARY KEY,
	size   INTEGER NOT NULL,
	data   BLOB NOT NULL
) STRICT;

-- HQ's sign-offs of its own assessment, frozen as missions' are.
CREATE TABLE ministry_signoffs (
	id                INTEGER PRIMARY KEY,
	framework_version INTEGER NOT NULL,
	profile           TEXT NOT NULL,
	signed_by         TEXT NOT NULL,
	signed_at         TEXT NOT NULL,
	note              TEXT NOT NULL DEFAULT '',
	answers           TEXT NOT NULL
) STRICT;

-- The ministry's profile (large, mid or small): which ministry items it
-- is expected to have, and which models it is judged on.
CREATE TABLE ministry (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	profile TEXT NOT NULL,
	set_by  TEXT NOT NULL,
	set_at  TEXT NOT NULL
) STRICT;
