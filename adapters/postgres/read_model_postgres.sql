-- Queries of the read model (read_model_postgres.go). Tables: migrations/001_read_model.up.sql.
-- {{where}} and {{limit}} are filled in by the code: the WHERE clause from the shared
-- builders of package projections (projections.ThreadQuery.Where etc.), and a parameter
-- (NULL: no limit).

-- ---- Writes: inside Update ----

-- name: rm-lock
-- Serializes writers of the read model (across processes): projection rules read, change and
-- write rows, and the checkpoint row holds every partition's cursor, so two projector
-- transactions must not interleave. Readers are never blocked. Keyed by schema.
SELECT pg_advisory_xact_lock(1396834306, hashtext(coalesce(current_schema()::text, '')));

-- name: rm-checkpoint
SELECT cursor FROM checkpoints WHERE projection = $1;

-- name: rm-set-checkpoint
INSERT INTO checkpoints (projection, cursor) VALUES ($1, $2)
ON CONFLICT (projection) DO UPDATE SET cursor = excluded.cursor;

-- name: rm-get-account-link
SELECT team_id, id, platform, platform_id, username, display_name, webhook_path, active, unlinked,
       healthy, health_reason, linked_at
FROM account_links WHERE team_id = $1 AND id = $2;

-- name: rm-get-prospect
SELECT team_id, id, platform, platform_id, username, display_name, avatar_url, status_id, notes,
       valuation, custom_fields, first_seen_at, last_seen_at
FROM prospects WHERE team_id = $1 AND id = $2;

-- name: rm-get-thread
SELECT team_id, id, platform, platform_id, account_link_id, prospect_id, assignee_member_id, done,
       request, last_message_id, last_message_text, last_message_direction, last_message_at,
       unread_count, message_count, created_at
FROM threads WHERE team_id = $1 AND id = $2;

-- name: rm-threads-of-prospect
SELECT team_id, id, platform, platform_id, account_link_id, prospect_id, assignee_member_id, done,
       request, last_message_id, last_message_text, last_message_direction, last_message_at,
       unread_count, message_count, created_at
FROM threads WHERE team_id = $1 AND prospect_id = $2 ORDER BY id;

-- name: rm-prefetch-prospects
-- The rows a batch of events will read, named by parallel arrays of team ids and ids.
SELECT team_id, id, platform, platform_id, username, display_name, avatar_url, status_id, notes,
       valuation, custom_fields, first_seen_at, last_seen_at
FROM prospects WHERE (team_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]));

-- name: rm-prefetch-threads
SELECT team_id, id, platform, platform_id, account_link_id, prospect_id, assignee_member_id, done,
       request, last_message_id, last_message_text, last_message_direction, last_message_at,
       unread_count, message_count, created_at
FROM threads WHERE (team_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]));

-- name: rm-prefetch-messages
SELECT team_id, id, thread_id, prospect_id, account_link_id, platform, platform_id, direction,
       sender_platform_id, sender_username, sender_display_name, sender_avatar_url, text,
       attachments, sent_at, edited, deleted, reply_to_message_id, status
FROM messages WHERE (team_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]));

-- name: rm-get-message
SELECT team_id, id, thread_id, prospect_id, account_link_id, platform, platform_id, direction,
       sender_platform_id, sender_username, sender_display_name, sender_avatar_url, text,
       attachments, sent_at, edited, deleted, reply_to_message_id, status
FROM messages WHERE team_id = $1 AND id = $2;

-- Upserts of every row an Update wrote, one statement per table: each parameter is the
-- array of one column. Rows are unique by key (the transaction keeps each row's last
-- version only), as ON CONFLICT DO UPDATE requires.

