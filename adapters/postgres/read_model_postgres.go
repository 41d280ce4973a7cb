package postgres

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

//go:embed read_model_postgres.sql
var pgReadModelSQL string

var pgRM = pgQueries(pgParseQueries("read_model_postgres.sql", pgReadModelSQL))

// PostgresDialect renders the shared query SQL of package projections for PostgreSQL: $n
// parameters and times as timestamptz (microseconds; the zero time is stored as 0001-01-01
// UTC and read back as the zero time).
var PostgresDialect = projections.Dialect{
	Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	Time:        func(t time.Time) any { return t },
}

// pgFlushAt is how many buffered writes make an Update send them before it commits, so a huge
// batch (a replay) does not hold every row in memory.
const pgFlushAt = 1000

// ReadModel is the read model (projections.Store) in PostgreSQL. An Update is one
// transaction: rows it writes are kept in memory (so its own reads see them) and sent at
// commit as one pipelined batch, one upsert per table, together with the checkpoint. Writers
// are serialized by an advisory lock; queries are single statements on the pool, never
// blocked by writers.
type ReadModel struct {
	pool    *pgxpool.Pool
	logger  *slog.Logger
	flushAt int
	// upsertNew sends the messages an Update inserted with the upsert of changed ones instead
	// of COPY (how earlier releases wrote them; the benchmark compares the two).
	upsertNew bool
}

var _ projections.Store = (*ReadModel)(nil)

// OpenReadModel applies pending migrations (see Migrate), then opens a pool on the database
// at url.
func OpenReadModel(ctx context.Context, url string, opts ...Option) (*ReadModel, error) {
	pool, o, err := pgOpenPool(ctx, url, opts)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	return &ReadModel{pool: pool, logger: o.logger, flushAt: pgFlushAt}, nil
}

// Close closes the pool.
func (s *ReadModel) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the server answers.
func (s *ReadModel) Ping(ctx context.Context) error {
	if err := pgRetryConn(ctx, s.pool, func() error { return s.pool.Ping(ctx) }); err != nil {
		return fmt.Errorf("read model: ping: %w", err)
	}
	return nil
}

// Update runs fn in one transaction. An error of fn, of a write or of the commit rolls
// everything back, checkpoint included: a redelivered batch is then applied from scratch. A
// commit whose answer was lost may have happened; then the checkpoint, committed with the
// rows, makes the redelivery change nothing.
func (s *ReadModel) Update(ctx context.Context, fn func(tx projections.Tx) error) error {
	var tx pgx.Tx
	// Nothing has happened yet if BEGIN fails, so a dead pooled connection is worth one retry.
	err := pgRetryConn(ctx, s.pool, func() error {
		var err error
		tx, err = s.pool.Begin(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("read model: begin: %w", err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		// Also after a panic of fn. A dead connection cannot roll back, but the server
		// already did.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tx.Rollback(rctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
			s.logger.Debug("read model: rollback failed", "error", err)
		}
	}()
	x := &pgTx{ctx: ctx, tx: tx, flushAt: s.flushAt, upsertNew: s.upsertNew}
	if err := fn(x); err != nil {
		return err
	}
	if err := x.flush(); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("read model: commit: %w", err)
	}
	committed = true
	return nil
}

// Checkpoint returns the projection's cursor, empty when it never checkpointed.
func (s *ReadModel) Checkpoint(ctx context.Context, projection string) (eventlog.Cursor, error) {
	var c eventlog.Cursor
	err := pgRetryConn(ctx, s.pool, func() error {
		var err error
		c, err = pgScanCheckpoint(s.pool.QueryRow(ctx, pgRM.get("rm-checkpoint"), projection))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read model: checkpoint %s: %w", projection, err)
	}
	return c, nil
}

// Reset empties every table, checkpoints included, in one transaction that waits for the
// writer in progress.
func (s *ReadModel) Reset(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(pgRM.get("rm-lock"))
		b.Queue(pgRM.get("rm-reset"))
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("read model: reset: %w", err)
	}
	return nil
}

func pgScanCheckpoint(row pgx.Row) (eventlog.Cursor, error) {
	var s string
	err := row.Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventlog.Cursor{}, nil
	}
	if err != nil {
		return nil, err
	}
	return eventlog.ParseCursor(s)
}

// ---- Writes (projections.Tx) ----

// pgKey is a row's key within a team.
type pgKey struct{ team, id string }

func pgCompareKeys(a, b pgKey) int {
	return cmp.Or(strings.Compare(a.team, b.team), strings.Compare(a.id, b.id))
}

// pgRows is what a transaction knows of one table: rows read or written (nil: known not to
// exist), and which of them it wrote.
type pgRows[T any] struct {
	rows  map[pgKey]*T
	dirty map[pgKey]bool
}

// lookup returns the known row; known is false when the table must be asked.
func (r *pgRows[T]) lookup(k pgKey) (row *T, known bool) {
	row, known = r.rows[k]
	return row, known
}

// remember caches a row read from the table (nil: it does not exist).
func (r *pgRows[T]) remember(k pgKey, v *T) {
	if r.rows == nil {
		r.rows = map[pgKey]*T{}
	}
	r.rows[k] = v
}

