-- An answer's evidence date (NULL: the day of the answer) and its
-- evidence files, as JSON; their bytes are in attachments, by hash, as an
-- incident's are.
ALTER TABLE answers ADD COLUMN evidence_on TEXT;
ALTER TABLE answers ADD COLUMN files TEXT NOT NULL DEFAULT '';
