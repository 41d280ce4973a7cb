-- The read model: rebuilt from the event log at any time (projections.Store.Reset and a
-- replay), so a migration may also empty it and let the projector replay.
-- Every row belongs to one team and every query filters by team_id. Text is COLLATE "C" so
-- ids and names sort bytewise, as Go compares them, whatever the database's locale. No
-- foreign keys: events of other keys arrive in any order, so a row may name a tag or a
-- prospect that does not exist (yet).

CREATE TABLE teams (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    name       text COLLATE "C" NOT NULL,
    created_at timestamptz      NOT NULL
);

CREATE TABLE members (
    team_id    text COLLATE "C" NOT NULL,
    id         text COLLATE "C" NOT NULL,
    email      text COLLATE "C" NOT NULL,
    name       text COLLATE "C" NOT NULL,
    role       text COLLATE "C" NOT NULL,
    created_at timestamptz      NOT NULL,
    PRIMARY KEY (team_id, id)
);

CREATE TABLE api_keys (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    team_id        text COLLATE "C" NOT NULL,
    member_id      text COLLATE "C" NOT NULL,
    hash           text COLLATE "C" NOT NULL UNIQUE,
    instance_admin boolean          NOT NULL,
    created_at     timestamptz      NOT NULL
);

CREATE TABLE tags (
    team_id text COLLATE "C" NOT NULL,
    id      text COLLATE "C" NOT NULL,
    name    text COLLATE "C" NOT NULL,
    color   text COLLATE "C" NOT NULL,
    PRIMARY KEY (team_id, id)
);

CREATE TABLE statuses (
    team_id  text COLLATE "C" NOT NULL,
    id       text COLLATE "C" NOT NULL,
    name     text COLLATE "C" NOT NULL,
    position integer          NOT NULL,
    PRIMARY KEY (team_id, id)
);

CREATE TABLE account_links (
    team_id       text COLLATE "C" NOT NULL,
    id            text COLLATE "C" NOT NULL,
    platform      text COLLATE "C" NOT NULL,
    platform_id   text COLLATE "C" NOT NULL,
    username      text COLLATE "C" NOT NULL,
    display_name  text COLLATE "C" NOT NULL,
    webhook_path  text COLLATE "C" NOT NULL,
    active        boolean          NOT NULL,
    unlinked      boolean          NOT NULL,
    healthy       boolean          NOT NULL,
    health_reason text COLLATE "C" NOT NULL,
    linked_at     timestamptz      NOT NULL,
    PRIMARY KEY (team_id, id)
);
-- Webhooks find their link by id alone.
CREATE INDEX account_links_id ON account_links (id);

CREATE TABLE prospects (
    team_id       text COLLATE "C" NOT NULL,
    id            text COLLATE "C" NOT NULL,
    platform      text COLLATE "C" NOT NULL,
    platform_id   text COLLATE "C" NOT NULL,
    username      text COLLATE "C" NOT NULL,
    display_name  text COLLATE "C" NOT NULL,
    avatar_url    text COLLATE "C" NOT NULL,
    status_id     text COLLATE "C" NOT NULL,
    notes         text COLLATE "C" NOT NULL,
    valuation     double precision NOT NULL,
    custom_fields jsonb            NOT NULL, -- object of strings
    first_seen_at timestamptz      NOT NULL,
    last_seen_at  timestamptz      NOT NULL,
    PRIMARY KEY (team_id, id)
);
-- ListProspects sorts by last_seen_at DESC, id DESC: one index per filter, in that order.
CREATE INDEX prospects_recent   ON prospects (team_id, last_seen_at, id);
CREATE INDEX prospects_status   ON prospects (team_id, status_id, last_seen_at, id);
CREATE INDEX prospects_platform ON prospects (team_id, platform, last_seen_at, id);

CREATE TABLE prospect_tags (
    team_id     text COLLATE "C" NOT NULL,
    prospect_id text COLLATE "C" NOT NULL,
    tag_id      text COLLATE "C" NOT NULL,
    PRIMARY KEY (team_id, prospect_id, tag_id)
);
CREATE INDEX prospect_tags_tag ON prospect_tags (team_id, tag_id, prospect_id);

CREATE TABLE threads (
    team_id                text COLLATE "C" NOT NULL,
    id                     text COLLATE "C" NOT NULL,
    platform               text COLLATE "C" NOT NULL,
    platform_id            text COLLATE "C" NOT NULL,
    account_link_id        text COLLATE "C" NOT NULL,
    prospect_id            text COLLATE "C" NOT NULL,
    assignee_member_id     text COLLATE "C" NOT NULL,
    done                   boolean          NOT NULL,
    request                boolean          NOT NULL,
    last_message_id        text COLLATE "C" NOT NULL,
    last_message_text      text COLLATE "C" NOT NULL,
    last_message_direction text COLLATE "C" NOT NULL,
    last_message_at        timestamptz      NOT NULL,
    unread_count           integer          NOT NULL,
    message_count          integer          NOT NULL,
    created_at             timestamptz      NOT NULL,
    PRIMARY KEY (team_id, id)
);
-- ListThreads sorts by last_message_at DESC, id DESC. Each index gives that order (scanned
-- backwards) after equality on its leading columns, so every view and every filter reads
-- one page from an index, without sorting the team's threads:
--   ALL: recent; INBOX, REQUESTS: view; ARCHIVED: done; NO_REPLY: no_reply;
--   a filter (with any view): its own index, the view's condition checked per row.
CREATE INDEX threads_recent   ON threads (team_id, last_message_at, id);
CREATE INDEX threads_view     ON threads (team_id, done, request, last_message_at, id);
CREATE INDEX threads_done     ON threads (team_id, done, last_message_at, id);
CREATE INDEX threads_no_reply ON threads (team_id, done, last_message_direction, last_message_at, id);
CREATE INDEX threads_prospect ON threads (team_id, prospect_id, last_message_at, id);
CREATE INDEX threads_link     ON threads (team_id, account_link_id, last_message_at, id);
CREATE INDEX threads_platform ON threads (team_id, platform, last_message_at, id);
CREATE INDEX threads_assignee ON threads (team_id, assignee_member_id, last_message_at, id);

CREATE TABLE messages (
    team_id             text COLLATE "C" NOT NULL,
    id                  text COLLATE "C" NOT NULL,
    thread_id           text COLLATE "C" NOT NULL,
    prospect_id         text COLLATE "C" NOT NULL,
    account_link_id     text COLLATE "C" NOT NULL,
    platform            text COLLATE "C" NOT NULL,
    platform_id         text COLLATE "C" NOT NULL,
    direction           text COLLATE "C" NOT NULL,
    sender_platform_id  text COLLATE "C" NOT NULL,
    sender_username     text COLLATE "C" NOT NULL,
    sender_display_name text COLLATE "C" NOT NULL,
    sender_avatar_url   text COLLATE "C" NOT NULL,
    text                text COLLATE "C" NOT NULL,
    attachments         jsonb            NOT NULL, -- array of projections.Attachment
    sent_at             timestamptz      NOT NULL,
    edited              boolean          NOT NULL,
    deleted             boolean          NOT NULL,
    reply_to_message_id text COLLATE "C" NOT NULL,
    status              text COLLATE "C" NOT NULL,
    PRIMARY KEY (team_id, id)
);
CREATE INDEX messages_thread ON messages (team_id, thread_id, sent_at, id);

-- The cursor of each projection, committed in the same transaction as the rows it produced.
CREATE TABLE checkpoints (
    projection text COLLATE "C" NOT NULL PRIMARY KEY,
    cursor     text COLLATE "C" NOT NULL
);
