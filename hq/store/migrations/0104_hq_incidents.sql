-- Incidents reported by missions, as their latest record (whole JSON),
-- with the columns the board filters and sorts by.
CREATE TABLE incidents (
	mission      TEXT NOT NULL REFERENCES missions(code),
	id           TEXT NOT NULL,
	title        TEXT NOT NULL,
	kind         TEXT NOT NULL,
	severity     INTEGER NOT NULL,
	status       TEXT NOT NULL,
	first_seen   TEXT NOT NULL,
	escalated_at TEXT,
	closed_at    TEXT,
	updated_at   TEXT NOT NULL,
	lessons      TEXT NOT NULL DEFAULT '',
	body         TEXT NOT NULL,
	PRIMARY KEY (mission, id)
) STRICT;
CREATE INDEX incidents_open ON incidents(status, severity);

-- HQ's guidance on a mission's incident, until the mission's timeline
-- shows it.
CREATE TABLE guidance (
	id        TEXT PRIMARY KEY,
	mission   TEXT NOT NULL REFERENCES missions(code),
	incident  TEXT NOT NULL,
	text      TEXT NOT NULL,
	by        TEXT NOT NULL,
	at        TEXT NOT NULL,
	delivered INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX guidance_pending ON guidance(mission, delivered);