-- name: rm-upsert-teams
INSERT INTO teams (id, name, created_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
ON CONFLICT (id) DO UPDATE SET name = excluded.name, created_at = excluded.created_at;

-- name: rm-upsert-members
INSERT INTO members (team_id, id, email, name, role, created_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
ON CONFLICT (team_id, id) DO UPDATE SET email = excluded.email, name = excluded.name,
    role = excluded.role, created_at = excluded.created_at;

-- name: rm-upsert-api-keys
INSERT INTO api_keys (id, team_id, member_id, hash, instance_admin, created_at, prefix)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::timestamptz[], $7::text[])
ON CONFLICT (id) DO UPDATE SET team_id = excluded.team_id, member_id = excluded.member_id,
    hash = excluded.hash, instance_admin = excluded.instance_admin, created_at = excluded.created_at,
    prefix = excluded.prefix;

-- name: rm-delete-api-key
DELETE FROM api_keys WHERE team_id = $1 AND id = $2;

-- name: rm-delete-member
DELETE FROM members WHERE team_id = $1 AND id = $2;

-- name: rm-upsert-statuses
INSERT INTO statuses (team_id, id, name, position)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[])
ON CONFLICT (team_id, id) DO UPDATE SET name = excluded.name, position = excluded.position;

-- name: rm-upsert-account-links
INSERT INTO account_links (team_id, id, platform, platform_id, username, display_name, webhook_path,
    active, unlinked, healthy, health_reason, linked_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::boolean[], $9::boolean[], $10::boolean[], $11::text[], $12::timestamptz[])
ON CONFLICT (team_id, id) DO UPDATE SET platform = excluded.platform, platform_id = excluded.platform_id,
    username = excluded.username, display_name = excluded.display_name,
    webhook_path = excluded.webhook_path, active = excluded.active, unlinked = excluded.unlinked,
    healthy = excluded.healthy, health_reason = excluded.health_reason, linked_at = excluded.linked_at;

-- name: rm-upsert-prospects
INSERT INTO prospects (team_id, id, platform, platform_id, username, display_name, avatar_url,
    status_id, notes, valuation, custom_fields, first_seen_at, last_seen_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::text[], $10::float8[], $11::jsonb[], $12::timestamptz[], $13::timestamptz[])
ON CONFLICT (team_id, id) DO UPDATE SET platform = excluded.platform, platform_id = excluded.platform_id,
    username = excluded.username, display_name = excluded.display_name,
    avatar_url = excluded.avatar_url, status_id = excluded.status_id, notes = excluded.notes,
    valuation = excluded.valuation, custom_fields = excluded.custom_fields,
    first_seen_at = excluded.first_seen_at, last_seen_at = excluded.last_seen_at;

-- name: rm-thread-statuses
-- The prospects whose status an Update changed (written just before): their threads follow,
-- for the status filter (migrations/018_thread_status.up.sql).
UPDATE threads t SET prospect_status_id = u.status_id
FROM unnest($1::text[], $2::text[], $3::text[]) AS u(team_id, prospect_id, status_id)
WHERE t.team_id = u.team_id AND t.prospect_id = u.prospect_id AND t.prospect_status_id <> u.status_id;

-- name: rm-upsert-threads
-- Each thread with its prospect's status (the prospects are written before it), and its rows
-- of thread_tags, one per tag of its prospect (migrations/019_thread_tags.up.sql), rewritten
-- when the thread's order or view changed. A thread keeps the prospect it was created with.
WITH t AS (
INSERT INTO threads (team_id, id, platform, platform_id, account_link_id, prospect_id,
    assignee_member_id, done, request, last_message_id, last_message_text,
    last_message_direction, last_message_at, unread_count, message_count, created_at,
    prospect_status_id)
SELECT u.*, coalesce(p.status_id, '')
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
    $7::text[], $8::boolean[], $9::boolean[], $10::text[], $11::text[],
    $12::text[], $13::timestamptz[], $14::integer[], $15::integer[], $16::timestamptz[])
    AS u(team_id, id, platform, platform_id, account_link_id, prospect_id, assignee_member_id,
         done, request, last_message_id, last_message_text, last_message_direction,
         last_message_at, unread_count, message_count, created_at)
