-- Conversation metrics (projections.AnalyticsStore): facts, turns and reply times, recomputed
-- from the event log whenever the definition's version changes (docs/analytics.md).
CREATE TABLE analytics_facts (
    team_id         text COLLATE "C" NOT NULL,
    id              text COLLATE "C" NOT NULL,
    thread_id       text COLLATE "C" NOT NULL,
    prospect_id     text COLLATE "C" NOT NULL,
    account_link_id text COLLATE "C" NOT NULL,
    platform        text COLLATE "C" NOT NULL,
    kind            text COLLATE "C" NOT NULL,
    actor           text COLLATE "C" NOT NULL,
    member_id       text COLLATE "C" NOT NULL,
    at              timestamptz      NOT NULL,
    counted         boolean          NOT NULL,
    PRIMARY KEY (team_id, id)
);
CREATE INDEX analytics_facts_thread ON analytics_facts (team_id, thread_id);

CREATE TABLE analytics_turns (
    team_id                   text COLLATE "C" NOT NULL,
    thread_id                 text COLLATE "C" NOT NULL,
    turn                      integer          NOT NULL,
    prospect_id               text COLLATE "C" NOT NULL,
    account_link_id           text COLLATE "C" NOT NULL,
    platform                  text COLLATE "C" NOT NULL,
    started_at                timestamptz      NOT NULL,
    first_response_at         timestamptz,     -- NULL: unanswered
    first_responder_member_id text COLLATE "C" NOT NULL,
    first_responder_kind      text COLLATE "C" NOT NULL,
    resolved_at               timestamptz,     -- NULL: open
    resolved_by_member_id     text COLLATE "C" NOT NULL,
    inbound                   integer          NOT NULL,
    outbound                  integer          NOT NULL,
    automated                 integer          NOT NULL,
    PRIMARY KEY (team_id, thread_id, turn)
);
CREATE INDEX analytics_turns_started ON analytics_turns (team_id, started_at, thread_id, turn);

CREATE TABLE analytics_replies (
    team_id    text COLLATE "C" NOT NULL,
    thread_id  text COLLATE "C" NOT NULL,
    turn       integer          NOT NULL,
    n          integer          NOT NULL,
    inbound_at timestamptz      NOT NULL,
    replied_at timestamptz      NOT NULL,
    member_id  text COLLATE "C" NOT NULL,
    kind       text COLLATE "C" NOT NULL,
    PRIMARY KEY (team_id, thread_id, turn, n)
);
CREATE INDEX analytics_replies_inbound ON analytics_replies (team_id, inbound_at);
