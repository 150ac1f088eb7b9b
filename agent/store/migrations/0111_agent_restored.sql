-- A mission restored from a backup: the last change the backup held, so
-- that before sending anything the mission learns from HQ how far its
-- log really went, and numbers its new changes after that (-1: not
-- restored, or already reconciled).
ALTER TABLE link ADD COLUMN restored_seq INTEGER NOT NULL DEFAULT -1;

-- After a restore is reconciled, the last change HQ holds of the log: the
-- next change is numbered after it, even if none was made since.
ALTER TABLE link ADD COLUMN seq_floor INTEGER NOT NULL DEFAULT 0;
