package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/switchboard-oss/switchboard/adapters/eventcodec"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

//go:embed event_log_sqlite.sql
var eventLogSchema string

//go:embed event_log_sqlite_migrate.sql
var eventLogIndexes string

const (
	// consumeBatch is the most records one handler call receives.
	consumeBatch = 2000
	// maxCommitEvents caps one group commit, so a flood of appends still commits steadily.
	maxCommitEvents = 5000
	// eventLogCacheKiB is each connection's page cache (SQLite's default is 2 MiB): enough for
	// the hot part of the two indexes every append inserts into, the random-ordered event_id
	// index first (about 50 bytes an event: a million events' indexes hold ~130 MB, of which
	// the cache keeps the most used pages). Memory is taken only as pages are read.
	eventLogCacheKiB = 64 << 10
)

// The log's statements. Each read goes through an index or a rowid range: see
// TestEventLogQueriesUseIndexes, which asks SQLite for every one's plan.
const (
	sqlInsertEvent = `INSERT INTO events (event_id, team_id, key, type, occurred_at, recorded_at, envelope, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING position`
	// sqlEventByID uses the UNIQUE event_id's index.
	sqlEventByID = `SELECT position, version FROM events WHERE event_id = ?`
	// sqlStreamHead and sqlReadStream use events_team_key_version.
	sqlStreamHead = `SELECT coalesce(max(version), 0) FROM events WHERE team_id = ? AND key = ?`
	sqlReadStream = `SELECT position, version, envelope FROM events
		WHERE team_id = ? AND key = ? AND version > ? ORDER BY version LIMIT ?`
	// sqlHead and sqlConsume use the rowid.
	sqlHead    = `SELECT max(position) FROM events`
	sqlConsume = `SELECT position, version, envelope FROM events WHERE position > ? ORDER BY position LIMIT ?`
)

// consumeTypesSQL is ConsumeTypes' read of n types: the rowid range between the checkpoint
// and the head, filtered by type. Arguments: after, head, the types, limit.
func consumeTypesSQL(n int) string {
	return `SELECT position, version, envelope FROM events WHERE position > ? AND position <= ? AND type IN (?` +
		strings.Repeat(", ?", n-1) + `) ORDER BY position LIMIT ?`
}

// EventLog is the embedded event log: a single partition (0) in a SQLite file, whose offsets
// are the rows' positions, so it has a global order.
type EventLog struct {
	db   *sql.DB
	opts options
	log  *slog.Logger

	reqs       chan *appendRequest
	stopWriter chan struct{}
	writerDone chan struct{}

	// mu guards closed and the start of every call: Close waits for calls in flight (so an
	// accepted Append is committed and a consumer's checkpoint saved) before closing the file.
	mu      sync.Mutex
	closed  bool
	active  sync.WaitGroup
	closing chan struct{}
	once    sync.Once

	notifyMu sync.Mutex
	notify   chan struct{} // closed and replaced after every commit

	// writeMu queues this process's write transactions (group commits, checkpoints) in Go.
	// Left to SQLite, a second writer gets SQLITE_BUSY and its busy handler sleeps for
	// milliseconds at a time, which put ~10ms on every append under load.
	writeMu sync.Mutex
	// ckdb writes consumer checkpoints without an fsync of their own (see openDBSync): a
	// checkpoint lost to a power cut redelivers events, which every handler tolerates.
	ckdb *sql.DB
}

var (
	_ eventlog.Log     = (*EventLog)(nil)
	_ eventlog.Streams = (*EventLog)(nil)
)

type appendRequest struct {
	ctx       context.Context
	events    []domain.Event
	envelopes [][]byte
	// expected is the version the events' stream must be at (AppendStream); ExpectAny for a
	// plain Append.
	expected int64
	done     chan appendResponse // buffered: the writer never waits for a caller
}

type appendResponse struct {
	results []eventlog.AppendResult
	err     error
}

