-- Run at every open, after the schema of event_log_sqlite.sql and after a file of the previous
-- release gained the version column (migrateEventLog). Idempotent.

-- The expected-version append and ReadStream read a stream by it; being unique, it also refuses
-- two events at one version of a stream, whatever writes the file.
CREATE UNIQUE INDEX IF NOT EXISTS events_team_key_version ON events (team_id, key, version);

-- Earlier releases also kept these read indexes; reads page by rowid range now, and each index
-- cost every append a random insert.
DROP INDEX IF EXISTS events_team_position;
DROP INDEX IF EXISTS events_team_key_position;
DROP INDEX IF EXISTS events_team_type_position;
