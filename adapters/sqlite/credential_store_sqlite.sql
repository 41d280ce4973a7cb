-- Platform credentials (access tokens, app secrets), sealed: never in clear on disk.
-- Idempotent: run at every open.

CREATE TABLE IF NOT EXISTS credentials (
    team_id         TEXT    NOT NULL,
    account_link_id TEXT    NOT NULL,
    -- AES-256-GCM of the JSON map; the team and link ids are its additional data, so a row
    -- copied onto another link or team does not open.
    sealed          BLOB    NOT NULL,
    updated_at      INTEGER NOT NULL, -- unix nanoseconds, UTC
    PRIMARY KEY (team_id, account_link_id)
) STRICT;
