-- Which of two records of an incident is newer is decided by the
-- mission's change sequence, not by its clock: a mission whose clock ran
-- ahead and was set right is still heard. Records kept before have 0, so
-- the next change of each wins.
ALTER TABLE incidents ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