// OpenEventLog opens (creating if needed) the event log in the SQLite file at path.
func OpenEventLog(path string, opts ...Option) (*EventLog, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	db, err := openDB(path, eventLogSchema, fmt.Sprintf("cache_size(-%d)", eventLogCacheKiB))
	if err != nil {
		return nil, err
	}
	if err := migrateEventLog(db, o.logger); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: migrate event log %s: %w", path, err)
	}
	if _, err := db.Exec(eventLogIndexes); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: create event log indexes in %s: %w", path, err)
	}
	ckdb, err := openDBSync(path, eventLogSchema, "NORMAL")
	if err != nil {
		db.Close()
		return nil, err
	}
	l := &EventLog{
		db:         db,
		ckdb:       ckdb,
		opts:       o,
		log:        o.logger.With("component", "sqlite_event_log"),
		reqs:       make(chan *appendRequest),
		stopWriter: make(chan struct{}),
		writerDone: make(chan struct{}),
		closing:    make(chan struct{}),
		notify:     make(chan struct{}),
	}
	go l.writer()
	return l, nil
}

// enter registers a call in flight, or reports that the log is closed.
func (l *EventLog) enter() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.active.Add(1)
	return true
}

// Append validates and encodes every event, then hands them to the writer, which commits
// them with whatever other appends are waiting, in one transaction. Each event takes the next
// version of its stream.
func (l *EventLog) Append(ctx context.Context, events []domain.Event) ([]eventlog.AppendResult, error) {
	return l.submit(ctx, events, eventlog.ExpectAny)
}

// AppendStream is Append with a condition on the stream's version, checked by the writer in
// the group's transaction: a conflict fails this call only, the rest of the group commits.
func (l *EventLog) AppendStream(ctx context.Context, teamID, key string, expected int64, events []domain.Event) ([]eventlog.AppendResult, error) {
	if err := eventlog.CheckStreamBatch(teamID, key, expected, events); err != nil {
		return nil, err
	}
	return l.submit(ctx, events, expected)
}

func (l *EventLog) submit(ctx context.Context, events []domain.Event, expected int64) ([]eventlog.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	envelopes, err := eventcodec.MarshalBatch(events)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return []eventlog.AppendResult{}, nil
	}
	if !l.enter() {
		return nil, eventlog.ErrClosed
	}
	defer l.active.Done()
	req := &appendRequest{ctx: ctx, events: events, envelopes: envelopes, expected: expected, done: make(chan appendResponse, 1)}
	select {
	case l.reqs <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Once handed over, wait for the outcome even if ctx ends: the writer drops a cancelled
	// request before writing, and after that the answer is the truth, so a caller is never told
	// "failed" for events that were committed, nor "done" for events that were not.
	r := <-req.done
	return r.results, r.err
}

// writer is the single goroutine that writes events. Callers that arrive while it commits
// wait on the channel and are all taken by the next commit: one fsync for many appends.
func (l *EventLog) writer() {
	defer close(l.writerDone)
	for {
		var first *appendRequest
		select {
		case first = <-l.reqs:
		case <-l.stopWriter:
			return
		}
		batch, n := []*appendRequest{first}, len(first.events)
	collect:
		for n < maxCommitEvents {
			select {
			case r := <-l.reqs:
				batch = append(batch, r)
				n += len(r.events)
			default:
				break collect
			}
		}
		l.commit(batch)
	}
}

func (l *EventLog) commit(batch []*appendRequest) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- appendResponse{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	answers, err := l.write(live)
	if err != nil && len(live) > 1 {
		// Let each request stand alone, so one that cannot be written fails only its caller.
		l.log.Warn("group commit failed, committing appends one by one", "appends", len(live), "error", err)
		for _, r := range live {
			res, err := l.write([]*appendRequest{r})
			if err == nil {
				l.broadcast()
				r.done <- res[0]
			} else {
				r.done <- appendResponse{err: fmt.Errorf("append: %w", err)}
			}
		}
		return
	}
	if err != nil {
		live[0].done <- appendResponse{err: fmt.Errorf("append: %w", err)}
		return
	}
	l.broadcast()
	for i, r := range live {
		r.done <- answers[i]
	}
}

// streamID names a stream: a key is a stream within its team.
type streamID struct{ team, key string }

