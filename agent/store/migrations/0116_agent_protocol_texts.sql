-- A protocol's words in other languages than its own, as HQ published
-- them: JSON, {"fr": {"title": …, "category": …, "body": …}}; '' for none.
ALTER TABLE protocols ADD COLUMN text TEXT NOT NULL DEFAULT '';
