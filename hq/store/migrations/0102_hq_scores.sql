-- Each mission's scores, kept up to date as its changes are applied, so
-- that the readiness map reads one row per mission instead of every
-- answer. summary is readiness.Summary as JSON.
CREATE TABLE mission_scores (
	mission     TEXT PRIMARY KEY REFERENCES missions(code),
	summary     TEXT NOT NULL,
	last_change TEXT
) STRICT;
