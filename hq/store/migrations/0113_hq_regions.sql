-- The regions missions are grouped by, as a list HQ manages: a mission's
-- region is chosen from it, so that a typo cannot make a new region. The
-- list starts with the regions missions already have.
CREATE TABLE regions (
    name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 80)
);
INSERT OR IGNORE INTO regions (name) SELECT DISTINCT region FROM missions WHERE region != '';
