-- The framework version each mission reported it has in force (0 until it
-- reports one: the built-in version every agent starts with). HQ scores a
-- mission against this version, never against a newer one it has not got.
ALTER TABLE missions ADD COLUMN framework INTEGER NOT NULL DEFAULT 0;