LEFT JOIN prospects p ON p.team_id = u.team_id AND p.id = u.prospect_id
ON CONFLICT (team_id, id) DO UPDATE SET prospect_status_id = excluded.prospect_status_id,
    platform = excluded.platform, platform_id = excluded.platform_id,
    account_link_id = excluded.account_link_id, prospect_id = excluded.prospect_id,
    assignee_member_id = excluded.assignee_member_id, done = excluded.done,
    request = excluded.request, last_message_id = excluded.last_message_id,
    last_message_text = excluded.last_message_text,
    last_message_direction = excluded.last_message_direction,
    last_message_at = excluded.last_message_at, unread_count = excluded.unread_count,
    message_count = excluded.message_count, created_at = excluded.created_at
RETURNING team_id, id, prospect_id, last_message_at, done, request, last_message_direction
)
INSERT INTO thread_tags (team_id, tag_id, id, last_message_at, done, request, last_message_direction)
SELECT t.team_id, pt.tag_id, t.id, t.last_message_at, t.done, t.request, t.last_message_direction
FROM t JOIN prospect_tags pt ON pt.team_id = t.team_id AND pt.prospect_id = t.prospect_id
ON CONFLICT (team_id, id, tag_id) DO UPDATE SET last_message_at = excluded.last_message_at,
    done = excluded.done, request = excluded.request,
    last_message_direction = excluded.last_message_direction
WHERE (thread_tags.last_message_at, thread_tags.done, thread_tags.request, thread_tags.last_message_direction)
    IS DISTINCT FROM (excluded.last_message_at, excluded.done, excluded.request, excluded.last_message_direction);

-- name: rm-messages-by-id
-- The messages of a page of search hits, in one statement.
SELECT team_id, id, thread_id, prospect_id, account_link_id, platform, platform_id, direction,
       sender_platform_id, sender_username, sender_display_name, sender_avatar_url, text,
       attachments, sent_at, edited, deleted, reply_to_message_id, status
FROM messages WHERE team_id = $1 AND id = ANY($2::text[]);

-- rm-upsert-messages writes the messages an Update changed; the ones it inserted (none had
-- that id: the writers' lock is held since the transaction looked) are sent by COPY.

-- name: rm-upsert-messages
INSERT INTO messages (team_id, id, thread_id, prospect_id, account_link_id, platform, platform_id,
    direction, sender_platform_id, sender_username, sender_display_name, sender_avatar_url, text,
    attachments, sent_at, edited, deleted, reply_to_message_id, status)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
    $14::jsonb[], $15::timestamptz[], $16::boolean[], $17::boolean[], $18::text[], $19::text[])
ON CONFLICT (team_id, id) DO UPDATE SET thread_id = excluded.thread_id,
    prospect_id = excluded.prospect_id, account_link_id = excluded.account_link_id,
    platform = excluded.platform, platform_id = excluded.platform_id,
    direction = excluded.direction, sender_platform_id = excluded.sender_platform_id,
    sender_username = excluded.sender_username, sender_display_name = excluded.sender_display_name,
    sender_avatar_url = excluded.sender_avatar_url, text = excluded.text,
    attachments = excluded.attachments, sent_at = excluded.sent_at, edited = excluded.edited,
    deleted = excluded.deleted, reply_to_message_id = excluded.reply_to_message_id,
    status = excluded.status;

-- Tags and their links keep the order of the calls: a tag deleted, then applied again by a
-- late event, must end as the calls say.

-- name: rm-put-tag
INSERT INTO tags (team_id, id, name, color) VALUES ($1, $2, $3, $4)
ON CONFLICT (team_id, id) DO UPDATE SET name = excluded.name, color = excluded.color;

-- Each keeps thread_tags with prospect_tags: the threads in the table now; the threads this
-- Update writes later in its batch follow by rm-upsert-threads.

-- name: rm-untag-all
WITH k AS (DELETE FROM thread_tags WHERE team_id = $1 AND tag_id = $2)
DELETE FROM prospect_tags WHERE team_id = $1 AND tag_id = $2;

