-- Search finds the forms people type. Beside the index of words as
-- written (which answers prefixes: "duty offic"), a second index stems
-- them (Porter), so that "impersonate" finds "impersonation" and
-- "escalations" finds "escalation". It holds each protocol's version in
-- force, as the first does.
CREATE VIRTUAL TABLE protocols_stem USING fts5(id UNINDEXED, title, body, tokenize = 'porter unicode61 remove_diacritics 2');
INSERT INTO protocols_stem (id, title, body) SELECT id, title, body FROM protocols_fts;
