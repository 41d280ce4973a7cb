-- Outcomes of commands issued with an idempotency key, shared by every API process: the
-- first outcome of a (team, key) wins.
CREATE TABLE idempotency (
    team_id     text COLLATE "C" NOT NULL,
    key         text COLLATE "C" NOT NULL,
    command     text COLLATE "C" NOT NULL,
    fingerprint text COLLATE "C" NOT NULL,
    result      bytea            NOT NULL,
    created_at  timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, key)
);
