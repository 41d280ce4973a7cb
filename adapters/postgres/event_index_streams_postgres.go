package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboard-oss/switchboard/adapters/eventindex"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// streamIndexTable is the table of the streams' versions (adapters/kafka.StreamIndex): one row
// per event, unconfirmed (partition NULL) while its append is at work.
func streamIndexTable(name string) string {
	return `CREATE TABLE IF NOT EXISTS ` + name + ` (
		team_id     text        NOT NULL,
		key         text        NOT NULL,
		version     bigint      NOT NULL CHECK (version > 0),
		event_id    text        NOT NULL UNIQUE,
		owner       text        NOT NULL,          -- the token of the call that holds the claim
		since       timestamptz NOT NULL,          -- the claim's time: the event is not older
		lease_until timestamptz NOT NULL,          -- the claim is live until then
		partition   integer,                       -- where the event was written, once it was
		"offset"    bigint,
		PRIMARY KEY (team_id, key, version),
		CHECK ((partition IS NULL) = ("offset" IS NULL))
	)`
}

// ClaimVersions is one statement, so one round trip and atomic: see ClaimVersionGroups.
func (x *EventIndex) ClaimVersions(ctx context.Context, owner string, claims []eventindex.StreamClaim, lease time.Duration) ([]eventindex.StreamHead, bool, error) {
	heads, ok, err := x.ClaimVersionGroups(ctx, owner, [][]eventindex.StreamClaim{claims}, lease)
	if err != nil {
		return nil, false, err
	}
	return heads[0], ok[0], nil
}

// ClaimVersionGroups claims the versions of several appends (the Kafka log's group commit):
// groups[i] is one append's claims, taken all or none, independently of the other groups'.
// No stream may appear in two groups. It is one statement, so one round trip and atomic: it
// reads every stream's head (the primary key's last entry), and inserts the claims of every
// group whose heads all allow it. Two claims of one version meet on the primary key: the later
// statement fails whole (unique violation, or a deadlock between claims of several streams)
// and reports every stream busy, so the callers wait and ask again.
func (x *EventIndex) ClaimVersionGroups(ctx context.Context, owner string, groups [][]eventindex.StreamClaim, lease time.Duration) ([][]eventindex.StreamHead, []bool, error) {
	if owner == "" {
		return nil, nil, errors.New("event index: claim without owner")
	}
	var teams, keys []string
	var expected, groupOf, streamOf, ords []int64
	var ids []string
	want := make([]int64, len(groups)) // each group's version claims
	for g, claims := range groups {
		for _, c := range claims {
			teams, keys, expected, groupOf = append(teams, c.TeamID), append(keys, c.Key), append(expected, c.Expected), append(groupOf, int64(g+1))
			for j, id := range c.IDs {
				streamOf, ords, ids = append(streamOf, int64(len(teams))), append(ords, int64(j+1)), append(ids, id)
			}
			want[g] += int64(len(c.IDs))
		}
	}
	now := time.Now()
	heads := make([][]eventindex.StreamHead, len(groups))
	oks := make([]bool, len(groups))
	var inserted int64
	err := pgRetryConn(ctx, x.pool, func() error {
		for g, claims := range groups {
			heads[g] = make([]eventindex.StreamHead, 0, len(claims))
		}
		rows, err := x.pool.Query(ctx, `WITH s AS (
				SELECT s.i, s.g, s.team_id, s.key, s.expected, h.version, h.partition, h.lease_until
				FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS s(team_id, key, expected, g, i)
				LEFT JOIN LATERAL (SELECT version, partition, lease_until FROM `+x.streams+` t
					WHERE t.team_id = s.team_id AND t.key = s.key ORDER BY version DESC LIMIT 1) h ON true
			), ok AS (
				SELECT g, bool_and((version IS NULL OR partition IS NOT NULL)
					AND (expected = -1 OR coalesce(version, 0) = expected)) AS ok FROM s GROUP BY g
			), ins AS (
				INSERT INTO `+x.streams+` (team_id, key, version, event_id, owner, since, lease_until)
				SELECT s.team_id, s.key, coalesce(s.version, 0) + r.ord, r.id, $8, $9, $10
				FROM unnest($5::bigint[], $6::bigint[], $7::text[]) AS r(i, ord, id)
				JOIN s ON s.i = r.i JOIN ok ON ok.g = s.g
				WHERE ok.ok
				ORDER BY s.team_id, s.key, r.ord
				RETURNING 1
			)
			SELECT s.g, coalesce(s.version, 0), s.version IS NOT NULL AND s.partition IS NULL, coalesce(s.lease_until > $9, false),
				ok.ok, (SELECT count(*) FROM ins)
			FROM s JOIN ok ON ok.g = s.g ORDER BY s.i`, teams, keys, expected, groupOf, streamOf, ords, ids, owner, now, now.Add(lease))
		if err != nil {
			return err
		}
		var g int64
		var h eventindex.StreamHead
		var live, ok bool
		_, err = pgx.ForEachRow(rows, []any{&g, &h.Version, &h.Pending, &live, &ok, &inserted}, func() error {
			h.Live = h.Pending && live
			heads[g-1] = append(heads[g-1], h)
			oks[g-1] = ok
			return nil
		})
		return err
	})
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "40P01"):
		for g, claims := range groups {
			heads[g] = make([]eventindex.StreamHead, len(claims))
			for i := range heads[g] {
				heads[g][i] = eventindex.StreamHead{Pending: true, Live: true}
			}
			oks[g] = false
		}
		return heads, oks, nil
	case err != nil:
		return nil, nil, fmt.Errorf("event index: claim versions: %w", err)
	}
	var total int64
	for g := range groups {
		oks[g] = oks[g] && want[g] > 0
		if oks[g] {
			total += want[g]
		}
	}
	if inserted != total {
		return nil, nil, fmt.Errorf("event index: claim versions: %d of %d claims inserted", inserted, total)
	}
	return heads, oks, nil
}

