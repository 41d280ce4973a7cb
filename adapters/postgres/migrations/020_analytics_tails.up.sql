-- Where each thread's turns stand (projections.ThreadTail), so that live facts, which come
-- after all of their thread's, fold on from the last turn without reading the thread's facts
-- again. A thread without a tail (recorded before this migration) is recomputed once.
CREATE TABLE analytics_tails (
    team_id   text COLLATE "C" NOT NULL,
    thread_id text COLLATE "C" NOT NULL,
    last_at   timestamptz      NOT NULL, -- the thread's last fact: at, kind, id
    last_kind text COLLATE "C" NOT NULL,
    last_id   text COLLATE "C" NOT NULL,
    run_start timestamptz,               -- NULL: no inbound message awaits a reply
    PRIMARY KEY (team_id, thread_id)
);
