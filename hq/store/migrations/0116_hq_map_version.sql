-- The readiness map's version: one number that every write to what the
-- map is built from moves on (the registry, the missions' scores, their
-- sign-offs, the publications). HQ keeps the map it built and builds it
-- again only when the number has moved, so no write can leave a stale map
-- on screen, however it was made. When a mission was last seen moves with
-- every exchange; the map reads it afresh each time instead.
CREATE TABLE map_version (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	v  INTEGER NOT NULL
) STRICT;
INSERT INTO map_version (id, v) VALUES (1, 0);

CREATE TRIGGER map_missions_insert AFTER INSERT ON missions BEGIN UPDATE map_version SET v = v + 1; END;
CREATE TRIGGER map_missions_update AFTER UPDATE OF code, name, country, city, region, lat, lon, state, demo, framework ON missions BEGIN UPDATE map_version SET v = v + 1; END;
CREATE TRIGGER map_missions_delete AFTER DELETE ON missions BEGIN UPDATE map_version SET v = v + 1; END;
CREATE TRIGGER map_scores_insert AFTER INSERT ON mission_scores BEGIN UPDATE map_version SET v = v + 1; END;
CREATE TRIGGER map_scores_update AFTER UPDATE ON mission_scores BEGIN UPDATE map_version SET v = v + 1; END;
CREATE TRIGGER map_scores_delete AFTER DELETE ON mission_scores BEGIN UPDATE map_version SET v = v + 1; END;
CREATE TRIGGER map_snapshots_insert AFTER INSERT ON snapshots BEGIN UPDATE map_version SET v = v + 1; END;
CREATE TRIGGER map_snapshots_delete AFTER DELETE ON snapshots BEGIN UPDATE map_version SET v = v + 1; END;
CREATE TRIGGER map_publications_insert AFTER INSERT ON publications BEGIN UPDATE map_version SET v = v + 1; END;
CREATE TRIGGER map_publications_update AFTER UPDATE ON publications BEGIN UPDATE map_version SET v = v + 1; END;
CREATE TRIGGER map_publications_delete AFTER DELETE ON publications BEGIN UPDATE map_version SET v = v + 1; END;
