-- The embedded event log: one partition (0) whose offset is the row's position.
-- Idempotent: run at every open.

CREATE TABLE IF NOT EXISTS events (
    -- AUTOINCREMENT: a position is never reused, even after the last row is deleted.
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT    NOT NULL UNIQUE,
    team_id     TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL, -- unix nanoseconds, UTC: compares exactly, like the envelope
    recorded_at INTEGER NOT NULL, -- unix nanoseconds, UTC
    envelope    BLOB    NOT NULL, -- switchboard.events.v1.Envelope (adapters/eventcodec)
    -- The event's place in its (team_id, key) stream, 1-based and gapless, assigned in the
    -- transaction that inserts it. Files of the previous release gain it on open (see
    -- migrateEventLog) and the unique index events_team_key_version with it.
    version     INTEGER NOT NULL
) STRICT;

-- No other index: every read pages in log order through a rowid range (position > ?) and
-- filters the rest (team, type, key, time) row by row, ReadStream and the expected-version
-- append use events_team_key_version (event_log_sqlite_migrate.sql), the dedup lookup the
-- UNIQUE event_id. Each index costs every append a random insert; the three (team, ...,
-- position) indexes of earlier releases are dropped on open (TestEventLogQueriesUseIndexes
-- proves every read still uses an index or a rowid range).

CREATE TABLE IF NOT EXISTS checkpoints (
    "group"   TEXT    NOT NULL,
    partition INTEGER NOT NULL,
    "offset"  INTEGER NOT NULL, -- the last position the group has handled
    PRIMARY KEY ("group", partition)
) STRICT;
