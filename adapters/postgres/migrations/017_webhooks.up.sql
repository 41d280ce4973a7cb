-- Outbound webhooks (webhook_store_postgres.go): subscriptions as projected from their events,
-- each one's checkpoint on the log, delivery attempts (dead letters included), and the leases
-- that give each subscription to one process of the webhooks role at a time.
-- Not read model: a read-model rebuild never touches it.
CREATE TABLE webhook_subscriptions (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    team_id         text COLLATE "C" NOT NULL,
    url             text             NOT NULL,
    description     text             NOT NULL,
    event_types     text[]           NOT NULL,
    paused          boolean          NOT NULL,
    disabled        boolean          NOT NULL,
    disabled_reason text             NOT NULL,
    deleted         boolean          NOT NULL,
    created_at      timestamptz      NOT NULL,
    version         bigint           NOT NULL,
    last_success_at timestamptz,
    last_error      text             NOT NULL DEFAULT ''
);
CREATE INDEX webhook_subscriptions_team ON webhook_subscriptions (team_id, created_at);

CREATE TABLE webhook_checkpoints (
    subscription_id text COLLATE "C" NOT NULL PRIMARY KEY,
    cursor          text COLLATE "C" NOT NULL,
    since           timestamptz,
    gen             bigint           NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id text COLLATE "C" NOT NULL,
    event_id        text COLLATE "C" NOT NULL,
    event_type      text COLLATE "C" NOT NULL,
    key             text COLLATE "C" NOT NULL,
    before          text COLLATE "C" NOT NULL,
    attempt         integer          NOT NULL,
    attempted_at    timestamptz      NOT NULL,
    http_status     integer          NOT NULL,
    latency_ms      bigint           NOT NULL,
    error           text             NOT NULL,
    status          text COLLATE "C" NOT NULL
);
CREATE INDEX webhook_deliveries_sub ON webhook_deliveries (subscription_id, id);
CREATE INDEX webhook_deliveries_sub_status ON webhook_deliveries (subscription_id, status, id);

CREATE TABLE webhook_leases (
    subscription_id text COLLATE "C" NOT NULL PRIMARY KEY,
    holder          text COLLATE "C" NOT NULL,
    until           timestamptz      NOT NULL
);
