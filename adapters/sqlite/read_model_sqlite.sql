-- Read model of Switchboard on SQLite. Rebuildable from the event log at any time, so it is
-- created in place (no migrations): a schema change resets it and the projector replays the log.
-- Times are INTEGER unix nanoseconds UTC (0 is the zero time); booleans are 0/1. Every row
-- belongs to one team and every query filters by team_id.

CREATE TABLE IF NOT EXISTS teams (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS members (
    team_id    TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, id)
);

CREATE TABLE IF NOT EXISTS api_keys (
    id             TEXT    NOT NULL PRIMARY KEY,
    team_id        TEXT    NOT NULL,
    member_id      TEXT    NOT NULL,
    hash           TEXT    NOT NULL UNIQUE,
    instance_admin INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    prefix         TEXT    NOT NULL DEFAULT '',
    last_used_at   INTEGER NOT NULL DEFAULT 0  -- unix nanoseconds; 0: never (kept within a minute)
);

CREATE TABLE IF NOT EXISTS tags (
    team_id TEXT NOT NULL,
    id      TEXT NOT NULL,
    name    TEXT NOT NULL,
    color   TEXT NOT NULL,
    PRIMARY KEY (team_id, id)
);

CREATE TABLE IF NOT EXISTS statuses (
    team_id  TEXT    NOT NULL,
    id       TEXT    NOT NULL,
    name     TEXT    NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (team_id, id)
);

CREATE TABLE IF NOT EXISTS account_links (
    team_id       TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    platform      TEXT    NOT NULL,
    platform_id   TEXT    NOT NULL,
    username      TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    webhook_path  TEXT    NOT NULL,
    active        INTEGER NOT NULL,
    unlinked      INTEGER NOT NULL,
    healthy       INTEGER NOT NULL,
    health_reason TEXT    NOT NULL,
    linked_at     INTEGER NOT NULL,
    PRIMARY KEY (team_id, id)
);
-- Webhooks find their link by id alone.
CREATE INDEX IF NOT EXISTS account_links_id ON account_links (id);

CREATE TABLE IF NOT EXISTS prospects (
    team_id       TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    platform      TEXT    NOT NULL,
    platform_id   TEXT    NOT NULL,
    username      TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    avatar_url    TEXT    NOT NULL,
    status_id     TEXT    NOT NULL,
    notes         TEXT    NOT NULL,
    valuation     REAL    NOT NULL,
    custom_fields TEXT    NOT NULL, -- JSON object
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    PRIMARY KEY (team_id, id)
);
CREATE INDEX IF NOT EXISTS prospects_recent ON prospects (team_id, last_seen_at, id);
CREATE INDEX IF NOT EXISTS prospects_status ON prospects (team_id, status_id, last_seen_at, id);

CREATE TABLE IF NOT EXISTS prospect_tags (
    team_id     TEXT NOT NULL,
    prospect_id TEXT NOT NULL,
    tag_id      TEXT NOT NULL,
    PRIMARY KEY (team_id, prospect_id, tag_id)
);
CREATE INDEX IF NOT EXISTS prospect_tags_tag ON prospect_tags (team_id, tag_id, prospect_id);

