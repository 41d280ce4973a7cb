-- Poll cursors: where each account link's polling resumes, shared by the ingest processes.
-- Ingest state, not read model: a read-model rebuild never touches it.
CREATE TABLE poll_cursors (
    account_link_id text COLLATE "C" NOT NULL PRIMARY KEY,
    cursor          text COLLATE "C" NOT NULL,
    updated_at      timestamptz      NOT NULL DEFAULT now()
);
