package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/eventindex"
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

-- The streams' versions (adapters/kafka.StreamIndex): one row per event, unconfirmed
-- (partition NULL) while its append is at work.
CREATE TABLE IF NOT EXISTS stream_index (
    team_id     TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    version     INTEGER NOT NULL CHECK (version > 0),
    event_id    TEXT    NOT NULL UNIQUE,
    owner       TEXT    NOT NULL,
    since       INTEGER NOT NULL,          -- unix ns of the claim: the event is not older
    lease_until INTEGER NOT NULL,          -- unix ns
    partition   INTEGER,
    "offset"    INTEGER,
    PRIMARY KEY (team_id, key, version)
) STRICT, WITHOUT ROWID;

-- The backfill's progress: per topic and partition, the offset below which every record is
-- in the index.
CREATE TABLE IF NOT EXISTS stream_index_marks (
    topic       TEXT    NOT NULL,
    partition   INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)
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
		_, err = tx.ExecContext(ctx, `UPDATE stream_index SET partition = ?, "offset" = ?, owner = '', lease_until = 0
			WHERE event_id = ? AND partition IS NULL`, p.Partition, p.Offset, id)
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

// ClaimVersions reads every stream's head and inserts the claims if every head allows it, in
// one transaction (SQLite serializes them).
func (x *EventIndex) ClaimVersions(ctx context.Context, owner string, claims []eventindex.StreamClaim, lease time.Duration) (_ []eventindex.StreamHead, ok bool, err error) {
	if owner == "" {
		return nil, false, errors.New("event index: claim without owner")
	}
	now := time.Now()
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, fmt.Errorf("event index: claim versions: %w", err)
	}
	defer func() {
		if err != nil || !ok {
			_ = tx.Rollback()
		}
	}()
	heads := make([]eventindex.StreamHead, len(claims))
	for i, c := range claims {
		var v, leaseUntil int64
		var part sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT version, partition, lease_until FROM stream_index
			WHERE team_id = ? AND key = ? ORDER BY version DESC LIMIT 1`, c.TeamID, c.Key).Scan(&v, &part, &leaseUntil)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, false, fmt.Errorf("event index: claim versions: %w", err)
		default:
			heads[i] = eventindex.StreamHead{Version: v, Pending: !part.Valid, Live: !part.Valid && leaseUntil > now.UnixNano()}
		}
	}
	if !eventindex.Claimable(claims, heads) {
		return heads, false, nil
	}
	for _, i := range eventindex.Order(claims) {
		c := claims[i]
		for j, id := range c.IDs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO stream_index (team_id, key, version, event_id, owner, since, lease_until)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, c.TeamID, c.Key, heads[i].Version+int64(j)+1, id, owner, now.UnixNano(), now.Add(lease).UnixNano()); err != nil {
				return nil, false, fmt.Errorf("event index: claim versions: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, false, fmt.Errorf("event index: claim versions: %w", err)
	}
	return heads, true, nil
}

// ReleaseVersions ends owner's unconfirmed version claims of ids.
func (x *EventIndex) ReleaseVersions(ctx context.Context, owner string, ids []string, maybeWritten bool) (err error) {
	if len(ids) == 0 {
		return nil
	}
	stmt := `DELETE FROM stream_index WHERE event_id = ? AND owner = ? AND partition IS NULL`
	if maybeWritten {
		stmt = `UPDATE stream_index SET lease_until = 0 WHERE event_id = ? AND owner = ? AND partition IS NULL`
	}
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("event index: release versions: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for _, id := range eixSortedUnique(ids) {
		if _, err := tx.ExecContext(ctx, stmt, id, owner); err != nil {
			return fmt.Errorf("event index: release versions: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("event index: release versions: %w", err)
	}
	return nil
}

// RecoverVersions takes over the stream's unconfirmed claims whose lease ran out.
func (x *EventIndex) RecoverVersions(ctx context.Context, owner, teamID, key string, lease time.Duration) ([]eventindex.PendingVersion, error) {
	now := time.Now()
	rows, err := x.db.QueryContext(ctx, `UPDATE stream_index SET owner = ?, lease_until = ?
		WHERE team_id = ? AND key = ? AND partition IS NULL AND lease_until <= ?
		RETURNING version, event_id, since`, owner, now.Add(lease).UnixNano(), teamID, key, now.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("event index: recover versions: %w", err)
	}
	defer rows.Close()
	var out []eventindex.PendingVersion
	for rows.Next() {
		var p eventindex.PendingVersion
		var since int64
		if err := rows.Scan(&p.Version, &p.EventID, &since); err != nil {
			return nil, fmt.Errorf("event index: recover versions: %w", err)
		}
		p.Since = time.Unix(0, since)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("event index: recover versions: %w", err)
	}
	slices.SortFunc(out, func(a, b eventindex.PendingVersion) int { return cmp.Compare(a.Version, b.Version) })
	return out, nil
}

// StreamPositions reads the stream's confirmed versions above after through the primary key.
func (x *EventIndex) StreamPositions(ctx context.Context, teamID, key string, after int64, limit int) ([]eventindex.VersionPosition, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT version, partition, "offset" FROM stream_index
		WHERE team_id = ? AND key = ? AND version > ? AND partition IS NOT NULL ORDER BY version LIMIT ?`, teamID, key, after, limit)
	if err != nil {
		return nil, fmt.Errorf("event index: stream positions: %w", err)
	}
	defer rows.Close()
	var out []eventindex.VersionPosition
	for rows.Next() {
		var vp eventindex.VersionPosition
		if err := rows.Scan(&vp.Version, &vp.Position.Partition, &vp.Position.Offset); err != nil {
			return nil, fmt.Errorf("event index: stream positions: %w", err)
		}
		out = append(out, vp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("event index: stream positions: %w", err)
	}
	return out, nil
}