// write commits reqs in one transaction. An event whose id is already in the log (from before,
// or earlier in this transaction) is not inserted and reports the original's position and
// version. Every other event takes the next version of its stream, read from the unique index
// inside the transaction, which SQLite serializes with every other writer (of any process). A
// request whose stream is not at its expected version gets a *ConflictError and writes nothing;
// only an error of the transaction itself fails the whole group.
func (l *EventLog) write(reqs []*appendRequest) (_ []appendResponse, err error) {
	// Not a caller's context: the transaction serves several callers.
	ctx := context.Background()
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	ins, err := tx.PrepareContext(ctx, sqlInsertEvent)
	if err != nil {
		return nil, err
	}
	defer ins.Close()
	existing, err := tx.PrepareContext(ctx, sqlEventByID)
	if err != nil {
		return nil, err
	}
	defer existing.Close()
	headOf, err := tx.PrepareContext(ctx, sqlStreamHead)
	if err != nil {
		return nil, err
	}
	defer headOf.Close()

	heads := map[streamID]int64{} // the streams this transaction has read or moved
	head := func(s streamID) (int64, error) {
		if v, ok := heads[s]; ok {
			return v, nil
		}
		var v int64
		if err := headOf.QueryRowContext(ctx, s.team, s.key).Scan(&v); err != nil {
			return 0, err
		}
		heads[s] = v
		return v, nil
	}
	out := make([]appendResponse, len(reqs))
	for i, r := range reqs {
		res := make([]eventlog.AppendResult, len(r.events))
		// The events already in the log, or earlier in this request, are answered as such.
		fresh := make([]bool, len(r.events))
		repeatOf := make([]int, len(r.events)) // 1 + the index of the first occurrence
		nfresh := 0
		for j, e := range r.events {
			var pos, ver int64
			err := existing.QueryRowContext(ctx, e.ID).Scan(&pos, &ver)
			switch {
			case err == nil:
				res[j] = eventlog.AppendResult{Position: eventlog.Position{Offset: pos}, Duplicate: true, Version: ver}
			case errors.Is(err, sql.ErrNoRows):
				if k := slices.IndexFunc(r.events[:j], func(o domain.Event) bool { return o.ID == e.ID }); k >= 0 {
					repeatOf[j] = k + 1
					continue
				}
				fresh[j] = true
				nfresh++
			default:
				return nil, fmt.Errorf("look up event %s: %w", e.ID, err)
			}
		}
		if nfresh > 0 && r.expected != eventlog.ExpectAny {
			s := streamID{r.events[0].TeamID, r.events[0].Key}
			v, err := head(s)
			if err != nil {
				return nil, fmt.Errorf("read stream version: %w", err)
			}
			if v != r.expected {
				out[i] = appendResponse{err: &eventlog.ConflictError{Key: s.key, Expected: r.expected, Actual: v}}
				continue
			}
		}
		for j, e := range r.events {
			if k := repeatOf[j] - 1; k >= 0 {
				res[j] = res[k]
				res[j].Duplicate = true
			}
			if !fresh[j] {
				continue
			}
			s := streamID{e.TeamID, e.Key}
			v, err := head(s)
			if err != nil {
				return nil, fmt.Errorf("read stream version: %w", err)
			}
			var pos int64
			if err := ins.QueryRowContext(ctx, e.ID, e.TeamID, e.Key, e.Type(),
				e.OccurredAt.UnixNano(), e.RecordedAt.UnixNano(), r.envelopes[j], v+1).Scan(&pos); err != nil {
				return nil, fmt.Errorf("write event %s: %w", e.ID, err)
			}
			heads[s] = v + 1
			res[j] = eventlog.AppendResult{Position: eventlog.Position{Offset: pos}, Version: v + 1}
		}
		out[i] = appendResponse{results: res}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return out, nil
}

// broadcast wakes every consumer waiting for new events.
func (l *EventLog) broadcast() {
	l.notifyMu.Lock()
	close(l.notify)
	l.notify = make(chan struct{})
	l.notifyMu.Unlock()
}

// Changed returns a channel closed at the next commit of this log: a reader that found nothing
// new waits on it instead of polling (idle StreamEvents streams).
func (l *EventLog) Changed() <-chan struct{} { return l.changed() }

func (l *EventLog) changed() <-chan struct{} {
	l.notifyMu.Lock()
	defer l.notifyMu.Unlock()
	return l.notify
}

// Read returns up to q.Limit of the team's events after q.After, in log order.
func (l *EventLog) Read(ctx context.Context, q eventlog.Query) ([]eventlog.Record, error) {
	if q.TeamID == "" {
		return nil, errors.New("read events: team id required")
	}
	if q.Limit <= 0 {
		return nil, errors.New("read events: limit must be positive")
	}
	if !l.enter() {
		return nil, eventlog.ErrClosed
	}
	defer l.active.Done()

	query, args := readSQL(q)
	return l.query(ctx, query, args...)
}

// readSQL is Read's query (see TestEventLogQueriesUseIndexes). A team's read is a rowid range
// (position > ?) in log order, the rest filtered row by row: "+team_id" keeps SQLite from
// reading the team's every event through events_team_key_version and sorting them. A key's
// read walks events_team_key_version in version order, which is the stream's log order, and
// skips the positions before the cursor on the index's rowids alone.
func readSQL(q eventlog.Query) (string, []any) {
	var where strings.Builder
	order := "position"
	args := []any{q.TeamID}
	if q.Key != "" {
		where.WriteString("team_id = ? AND key = ?")
		args = append(args, q.Key)
		order = "version"
	} else {
		where.WriteString("+team_id = ?")
	}
	where.WriteString(" AND position > ?")
	args = append(args, q.After[0]) // a missing partition reads from the start (0)
	if len(q.Types) > 0 {
		where.WriteString(" AND type IN (?" + strings.Repeat(", ?", len(q.Types)-1) + ")")
		for _, t := range q.Types {
			args = append(args, t)
		}
	}
	if !q.From.IsZero() {
		where.WriteString(" AND occurred_at >= ?")
		args = append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		where.WriteString(" AND occurred_at < ?")
		args = append(args, q.To.UnixNano())
	}
	args = append(args, q.Limit)
	return "SELECT position, version, envelope FROM events WHERE " + where.String() + " ORDER BY " + order + " LIMIT ?", args
}

// errDecode marks a stored event that cannot be decoded: retrying cannot help.
var errDecode = errors.New("undecodable event")

// query runs a SELECT of position, version and envelope.
func (l *EventLog) query(ctx context.Context, query string, args ...any) ([]eventlog.Record, error) {
	rows, err := l.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	var out []eventlog.Record
	for rows.Next() {
		var pos, ver int64
		var env []byte
		if err := rows.Scan(&pos, &ver, &env); err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		e, err := eventcodec.Unmarshal(env)
		if err != nil {
			return nil, fmt.Errorf("read events: %w at position %d: %w", errDecode, pos, err)
		}
		out = append(out, eventlog.Record{Position: eventlog.Position{Offset: pos}, Event: e, Version: ver})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return out, nil
}

// ReadStream returns up to limit of the stream's events above version after, through the
// unique (team_id, key, version) index.
func (l *EventLog) ReadStream(ctx context.Context, teamID, key string, after int64, limit int) ([]eventlog.Record, error) {
	if err := eventlog.CheckStreamRead(teamID, key, after, limit); err != nil {
		return nil, err
	}
	if !l.enter() {
		return nil, eventlog.ErrClosed
	}
	defer l.active.Done()
	return l.query(ctx, sqlReadStream, teamID, key, after, limit)
}

// migrateEventLog gives a file of the previous release, whose events have no version, the
// version column, numbering each stream's events in log order. One IMMEDIATE transaction: a
// second process opening the file at the same time waits, then finds the column.
func migrateEventLog(db *sql.DB, logger *slog.Logger) (err error) {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var has int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('events') WHERE name = 'version'`).Scan(&has); err != nil {
		return err
	}
	if has == 1 {
		return tx.Commit()
	}
	start := time.Now()
	// STRICT tables accept a NOT NULL column only with a default; every row gets its number below.
	if _, err := tx.ExecContext(ctx, `ALTER TABLE events ADD COLUMN version INTEGER NOT NULL DEFAULT 0`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE events SET version = v.n
		FROM (SELECT position, row_number() OVER (PARTITION BY team_id, key ORDER BY position) AS n FROM events) AS v
		WHERE events.position = v.position`); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	logger.Info("event log: numbered every stream's events (a file of the previous release)", "took", time.Since(start))
	return nil
}

// Head returns the position of the last event; an empty cursor for an empty log.
func (l *EventLog) Head(ctx context.Context) (eventlog.Cursor, error) {
	if !l.enter() {
		return nil, eventlog.ErrClosed
	}
	defer l.active.Done()
	var last sql.NullInt64
	if err := l.db.QueryRowContext(ctx, sqlHead).Scan(&last); err != nil {
		return nil, fmt.Errorf("event log head: %w", err)
	}
	c := eventlog.Cursor{}
	if last.Valid {
		c[0] = last.Int64
	}
	return c, nil
}

// Ping checks that the file can be read.
func (l *EventLog) Ping(ctx context.Context) error {
	if !l.enter() {
		return eventlog.ErrClosed
	}
	defer l.active.Done()
	var one int
	if err := l.db.QueryRowContext(ctx, "SELECT 1 FROM events LIMIT 1").Scan(&one); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("event log ping: %w", err)
	}
	return nil
}

