-- Poll cursors: where each account link's polling resumes (poll_cursor_store_sqlite.go).
-- Ingest state, not read model: a read-model rebuild never touches it. Idempotent: run at
-- every open.

CREATE TABLE IF NOT EXISTS poll_cursors (
    account_link_id TEXT    NOT NULL PRIMARY KEY,
    cursor          TEXT    NOT NULL,
    updated_at      INTEGER NOT NULL -- unix nanoseconds, UTC
) STRICT;
