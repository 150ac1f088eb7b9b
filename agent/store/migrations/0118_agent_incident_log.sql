-- The incident log's order (open before closed, the most severe first,
-- then the latest) as an index: the page takes its first rows from it
-- instead of sorting every incident, and reads the title and kind out of
-- the stored JSON for those rows only.
CREATE INDEX incidents_log ON incidents(status = 'closed', severity DESC, updated_at DESC);