// Close refuses new calls, wakes consumers (which return ErrClosed), waits for calls in flight
// (every accepted Append is committed), then stops the writer and closes the file. Closing
// again does nothing.
func (l *EventLog) Close() error {
	var err error
	l.once.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		close(l.closing)
		l.active.Wait()
		close(l.stopWriter)
		<-l.writerDone
		err = errors.Join(l.ckdb.Close(), l.db.Close())
	})
	return err
}

// SetCheckpoint moves a group's checkpoint; the embedded log has only partition 0.
func (l *EventLog) SetCheckpoint(ctx context.Context, group string, c eventlog.Cursor) error {
	if group == "" {
		return errors.New("set checkpoint: group required")
	}
	for p := range c {
		if p != 0 {
			return fmt.Errorf("set checkpoint: the embedded log has no partition %d", p)
		}
	}
	if !l.enter() {
		return eventlog.ErrClosed
	}
	defer l.active.Done()
	off, ok := c[0]
	var err error
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if ok {
		_, err = l.db.ExecContext(ctx, `INSERT INTO checkpoints ("group", partition, "offset") VALUES (?, 0, ?)
			ON CONFLICT ("group", partition) DO UPDATE SET "offset" = excluded."offset"`, group, off)
	} else {
		_, err = l.db.ExecContext(ctx, `DELETE FROM checkpoints WHERE "group" = ?`, group)
	}
	return err
}

