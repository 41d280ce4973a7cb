-- Outbound webhooks (webhook_store_sqlite.go): subscriptions as projected from their events,
-- each one's checkpoint on the log, delivery attempts (dead letters included) and leases.
-- Not read model: a read-model rebuild never touches it. Idempotent: run at every open.

CREATE TABLE IF NOT EXISTS webhook_subscriptions (
    id              TEXT    NOT NULL PRIMARY KEY,
    team_id         TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    event_types     TEXT    NOT NULL, -- JSON array
    paused          INTEGER NOT NULL,
    disabled        INTEGER NOT NULL,
    disabled_reason TEXT    NOT NULL,
    deleted         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL, -- unix nanoseconds, UTC
    version         INTEGER NOT NULL,
    last_success_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX IF NOT EXISTS webhook_subscriptions_team ON webhook_subscriptions (team_id, created_at);

CREATE TABLE IF NOT EXISTS webhook_checkpoints (
    subscription_id TEXT    NOT NULL PRIMARY KEY,
    cursor          TEXT    NOT NULL,
    since           INTEGER NOT NULL, -- unix nanoseconds, 0: none
    gen             INTEGER NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    subscription_id TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    key             TEXT    NOT NULL,
    before          TEXT    NOT NULL,
    attempt         INTEGER NOT NULL,
    attempted_at    INTEGER NOT NULL,
    http_status     INTEGER NOT NULL,
    latency_ms      INTEGER NOT NULL,
    error           TEXT    NOT NULL,
    status          TEXT    NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS webhook_deliveries_sub ON webhook_deliveries (subscription_id, id);
CREATE INDEX IF NOT EXISTS webhook_deliveries_sub_status ON webhook_deliveries (subscription_id, status, id);

CREATE TABLE IF NOT EXISTS webhook_leases (
    subscription_id TEXT    NOT NULL PRIMARY KEY,
    holder          TEXT    NOT NULL,
    until           INTEGER NOT NULL
) STRICT;