func (r *pgRows[T]) write(k pgKey, v T) {
	r.remember(k, &v)
	if r.dirty == nil {
		r.dirty = map[pgKey]bool{}
	}
	r.dirty[k] = true
}

// written returns the last version of every written row, in key order (so concurrent
// writers, if any, lock rows in the same order).
func (r *pgRows[T]) written() []T {
	keys := slices.SortedFunc(maps.Keys(r.dirty), pgCompareKeys)
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i] = *r.rows[k]
	}
	return out
}

// flushed notes that the written rows are in the table now: the cache still matches it, and
// nothing is dirty.
func (r *pgRows[T]) flushed() { r.dirty = nil }

// pgOp is a statement that must run in call order.
type pgOp struct {
	sql  string
	args []any
}

// pgTx is a projections.Tx on one pgx transaction.
type pgTx struct {
	ctx     context.Context
	tx      pgx.Tx
	locked  bool // holds the writers' lock
	flushAt int
	pending int // writes buffered since the last flush

	teams     pgRows[projections.Team]
	members   pgRows[projections.Member]
	apiKeys   pgRows[projections.APIKey]
	statuses  pgRows[projections.Status]
	links     pgRows[projections.AccountLink]
	prospects pgRows[projections.Prospect]
	threads   pgRows[projections.Thread]
	messages  pgRows[projections.Message]
	ops       []pgOp // tags and their links, in call order

	// prospectThreads holds the prospects whose threads are all in threads.rows.
	prospectThreads map[pgKey]bool
	checkpoints     map[string]eventlog.Cursor
	dirtyCPs        map[string]bool
	// statusChanged holds the prospects whose status changed since the last flush: their
	// threads follow (rm-thread-statuses).
	statusChanged map[pgKey]bool
	// inserted holds the messages InsertMessage added since the last flush: no row has their
	// id, so they go by COPY, unless upsertNew.
	inserted  map[pgKey]bool
	upsertNew bool
}

