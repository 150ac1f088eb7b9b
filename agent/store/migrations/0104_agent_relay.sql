-- Pouches this mission carries to HQ for peer missions that cannot reach
-- it. They are sealed to HQ: the relay keeps their bytes and nothing it
-- could read. Once HQ has answered, raw is dropped and HQ's reply (sealed
-- to the peer) or its refusal waits until the peer takes it.
CREATE TABLE relay_pouches (
	sum         TEXT PRIMARY KEY,
	mission     TEXT NOT NULL,
	raw         BLOB,
	reply       BLOB,
	error       TEXT NOT NULL DEFAULT '',
	received_at TEXT NOT NULL,
	answered_at TEXT
) STRICT;
CREATE INDEX relay_pouches_by_mission ON relay_pouches(mission);

-- What travelled through whom, both ways, for the Peers page.
CREATE TABLE relay_log (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	at     TEXT NOT NULL,
	peer   TEXT NOT NULL,
	event  TEXT NOT NULL,
	pouch  TEXT NOT NULL DEFAULT '',
	bytes  INTEGER NOT NULL DEFAULT 0,
	detail TEXT NOT NULL DEFAULT ''
) STRICT;
