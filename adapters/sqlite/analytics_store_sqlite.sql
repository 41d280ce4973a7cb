-- Conversation metrics (projections.AnalyticsStore), in the read model's file. Rebuilt from the
-- log whenever the definition's version changes. Times are INTEGER unix nanoseconds UTC.

-- Facts: every dated fact of a thread the metrics are computed from.
CREATE TABLE IF NOT EXISTS analytics_facts (
    team_id         TEXT    NOT NULL,
    id              TEXT    NOT NULL, -- message id, or the event id of a done
    thread_id       TEXT    NOT NULL,
    prospect_id     TEXT    NOT NULL,
    account_link_id TEXT    NOT NULL,
    platform        TEXT    NOT NULL,
    kind            TEXT    NOT NULL, -- inbound | outbound | done
    actor           TEXT    NOT NULL, -- prospect | member | api_key | platform_app | automation
    member_id       TEXT    NOT NULL,
    at              INTEGER NOT NULL,
    counted         INTEGER NOT NULL,
    PRIMARY KEY (team_id, id)
);
CREATE INDEX IF NOT EXISTS analytics_facts_thread ON analytics_facts (team_id, thread_id);

-- Turns: recomputed from a thread's facts whenever one changes.
CREATE TABLE IF NOT EXISTS analytics_turns (
    team_id                   TEXT    NOT NULL,
    thread_id                 TEXT    NOT NULL,
    turn                      INTEGER NOT NULL,
    prospect_id               TEXT    NOT NULL,
    account_link_id           TEXT    NOT NULL,
    platform                  TEXT    NOT NULL,
    started_at                INTEGER NOT NULL,
    first_response_at         INTEGER NOT NULL, -- 0: unanswered
    first_responder_member_id TEXT    NOT NULL,
    first_responder_kind      TEXT    NOT NULL,
    resolved_at               INTEGER NOT NULL, -- 0: open
    resolved_by_member_id     TEXT    NOT NULL,
    inbound                   INTEGER NOT NULL,
    outbound                  INTEGER NOT NULL,
    automated                 INTEGER NOT NULL,
    PRIMARY KEY (team_id, thread_id, turn)
);
CREATE INDEX IF NOT EXISTS analytics_turns_started ON analytics_turns (team_id, started_at, thread_id, turn);

-- Replies: every reply time of a turn (n from 1; the first is the first response).
CREATE TABLE IF NOT EXISTS analytics_replies (
    team_id    TEXT    NOT NULL,
    thread_id  TEXT    NOT NULL,
    turn       INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    inbound_at INTEGER NOT NULL,
    replied_at INTEGER NOT NULL,
    member_id  TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    PRIMARY KEY (team_id, thread_id, turn, n)
);
CREATE INDEX IF NOT EXISTS analytics_replies_inbound ON analytics_replies (team_id, inbound_at);

-- Tails: where each thread's turns stand (projections.ThreadTail), so that live facts, which
-- come after all of their thread's, fold on from the last turn without reading the thread's
-- facts again. A thread without a tail (a file of an earlier release) is recomputed once.
CREATE TABLE IF NOT EXISTS analytics_tails (
    team_id   TEXT    NOT NULL,
    thread_id TEXT    NOT NULL,
    last_at   INTEGER NOT NULL, -- the thread's last fact: at, kind, id
    last_kind TEXT    NOT NULL,
    last_id   TEXT    NOT NULL,
    run_start INTEGER NOT NULL, -- 0: no inbound message awaits a reply
    PRIMARY KEY (team_id, thread_id)
);
