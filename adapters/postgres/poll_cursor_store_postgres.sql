-- Queries of the poll cursor store (poll_cursor_store_postgres.go). Table:
-- migrations/004_poll_cursors.up.sql.

-- name: pc-get
SELECT cursor FROM poll_cursors WHERE account_link_id = $1;

-- name: pc-put
INSERT INTO poll_cursors (account_link_id, cursor, updated_at) VALUES ($1, $2, now())
ON CONFLICT (account_link_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at;
