package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-oss/switchboard/adapters/eventindex"
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

// errStreamMoved rolls back a claim that met another's insert: the caller sees a busy stream.
var errStreamMoved = errors.New("stream moved during the claim")

// ClaimVersions reads every stream's head, then inserts the claims if every head allows it,
// in (team, key) order, in one transaction. Two claims of one version meet on the primary key:
// the later one rolls back and reports the stream busy.
func (x *EventIndex) ClaimVersions(ctx context.Context, owner string, claims []eventindex.StreamClaim, lease time.Duration) ([]eventindex.StreamHead, bool, error) {
	if owner == "" {
		return nil, false, errors.New("event index: claim without owner")
	}
	order := eventindex.Order(claims)
	heads := make([]eventindex.StreamHead, len(claims))
	now := time.Now()
	until := now.Add(lease)
	moved := -1
	claim := func(tx pgx.Tx) error {
		for _, i := range order {
			c := claims[i]
			var v int64
			var part *int32
			var leaseUntil time.Time
			err := tx.QueryRow(ctx, `SELECT version, partition, lease_until FROM `+x.streams+`
				WHERE team_id = $1 AND key = $2 ORDER BY version DESC LIMIT 1`, c.TeamID, c.Key).Scan(&v, &part, &leaseUntil)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				heads[i] = eventindex.StreamHead{}
			case err != nil:
				return err
			default:
				heads[i] = eventindex.StreamHead{Version: v, Pending: part == nil, Live: part == nil && leaseUntil.After(now)}
			}
		}
		if !eventindex.Claimable(claims, heads) {
			return nil
		}
		for _, i := range order {
			c := claims[i]
			versions := make([]int64, len(c.IDs))
			for j := range versions {
				versions[j] = heads[i].Version + int64(j) + 1
			}
			tag, err := tx.Exec(ctx, `INSERT INTO `+x.streams+` (team_id, key, version, event_id, owner, since, lease_until)
				SELECT $1, $2, v, id, $5, $6, $7 FROM unnest($3::bigint[], $4::text[]) AS u(v, id)
				ON CONFLICT DO NOTHING`, c.TeamID, c.Key, versions, c.IDs, owner, now, until)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != int64(len(c.IDs)) {
				moved = i
				return errStreamMoved
			}
		}
		return nil
	}
	err := pgRetryConn(ctx, x.pool, func() error {
		moved = -1
		return pgx.BeginFunc(ctx, x.pool, claim)
	})
	switch {
	case errors.Is(err, errStreamMoved):
		heads[moved] = eventindex.StreamHead{Version: heads[moved].Version, Pending: true, Live: true}
		return heads, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("event index: claim versions: %w", err)
	}
	return heads, eventindex.Claimable(claims, heads), nil
}

// confirmVersions is Confirm's part for the versions (run in Confirm's statement's wake, with
// its arrays): only an unconfirmed row of the same event takes the position.
func (x *EventIndex) confirmVersions(ctx context.Context, ids []string, parts []int32, offs []int64) error {
	_, err := x.pool.Exec(ctx, `UPDATE `+x.streams+` AS t SET partition = u.p, "offset" = u.o, owner = '', lease_until = 'epoch'
		FROM unnest($1::text[], $2::integer[], $3::bigint[]) AS u(id, p, o)
		WHERE t.event_id = u.id AND t.partition IS NULL`, ids, parts, offs)
	return err
}

// ReleaseVersions ends owner's unconfirmed version claims of ids.
func (x *EventIndex) ReleaseVersions(ctx context.Context, owner string, ids []string, maybeWritten bool) error {
	if len(ids) == 0 {
		return nil
	}
	stmt := `DELETE FROM ` + x.streams + ` WHERE event_id = ANY($1) AND owner = $2 AND partition IS NULL`
	if maybeWritten {
		stmt = `UPDATE ` + x.streams + ` SET lease_until = 'epoch' WHERE event_id = ANY($1) AND owner = $2 AND partition IS NULL`
	}
	ids = eixSortedUnique(ids)
	if err := pgRetryConn(ctx, x.pool, func() error {
		_, err := x.pool.Exec(ctx, stmt, ids, owner)
		return err
	}); err != nil {
		return fmt.Errorf("event index: release versions: %w", err)
	}
	return nil
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
