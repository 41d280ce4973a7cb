-- Queries of the credential store (credential_store_postgres.go). Table:
-- migrations/002_credentials.up.sql.

-- name: cred-put
INSERT INTO credentials (team_id, account_link_id, sealed, updated_at) VALUES ($1, $2, $3, now())
ON CONFLICT (team_id, account_link_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at;

-- name: cred-delete
DELETE FROM credentials WHERE team_id = $1 AND account_link_id = $2;

-- name: cred-get
SELECT sealed FROM credentials WHERE team_id = $1 AND account_link_id = $2;

-- name: cs-sweep
DELETE FROM connect_states WHERE expires_at < now();

-- name: cs-put
INSERT INTO connect_states (id, sealed, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at;

-- name: cs-take
DELETE FROM connect_states WHERE id = $1 RETURNING sealed, expires_at;

-- name: cs-get
SELECT sealed, expires_at FROM connect_states WHERE id = $1;

-- name: lease-claim
INSERT INTO token_refresh_leases (account_link_id, holder, until) VALUES ($1, $2, $3)
ON CONFLICT (account_link_id) DO UPDATE SET holder = excluded.holder, until = excluded.until
WHERE token_refresh_leases.until < $4 OR token_refresh_leases.holder = excluded.holder
RETURNING holder;
