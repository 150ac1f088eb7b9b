-- What a code is for: a first enrollment, or a re-enrollment (new keys for
-- a mission already enrolled) that HQ issued on purpose. A plain code
-- cannot move an enrolled mission to other keys.
ALTER TABLE enroll_codes ADD COLUMN purpose TEXT NOT NULL DEFAULT 'enroll' CHECK (purpose IN ('enroll', 'rekey'));
