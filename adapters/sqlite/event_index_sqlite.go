package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-oss/switchboard/eventlog"
)

// eixSchema is the dedup index of the Kafka event log. Idempotent: run at every open.
// (Inline rather than in a .sql file: this adapter is a single file by design.)
const eixSchema = `
CREATE TABLE IF NOT EXISTS event_index (
    event_id    TEXT    PRIMARY KEY,
    owner       TEXT    NOT NULL,          -- the token of the call that holds the claim
    since       INTEGER NOT NULL,          -- unix ns of the first claim: the event is not older
    lease_until INTEGER NOT NULL,          -- unix ns; the claim is live until then
    partition   INTEGER,                   -- where the event was written, once it was
    "offset"    INTEGER
) STRICT, WITHOUT ROWID;
`

// EventIndex is the Kafka event log's dedup index (adapters/kafka.DedupIndex) in a SQLite
// file. SQLite serializes writers, across processes too, so it is correct for processes that
// share the file on one host; several hosts need postgres.EventIndex.
type EventIndex struct {
	db *sql.DB
}

// OpenEventIndex opens (creating if needed) the dedup index in the SQLite file at path.
func OpenEventIndex(path string) (*EventIndex, error) {
	db, err := openDB(path, eixSchema)
	if err != nil {
		return nil, err
	}
	return &EventIndex{db: db}, nil
}

// Close closes the file.
func (x *EventIndex) Close() error { return x.db.Close() }

// Claim takes, in one transaction, the claims on ids that are free or whose lease ran out.
func (x *EventIndex) Claim(ctx context.Context, owner string, ids []string, lease time.Duration) (written map[string]eventlog.Position, recover map[string]time.Time, held []string, err error) {
	if owner == "" {
		return nil, nil, nil, errors.New("event index: claim without owner")
	}
	written, recover = map[string]eventlog.Position{}, map[string]time.Time{}
	if len(ids) == 0 {
		return written, recover, nil, nil
	}
	now := time.Now()
	until := now.Add(lease).UnixNano()
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("event index: claim: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for _, id := range eixSortedUnique(ids) {
		res, err := tx.ExecContext(ctx, `INSERT INTO event_index (event_id, owner, since, lease_until)
			VALUES (?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`, id, owner, now.UnixNano(), until)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("event index: claim: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, nil, nil, fmt.Errorf("event index: claim: %w", err)
		} else if n == 1 {
			continue // a fresh claim
		}
		var since, leaseUntil int64
		var part, off sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT since, lease_until, partition, "offset" FROM event_index WHERE event_id = ?`, id).
			Scan(&since, &leaseUntil, &part, &off)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("event index: claim: %w", err)
		}
		switch {
		case part.Valid:
			written[id] = eventlog.Position{Partition: int32(part.Int64), Offset: off.Int64}
		case leaseUntil > now.UnixNano():
			held = append(held, id)
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE event_index SET owner = ?, lease_until = ? WHERE event_id = ?`, owner, until, id); err != nil {
				return nil, nil, nil, fmt.Errorf("event index: claim: %w", err)
			}
			recover[id] = time.Unix(0, since)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, nil, fmt.Errorf("event index: claim: %w", err)
	}
	return written, recover, held, nil
}

// Confirm records positions; an id without a row (found by a recovery) gets one.
func (x *EventIndex) Confirm(ctx context.Context, positions map[string]eventlog.Position) (err error) {
	if len(positions) == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("event index: confirm: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for id, p := range positions {
		_, err := tx.ExecContext(ctx, `INSERT INTO event_index (event_id, owner, since, lease_until, partition, "offset")
			VALUES (?, '', ?, 0, ?, ?)
			ON CONFLICT (event_id) DO UPDATE SET partition = excluded.partition, "offset" = excluded."offset", owner = '', lease_until = 0
			WHERE event_index.partition IS NULL`, id, now, p.Partition, p.Offset)
		if err != nil {
			return fmt.Errorf("event index: confirm: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("event index: confirm: %w", err)
	}
	return nil
}

// Release ends owner's unconfirmed claims: expired at once when the events may be in the log
// (the next claimer recovers them), deleted otherwise.
func (x *EventIndex) Release(ctx context.Context, owner string, ids []string, maybeWritten bool) (err error) {
	if len(ids) == 0 {
		return nil
	}
	stmt := `DELETE FROM event_index WHERE event_id = ? AND owner = ? AND partition IS NULL`
	if maybeWritten {
		stmt = `UPDATE event_index SET lease_until = 0 WHERE event_id = ? AND owner = ? AND partition IS NULL`
	}
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("event index: release: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for _, id := range eixSortedUnique(ids) {
		if _, err := tx.ExecContext(ctx, stmt, id, owner); err != nil {
			return fmt.Errorf("event index: release: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("event index: release: %w", err)
	}
	return nil
}

// eixSortedUnique returns ids sorted without repeats: one order for every caller.
func eixSortedUnique(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
