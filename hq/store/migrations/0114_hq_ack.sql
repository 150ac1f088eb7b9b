-- HQ's acknowledgement of an escalation travels to the mission as
-- guidance marked as the acknowledgement: the crisis pathway says HQ
-- acknowledges within the hour, and the mission must see that it did.
ALTER TABLE guidance ADD COLUMN ack INTEGER NOT NULL DEFAULT 0;
