-- The language each person reads Chancery in; '' until they choose one,
-- when their browser's language (or the site's default) applies.
ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT '';