// read runs a query in the transaction, taking the writers' lock first (in the same round
// trip) if the transaction does not hold it yet, so what it reads cannot change under it.
func (x *pgTx) read(what, query string, args []any, each func(pgx.Rows) error) error {
	b := &pgx.Batch{}
	if !x.locked {
		b.Queue(pgRM.get("rm-lock"))
	}
	b.Queue(query, args...)
	br := x.tx.SendBatch(x.ctx, b)
	err := func() error {
		if !x.locked {
			if _, err := br.Exec(); err != nil {
				return err
			}
			x.locked = true
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := each(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("read model: %s: %w", what, err)
	}
	return nil
}

// pgGet returns a row from what the transaction knows, else from the table.
func pgGet[T any](x *pgTx, r *pgRows[T], what, query string, scan func(pgScanner) (T, error), teamID, id string) (T, error) {
	var zero T
	k := pgKey{teamID, id}
	if row, known := r.lookup(k); known {
		if row == nil {
			return zero, projections.ErrNotFound
		}
		return *row, nil
	}
	var found *T
	err := x.read(what, query, []any{teamID, id}, func(rows pgx.Rows) error {
		v, err := scan(rows)
		found = &v
		return err
	})
	if err != nil {
		return zero, err
	}
	r.remember(k, found)
	if found == nil {
		return zero, projections.ErrNotFound
	}
	return *found, nil
}

// Prefetch reads, in one round trip, every row of p the transaction does not know yet, and
// remembers the ones missing as missing: Apply then finds the whole batch in the cache.
func (x *pgTx) Prefetch(p projections.Prefetch) error {
	b := &pgx.Batch{}
	if !x.locked {
		b.Queue(pgRM.get("rm-lock"))
	}
	steps := []func(pgx.BatchResults) error{
		pgQueuePrefetch(b, &x.prospects, "rm-prefetch-prospects", p.Prospects, pgScanProspectRow,
			func(v projections.Prospect) pgKey { return pgKey{v.TeamID, v.ID} }),
		pgQueuePrefetch(b, &x.threads, "rm-prefetch-threads", p.Threads, pgScanThreadRow,
			func(v projections.Thread) pgKey { return pgKey{v.TeamID, v.ID} }),
		pgQueuePrefetch(b, &x.messages, "rm-prefetch-messages", p.Messages, pgScanMessage,
			func(v projections.Message) pgKey { return pgKey{v.TeamID, v.ID} }),
	}
	if b.Len() == 0 || (b.Len() == 1 && !x.locked) {
		return nil // everything known already
	}
	br := x.tx.SendBatch(x.ctx, b)
	err := func() error {
		if !x.locked {
			if _, err := br.Exec(); err != nil {
				return err
			}
			x.locked = true
		}
		for _, step := range steps {
			if step == nil {
				continue
			}
			if err := step(br); err != nil {
				return err
			}
		}
		return nil
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("read model: prefetch: %w", err)
	}
	return nil
}

// pgQueuePrefetch queues the query of keys that r does not know yet, and returns the step that
// reads its answer into r (nil when nothing is queued). A key the table lacks is remembered as
// missing, once the whole answer is read.
func pgQueuePrefetch[T any](b *pgx.Batch, r *pgRows[T], name string, keys []projections.RowKey,
	scan func(pgScanner) (T, error), key func(T) pgKey) func(pgx.BatchResults) error {
	asked := map[pgKey]bool{}
	var teams, ids []string
	for _, k := range keys {
		pk := pgKey{k.TeamID, k.ID}
		if _, known := r.lookup(pk); known || asked[pk] {
			continue
		}
		asked[pk] = true
		teams, ids = append(teams, k.TeamID), append(ids, k.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	b.Queue(pgRM.get(name), teams, ids)
	return func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		found := map[pgKey]*T{}
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				rows.Close()
				return err
			}
			found[key(v)] = &v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for k := range asked {
			r.remember(k, found[k])
		}
		return nil
	}
}

// wrote counts a buffered write and sends the buffer when it is full.
func (x *pgTx) wrote() error {
	x.pending++
	if x.pending >= x.flushAt {
		return x.flush()
	}
	return nil
}

// flush sends every buffered write in one pipelined batch. Afterwards the transaction's own
// rows are in the table (uncommitted) and the cache still matches the table (this transaction
// holds the writers' lock), so it is kept: what a batch prefetched serves the whole batch.
func (x *pgTx) flush() error {
	b := &pgx.Batch{}
	if !x.locked {
		b.Queue(pgRM.get("rm-lock"))
	}
	for _, op := range x.ops {
		b.Queue(op.sql, op.args...)
	}
	pgQueueUpsert(b, "rm-upsert-teams", x.teams.written(), func(t projections.Team) []any {
		return []any{t.ID, t.Name, t.CreatedAt}
	})
	pgQueueUpsert(b, "rm-upsert-members", x.members.written(), func(m projections.Member) []any {
		return []any{m.TeamID, m.ID, m.Email, m.Name, m.Role, m.CreatedAt}
	})
	pgQueueUpsert(b, "rm-upsert-api-keys", x.apiKeys.written(), func(k projections.APIKey) []any {
		return []any{k.ID, k.TeamID, k.MemberID, k.Hash, k.InstanceAdmin, k.CreatedAt, k.Prefix}
	})
	pgQueueUpsert(b, "rm-upsert-statuses", x.statuses.written(), func(s projections.Status) []any {
		return []any{s.TeamID, s.ID, s.Name, s.Position}
	})
	pgQueueUpsert(b, "rm-upsert-account-links", x.links.written(), func(a projections.AccountLink) []any {
		return []any{a.TeamID, a.ID, a.Platform, a.PlatformID, a.Username, a.DisplayName, a.WebhookPath,
			a.Active, a.Unlinked, a.Healthy, a.HealthReason, a.LinkedAt}
	})
	pgQueueUpsert(b, "rm-upsert-prospects", x.prospects.written(), func(p projections.Prospect) []any {
		return []any{p.TeamID, p.ID, p.Platform, p.PlatformID, p.Username, p.DisplayName, p.AvatarURL,
			p.StatusID, p.Notes, p.Valuation, pgFieldsJSON(p.CustomFields), p.FirstSeenAt, p.LastSeenAt}
	})
	if len(x.statusChanged) > 0 {
		var teams, ids, statuses []string
		for _, k := range slices.SortedFunc(maps.Keys(x.statusChanged), pgCompareKeys) {
			teams, ids, statuses = append(teams, k.team), append(ids, k.id), append(statuses, x.prospects.rows[k].StatusID)
		}
		b.Queue(pgRM.get("rm-thread-statuses"), teams, ids, statuses)
	}
	pgQueueUpsert(b, "rm-upsert-threads", x.threads.written(), func(t projections.Thread) []any {
		return []any{t.TeamID, t.ID, t.Platform, t.PlatformID, t.AccountLinkID, t.ProspectID,
			t.AssigneeMemberID, t.Done, t.Request, t.LastMessageID, t.LastMessageText,
			t.LastMessageDirection, t.LastMessageAt, t.UnreadCount, t.MessageCount, t.CreatedAt}
	})
	var changed, copied [][]any
	for _, m := range x.messages.written() {
		v := []any{m.TeamID, m.ID, m.ThreadID, m.ProspectID, m.AccountLinkID, m.Platform, m.PlatformID,
			m.Direction, m.SenderPlatformID, m.SenderUsername, m.SenderDisplayName, m.SenderAvatarURL,
			m.Text, pgAttachmentsJSON(m.Attachments), m.SentAt, m.Edited, m.Deleted, m.ReplyToMessageID, m.Status}
		if x.inserted[pgKey{m.TeamID, m.ID}] && !x.upsertNew {
			copied = append(copied, v)
		} else {
			changed = append(changed, v)
		}
	}
	pgQueueUpsert(b, "rm-upsert-messages", changed, func(v []any) []any { return v })
	for _, name := range slices.Sorted(maps.Keys(x.dirtyCPs)) {
		b.Queue(pgRM.get("rm-set-checkpoint"), name, x.checkpoints[name].String())
	}
	if len(copied) == 0 && (b.Len() == 0 || (b.Len() == 1 && !x.locked)) {
		return nil // nothing written
	}
	if err := x.tx.SendBatch(x.ctx, b).Close(); err != nil {
		return fmt.Errorf("read model: write %d statements: %w", b.Len(), err)
	}
	x.locked = true
	if len(copied) > 0 {
		// The writers' lock is held (taken above at the latest) since the transaction found
		// that no row has these ids.
		if _, err := x.tx.CopyFrom(x.ctx, pgx.Identifier{"messages"}, pgMessageCols, pgx.CopyFromRows(copied)); err != nil {
			return fmt.Errorf("read model: copy %d messages: %w", len(copied), err)
		}
	}
	x.statusChanged, x.inserted = nil, nil
	x.pending = 0
	x.ops = nil
	for _, r := range []interface{ flushed() }{&x.teams, &x.members, &x.apiKeys, &x.statuses, &x.links,
		&x.prospects, &x.threads, &x.messages} {
		r.flushed()
	}
	x.checkpoints, x.dirtyCPs = nil, nil
	return nil
}

// pgMessageCols are the columns of messages, in the order of rm-upsert-messages.
var pgMessageCols = []string{"team_id", "id", "thread_id", "prospect_id", "account_link_id", "platform",
	"platform_id", "direction", "sender_platform_id", "sender_username", "sender_display_name",
	"sender_avatar_url", "text", "attachments", "sent_at", "edited", "deleted", "reply_to_message_id", "status"}

// pgQueueUpsert queues one upsert of rows, its parameters being one array per column.
func pgQueueUpsert[T any](b *pgx.Batch, query string, rows []T, values func(T) []any) {
	if len(rows) == 0 {
		return
	}
	var cols [][]any
	for i, r := range rows {
		v := values(r)
		if i == 0 {
			cols = make([][]any, len(v))
			for c := range cols {
				cols[c] = make([]any, len(rows))
			}
		}
		for c := range v {
			cols[c][i] = v[c]
		}
	}
	args := make([]any, len(cols))
	for c := range cols {
		args[c] = cols[c]
	}
	b.Queue(pgRM.get(query), args...)
}

func pgFieldsJSON(fields map[string]string) string {
	if len(fields) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(fields) // a map of strings always encodes
	return string(b)
}

func pgAttachmentsJSON(atts []projections.Attachment) string {
	if len(atts) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(atts) // strings only: always encodes
	return string(b)
}

func (x *pgTx) Checkpoint(projection string) (eventlog.Cursor, error) {
	if c, ok := x.checkpoints[projection]; ok {
		return maps.Clone(c), nil
	}
	var c eventlog.Cursor
	found := false
	err := x.read("checkpoint "+projection, pgRM.get("rm-checkpoint"), []any{projection}, func(rows pgx.Rows) error {
		var err error
		c, err = pgScanCheckpoint(rows)
		found = true
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found {
		c = eventlog.Cursor{}
	}
	if x.checkpoints == nil {
		x.checkpoints = map[string]eventlog.Cursor{}
	}
	x.checkpoints[projection] = c
	return maps.Clone(c), nil
}

func (x *pgTx) SetCheckpoint(projection string, c eventlog.Cursor) error {
	if x.checkpoints == nil {
		x.checkpoints = map[string]eventlog.Cursor{}
	}
	if x.dirtyCPs == nil {
		x.dirtyCPs = map[string]bool{}
	}
	x.checkpoints[projection] = maps.Clone(c)
	x.dirtyCPs[projection] = true
	return x.wrote()
}

func (x *pgTx) PutTeam(t projections.Team) error {
	x.teams.write(pgKey{"", t.ID}, t)
	return x.wrote()
}

func (x *pgTx) PutMember(m projections.Member) error {
	x.members.write(pgKey{m.TeamID, m.ID}, m)
	return x.wrote()
}

func (x *pgTx) PutAPIKey(k projections.APIKey) error {
	x.apiKeys.write(pgKey{"", k.ID}, k)
	return x.wrote()
}

// DeleteAPIKey and DeleteMember first send the buffered upserts, which a batch would otherwise
// send after the delete (a key created and revoked in one batch must stay revoked).
func (x *pgTx) DeleteAPIKey(teamID, id string) error {
	if err := x.flush(); err != nil {
		return err
	}
	return x.op("rm-delete-api-key", teamID, id)
}

func (x *pgTx) DeleteMember(teamID, id string) error {
	if err := x.flush(); err != nil {
		return err
	}
	return x.op("rm-delete-member", teamID, id)
}

func (x *pgTx) op(query string, args ...any) error {
	x.ops = append(x.ops, pgOp{pgRM.get(query), args})
	return x.wrote()
}

func (x *pgTx) PutTag(t projections.Tag) error {
	return x.op("rm-put-tag", t.TeamID, t.ID, t.Name, t.Color)
}

func (x *pgTx) DeleteTag(teamID, tagID string) error {
	if err := x.op("rm-untag-all", teamID, tagID); err != nil {
		return err
	}
	return x.op("rm-delete-tag", teamID, tagID)
}

func (x *pgTx) PutStatus(s projections.Status) error {
	x.statuses.write(pgKey{s.TeamID, s.ID}, s)
	return x.wrote()
}

func (x *pgTx) GetAccountLink(teamID, id string) (projections.AccountLink, error) {
	return pgGet(x, &x.links, "account link", pgRM.get("rm-get-account-link"), pgScanAccountLink, teamID, id)
}

func (x *pgTx) PutAccountLink(a projections.AccountLink) error {
	x.links.write(pgKey{a.TeamID, a.ID}, a)
	return x.wrote()
}

func (x *pgTx) GetProspect(teamID, id string) (projections.Prospect, error) {
	return pgGet(x, &x.prospects, "prospect", pgRM.get("rm-get-prospect"), pgScanProspectRow, teamID, id)
}

func (x *pgTx) PutProspect(p projections.Prospect) error {
	p.CustomFields = maps.Clone(p.CustomFields) // the cached row must not change with the caller's map
	k := pgKey{p.TeamID, p.ID}
	if prev, known := x.prospects.lookup(k); known && prev != nil && prev.StatusID != p.StatusID || (!known || prev == nil) && p.StatusID != "" {
		if x.statusChanged == nil {
			x.statusChanged = map[pgKey]bool{}
		}
		x.statusChanged[k] = true
	}
	x.prospects.write(k, p)
	return x.wrote()
}

func (x *pgTx) AddProspectTag(teamID, prospectID, tagID string) error {
	return x.op("rm-tag-prospect", teamID, prospectID, tagID)
}

func (x *pgTx) RemoveProspectTag(teamID, prospectID, tagID string) error {
	return x.op("rm-untag-prospect", teamID, prospectID, tagID)
}

func (x *pgTx) GetThread(teamID, id string) (projections.Thread, error) {
	return pgGet(x, &x.threads, "thread", pgRM.get("rm-get-thread"), pgScanThreadRow, teamID, id)
}

func (x *pgTx) PutThread(t projections.Thread) error {
	t.Prospect = nil // filled by queries, not stored
	x.threads.write(pgKey{t.TeamID, t.ID}, t)
	return x.wrote()
}

// ThreadsOfProspect reads the prospect's threads from the table once per transaction; from
// then on the cache has all of them, as every new thread goes through PutThread.
func (x *pgTx) ThreadsOfProspect(teamID, prospectID string) ([]projections.Thread, error) {
	pk := pgKey{teamID, prospectID}
	if !x.prospectThreads[pk] {
		err := x.read("threads of prospect", pgRM.get("rm-threads-of-prospect"), []any{teamID, prospectID}, func(rows pgx.Rows) error {
			t, err := pgScanThreadRow(rows)
			if err != nil {
				return err
			}
			if _, known := x.threads.lookup(pgKey{t.TeamID, t.ID}); !known {
				x.threads.remember(pgKey{t.TeamID, t.ID}, &t) // a cached row is this transaction's newer one
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if x.prospectThreads == nil {
			x.prospectThreads = map[pgKey]bool{}
		}
		x.prospectThreads[pk] = true
	}
	var out []projections.Thread
	for k, t := range x.threads.rows {
		if t != nil && k.team == teamID && t.ProspectID == prospectID {
			out = append(out, *t)
		}
	}
	slices.SortFunc(out, func(a, b projections.Thread) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (x *pgTx) GetMessage(teamID, id string) (projections.Message, error) {
	return pgGet(x, &x.messages, "message", pgRM.get("rm-get-message"), pgScanMessage, teamID, id)
}

// InsertMessage asks the table only for an id this transaction has not seen; a message it
// finds there is kept, for the edits that may follow.
func (x *pgTx) InsertMessage(m projections.Message) (bool, error) {
	_, err := x.GetMessage(m.TeamID, m.ID)
	switch {
	case err == nil:
		return false, nil
	case !errors.Is(err, projections.ErrNotFound):
		return false, err
	}
	if x.inserted == nil {
		x.inserted = map[pgKey]bool{}
	}
	x.inserted[pgKey{m.TeamID, m.ID}] = true
	return true, x.PutMessage(m)
}

func (x *pgTx) PutMessage(m projections.Message) error {
	m.Attachments = slices.Clone(m.Attachments)
	x.messages.write(pgKey{m.TeamID, m.ID}, m)
	return x.wrote()
}

// ---- Row scanning ----

type pgScanner interface{ Scan(dest ...any) error }

// pgUTC normalizes a time read from the server (pgx returns local time).
func pgUTC(t *time.Time) { *t = t.UTC() }

func pgScanTeam(r pgScanner) (projections.Team, error) {
	var t projections.Team
	err := r.Scan(&t.ID, &t.Name, &t.CreatedAt)
	pgUTC(&t.CreatedAt)
	return t, err
}

func pgScanMember(r pgScanner) (projections.Member, error) {
	var m projections.Member
	err := r.Scan(&m.TeamID, &m.ID, &m.Email, &m.Name, &m.Role, &m.CreatedAt)
	pgUTC(&m.CreatedAt)
	return m, err
}

func pgScanAPIKey(r pgScanner) (projections.APIKey, error) {
	var k projections.APIKey
	var used *time.Time
	err := r.Scan(&k.ID, &k.TeamID, &k.MemberID, &k.Hash, &k.InstanceAdmin, &k.CreatedAt, &k.Prefix, &used)
	pgUTC(&k.CreatedAt)
	if used != nil {
		k.LastUsedAt = used.UTC()
	}
	return k, err
}

func pgScanTag(r pgScanner) (projections.Tag, error) {
	var t projections.Tag
	err := r.Scan(&t.TeamID, &t.ID, &t.Name, &t.Color)
	return t, err
}

func pgScanStatus(r pgScanner) (projections.Status, error) {
	var s projections.Status
	err := r.Scan(&s.TeamID, &s.ID, &s.Name, &s.Position)
	return s, err
}

func pgScanAccountLink(r pgScanner) (projections.AccountLink, error) {
	var a projections.AccountLink
	err := r.Scan(&a.TeamID, &a.ID, &a.Platform, &a.PlatformID, &a.Username, &a.DisplayName,
		&a.WebhookPath, &a.Active, &a.Unlinked, &a.Healthy, &a.HealthReason, &a.LinkedAt)
	pgUTC(&a.LinkedAt)
	return a, err
}

// pgProspectScan scans a prospect's row, optionally followed by its status and tags.
type pgProspectScan struct {
	p           projections.Prospect
	fields      []byte
	statusID    *string
	statusName  *string
	statusPos   *int32
	tags        []byte
	withDetails bool
}

func (d *pgProspectScan) dest() []any {
	out := []any{&d.p.TeamID, &d.p.ID, &d.p.Platform, &d.p.PlatformID, &d.p.Username, &d.p.DisplayName,
		&d.p.AvatarURL, &d.p.StatusID, &d.p.Notes, &d.p.Valuation, &d.fields, &d.p.FirstSeenAt, &d.p.LastSeenAt}
	if d.withDetails {
		out = append(out, &d.statusID, &d.statusName, &d.statusPos, &d.tags)
	}
	return out
}

func (d *pgProspectScan) prospect() (projections.Prospect, error) {
	p := d.p
	pgUTC(&p.FirstSeenAt)
	pgUTC(&p.LastSeenAt)
	if s := string(d.fields); s != "" && s != "{}" && s != "null" {
		if err := json.Unmarshal(d.fields, &p.CustomFields); err != nil {
			return p, fmt.Errorf("prospect %s custom fields: %w", p.ID, err)
		}
	}
	if d.statusID != nil {
		p.Status = &projections.Status{ID: *d.statusID, TeamID: p.TeamID, Name: *d.statusName, Position: *d.statusPos}
	}
	if len(d.tags) > 0 && string(d.tags) != "null" {
		var tags []struct{ ID, Name, Color string }
		if err := json.Unmarshal(d.tags, &tags); err != nil {
			return p, fmt.Errorf("prospect %s tags: %w", p.ID, err)
		}
		for _, t := range tags {
			p.Tags = append(p.Tags, projections.Tag{ID: t.ID, TeamID: p.TeamID, Name: t.Name, Color: t.Color})
		}
	}
	return p, nil
}

func pgScanProspectRow(r pgScanner) (projections.Prospect, error) {
	d := &pgProspectScan{}
	if err := r.Scan(d.dest()...); err != nil {
		return projections.Prospect{}, err
	}
	return d.prospect()
}

func pgScanProspect(r pgScanner) (projections.Prospect, error) {
	d := &pgProspectScan{withDetails: true}
	if err := r.Scan(d.dest()...); err != nil {
		return projections.Prospect{}, err
	}
	return d.prospect()
}

func pgThreadDest(t *projections.Thread) []any {
	return []any{&t.TeamID, &t.ID, &t.Platform, &t.PlatformID, &t.AccountLinkID, &t.ProspectID,
		&t.AssigneeMemberID, &t.Done, &t.Request, &t.LastMessageID, &t.LastMessageText,
		&t.LastMessageDirection, &t.LastMessageAt, &t.UnreadCount, &t.MessageCount, &t.CreatedAt}
}

func pgScanThreadRow(r pgScanner) (projections.Thread, error) {
	var t projections.Thread
	err := r.Scan(pgThreadDest(&t)...)
	pgUTC(&t.LastMessageAt)
	pgUTC(&t.CreatedAt)
	return t, err
}

// pgScanThread scans a thread with its prospect (rm-threads).
func pgScanThread(r pgScanner) (projections.Thread, error) {
	var t projections.Thread
	var hasProspect bool
	d := &pgProspectScan{withDetails: true}
	dest := append(pgThreadDest(&t), &hasProspect)
	if err := r.Scan(append(dest, d.dest()...)...); err != nil {
		return t, err
	}
	pgUTC(&t.LastMessageAt)
	pgUTC(&t.CreatedAt)
	if hasProspect {
		p, err := d.prospect()
		if err != nil {
			return t, err
		}
		t.Prospect = &p
	}
	return t, nil
}

func pgScanMessage(r pgScanner) (projections.Message, error) {
	var m projections.Message
	var atts []byte
	if err := r.Scan(&m.TeamID, &m.ID, &m.ThreadID, &m.ProspectID, &m.AccountLinkID, &m.Platform,
		&m.PlatformID, &m.Direction, &m.SenderPlatformID, &m.SenderUsername, &m.SenderDisplayName,
		&m.SenderAvatarURL, &m.Text, &atts, &m.SentAt, &m.Edited, &m.Deleted, &m.ReplyToMessageID,
		&m.Status); err != nil {
		return m, err
	}
	pgUTC(&m.SentAt)
	if s := string(atts); s != "" && s != "[]" && s != "null" {
		if err := json.Unmarshal(atts, &m.Attachments); err != nil {
			return m, fmt.Errorf("message %s attachments: %w", m.ID, err)
		}
	}
	return m, nil
}

// ---- Reads (projections.Reader) ----

// pgQueryAll runs one statement on the pool and scans every row.
func pgQueryAll[T any](ctx context.Context, pool *pgxpool.Pool, scan func(pgScanner) (T, error), what, query string, args ...any) ([]T, error) {
	var out []T
	err := pgRetryConn(ctx, pool, func() error {
		out = nil
		rows, err := pool.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read model: %s: %w", what, err)
	}
	return out, nil
}

// pgQueryOne runs a query for one row; no row is projections.ErrNotFound.
func pgQueryOne[T any](ctx context.Context, pool *pgxpool.Pool, scan func(pgScanner) (T, error), what, query string, args ...any) (T, error) {
	rows, err := pgQueryAll(ctx, pool, scan, what, query, args...)
	if err != nil {
		var zero T
		return zero, err
	}
	if len(rows) == 0 {
		var zero T
		return zero, projections.ErrNotFound
	}
	return rows[0], nil
}

// pgListSQL fills a list query's {{where}} and {{limit}}, appending the limit's argument
// (NULL: no limit).
func pgListSQL(name, where string, args []any, limit int) (string, []any) {
	var l any
	if limit > 0 {
		l = int64(limit)
	}
	args = append(args, l)
	q := strings.NewReplacer("{{where}}", where, "{{limit}}", PostgresDialect.Placeholder(len(args))).Replace(pgRM.get(name))
	return q, args
}

// pgPageSQL builds one page of a list. The shared WHERE says "after the cursor" as
// (at < $a OR (at = $a AND id < $b)), which PostgreSQL does not use to bound an index scan;
// the implied "at <= $a" added here does, so a later page starts reading at the cursor
// instead of reading and dropping every newer row.
func pgPageSQL(name, atColumn, where string, args []any, after *projections.SortKey, limit int) (string, []any) {
	if after != nil {
		args = append(args, PostgresDialect.Time(after.At))
		where = "(" + where + ") AND " + atColumn + " <= " + PostgresDialect.Placeholder(len(args))
	}
	return pgListSQL(name, where, args, limit)
}

func pgThreadsSQL(q projections.ThreadQuery) (string, []any) {
	from, sort := q.Source()
	where, args := q.Where(PostgresDialect)
	query, args := pgPageSQL("rm-threads", sort+".last_message_at", where, args, q.After, q.Limit)
	return pgThreadsFrom(query, from, sort), args
}

// pgThreadsFrom fills rm-threads' {{from}} and {{sort}}.
func pgThreadsFrom(query, from, sort string) string {
	return strings.NewReplacer("{{from}}", from, "{{sort}}", sort).Replace(query)
}

func pgProspectsSQL(q projections.ProspectQuery) (string, []any) {
	where, args := q.Where(PostgresDialect)
	return pgPageSQL("rm-prospects", "p.last_seen_at", where, args, q.After, q.Limit)
}

func pgMessagesSQL(q projections.MessageQuery) (string, []any) {
	where, args := q.Where(PostgresDialect)
	return pgPageSQL("rm-messages", "m.sent_at", where, args, q.After, q.Limit)
}

var (
	pgThreadSQL = func() string {
		q, _ := pgListSQL("rm-threads", "t.team_id = $1 AND t.id = $2", []any{nil, nil}, 0)
		return pgThreadsFrom(q, "threads t", "t")
	}()
	pgProspectSQL, _ = pgListSQL("rm-prospects", "p.team_id = $1 AND p.id = $2", []any{nil, nil}, 0)
	pgMessageSQL, _  = pgListSQL("rm-messages", "m.team_id = $1 AND m.id = $2", []any{nil, nil}, 0)
)

func (s *ReadModel) Team(ctx context.Context, id string) (projections.Team, error) {
	return pgQueryOne(ctx, s.pool, pgScanTeam, "team", pgRM.get("rm-team"), id)
}

func (s *ReadModel) APIKeyByHash(ctx context.Context, hash string) (projections.APIKey, error) {
	return pgQueryOne(ctx, s.pool, pgScanAPIKey, "api key", pgRM.get("rm-api-key-by-hash"), hash)
}

func (s *ReadModel) APIKeys(ctx context.Context, teamID string) ([]projections.APIKey, error) {
	return pgQueryAll(ctx, s.pool, pgScanAPIKey, "api keys", pgRM.get("rm-api-keys"), teamID)
}

// TouchAPIKeys records when keys last authenticated a call (runtime data, not events).
func (s *ReadModel) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	ids, ats := make([]string, 0, len(used)), make([]time.Time, 0, len(used))
	for id, at := range used {
		ids, ats = append(ids, id), append(ats, at)
	}
	if _, err := s.pool.Exec(ctx, pgRM.get("rm-touch-api-keys"), ids, ats); err != nil {
		return fmt.Errorf("read model: touch api keys: %w", err)
	}
	return nil
}

func (s *ReadModel) CountAPIKeys(ctx context.Context) (int, error) {
	n, err := pgQueryOne(ctx, s.pool, func(r pgScanner) (int64, error) {
		var n int64
		return n, r.Scan(&n)
	}, "count api keys", pgRM.get("rm-count-api-keys"))
	return int(n), err
}

func (s *ReadModel) Member(ctx context.Context, teamID, id string) (projections.Member, error) {
	return pgQueryOne(ctx, s.pool, pgScanMember, "member", pgRM.get("rm-member"), teamID, id)
}

func (s *ReadModel) Members(ctx context.Context, teamID string) ([]projections.Member, error) {
	return pgQueryAll(ctx, s.pool, pgScanMember, "members", pgRM.get("rm-members"), teamID)
}

func (s *ReadModel) Tag(ctx context.Context, teamID, id string) (projections.Tag, error) {
	return pgQueryOne(ctx, s.pool, pgScanTag, "tag", pgRM.get("rm-tag"), teamID, id)
}

func (s *ReadModel) Tags(ctx context.Context, teamID string) ([]projections.Tag, error) {
	return pgQueryAll(ctx, s.pool, pgScanTag, "tags", pgRM.get("rm-tags"), teamID)
}

func (s *ReadModel) Status(ctx context.Context, teamID, id string) (projections.Status, error) {
	return pgQueryOne(ctx, s.pool, pgScanStatus, "status", pgRM.get("rm-status"), teamID, id)
}

func (s *ReadModel) Statuses(ctx context.Context, teamID string) ([]projections.Status, error) {
	return pgQueryAll(ctx, s.pool, pgScanStatus, "statuses", pgRM.get("rm-statuses"), teamID)
}

func (s *ReadModel) AccountLink(ctx context.Context, teamID, id string) (projections.AccountLink, error) {
	return pgQueryOne(ctx, s.pool, pgScanAccountLink, "account link", pgRM.get("rm-account-link"), teamID, id)
}

func (s *ReadModel) AccountLinks(ctx context.Context, teamID string) ([]projections.AccountLink, error) {
	return pgQueryAll(ctx, s.pool, pgScanAccountLink, "account links", pgRM.get("rm-account-links"), teamID)
}

func (s *ReadModel) AccountLinkByID(ctx context.Context, id string) (projections.AccountLink, error) {
	return pgQueryOne(ctx, s.pool, pgScanAccountLink, "account link", pgRM.get("rm-account-link-by-id"), id)
}

func (s *ReadModel) ActiveAccountLinks(ctx context.Context, platforms []string) ([]projections.AccountLink, error) {
	if len(platforms) == 0 {
		return nil, nil
	}
	return pgQueryAll(ctx, s.pool, pgScanAccountLink, "active account links", pgRM.get("rm-active-account-links"), platforms)
}

func (s *ReadModel) Prospect(ctx context.Context, teamID, id string) (projections.Prospect, error) {
	return pgQueryOne(ctx, s.pool, pgScanProspect, "prospect", pgProspectSQL, teamID, id, nil)
}

func (s *ReadModel) Prospects(ctx context.Context, q projections.ProspectQuery) ([]projections.Prospect, error) {
	query, args := pgProspectsSQL(q)
	return pgQueryAll(ctx, s.pool, pgScanProspect, "prospects", query, args...)
}

func (s *ReadModel) ProspectTags(ctx context.Context, teamID string, prospectIDs []string) (map[string][]projections.Tag, error) {
	type row struct {
		prospectID string
		tag        projections.Tag
	}
	rows, err := pgQueryAll(ctx, s.pool, func(r pgScanner) (row, error) {
		var x row
		err := r.Scan(&x.prospectID, &x.tag.TeamID, &x.tag.ID, &x.tag.Name, &x.tag.Color)
		return x, err
	}, "prospect tags", pgRM.get("rm-prospect-tags"), teamID, prospectIDs)
	if err != nil {
		return nil, err
	}
	out := map[string][]projections.Tag{}
	for _, r := range rows {
		out[r.prospectID] = append(out[r.prospectID], r.tag)
	}
	return out, nil
}

func (s *ReadModel) Thread(ctx context.Context, teamID, id string) (projections.Thread, error) {
	return pgQueryOne(ctx, s.pool, pgScanThread, "thread", pgThreadSQL, teamID, id, nil)
}

func (s *ReadModel) Threads(ctx context.Context, q projections.ThreadQuery) ([]projections.Thread, error) {
	query, args := pgThreadsSQL(q)
	return pgQueryAll(ctx, s.pool, pgScanThread, "threads", query, args...)
}

func (s *ReadModel) Message(ctx context.Context, teamID, id string) (projections.Message, error) {
	return pgQueryOne(ctx, s.pool, pgScanMessage, "message", pgMessageSQL, teamID, id, nil)
}

// MessagesByID returns the team's messages of ids, in one statement.
func (s *ReadModel) MessagesByID(ctx context.Context, teamID string, ids []string) (map[string]projections.Message, error) {
	if len(ids) > projections.MaxMessagesByID {
		return nil, fmt.Errorf("read model: messages by id: %d ids, at most %d", len(ids), projections.MaxMessagesByID)
	}
	out := make(map[string]projections.Message, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	ms, err := pgQueryAll(ctx, s.pool, pgScanMessage, "messages by id", pgRM.get("rm-messages-by-id"), teamID, ids)
	for _, m := range ms {
		out[m.ID] = m
	}
	return out, err
}

func (s *ReadModel) Messages(ctx context.Context, q projections.MessageQuery) ([]projections.Message, error) {
	query, args := pgMessagesSQL(q)
	return pgQueryAll(ctx, s.pool, pgScanMessage, "messages", query, args...)
}