-- name: rm-delete-tag
DELETE FROM tags WHERE team_id = $1 AND id = $2;

-- name: rm-tag-prospect
WITH pt AS (
    INSERT INTO prospect_tags (team_id, prospect_id, tag_id) VALUES ($1, $2, $3)
    ON CONFLICT DO NOTHING
)
INSERT INTO thread_tags (team_id, tag_id, id, last_message_at, done, request, last_message_direction)
SELECT t.team_id, $3, t.id, t.last_message_at, t.done, t.request, t.last_message_direction
FROM threads t WHERE t.team_id = $1 AND t.prospect_id = $2
ON CONFLICT (team_id, id, tag_id) DO NOTHING;

-- name: rm-untag-prospect
WITH pt AS (DELETE FROM prospect_tags WHERE team_id = $1 AND prospect_id = $2 AND tag_id = $3)
DELETE FROM thread_tags k USING threads t
WHERE t.team_id = $1 AND t.prospect_id = $2 AND k.team_id = $1 AND k.id = t.id AND k.tag_id = $3;

-- name: rm-reset
-- One statement, so the read model is emptied at once (and checkpoints with it).
TRUNCATE teams, members, api_keys, tags, statuses, account_links, prospects, prospect_tags,
    thread_tags, threads, messages, checkpoints, analytics_facts, analytics_turns, analytics_replies, analytics_tails;

-- ---- Reads ----

-- name: rm-team
SELECT id, name, created_at FROM teams WHERE id = $1;

-- name: rm-api-key-by-hash
SELECT id, team_id, member_id, hash, instance_admin, created_at, prefix, last_used_at FROM api_keys WHERE hash = $1;

-- name: rm-api-keys
SELECT id, team_id, member_id, hash, instance_admin, created_at, prefix, last_used_at FROM api_keys
WHERE team_id = $1 ORDER BY created_at, id;

-- name: rm-touch-api-keys
UPDATE api_keys k SET last_used_at = greatest(k.last_used_at, u.at)
FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at) WHERE k.id = u.id;

-- name: rm-count-api-keys
SELECT count(*) FROM api_keys;

-- name: rm-member
SELECT team_id, id, email, name, role, created_at FROM members WHERE team_id = $1 AND id = $2;

-- name: rm-members
SELECT team_id, id, email, name, role, created_at FROM members WHERE team_id = $1
ORDER BY created_at, id;

-- name: rm-tag
SELECT team_id, id, name, color FROM tags WHERE team_id = $1 AND id = $2;

-- name: rm-tags
SELECT team_id, id, name, color FROM tags WHERE team_id = $1 ORDER BY name, id;

-- name: rm-status
SELECT team_id, id, name, position FROM statuses WHERE team_id = $1 AND id = $2;

-- name: rm-statuses
SELECT team_id, id, name, position FROM statuses WHERE team_id = $1 ORDER BY position, name, id;

-- name: rm-account-link
SELECT team_id, id, platform, platform_id, username, display_name, webhook_path, active, unlinked,
       healthy, health_reason, linked_at
FROM account_links WHERE team_id = $1 AND id = $2;

-- name: rm-account-links
SELECT team_id, id, platform, platform_id, username, display_name, webhook_path, active, unlinked,
       healthy, health_reason, linked_at
FROM account_links WHERE team_id = $1 ORDER BY linked_at, id;

-- name: rm-account-link-by-id
SELECT team_id, id, platform, platform_id, username, display_name, webhook_path, active, unlinked,
       healthy, health_reason, linked_at
FROM account_links WHERE id = $1 ORDER BY team_id LIMIT 1;

-- name: rm-active-account-links
-- Across teams: the poll scheduler's work list.
SELECT team_id, id, platform, platform_id, username, display_name, webhook_path, active, unlinked,
       healthy, health_reason, linked_at
FROM account_links WHERE active AND platform = ANY($1::text[]) ORDER BY team_id, id;

