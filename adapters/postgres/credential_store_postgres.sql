-- Queries of the credential store (credential_store_postgres.go). Table:
-- migrations/002_credentials.up.sql.

-- name: cred-put
INSERT INTO credentials (team_id, account_link_id, sealed, updated_at) VALUES ($1, $2, $3, now())
ON CONFLICT (team_id, account_link_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at;

-- name: cred-delete
DELETE FROM credentials WHERE team_id = $1 AND account_link_id = $2;

-- name: cred-get
SELECT sealed FROM credentials WHERE team_id = $1 AND account_link_id = $2;
