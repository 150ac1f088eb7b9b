-- The mission's own settings: its code and name.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

-- The current assessment: one answer per checklist item.
CREATE TABLE answers (
	item_id     TEXT PRIMARY KEY,
	level       INTEGER NOT NULL CHECK (level BETWEEN 0 AND 4),
	na          INTEGER NOT NULL DEFAULT 0 CHECK (na IN (0, 1)),
	evidence    TEXT NOT NULL DEFAULT '',
	answered_by TEXT NOT NULL,
	answered_at TEXT NOT NULL
) STRICT;

-- Signed-off assessments, frozen: the answers are kept as the JSON they
-- travel as.
CREATE TABLE snapshots (
	id                TEXT PRIMARY KEY,
	framework_version INTEGER NOT NULL,
	signed_by         TEXT NOT NULL,
	signed_at         TEXT NOT NULL,
	note              TEXT NOT NULL DEFAULT '',
	answers           TEXT NOT NULL
) STRICT;
CREATE TRIGGER snapshots_frozen BEFORE UPDATE ON snapshots
BEGIN SELECT RAISE(ABORT, 'a signed-off snapshot cannot change'); END;

-- The change log: every change of a record this mission owns, appended in
-- the same transaction as the change, numbered 1, 2, 3… with no gaps.
CREATE TABLE changes (
	seq    INTEGER PRIMARY KEY,
	entity TEXT NOT NULL,
	key    TEXT NOT NULL,
	op     TEXT NOT NULL CHECK (op IN ('put', 'delete')),
	body   TEXT,
	at     TEXT NOT NULL
) STRICT;
CREATE TRIGGER changes_append_only_update BEFORE UPDATE ON changes
BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
CREATE TRIGGER changes_append_only_delete BEFORE DELETE ON changes
BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;
