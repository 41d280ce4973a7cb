-- ListThreads' status filter reads an index of threads instead of joining prospects row by
-- row: each thread keeps its prospect's status ('' for none, or no prospect), written with the
-- thread and copied to the prospect's threads when the status changes (read_model_postgres.go).
ALTER TABLE threads ADD COLUMN prospect_status_id text COLLATE "C" NOT NULL DEFAULT '';
UPDATE threads t SET prospect_status_id = p.status_id
FROM prospects p
WHERE p.team_id = t.team_id AND p.id = t.prospect_id AND p.status_id <> '';
CREATE INDEX threads_status ON threads (team_id, prospect_status_id, last_message_at, id);

-- A team has a handful of links and platforms: those filters walk the view's index, as on
-- SQLite, and every thread write saves two B-trees.
DROP INDEX threads_link;
DROP INDEX threads_platform;