// queueConfirmVersions is Confirm's part for the versions, in Confirm's batch: only an
// unconfirmed row of the same event takes the position.
func (x *EventIndex) queueConfirmVersions(b *pgx.Batch, ids []string, parts []int32, offs []int64) {
	b.Queue(`UPDATE `+x.streams+` AS t SET partition = u.p, "offset" = u.o, owner = '', lease_until = 'epoch'
		FROM unnest($1::text[], $2::integer[], $3::bigint[]) AS u(id, p, o)
		WHERE t.event_id = u.id AND t.partition IS NULL`, ids, parts, offs)
}

// ReleaseVersions ends owner's unconfirmed version claims of ids.
func (x *EventIndex) ReleaseVersions(ctx context.Context, owner string, ids []string, maybeWritten bool) error {
	return x.release(ctx, x.streams, "release versions", owner, ids, maybeWritten)
}

// RecoverVersions takes over the stream's unconfirmed claims whose lease ran out.
func (x *EventIndex) RecoverVersions(ctx context.Context, owner, teamID, key string, lease time.Duration) ([]eventindex.PendingVersion, error) {
	now := time.Now()
	var out []eventindex.PendingVersion
	err := pgRetryConn(ctx, x.pool, func() error {
		rows, err := x.pool.Query(ctx, `UPDATE `+x.streams+` SET owner = $3, lease_until = $5
			WHERE team_id = $1 AND key = $2 AND partition IS NULL AND lease_until <= $4
			RETURNING version, event_id, since`, teamID, key, owner, now, now.Add(lease))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (eventindex.PendingVersion, error) {
			var p eventindex.PendingVersion
			err := r.Scan(&p.Version, &p.EventID, &p.Since)
			return p, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("event index: recover versions: %w", err)
	}
	slices.SortFunc(out, func(a, b eventindex.PendingVersion) int { return cmp.Compare(a.Version, b.Version) })
	return out, nil
}

// StreamPositions reads the stream's confirmed versions above after through the primary key.
func (x *EventIndex) StreamPositions(ctx context.Context, teamID, key string, after int64, limit int) ([]eventindex.VersionPosition, error) {
	var out []eventindex.VersionPosition
	err := pgRetryConn(ctx, x.pool, func() error {
		rows, err := x.pool.Query(ctx, `SELECT version, partition, "offset" FROM `+x.streams+`
			WHERE team_id = $1 AND key = $2 AND version > $3 AND partition IS NOT NULL
			ORDER BY version LIMIT $4`, teamID, key, after, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (eventindex.VersionPosition, error) {
			var vp eventindex.VersionPosition
			err := r.Scan(&vp.Version, &vp.Position.Partition, &vp.Position.Offset)
			return vp, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("event index: stream positions: %w", err)
	}
	return out, nil
}

// VersionsOf returns the versions of those ids that have one.
func (x *EventIndex) VersionsOf(ctx context.Context, ids []string) (map[string]int64, error) {
	out := map[string]int64{}
	if len(ids) == 0 {
		return out, nil
	}
	err := pgRetryConn(ctx, x.pool, func() error {
		clear(out)
		rows, err := x.pool.Query(ctx, `SELECT event_id, version FROM `+x.streams+` WHERE event_id = ANY($1)`, ids)
		if err != nil {
			return err
		}
		var id string
		var v int64
		_, err = pgx.ForEachRow(rows, []any{&id, &v}, func() error {
			out[id] = v
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("event index: versions: %w", err)
	}
	return out, nil
}

// marksTable is the backfill's progress: per topic and partition, the offset below which
// every record is in the index.
func marksTable(name string) string {
	return `CREATE TABLE IF NOT EXISTS ` + name + ` (
		topic       text    NOT NULL,
		partition   integer NOT NULL,
		next_offset bigint  NOT NULL,
		PRIMARY KEY (topic, partition)
	)`
}

// BackfillMarks reads the topic's marks.
func (x *EventIndex) BackfillMarks(ctx context.Context, topic string) (map[int32]int64, error) {
	out := map[int32]int64{}
	err := pgRetryConn(ctx, x.pool, func() error {
		clear(out)
		rows, err := x.pool.Query(ctx, `SELECT partition, next_offset FROM `+x.marks+` WHERE topic = $1`, topic)
		if err != nil {
			return err
		}
		var p int32
		var o int64
		_, err = pgx.ForEachRow(rows, []any{&p, &o}, func() error {
			out[p] = o
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("event index: backfill marks: %w", err)
	}
	return out, nil
}

// Backfill runs under a transaction-scoped advisory lock, so concurrent backfills (processes
// starting together) take turns and each batch sees the versions the previous one gave.
func (x *EventIndex) Backfill(ctx context.Context, topic string, partition int32, from, to int64, recs []eventindex.LogEvent) (eventindex.BackfillResult, error) {
	var res eventindex.BackfillResult
	err := pgRetryConn(ctx, x.pool, func() error {
		res = eventindex.BackfillResult{}
		return pgx.BeginFunc(ctx, x.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('switchboard.stream_index_backfill'))`); err != nil {
				return err
			}
			var mark int64
			err := tx.QueryRow(ctx, `SELECT next_offset FROM `+x.marks+` WHERE topic = $1 AND partition = $2`, topic, partition).Scan(&mark)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if mark != from {
				res.Moved, res.Mark = true, mark
				return nil
			}
			ids := make([]string, len(recs))
			for i, r := range recs {
				ids[i] = r.EventID
			}
			known := map[string]eventindex.Known{}
			rows, err := tx.Query(ctx, `SELECT event_id, version, partition IS NOT NULL FROM `+x.streams+` WHERE event_id = ANY($1)`, ids)
			if err != nil {
				return err
			}
			var id string
			var k eventindex.Known
			if _, err := pgx.ForEachRow(rows, []any{&id, &k.Version, &k.Confirmed}, func() error {
				known[id] = k
				return nil
			}); err != nil {
				return err
			}
			streams := eventindex.Streams(recs)
			teams, keys := make([]string, len(streams)), make([]string, len(streams))
			for i, s := range streams {
				teams[i], keys[i] = s[0], s[1]
			}
			heads := map[[2]string]int64{}
			rows, err = tx.Query(ctx, `SELECT s.team_id, s.key, coalesce(h.version, 0)
				FROM unnest($1::text[], $2::text[]) AS s(team_id, key)
				LEFT JOIN LATERAL (SELECT version FROM `+x.streams+` t
					WHERE t.team_id = s.team_id AND t.key = s.key ORDER BY version DESC LIMIT 1) h ON true`, teams, keys)
			if err != nil {
				return err
			}
			var team, key string
			var v int64
			if _, err := pgx.ForEachRow(rows, []any{&team, &key, &v}, func() error {
				heads[[2]string{team, key}] = v
				return nil
			}); err != nil {
				return err
			}
			add, confirm, assigned := eventindex.PlanBackfill(recs, known, heads)
			now := time.Now()
			if len(add) > 0 {
				n := len(add)
				at, ak, av, aid, ap, ao := make([]string, n), make([]string, n), make([]int64, n), make([]string, n), make([]int32, n), make([]int64, n)
				for i, a := range add {
					at[i], ak[i], av[i], aid[i], ap[i], ao[i] = a.TeamID, a.Key, a.Version, a.EventID, a.Position.Partition, a.Position.Offset
				}
				tag, err := tx.Exec(ctx, `INSERT INTO `+x.streams+` (team_id, key, version, event_id, owner, since, lease_until, partition, "offset")
					SELECT t, k, v, id, '', $7, 'epoch', p, o
					FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::integer[], $6::bigint[]) AS u(t, k, v, id, p, o)
					ON CONFLICT DO NOTHING`, at, ak, av, aid, ap, ao, now)
				if err != nil {
					return err
				}
				res.Added = int(tag.RowsAffected())
				res.Refused = n - res.Added
				res.Assigned = assigned
			}
			// Every event of the batch gets (or keeps) its id's position: the dedup index
			// knows the old events too, so a retried old command is a duplicate.
			all := map[string]eventlog.Position{}
			for _, r := range recs {
				if _, ok := all[r.EventID]; !ok {
					all[r.EventID] = r.Position
				}
			}
			cids := slices.Sorted(maps.Keys(all))
			cparts, coffs := make([]int32, len(cids)), make([]int64, len(cids))
			for i, id := range cids {
				cparts[i], coffs[i] = all[id].Partition, all[id].Offset
			}
			b := &pgx.Batch{}
			if len(cids) > 0 {
				x.queueConfirmIDs(b, cids, cparts, coffs, now)
			}
			if len(confirm) > 0 {
				vids, vparts, voffs := make([]string, len(confirm)), make([]int32, len(confirm)), make([]int64, len(confirm))
				for i, c := range confirm {
					vids[i], vparts[i], voffs[i] = c.EventID, c.Position.Partition, c.Position.Offset
				}
				x.queueConfirmVersions(b, vids, vparts, voffs)
				res.Confirmed = len(confirm)
			}
			b.Queue(`INSERT INTO `+x.marks+` (topic, partition, next_offset) VALUES ($1, $2, $3)
				ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset`, topic, partition, to)
			res.Mark = to
			return tx.SendBatch(ctx, b).Close()
		})
	})
	if err != nil {
		return eventindex.BackfillResult{}, fmt.Errorf("event index: backfill: %w", err)
	}
	return res, nil
}

// PendingVersions reads the stream's unconfirmed claims taken at or before claimedBefore.
func (x *EventIndex) PendingVersions(ctx context.Context, teamID, key string, claimedBefore time.Time) ([]eventindex.PendingVersion, error) {
	var out []eventindex.PendingVersion
	err := pgRetryConn(ctx, x.pool, func() error {
		rows, err := x.pool.Query(ctx, `SELECT version, event_id, since FROM `+x.streams+`
			WHERE team_id = $1 AND key = $2 AND partition IS NULL AND since <= $3 ORDER BY version`, teamID, key, claimedBefore)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (eventindex.PendingVersion, error) {
			var p eventindex.PendingVersion
			err := r.Scan(&p.Version, &p.EventID, &p.Since)
			return p, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("event index: pending versions: %w", err)
	}
	return out, nil
}
