-- Queries of the idempotency store (idempotency_store_postgres.go). Table:
-- migrations/003_idempotency.up.sql.

-- name: idem-get
SELECT command, fingerprint, result FROM idempotency WHERE team_id = $1 AND key = $2;

-- name: idem-put
-- The first outcome of a key wins, also when two API processes race on it.
INSERT INTO idempotency (team_id, key, command, fingerprint, result) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (team_id, key) DO NOTHING;
