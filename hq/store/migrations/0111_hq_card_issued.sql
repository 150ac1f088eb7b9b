-- When HQ last issued the card of each key (NULL: at the key's
-- registration). HQ renews a card in an ordinary receipt once it is half
-- its lifetime old, so cards can expire.
ALTER TABLE mission_keys ADD COLUMN card_issued TEXT;
