-- HQ's root of trust: each version of the root statement installed, as
-- signed off line (see chancery/shared/root). Missions are sent the versions
-- after the one they follow.
CREATE TABLE hq_roots (
	version      INTEGER PRIMARY KEY,
	body         TEXT NOT NULL,
	installed_at TEXT NOT NULL
) STRICT;

-- Each mission's audit chain as HQ last heard it: how many entries, the
-- hash of the last, when the pouch that said so was made, and what HQ
-- found wrong (empty: nothing).
ALTER TABLE missions ADD COLUMN audit_entries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE missions ADD COLUMN audit_head TEXT NOT NULL DEFAULT '';
ALTER TABLE missions ADD COLUMN audit_created TEXT;
ALTER TABLE missions ADD COLUMN audit_problem TEXT NOT NULL DEFAULT '';