// Consume delivers the group's events to h, in log order, from its checkpoint on. One Consume
// per group at a time: two would each receive every event.
func (l *EventLog) Consume(ctx context.Context, group string, h eventlog.Handler) error {
	return l.ConsumeTypes(ctx, group, nil, h)
}

// skippedCheckpointEvery is how often a ConsumeTypes that finds nothing of its types saves the
// checkpoint it moved past the others: losing it costs only a rescan.
const skippedCheckpointEvery = time.Second

// ConsumeTypes is Consume for only the events of types (every event when empty), filtered in
// SQL: each read takes the head (the last position) first, then the events of types between
// the checkpoint and the head through the rowid range, so the checkpoint moves to the head even
// when none of them is of types, and no read scans the same rows twice.
func (l *EventLog) ConsumeTypes(ctx context.Context, group string, types []string, h eventlog.Handler) error {
	if group == "" {
		return errors.New("consume events: group required")
	}
	if h == nil {
		return errors.New("consume events: handler required")
	}
	if !l.enter() {
		return eventlog.ErrClosed
	}
	defer l.active.Done()

	// cctx also ends when the log closes, so a handler in progress sees it.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-l.closing:
			cancel()
		case <-cctx.Done():
		}
	}()
	stopped := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return eventlog.ErrClosed
	}
	c := &consumer{l: l, group: group, h: h, ctx: cctx, log: l.log.With("group", group)}

	var offset int64
	err := c.retry("load checkpoint", func() error {
		return l.db.QueryRowContext(cctx, `SELECT "offset" FROM checkpoints WHERE "group" = ? AND partition = 0`, group).Scan(&offset)
	})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		if cctx.Err() != nil {
			return stopped()
		}
		return err
	}
	// Reading "after offset" never skips an event: positions are assigned inside write
	// transactions, which SQLite serializes (across processes too), so no smaller position
	// can commit after a larger one is visible.
	typed := ""
	var typeArgs []any
	if len(types) > 0 {
		typed = consumeTypesSQL(len(types))
		for _, t := range types {
			typeArgs = append(typeArgs, t)
		}
	}
	saved, savedAt := offset, time.Now()
	for {
		// Taken before reading, so a commit between the read and the wait still wakes us.
		wake := l.changed()
		var recs []eventlog.Record
		through := offset // every event up to here is read or left out
		err := c.retry("read events", func() error {
			if typed == "" {
				var err error
				recs, err = l.query(cctx, sqlConsume, offset, consumeBatch)
				if len(recs) > 0 {
					through = recs[len(recs)-1].Position.Offset
				}
				return err
			}
			var head sql.NullInt64
			if err := l.db.QueryRowContext(cctx, sqlHead).Scan(&head); err != nil {
				return fmt.Errorf("read events: %w", err)
			}
			if !head.Valid || head.Int64 <= offset {
				recs = nil
				return nil
			}
			args := append(append([]any{offset, head.Int64}, typeArgs...), consumeBatch)
			var err error
			recs, err = l.query(cctx, typed, args...)
			through = head.Int64
			if len(recs) == consumeBatch {
				through = recs[len(recs)-1].Position.Offset
			}
			return err
		})
		if err != nil {
			if cctx.Err() != nil {
				return stopped()
			}
			return err
		}
		if len(recs) == 0 && through > offset {
			// Only events of other types: move past them, saving now and then.
			offset = through
			if time.Since(savedAt) >= skippedCheckpointEvery {
				if err := c.save(offset); err != nil {
					if cctx.Err() != nil {
						return stopped()
					}
					return err
				}
				saved, savedAt = offset, time.Now()
			}
			continue
		}
		if len(recs) == 0 {
			if saved < offset {
				// Caught up after events left out: save where we are before waiting.
				if err := c.save(offset); err != nil {
					if cctx.Err() != nil {
						return stopped()
					}
					return err
				}
				saved, savedAt = offset, time.Now()
			}
			// Appends of this process wake us at once; the timer catches other processes'.
			timer := time.NewTimer(l.opts.pollInterval)
			select {
			case <-wake:
			case <-timer.C:
			case <-cctx.Done():
				timer.Stop()
				return stopped()
			}
			timer.Stop()
			continue
		}
		if err := c.deliver(recs, through); err != nil {
			if cctx.Err() != nil {
				return stopped()
			}
			return err
		}
		offset, saved, savedAt = through, through, time.Now()
	}
}