-- name: rm-prospects
-- Prospects with their status (if it exists in the team) and live tags by name (a deleted
-- tag's links never show: the join drops them), in one statement: one snapshot, one round trip.
SELECT p.team_id, p.id, p.platform, p.platform_id, p.username, p.display_name, p.avatar_url,
       p.status_id, p.notes, p.valuation, p.custom_fields, p.first_seen_at, p.last_seen_at,
       s.id, s.name, s.position,
       (SELECT jsonb_agg(jsonb_build_object('id', g.id, 'name', g.name, 'color', g.color) ORDER BY g.name, g.id)
          FROM prospect_tags pt JOIN tags g ON g.team_id = pt.team_id AND g.id = pt.tag_id
         WHERE pt.team_id = p.team_id AND pt.prospect_id = p.id)
FROM prospects p
LEFT JOIN statuses s ON s.team_id = p.team_id AND s.id = p.status_id
WHERE {{where}}
ORDER BY p.last_seen_at DESC, p.id DESC
LIMIT {{limit}};

-- name: rm-prospect-tags
SELECT pt.prospect_id, g.team_id, g.id, g.name, g.color
FROM prospect_tags pt JOIN tags g ON g.team_id = pt.team_id AND g.id = pt.tag_id
WHERE pt.team_id = $1 AND pt.prospect_id = ANY($2::text[])
ORDER BY pt.prospect_id, g.name, g.id;

-- name: rm-threads
-- Threads with their prospect (NULL columns coalesced; the flag says whether it exists), its
-- status and live tags, in one statement. Aliases differ from the shared WHERE's (t, k, p, pt,
-- g) so its subqueries cannot bind to the joined tables by mistake. {{from}} and {{sort}}: what
-- the query reads and the alias that orders its pages (projections.ThreadQuery.Source).
SELECT t.team_id, t.id, t.platform, t.platform_id, t.account_link_id, t.prospect_id,
       t.assignee_member_id, t.done, t.request, t.last_message_id, t.last_message_text,
       t.last_message_direction, t.last_message_at, t.unread_count, t.message_count, t.created_at,
       tp.id IS NOT NULL,
       coalesce(tp.team_id, ''), coalesce(tp.id, ''), coalesce(tp.platform, ''),
       coalesce(tp.platform_id, ''), coalesce(tp.username, ''), coalesce(tp.display_name, ''),
       coalesce(tp.avatar_url, ''), coalesce(tp.status_id, ''), coalesce(tp.notes, ''),
       coalesce(tp.valuation, 0), coalesce(tp.custom_fields, '{}'),
       coalesce(tp.first_seen_at, '0001-01-01 00:00:00+00'), coalesce(tp.last_seen_at, '0001-01-01 00:00:00+00'),
       ts.id, ts.name, ts.position,
       (SELECT jsonb_agg(jsonb_build_object('id', tg.id, 'name', tg.name, 'color', tg.color) ORDER BY tg.name, tg.id)
          FROM prospect_tags tpt JOIN tags tg ON tg.team_id = tpt.team_id AND tg.id = tpt.tag_id
         WHERE tpt.team_id = tp.team_id AND tpt.prospect_id = tp.id)
FROM {{from}}
LEFT JOIN prospects tp ON tp.team_id = t.team_id AND tp.id = t.prospect_id
LEFT JOIN statuses ts ON ts.team_id = tp.team_id AND ts.id = tp.status_id
WHERE {{where}}
ORDER BY {{sort}}.last_message_at DESC, {{sort}}.id DESC
LIMIT {{limit}};

-- name: rm-messages
SELECT m.team_id, m.id, m.thread_id, m.prospect_id, m.account_link_id, m.platform, m.platform_id,
       m.direction, m.sender_platform_id, m.sender_username, m.sender_display_name,
       m.sender_avatar_url, m.text, m.attachments, m.sent_at, m.edited, m.deleted,
       m.reply_to_message_id, m.status
FROM messages m
WHERE {{where}}
ORDER BY m.sent_at DESC, m.id DESC
LIMIT {{limit}};