CREATE TABLE IF NOT EXISTS threads (
    team_id                TEXT    NOT NULL,
    id                     TEXT    NOT NULL,
    platform               TEXT    NOT NULL,
    platform_id            TEXT    NOT NULL,
    account_link_id        TEXT    NOT NULL,
    prospect_id            TEXT    NOT NULL,
    assignee_member_id     TEXT    NOT NULL,
    done                   INTEGER NOT NULL,
    request                INTEGER NOT NULL,
    last_message_id        TEXT    NOT NULL,
    last_message_text      TEXT    NOT NULL,
    last_message_direction TEXT    NOT NULL,
    last_message_at        INTEGER NOT NULL,
    unread_count           INTEGER NOT NULL,
    message_count          INTEGER NOT NULL,
    created_at             INTEGER NOT NULL,
    -- The status of the thread's prospect ('' for none), kept by the store when either
    -- changes: the status filter reads threads_status (created by the code, after adding
    -- the column to a file of an earlier release).
    prospect_status_id     TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (team_id, id)
);
-- ListThreads sorts by last_message_at DESC, id DESC and walks one of these indexes in that
-- order, filtering as it goes until the page is full: threads_view for the inbox and requests
-- views, threads_prospect for a prospect's threads (and the projection's), threads_assignee for
-- "my threads" (a member may have few threads among a million: without it a page would walk
-- them all), threads_status for a status (a status holds a few percent of the threads: walking
-- threads_recent and joining prospects read thousands of rows for a page), thread_tags (below)
-- for a tag, threads_recent for the rest. The link and platform filters (a team has a handful of
-- each) walk threads_recent or threads_view: their own indexes made every thread write two more
-- B-trees. read_model_sqlite_plan_test.go checks that every view and filter searches an index.
CREATE INDEX IF NOT EXISTS threads_recent   ON threads (team_id, last_message_at, id);
CREATE INDEX IF NOT EXISTS threads_view     ON threads (team_id, done, request, last_message_at, id);
CREATE INDEX IF NOT EXISTS threads_prospect ON threads (team_id, prospect_id, last_message_at, id);
CREATE INDEX IF NOT EXISTS threads_assignee ON threads (team_id, assignee_member_id, last_message_at, id);
DROP INDEX IF EXISTS threads_link;
DROP INDEX IF EXISTS threads_platform;

-- The threads of each tag: one row per thread of a prospect with the tag, with the thread's
-- page order and view columns, so the tag filter walks the tag's threads in page order (a
-- tag holds a few percent of the threads; checking the tag of each thread of the view's index
-- read thousands of threads for a page). One B-tree, in page order, and no index by thread:
-- the store finds a thread's rows by the order key the table holds for it and its prospect's
-- tags (read_model_sqlite.go: writeThreadTags, AddProspectTag, RemoveProspectTag, DeleteTag).
-- Not triggers: a trigger on threads makes every thread upsert keep a statement journal,
-- which doubled the cost of writing threads. It may name a tag that no longer exists, as
-- prospect_tags may: the query checks the tag. A file of an earlier release gets it filled
-- when it opens (rmCreateSchema).
CREATE TABLE IF NOT EXISTS thread_tags (
    team_id                TEXT    NOT NULL,
    tag_id                 TEXT    NOT NULL,
    last_message_at        INTEGER NOT NULL,
    id                     TEXT    NOT NULL, -- the thread's
    done                   INTEGER NOT NULL,
    request                INTEGER NOT NULL,
    last_message_direction TEXT    NOT NULL,
    PRIMARY KEY (team_id, tag_id, last_message_at, id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS messages (
    team_id             TEXT    NOT NULL,
    id                  TEXT    NOT NULL,
    thread_id           TEXT    NOT NULL,
    prospect_id         TEXT    NOT NULL,
    account_link_id     TEXT    NOT NULL,
    platform            TEXT    NOT NULL,
    platform_id         TEXT    NOT NULL,
    direction           TEXT    NOT NULL,
    sender_platform_id  TEXT    NOT NULL,
    sender_username     TEXT    NOT NULL,
    sender_display_name TEXT    NOT NULL,
    sender_avatar_url   TEXT    NOT NULL,
    text                TEXT    NOT NULL,
    attachments         TEXT    NOT NULL, -- JSON array
    sent_at             INTEGER NOT NULL,
    edited              INTEGER NOT NULL,
    deleted             INTEGER NOT NULL,
    reply_to_message_id TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    PRIMARY KEY (team_id, id)
);
CREATE INDEX IF NOT EXISTS messages_thread ON messages (team_id, thread_id, sent_at, id);

CREATE TABLE IF NOT EXISTS checkpoints (
    projection TEXT NOT NULL PRIMARY KEY,
    cursor     TEXT NOT NULL
);