type consumer struct {
	l     *EventLog
	group string
	h     eventlog.Handler
	ctx   context.Context
	log   *slog.Logger
}

// deliver hands recs to the handler until it accepts them, then saves the checkpoint at
// through (at or past the last record: events left out by type may follow it). The log line
// names positions and the error, never an event's content.
func (c *consumer) deliver(recs []eventlog.Record, through int64) error {
	first, last := recs[0].Position, recs[len(recs)-1].Position
	bo := c.newBackoff()
	for attempt := 1; ; attempt++ {
		err := c.h(c.ctx, recs)
		if err == nil {
			break
		}
		if c.ctx.Err() != nil {
			return c.ctx.Err()
		}
		wait := bo.NextBackOff()
		c.log.Warn("event handler failed, redelivering", "from", first.String(), "to", last.String(),
			"records", len(recs), "attempt", attempt, "retry_in", wait, "error", err)
		if !sleep(c.ctx, wait) {
			return c.ctx.Err()
		}
	}
	// Saved even if the consumer is being stopped: the handler did its work, and redelivering
	// it after a restart would only waste it.
	return c.save(through)
}

// save moves the group's checkpoint forward to offset.
func (c *consumer) save(offset int64) error {
	saveCtx := context.WithoutCancel(c.ctx)
	return c.retry("save checkpoint", func() error {
		c.l.writeMu.Lock()
		defer c.l.writeMu.Unlock()
		_, err := c.l.ckdb.ExecContext(saveCtx, `INSERT INTO checkpoints ("group", partition, "offset") VALUES (?, 0, ?)
			ON CONFLICT ("group", partition) DO UPDATE SET "offset" = max("offset", excluded."offset")`, c.group, offset)
		return err
	})
}

// retry runs op until it succeeds, fails for good (sql.ErrNoRows, an undecodable event) or the
// consumer stops, waiting with backoff between attempts: a busy or briefly failing disk must
// not kill a projection.
func (c *consumer) retry(what string, op func() error) error {
	bo := c.newBackoff()
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || errors.Is(err, sql.ErrNoRows) || errors.Is(err, errDecode) {
			return err
		}
		if c.ctx.Err() != nil {
			return err
		}
		wait := bo.NextBackOff()
		c.log.Error("event consumer cannot "+what+", retrying", "attempt", attempt, "retry_in", wait, "error", err)
		if !sleep(c.ctx, wait) {
			return err
		}
	}
}

func (c *consumer) newBackoff() backoff.BackOff {
	bo := &backoff.ExponentialBackOff{
		InitialInterval:     c.l.opts.retryInitial,
		RandomizationFactor: 0.2,
		Multiplier:          2,
		MaxInterval:         c.l.opts.retryMax,
	}
	bo.Reset()
	return bo
}

// sleep waits for d, reporting false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
