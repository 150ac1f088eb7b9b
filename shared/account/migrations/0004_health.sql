-- One row that /readyz writes again each time it is asked: the proof
-- that the database takes a write.
CREATE TABLE health (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	at TEXT NOT NULL
) STRICT;
