-- Queries of Migrate (migrate_postgres.go). The migrations themselves are the numbered files
-- in migrations/.

-- name: migrate-lock
-- Held until the migration transaction ends, so processes starting together apply each
-- migration once; keyed by schema, so schemas migrate independently.
SELECT pg_advisory_xact_lock(1396834305, hashtext(coalesce($1::text, current_schema()::text, '')));

-- name: migrate-create-schema
-- {{schema}} is replaced by the quoted schema name (identifiers cannot be parameters).
CREATE SCHEMA IF NOT EXISTS {{schema}};

-- name: migrate-create-table
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- name: migrate-applied
SELECT version, name FROM schema_migrations ORDER BY version;

-- name: migrate-record
INSERT INTO schema_migrations (version, name) VALUES ($1, $2);