// VersionsOf returns the versions of those ids that have one.
func (x *EventIndex) VersionsOf(ctx context.Context, ids []string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, id := range eixSortedUnique(ids) {
		var v int64
		err := x.db.QueryRowContext(ctx, `SELECT version FROM stream_index WHERE event_id = ?`, id).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("event index: versions: %w", err)
		default:
			out[id] = v
		}
	}
	return out, nil
}

// BackfillMarks reads the topic's marks.
func (x *EventIndex) BackfillMarks(ctx context.Context, topic string) (map[int32]int64, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT partition, next_offset FROM stream_index_marks WHERE topic = ?`, topic)
	if err != nil {
		return nil, fmt.Errorf("event index: backfill marks: %w", err)
	}
	defer rows.Close()
	out := map[int32]int64{}
	for rows.Next() {
		var p int32
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return nil, fmt.Errorf("event index: backfill marks: %w", err)
		}
		out[p] = o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("event index: backfill marks: %w", err)
	}
	return out, nil
}

// Backfill runs in one immediate transaction: SQLite serializes it with every other writer,
// other processes' included.
func (x *EventIndex) Backfill(ctx context.Context, topic string, partition int32, from, to int64, recs []eventindex.LogEvent) (res eventindex.BackfillResult, err error) {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("event index: backfill: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	fail := func(err error) (eventindex.BackfillResult, error) {
		return eventindex.BackfillResult{}, fmt.Errorf("event index: backfill: %w", err)
	}
	var mark int64
	if err := tx.QueryRowContext(ctx, `SELECT next_offset FROM stream_index_marks WHERE topic = ? AND partition = ?`, topic, partition).Scan(&mark); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fail(err)
	}
	if mark != from {
		_ = tx.Rollback()
		return eventindex.BackfillResult{Moved: true, Mark: mark}, nil
	}
	prepare := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = tx.PrepareContext(ctx, q)
		return st
	}
	getKnown := prepare(`SELECT version, partition FROM stream_index WHERE event_id = ?`)
	getHead := prepare(`SELECT coalesce(max(version), 0) FROM stream_index WHERE team_id = ? AND key = ?`)
	insStream := prepare(`INSERT INTO stream_index (team_id, key, version, event_id, owner, since, lease_until, partition, "offset")
			VALUES (?, ?, ?, ?, '', ?, 0, ?, ?) ON CONFLICT DO NOTHING`)
	insID := prepare(`INSERT INTO event_index (event_id, owner, since, lease_until, partition, "offset")
			VALUES (?, '', ?, 0, ?, ?)
			ON CONFLICT (event_id) DO UPDATE SET partition = excluded.partition, "offset" = excluded."offset", owner = '', lease_until = 0
			WHERE event_index.partition IS NULL`)
	if err != nil {
		return fail(err)
	}
	known := map[string]eventindex.Known{}
	for _, r := range recs {
		var k eventindex.Known
		var part sql.NullInt64
		err := getKnown.QueryRowContext(ctx, r.EventID).Scan(&k.Version, &part)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fail(err)
		default:
			k.Confirmed = part.Valid
			known[r.EventID] = k
		}
	}
	heads := map[[2]string]int64{}
	for _, s := range eventindex.Streams(recs) {
		var v int64
		err := getHead.QueryRowContext(ctx, s[0], s[1]).Scan(&v)
		if err != nil {
			return fail(err)
		}
		heads[s] = v
	}
	add, confirm, assigned := eventindex.PlanBackfill(recs, known, heads)
	now := time.Now().UnixNano()
	for _, a := range add {
		r, err := insStream.ExecContext(ctx, a.TeamID, a.Key, a.Version, a.EventID, now, a.Position.Partition, a.Position.Offset)
		if err != nil {
			return fail(err)
		}
		if n, _ := r.RowsAffected(); n == 1 {
			res.Added++
		} else {
			res.Refused++
		}
	}
	res.Assigned = assigned
	for _, c := range confirm {
		if _, err := tx.ExecContext(ctx, `UPDATE stream_index SET partition = ?, "offset" = ?, owner = '', lease_until = 0
			WHERE event_id = ? AND partition IS NULL`, c.Position.Partition, c.Position.Offset, c.EventID); err != nil {
			return fail(err)
		}
	}
	res.Confirmed = len(confirm)
	for _, r := range recs {
		// The first position of an id stands; an unconfirmed claim takes it.
		if _, err := insID.ExecContext(ctx, r.EventID, now, r.Position.Partition, r.Position.Offset); err != nil {
			return fail(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO stream_index_marks (topic, partition, next_offset) VALUES (?, ?, ?)
		ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset`, topic, partition, to); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	res.Mark = to
	return res, nil
}

// PendingVersions reads the stream's unconfirmed claims taken at or before claimedBefore.
func (x *EventIndex) PendingVersions(ctx context.Context, teamID, key string, claimedBefore time.Time) ([]eventindex.PendingVersion, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT version, event_id, since FROM stream_index
		WHERE team_id = ? AND key = ? AND partition IS NULL AND since <= ? ORDER BY version`, teamID, key, claimedBefore.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("event index: pending versions: %w", err)
	}
	defer rows.Close()
	var out []eventindex.PendingVersion
	for rows.Next() {
		var p eventindex.PendingVersion
		var since int64
		if err := rows.Scan(&p.Version, &p.EventID, &since); err != nil {
			return nil, fmt.Errorf("event index: pending versions: %w", err)
		}
		p.Since = time.Unix(0, since)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("event index: pending versions: %w", err)
	}
	return out, nil
}
