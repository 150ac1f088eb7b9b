-- The newest pouch format HQ has said it reads: the mission writes its
-- pouches in it. 1, which every HQ reads, until HQ says more.
ALTER TABLE link ADD COLUMN pouch_format INTEGER NOT NULL DEFAULT 1;
