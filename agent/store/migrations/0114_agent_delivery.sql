-- What the delivery states on screen are read from, beside the receipts:
-- the newest pouch a peer took to carry to HQ (up to which change, which
-- peer, when), and HQ's last refusal that trying again cannot mend (a
-- revoked mission or key), kept until a sync succeeds.
ALTER TABLE link ADD COLUMN carried_through INTEGER NOT NULL DEFAULT 0;
ALTER TABLE link ADD COLUMN carried_by TEXT NOT NULL DEFAULT '';
ALTER TABLE link ADD COLUMN carried_at TEXT;
ALTER TABLE link ADD COLUMN refused TEXT NOT NULL DEFAULT '';
