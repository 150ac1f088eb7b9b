-- HQ's reply counter: it grows with every batch of pouches HQ takes in,
-- and every reply carries it, signed, so that a mission tells an old
-- reply from a new one without trusting either side's clock.
CREATE TABLE hq_serial (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	n  INTEGER NOT NULL
) STRICT;
INSERT INTO hq_serial (id, n) VALUES (1, 0);
