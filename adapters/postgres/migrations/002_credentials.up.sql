-- Platform credentials (access tokens, app secrets), sealed: never in clear in the database.
CREATE TABLE credentials (
    team_id         text COLLATE "C" NOT NULL,
    account_link_id text COLLATE "C" NOT NULL,
    -- AES-256-GCM of the JSON map; the team and link ids are its additional data, so a row
    -- copied onto another link or team does not open.
    sealed          bytea            NOT NULL,
    updated_at      timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, account_link_id)
);
