-- Queries of the conversation metrics (analytics_store_postgres.go). Tables:
-- migrations/016_analytics.up.sql. {{...}} parts are filled in by the code.

-- name: an-lock
-- Serializes the analytics projector's transactions across processes (the checkpoint row holds
-- every partition's cursor). Not the read model's lock: the two projectors do not wait for
-- each other.
SELECT pg_advisory_xact_lock(1396834307, hashtext(coalesce(current_schema()::text, '')));

-- name: an-definitions
SELECT projection FROM checkpoints WHERE starts_with(projection, $1);

-- name: an-reset-checkpoints
DELETE FROM checkpoints WHERE starts_with(projection, $1);

-- name: an-reset
TRUNCATE analytics_facts, analytics_turns, analytics_replies, analytics_tails;

-- name: an-get-facts
-- The facts of ($1[i], $2[i]) pairs (team, id) that exist.
SELECT f.team_id, f.id, f.thread_id, f.prospect_id, f.account_link_id, f.platform, f.kind, f.actor, f.member_id, f.at, f.counted
FROM analytics_facts f
JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[]) AS k(team_id, id)) k ON k.team_id = f.team_id AND k.id = f.id;

-- name: an-facts
SELECT team_id, id, thread_id, prospect_id, account_link_id, platform, kind, actor, member_id, at, counted
FROM analytics_facts WHERE team_id = $1 AND thread_id = $2;

-- name: an-put-fact
INSERT INTO analytics_facts (team_id, id, thread_id, prospect_id, account_link_id, platform, kind, actor, member_id, at, counted)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (team_id, id) DO UPDATE SET at = excluded.at, counted = excluded.counted, actor = excluded.actor,
    member_id = excluded.member_id;

-- name: an-delete-turns
DELETE FROM analytics_turns WHERE team_id = $1 AND thread_id = $2;

-- name: an-delete-replies
DELETE FROM analytics_replies WHERE team_id = $1 AND thread_id = $2;

-- name: an-put-turn
INSERT INTO analytics_turns (team_id, thread_id, turn, prospect_id, account_link_id, platform, started_at,
    first_response_at, first_responder_member_id, first_responder_kind, resolved_at, resolved_by_member_id,
    inbound, outbound, automated)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (team_id, thread_id, turn) DO UPDATE SET prospect_id = excluded.prospect_id,
    account_link_id = excluded.account_link_id, platform = excluded.platform, started_at = excluded.started_at,
    first_response_at = excluded.first_response_at, first_responder_member_id = excluded.first_responder_member_id,
    first_responder_kind = excluded.first_responder_kind, resolved_at = excluded.resolved_at,
    resolved_by_member_id = excluded.resolved_by_member_id, inbound = excluded.inbound, outbound = excluded.outbound,
    automated = excluded.automated;

-- name: an-tails
-- Where threads' turns stand, for ($1[i], $2[i]) pairs (team, thread): each one's tail, last
-- turn and that turn's reply count. Threads without a tail are missing.
SELECT a.team_id, a.thread_id, a.last_at, a.last_kind, a.last_id, a.run_start, t.turn, t.prospect_id, t.account_link_id,
    t.platform, t.started_at, t.first_response_at, t.first_responder_member_id, t.first_responder_kind, t.resolved_at,
    t.resolved_by_member_id, t.inbound, t.outbound, t.automated,
    coalesce((SELECT max(r.n) FROM analytics_replies r
              WHERE r.team_id = t.team_id AND r.thread_id = t.thread_id AND r.turn = t.turn), 0)
FROM (SELECT DISTINCT * FROM unnest($1::text[], $2::text[]) AS k(team_id, thread_id)) k
JOIN analytics_tails a ON a.team_id = k.team_id AND a.thread_id = k.thread_id
LEFT JOIN LATERAL (SELECT * FROM analytics_turns x WHERE x.team_id = a.team_id AND x.thread_id = a.thread_id
                   ORDER BY x.turn DESC LIMIT 1) t ON true;

-- name: an-put-tail
INSERT INTO analytics_tails (team_id, thread_id, last_at, last_kind, last_id, run_start)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (team_id, thread_id) DO UPDATE SET last_at = excluded.last_at, last_kind = excluded.last_kind,
    last_id = excluded.last_id, run_start = excluded.run_start;

-- name: an-put-reply
INSERT INTO analytics_replies (team_id, thread_id, turn, n, inbound_at, replied_at, member_id, kind)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: an-turns
SELECT t.team_id, t.thread_id, t.turn, t.prospect_id, t.account_link_id, t.platform, t.started_at,
       t.first_response_at, t.first_responder_member_id, t.first_responder_kind, t.resolved_at,
       t.resolved_by_member_id, t.inbound, t.outbound, t.automated,
       coalesce(x.inbound, '{}'), coalesce(x.replied, '{}')
FROM analytics_turns t
LEFT JOIN LATERAL (SELECT array_agg(r.inbound_at ORDER BY r.n) AS inbound, array_agg(r.replied_at ORDER BY r.n) AS replied
                   FROM analytics_replies r
                   WHERE r.team_id = t.team_id AND r.thread_id = t.thread_id AND r.turn = t.turn) x ON true
WHERE t.team_id = $1 AND t.started_at >= $2 AND t.started_at < $3
  AND (t.started_at, t.thread_id, t.turn) > ($4, $5, $6)
ORDER BY t.started_at, t.thread_id, t.turn
LIMIT $7;

-- name: an-first-responses
-- First responses and message counts of the turns started in the range, per group.
SELECT {{key}} AS key, count(t.first_response_at),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.first_response_at - t.started_at)),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.first_response_at - t.started_at)),
       sum(t.inbound), sum(t.outbound), sum(t.automated)
FROM analytics_turns t
WHERE t.team_id = $1 AND t.started_at >= $2 AND t.started_at < $3 {{filters}}
GROUP BY 1;

-- name: an-resolutions
SELECT {{key}} AS key, count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.resolved_at - t.started_at)),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t.resolved_at - t.started_at))
FROM analytics_turns t
WHERE t.team_id = $1 AND t.started_at >= $2 AND t.started_at < $3 AND t.resolved_at IS NOT NULL {{filters}}
GROUP BY 1;

-- name: an-replies
SELECT {{key}} AS key, count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.replied_at - r.inbound_at)),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM r.replied_at - r.inbound_at))
FROM analytics_replies r
JOIN analytics_turns t ON t.team_id = r.team_id AND t.thread_id = r.thread_id AND t.turn = r.turn
WHERE r.team_id = $1 AND r.inbound_at >= $2 AND r.inbound_at < $3 {{filters}}
GROUP BY 1;
