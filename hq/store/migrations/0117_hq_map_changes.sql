-- Which missions each move of the map's version touched, so that HQ
-- builds again only their rows of the map it keeps: with thousands of
-- missions syncing, nearly every reading of the map comes after a change,
-- and rebuilding all of it took most of a second at 10,000. A change that
-- concerns every mission (a publication, a mission's code changing) is
-- noted without a mission. Only the latest 10,000 moves are kept: a map
-- kept from before them is built again whole.
CREATE TABLE map_changes (
	v       INTEGER PRIMARY KEY,
	mission TEXT
) STRICT;

DROP TRIGGER map_missions_insert;
DROP TRIGGER map_missions_update;
DROP TRIGGER map_missions_delete;
DROP TRIGGER map_scores_insert;
DROP TRIGGER map_scores_update;
DROP TRIGGER map_scores_delete;
DROP TRIGGER map_snapshots_insert;
DROP TRIGGER map_snapshots_delete;
DROP TRIGGER map_publications_insert;
DROP TRIGGER map_publications_update;
DROP TRIGGER map_publications_delete;

CREATE TRIGGER map_version_moved AFTER UPDATE OF v ON map_version BEGIN
	DELETE FROM map_changes WHERE v <= NEW.v - 10000;
END;

CREATE TRIGGER map_missions_insert AFTER INSERT ON missions BEGIN
	UPDATE map_version SET v = v + 1;
	INSERT INTO map_changes (v, mission) SELECT v, NEW.code FROM map_version;
END;
CREATE TRIGGER map_missions_update AFTER UPDATE OF code, name, country, city, region, lat, lon, state, demo, framework ON missions BEGIN
	UPDATE map_version SET v = v + 1;
	INSERT INTO map_changes (v, mission) SELECT v, CASE WHEN OLD.code = NEW.code THEN NEW.code END FROM map_version;
END;
CREATE TRIGGER map_missions_delete AFTER DELETE ON missions BEGIN
	UPDATE map_version SET v = v + 1;
	INSERT INTO map_changes (v, mission) SELECT v, OLD.code FROM map_version;
END;
CREATE TRIGGER map_scores_insert AFTER INSERT ON mission_scores BEGIN
	UPDATE map_version SET v = v + 1;
	INSERT INTO map_changes (v, mission) SELECT v, NEW.mission FROM map_version;
END;
CREATE TRIGGER map_scores_update AFTER UPDATE ON mission_scores BEGIN
	UPDATE map_version SET v = v + 1;
	INSERT INTO map_changes (v, mission) SELECT v, CASE WHEN OLD.mission = NEW.mission THEN NEW.mission END FROM map_version;
END;
CREATE TRIGGER map_scores_delete AFTER DELETE ON mission_scores BEGIN
	UPDATE map_version SET v = v + 1;
	INSERT INTO map_changes (v, mission) SELECT v, OLD.mission FROM map_version;
END;
CREATE TRIGGER map_snapshots_insert AFTER INSERT ON snapshots BEGIN
	UPDATE map_version SET v = v + 1;
	INSERT INTO map_changes (v, mission) SELECT v, NEW.mission FROM map_version;
END;
CREATE TRIGGER map_snapshots_delete AFTER DELETE ON snapshots BEGIN
	UPDATE map_version SET v = v + 1;
	INSERT INTO map_changes (v, mission) SELECT v, OLD.mission FROM map_version;
END;
CREATE TRIGGER map_publications_insert AFTER INSERT ON publications BEGIN
	UPDATE map_version SET v = v + 1;
	INSERT INTO map_changes (v, mission) SELECT v, NULL FROM map_version;
END;
CREATE TRIGGER map_publications_update AFTER UPDATE ON publications BEGIN
	UPDATE map_version SET v = v + 1;
	INSERT INTO map_changes (v, mission) SELECT v, NULL FROM map_version;
END;
CREATE TRIGGER map_publications_delete AFTER DELETE ON publications BEGIN
	UPDATE map_version SET v = v + 1;
	INSERT INTO map_changes (v, mission) SELECT v, NULL FROM map_version;
END;
