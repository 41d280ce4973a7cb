-- ListThreads' tag filter walks the tag's threads in page order instead of checking the tag of
-- each thread of the view's index (a tag holds a few percent of the threads: thousands read
-- for a page). One row per thread of a prospect with the tag, with the thread's order and view
-- columns, written with the threads and the tags (read_model_postgres.sql: rm-upsert-threads,
-- rm-tag-prospect, rm-untag-prospect, rm-untag-all); it may name a deleted tag, as
-- prospect_tags may, and the query checks the tag. Filled here from what is projected.
CREATE TABLE thread_tags (
    team_id                text COLLATE "C" NOT NULL,
    tag_id                 text COLLATE "C" NOT NULL,
    id                     text COLLATE "C" NOT NULL, -- the thread's
    last_message_at        timestamptz      NOT NULL,
    done                   boolean          NOT NULL,
    request                boolean          NOT NULL,
    last_message_direction text COLLATE "C" NOT NULL,
    PRIMARY KEY (team_id, id, tag_id)
);
INSERT INTO thread_tags (team_id, tag_id, id, last_message_at, done, request, last_message_direction)
SELECT t.team_id, pt.tag_id, t.id, t.last_message_at, t.done, t.request, t.last_message_direction
FROM prospect_tags pt JOIN threads t ON t.team_id = pt.team_id AND t.prospect_id = pt.prospect_id;
-- A page reads the tag's rows backwards from its cursor, checking the view's columns in the
-- index (an index-only scan where the pages are all visible) before reading any thread.
CREATE INDEX thread_tags_page ON thread_tags (team_id, tag_id, last_message_at, id)
    INCLUDE (done, request, last_message_direction);
