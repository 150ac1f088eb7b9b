-- Liveness from new evidence only: the newest signed creation time of a
-- pouch that told HQ something new, so that an old pouch sent again (by a
-- carrier, a USB stick, anyone on the link) does not make a mission look
-- alive.
ALTER TABLE missions ADD COLUMN last_created TEXT;

-- Evidence files belong to the mission whose signed change brought them:
-- one mission's incident cannot serve another's file as its own.
CREATE TABLE mission_attachments (
	mission TEXT NOT NULL REFERENCES missions(code),
	sha256  TEXT NOT NULL,
	size    INTEGER NOT NULL,
	data    BLOB NOT NULL,
	PRIMARY KEY (mission, sha256)
) STRICT;
INSERT OR IGNORE INTO mission_attachments (mission, sha256, size, data)
SELECT r.mission, a.sha256, a.size, a.data
FROM attachments a JOIN (SELECT DISTINCT mission, key FROM received WHERE entity = 'attachment') r ON r.key = a.sha256;
DROP TABLE attachments;
