package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// EventIndex is the Kafka event log's dedup index (adapters/kafka.DedupIndex) in PostgreSQL,
// shared by every process that appends to the log. It keeps its own table, event_index,
// created when missing: it belongs to the event log, not to the read model's migrations.
type EventIndex struct {
	pool    *pgxpool.Pool
	table   string // quoted, schema-qualified when a schema was given
	streams string // the stream_index table, likewise
	marks   string // the stream_index_marks table, likewise
}

// OpenEventIndex connects to url and creates the table event_index in schema (created too;
// "" for the connection's search_path) if missing.
func OpenEventIndex(ctx context.Context, url string, schema string) (*EventIndex, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("event index: invalid postgres URL: %w", eixRedact(err))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("event index: open pool: %w", err)
	}
	ident := func(table string) string {
		if schema != "" {
			return pgx.Identifier{schema, table}.Sanitize()
		}
		return pgx.Identifier{table}.Sanitize()
	}
	x := &EventIndex{pool: pool, table: ident("event_index"), streams: ident("stream_index"), marks: ident("stream_index_marks")}
	if err := x.createTable(ctx, schema); err != nil {
		pool.Close()
		return nil, err
	}
	return x, nil
}

// createTable runs under an advisory lock: concurrent CREATE ... IF NOT EXISTS can still
// collide in the catalog.
func (x *EventIndex) createTable(ctx context.Context, schema string) error {
	err := pgx.BeginFunc(ctx, x.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('switchboard.event_index'))`); err != nil {
			return err
		}
		if schema != "" {
			if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+x.table+` (
			event_id    text        PRIMARY KEY,
			owner       text        NOT NULL,          -- the token of the call that holds the claim
			since       timestamptz NOT NULL,          -- the first claim: the event is not older
			lease_until timestamptz NOT NULL,          -- the claim is live until then
			partition   integer,                       -- where the event was written, once it was
			"offset"    bigint,
			CHECK ((partition IS NULL) = ("offset" IS NULL))
		)`)
		if err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, streamIndexTable(x.streams)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, marksTable(x.marks))
		return err
	})
	if err != nil {
		return fmt.Errorf("event index: create table: %w", err)
	}
	return nil
}

// Close closes the pool.
func (x *EventIndex) Close() error {
	x.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (x *EventIndex) Ping(ctx context.Context) error { return x.pool.Ping(ctx) }

// Claim takes the claims on ids that are free (one statement, one round trip) and, in one
// transaction, those whose lease ran out. Rows are inserted and locked in id order, so
// concurrent claims of overlapping sets do not deadlock.
func (x *EventIndex) Claim(ctx context.Context, owner string, ids []string, lease time.Duration) (written map[string]eventlog.Position, recover map[string]time.Time, held []string, err error) {
	if owner == "" {
		return nil, nil, nil, errors.New("event index: claim without owner")
	}
	written, recover = map[string]eventlog.Position{}, map[string]time.Time{}
	if len(ids) == 0 {
		return written, recover, nil, nil
	}
	ids = eixSortedUnique(ids)
	now := time.Now()
	until := now.Add(lease)
	insert := `INSERT INTO ` + x.table + ` (event_id, owner, since, lease_until)
		SELECT id, $2, $3, $4 FROM unnest($1::text[]) AS u(id) ORDER BY id
		ON CONFLICT (event_id) DO NOTHING
		RETURNING event_id`
	// Most ids are new: one statement outside a transaction claims them, in one round trip.
	// Only the others, already known, need the transaction below. Should the statement's
	// commit land but its answer be lost, the retry finds our own live claims and reports
	// them held (see below).
	var fresh []string
	err = pgRetryConn(ctx, x.pool, func() error {
		rows, err := x.pool.Query(ctx, insert, ids, owner, now, until)
		if err != nil {
			return err
		}
		fresh, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("event index: claim: %w", err)
	}
	if len(fresh) == len(ids) {
		return written, recover, nil, nil
	}
	isFresh := make(map[string]bool, len(fresh))
	for _, id := range fresh {
		isFresh[id] = true
	}
	known := make([]string, 0, len(ids)-len(fresh))
	for _, id := range ids {
		if !isFresh[id] {
			known = append(known, id)
		}
	}
	ids = known
	claim := func(tx pgx.Tx) error {
		clear(written)
		clear(recover)
		held = nil
		// An id released since the statement above is free again.
		rows, err := tx.Query(ctx, insert, ids, owner, now, until)
		if err != nil {
			return err
		}
		again, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		var rest []string
		for _, id := range ids {
			if !slices.Contains(again, id) {
				rest = append(rest, id)
			}
		}
		if len(rest) == 0 {
			return nil
		}
		rows, err = tx.Query(ctx, `SELECT event_id, since, lease_until, partition, "offset" FROM `+x.table+`
			WHERE event_id = ANY($1) ORDER BY event_id FOR UPDATE`, rest)
		if err != nil {
			return err
		}
		var expired []string
		seen := map[string]bool{}
		var id string
		var since, leaseUntil time.Time
		var part *int32
		var off *int64
		_, err = pgx.ForEachRow(rows, []any{&id, &since, &leaseUntil, &part, &off}, func() error {
			seen[id] = true
			switch {
			case part != nil && off != nil:
				written[id] = eventlog.Position{Partition: *part, Offset: *off}
			case leaseUntil.After(now):
				held = append(held, id)
			default:
				expired = append(expired, id)
				recover[id] = since
			}
			return nil
		})
		if err != nil {
			return err
		}
		// A row deleted between the insert and the select (an unpublished claim released)
		// is claimed afresh next time: report it held.
		for _, id := range rest {
			if !seen[id] {
				held = append(held, id)
			}
		}
		if len(expired) > 0 {
			_, err = tx.Exec(ctx, `UPDATE `+x.table+` SET owner = $2, lease_until = $3 WHERE event_id = ANY($1)`, expired, owner, until)
		}
		return err
	}
	// A connection that died with a PostgreSQL restart or blip fails once before the pool
	// notices: the claim is tried again on a fresh one. Nothing of a failed transaction stays;
	// if its commit did land, the retry finds our own live claims and reports them held, which
	// the caller answers as Unavailable: never a double write.
	err = pgRetryConn(ctx, x.pool, func() error { return pgx.BeginFunc(ctx, x.pool, claim) })
	if err != nil {
		return nil, nil, nil, fmt.Errorf("event index: claim: %w", err)
	}
	return written, recover, held, nil
}

// Confirm records positions; an id without a row (found by a recovery) gets one.
func (x *EventIndex) Confirm(ctx context.Context, positions map[string]eventlog.Position) error {
	if len(positions) == 0 {
		return nil
	}
	ids := make([]string, 0, len(positions))
	for id := range positions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	parts := make([]int32, len(ids))
	offs := make([]int64, len(ids))
	for i, id := range ids {
		parts[i], offs[i] = positions[id].Partition, positions[id].Offset
	}
	// Idempotent, so safe to repeat on a fresh connection. The ids' and the versions'
	// statements go in one batch: one round trip, one implicit transaction.
	now := time.Now()
	err := pgRetryConn(ctx, x.pool, func() error {
		b := &pgx.Batch{}
		x.queueConfirmIDs(b, ids, parts, offs, now)
		x.queueConfirmVersions(b, ids, parts, offs)
		return x.pool.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("event index: confirm: %w", err)
	}
	return nil
}

// queueConfirmIDs is Confirm's part for the ids: an id without a row gets one, an unconfirmed
// row takes the position, a confirmed one keeps its own.
func (x *EventIndex) queueConfirmIDs(b *pgx.Batch, ids []string, parts []int32, offs []int64, now time.Time) {
	b.Queue(`INSERT INTO `+x.table+` AS t (event_id, owner, since, lease_until, partition, "offset")
		SELECT id, '', $4, 'epoch', p, o FROM unnest($1::text[], $2::integer[], $3::bigint[]) AS u(id, p, o) ORDER BY id
		ON CONFLICT (event_id) DO UPDATE
		SET partition = excluded.partition, "offset" = excluded."offset", owner = '', lease_until = 'epoch'
		WHERE t.partition IS NULL`, ids, parts, offs, now)
}

// Release ends owner's unconfirmed claims: expired at once when the events may be in the log
// (the next claimer recovers them), deleted otherwise.
func (x *EventIndex) Release(ctx context.Context, owner string, ids []string, maybeWritten bool) error {
	return x.release(ctx, x.table, "release", owner, ids, maybeWritten)
}

// release ends owner's unconfirmed claims of ids in table (the id claims or the version claims).
func (x *EventIndex) release(ctx context.Context, table, what, owner string, ids []string, maybeWritten bool) error {
	if len(ids) == 0 {
		return nil
	}
	stmt := `DELETE FROM ` + table + ` WHERE event_id = ANY($1) AND owner = $2 AND partition IS NULL`
	if maybeWritten {
		stmt = `UPDATE ` + table + ` SET lease_until = 'epoch' WHERE event_id = ANY($1) AND owner = $2 AND partition IS NULL`
	}
	ids = eixSortedUnique(ids)
	if err := pgRetryConn(ctx, x.pool, func() error {
		_, err := x.pool.Exec(ctx, stmt, ids, owner)
		return err
	}); err != nil {
		return fmt.Errorf("event index: %s: %w", what, err)
	}
	return nil
}

// eixSortedUnique returns ids sorted without repeats: one lock order for every caller.
func eixSortedUnique(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// eixRedact keeps an error's kind but drops its text when it may quote the connection string.
func eixRedact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("malformed connection string")
	}
	return err
}
