package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // driver "sqlite"

	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
)

//go:embed read_model_sqlite.sql
var rmSchema string

// SQLiteDialect renders the shared query SQL of package projections for SQLite: "?" parameters
// and times as unix nanoseconds.
var SQLiteDialect = projections.Dialect{
	Placeholder: func(int) string { return "?" },
	Time:        func(t time.Time) any { return rmTime(t) },
	// SQLite keeps no statistics unless asked: "+col" makes it check the view's columns per
	// row and walk the status filter's index (a few percent of the threads) instead.
	Unindexed: func(col string) string { return "+" + col },
}

// ReadModel is the read model (projections.Store) in a SQLite file. Projection writes go
// through one connection, in BEGIN IMMEDIATE transactions; queries use a pool of read-only
// connections, which WAL lets run while the projector writes. A file SQLite reports as corrupt
// is set aside and replaced by an empty one, which the projector fills again from the log (see
// read_model_sqlite_rebuild.go).
type ReadModel struct {
	path string
	cur  atomic.Pointer[rmConns]
	rebuild
}

// rmConns are the pools on one file.
type rmConns struct {
	w *sql.DB // exactly one connection: SQLite has one writer at a time anyway
	r *sql.DB
	q *rmPrepared // the reads' statements, prepared once on r
}

func (s *ReadModel) c() *rmConns { return s.cur.Load() }

var _ projections.Store = (*ReadModel)(nil)

// OpenReadModel opens (creating if needed) the read model at path. A file SQLite finds corrupt
// is set aside (path.corrupt-<time>) and the read model starts empty, to be rebuilt from the log.
func OpenReadModel(path string, opts ...ReadModelOption) (*ReadModel, error) {
	if path == "" {
		return nil, errors.New("read model: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("read model: create folder: %w", err)
	}
	s := &ReadModel{path: abs}
	s.rebuild.init(opts)
	c, err := openRMConns(abs)
	if err == nil {
		err = c.check()
		if err != nil {
			_ = c.close()
		}
	}
	if err != nil && isCorrupt(err) {
		s.logger.Error("read model corrupt: setting it aside and rebuilding it from the event log", "path", abs, "cause", err)
		s.rebuilds.Add(1)
		if err = setAside(abs); err == nil {
			c, err = openRMConns(abs)
		}
	}
	if err != nil {
		return nil, err
	}
	c.q.observe = s.observe
	s.cur.Store(c)
	return s, nil
}

func openRMConns(abs string) (*rmConns, error) {
	path := abs
	// A file: URI with an escaped path, so a '?' or '#' in a folder name is not a parameter.
	dsn := func(q url.Values) string {
		// The read model is rebuilt from the log if a crash loses its last commits, so
		// synchronous=NORMAL (consistent always, durable at WAL checkpoints) is enough.
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "synchronous(NORMAL)")
		// 64 MiB of page cache per connection (the default is 2 MiB): a batch touches pages of
		// every index, and a small cache spills them to the WAL in the middle of the batch.
		q.Add("_pragma", "cache_size(-65536)")
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}).String()
	}

	w, err := sql.Open("sqlite", dsn(url.Values{"_pragma": {"journal_mode(WAL)"}, "_txlock": {"immediate"}}))
	if err != nil {
		return nil, fmt.Errorf("read model: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := rmCreateSchema(w); err != nil {
		w.Close()
		return nil, fmt.Errorf("read model: create schema in %s: %w", path, err)
	}
	if err := rmAddColumns(w, "api_keys", map[string]string{
		"prefix":       "TEXT NOT NULL DEFAULT ''",
		"last_used_at": "INTEGER NOT NULL DEFAULT 0",
	}); err != nil {
		w.Close()
		return nil, fmt.Errorf("read model: upgrade schema in %s: %w", path, err)
	}
	if err := rmAddProspectStatus(w); err != nil {
		w.Close()
		return nil, fmt.Errorf("read model: upgrade schema in %s: %w", path, err)
	}

	r, err := sql.Open("sqlite", dsn(url.Values{"_pragma": {"query_only(1)"}}))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("read model: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	if err := r.Ping(); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("read model: open %s: %w", path, err)
	}
	return &rmConns{w: w, r: r, q: newRMPrepared(r)}, nil
}

func (c *rmConns) close() error {
	return errors.Join(c.q.close(), c.r.Close(), c.w.Close())
}

// rmCreateSchema creates what the file lacks of the schema, in one transaction with filling
// what a file of an earlier release lacks: thread_tags, from its threads and prospect_tags.
func rmCreateSchema(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit: nothing to undo
	var earlier bool
	if err := tx.QueryRow("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'threads')" +
		" AND NOT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'thread_tags')").Scan(&earlier); err != nil {
		return err
	}
	if _, err := tx.Exec(rmSchema + analyticsSchema); err != nil {
		return err
	}
	if earlier {
		if _, err := tx.Exec(rmFillThreadTagsSQL); err != nil {
			return fmt.Errorf("fill thread_tags: %w", err)
		}
	}
	return tx.Commit()
}

// rmFillThreadTagsSQL writes the rows of thread_tags of every thread whose prospect has tags.
const rmFillThreadTagsSQL = "INSERT OR REPLACE INTO thread_tags (team_id, tag_id, last_message_at, id, done, request, last_message_direction)" +
	" SELECT t.team_id, pt.tag_id, t.last_message_at, t.id, t.done, t.request, t.last_message_direction" +
	" FROM prospect_tags pt CROSS JOIN threads t ON t.team_id = pt.team_id AND t.prospect_id = pt.prospect_id"

// rmAddProspectStatus gives the threads of a file made by an earlier release the status of
// their prospect, and creates the index the status filter reads.
func rmAddProspectStatus(db *sql.DB) error {
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM pragma_table_info('threads') WHERE name = 'prospect_status_id'").Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		defer tx.Rollback() //nolint:errcheck // after Commit: nothing to undo
		for _, q := range []string{
			"ALTER TABLE threads ADD COLUMN prospect_status_id TEXT NOT NULL DEFAULT ''",
			"UPDATE threads SET prospect_status_id = p.status_id FROM prospects p" +
				" WHERE p.team_id = threads.team_id AND p.id = threads.prospect_id AND p.status_id <> ''",
		} {
			if _, err := tx.Exec(q); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	_, err := db.Exec("CREATE INDEX IF NOT EXISTS threads_status ON threads (team_id, prospect_status_id, last_message_at, id)")
	return err
}

// rmAddColumns adds the columns a table made by an earlier release lacks (CREATE TABLE IF NOT
// EXISTS leaves an existing table as it was).
func rmAddColumns(db *sql.DB, table string, cols map[string]string) error {
	rows, err := db.Query("SELECT name FROM pragma_table_info(?)", table)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		have[name] = true
	}
	rows.Close()
	for _, name := range slices.Sorted(maps.Keys(cols)) {
		if !have[name] {
			if _, err := db.Exec(fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", table, name, cols[name])); err != nil {
				return err
			}
		}
	}
	return rows.Err()
}

// Close closes both pools.
func (s *ReadModel) Close() error {
	s.closed.Store(true)
	return s.c().close()
}

// Ping checks that the file can be read and written.
func (s *ReadModel) Ping(ctx context.Context) error {
	c := s.c()
	return errors.Join(c.w.PingContext(ctx), c.r.PingContext(ctx))
}

// Update runs fn in one write transaction.
func (s *ReadModel) Update(ctx context.Context, fn func(tx projections.Tx) error) error {
	tx, err := s.c().w.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return s.observe(fmt.Errorf("read model: begin: %w", err))
	}
	committed := false
	defer func() {
		if !committed { // an error or a panic of fn: nothing of it stays
			_ = tx.Rollback()
		}
	}()
	x := &rmTx{ctx: ctx, q: &rmStmtCache{tx: tx, stmts: map[string]*sql.Stmt{}}}
	if err := fn(x); err != nil {
		return s.observe(err)
	}
	if err := x.writeBack(); err != nil {
		return s.observe(err)
	}
	if err := tx.Commit(); err != nil {
		return s.observe(fmt.Errorf("read model: commit: %w", err))
	}
	committed = true
	return nil
}

// Checkpoint returns the projection's cursor, empty when it never checkpointed.
func (s *ReadModel) Checkpoint(ctx context.Context, projection string) (eventlog.Cursor, error) {
	return rmCheckpoint(ctx, s.c().q, projection)
}

// rmTables lists every table, for Reset.
var rmTables = []string{"teams", "members", "api_keys", "tags", "statuses", "account_links",
	"prospects", "thread_tags", "prospect_tags", "threads", "messages", "checkpoints",
	"analytics_facts", "analytics_turns", "analytics_replies", "analytics_tails"}

// Reset deletes every row and checkpoint in one transaction.
func (s *ReadModel) Reset(ctx context.Context) error {
	tx, err := s.c().w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("read model: begin: %w", err)
	}
	for _, t := range rmTables {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("read model: reset %s: %w", t, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("read model: reset: %w", err)
	}
	return nil
}

// rmQuerier is what both a pool and a transaction offer.
type rmQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type rmScanner interface{ Scan(dest ...any) error }

// rmStmtCache prepares each statement once per transaction: a batch of events runs the same
// few statements hundreds of times, and parsing them each time cost more than running them.
type rmStmtCache struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // closed with the transaction
}

func (c *rmStmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := c.stmts[query]; ok {
		return s, nil
	}
	s, err := c.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = s
	return s, nil
}

func (c *rmStmtCache) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (c *rmStmtCache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (c *rmStmtCache) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := c.stmt(ctx, query)
	if err != nil {
		// Unprepared, the query fails again and the *sql.Row carries that error to Scan.
		return c.tx.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// rmPrepared prepares each read query once for the whole pool: an API key lookup or a thread
// page runs the same statements thousands of times, and SQLite's parse and plan cost more than
// the lookup itself. database/sql re-prepares a statement on each connection the first time it
// runs there. Queries beyond rmMaxPrepared distinct texts run unprepared.
type rmPrepared struct {
	db        *sql.DB
	observe   func(error) error // sees every error of a read (to notice corruption)
	mu        sync.Mutex
	stmts     map[string]*sql.Stmt
	preparing map[string]bool
	closed    bool
	bg        sync.WaitGroup // background preparations, waited for by close
}

const rmMaxPrepared = 512

func newRMPrepared(db *sql.DB) *rmPrepared {
	return &rmPrepared{db: db, stmts: map[string]*sql.Stmt{}, preparing: map[string]bool{}}
}

func (p *rmPrepared) cached(query string) *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stmts[query]
}

// prepare returns query's statement, preparing it on the pool first unless the cache is full
// or another caller is preparing it (nil: run the query unprepared). The lock is not held while
// preparing, which needs a connection of its own.
func (p *rmPrepared) prepare(ctx context.Context, query string) *sql.Stmt {
	p.mu.Lock()
	if st, ok := p.stmts[query]; ok || p.closed || p.preparing[query] || len(p.stmts)+len(p.preparing) >= rmMaxPrepared {
		p.mu.Unlock()
		return st
	}
	p.preparing[query] = true
	p.mu.Unlock()
	st, err := p.db.PrepareContext(ctx, query)
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.preparing, query)
	if err != nil {
		return nil // run unprepared: the query reports its own error
	}
	if p.closed {
		st.Close()
		return nil
	}
	p.stmts[query] = st
	return st
}

// prepareLater prepares query in the background unless the statements are closed. close waits
// for it, so no preparation opens a connection (and the file's -wal and -shm) after Close.
func (p *rmPrepared) prepareLater(ctx context.Context, query string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		p.prepare(context.WithoutCancel(ctx), query)
	}()
}

func (p *rmPrepared) close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.bg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, st := range p.stmts {
		errs = append(errs, st.Close())
	}
	clear(p.stmts)
	return errors.Join(errs...)
}

func (p *rmPrepared) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.db.ExecContext(ctx, query, args...)
}

func (p *rmPrepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.prepare(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, query, args...)
}

func (p *rmPrepared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.prepare(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, query, args...)
}

// rmTxPrepared runs the shared prepared statements inside one read transaction. A statement not
// prepared yet runs unprepared this time and is prepared in the background: preparing needs a
// connection, and waiting for one while holding the transaction's could exhaust the pool.
type rmTxPrepared struct {
	p  *rmPrepared
	tx *sql.Tx
}

func (t rmTxPrepared) stmt(ctx context.Context, query string) *sql.Stmt {
	st := t.p.cached(query)
	if st == nil {
		t.p.prepareLater(ctx, query)
		return nil
	}
	return t.tx.StmtContext(ctx, st)
}

func (t rmTxPrepared) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, query, args...)
}

func (t rmTxPrepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t rmTxPrepared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// rmTime is a time as stored: unix nanoseconds UTC, 0 for the zero time.
func rmTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func rmFromTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// rmNotFound maps a missing row to projections.ErrNotFound.
func rmNotFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return projections.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("read model: %s: %w", what, err)
	}
	return nil
}

// rmUpsert builds INSERT ... ON CONFLICT(key) DO UPDATE over cols.
func rmUpsert(table, key string, cols ...string) string {
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	keys := map[string]bool{}
	for _, k := range strings.Split(key, ",") {
		keys[strings.TrimSpace(k)] = true
	}
	var set []string
	for _, c := range cols {
		if !keys[c] {
			set = append(set, c+" = excluded."+c)
		}
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s",
		table, strings.Join(cols, ", "), ph, key, strings.Join(set, ", "))
}

// rmSelect lists cols prefixed by a table alias.
func rmSelect(alias string, cols ...string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = alias + "." + c
	}
	return strings.Join(out, ", ")
}

// rmIn renders "(?, ?, …)" for n values.
func rmIn(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

// rmLimit renders a LIMIT clause; a non-positive limit means none.
func rmLimit(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" LIMIT %d", n)
}

var (
	rmTeamCols        = []string{"id", "name", "created_at"}
	rmMemberCols      = []string{"team_id", "id", "email", "name", "role", "created_at"}
	rmAPIKeyCols      = []string{"id", "team_id", "member_id", "hash", "instance_admin", "created_at", "prefix"}
	rmTagCols         = []string{"team_id", "id", "name", "color"}
	rmStatusCols      = []string{"team_id", "id", "name", "position"}
	rmAccountLinkCols = []string{"team_id", "id", "platform", "platform_id", "username", "display_name",
		"webhook_path", "active", "unlinked", "healthy", "health_reason", "linked_at"}
	rmProspectCols = []string{"team_id", "id", "platform", "platform_id", "username", "display_name",
		"avatar_url", "status_id", "notes", "valuation", "custom_fields", "first_seen_at", "last_seen_at"}
	rmThreadCols = []string{"team_id", "id", "platform", "platform_id", "account_link_id", "prospect_id",
		"assignee_member_id", "done", "request", "last_message_id", "last_message_text",
		"last_message_direction", "last_message_at", "unread_count", "message_count", "created_at"}
	rmMessageCols = []string{"team_id", "id", "thread_id", "prospect_id", "account_link_id", "platform",
		"platform_id", "direction", "sender_platform_id", "sender_username", "sender_display_name",
		"sender_avatar_url", "text", "attachments", "sent_at", "edited", "deleted",
		"reply_to_message_id", "status"}

	rmPutTeamSQL        = rmUpsert("teams", "id", rmTeamCols...)
	rmPutMemberSQL      = rmUpsert("members", "team_id, id", rmMemberCols...)
	rmPutAPIKeySQL      = rmUpsert("api_keys", "id", rmAPIKeyCols...)
	rmPutTagSQL         = rmUpsert("tags", "team_id, id", rmTagCols...)
	rmPutStatusSQL      = rmUpsert("statuses", "team_id, id", rmStatusCols...)
	rmPutAccountLinkSQL = rmUpsert("account_links", "team_id, id", rmAccountLinkCols...)
	rmPutProspectSQL    = rmUpsert("prospects", "team_id, id", rmProspectCols...)
	// A thread is written with its prospect's status (written before it by writeBack).
	rmPutThreadSQL = strings.Replace(rmUpsert("threads", "team_id, id", append(slices.Clip(rmThreadCols), "prospect_status_id")...),
		"?)", "coalesce((SELECT p.status_id FROM prospects p WHERE p.team_id = ? AND p.id = ?), ''))", 1)
	rmPutMessageSQL    = rmUpsert("messages", "team_id, id", rmMessageCols...)
	rmInsertMessageSQL = fmt.Sprintf("INSERT INTO messages (%s) VALUES %s ON CONFLICT (team_id, id) DO NOTHING",
		strings.Join(rmMessageCols, ", "), rmIn(len(rmMessageCols)))

	rmTeamSelect        = "SELECT " + rmSelect("x", rmTeamCols...) + " FROM teams x"
	rmMemberSelect      = "SELECT " + rmSelect("x", rmMemberCols...) + " FROM members x"
	rmAPIKeySelect      = "SELECT " + rmSelect("x", rmAPIKeyCols...) + ", x.last_used_at FROM api_keys x"
	rmTagSelect         = "SELECT " + rmSelect("x", rmTagCols...) + " FROM tags x"
	rmStatusSelect      = "SELECT " + rmSelect("x", rmStatusCols...) + " FROM statuses x"
	rmAccountLinkSelect = "SELECT " + rmSelect("x", rmAccountLinkCols...) + " FROM account_links x"
	// Prospects come with their status (if it exists in the team), for the queries.
	rmProspectSelect = "SELECT " + rmSelect("p", rmProspectCols...) + ", s.id, s.name, s.position" +
		" FROM prospects p LEFT JOIN statuses s ON s.team_id = p.team_id AND s.id = p.status_id"
	rmProspectRowSelect = "SELECT " + rmSelect("p", rmProspectCols...) + " FROM prospects p"
	rmThreadSelect      = "SELECT " + rmSelect("t", rmThreadCols...) + " FROM threads t"
	rmMessageSelect     = "SELECT " + rmSelect("m", rmMessageCols...) + " FROM messages m"
)

// ---- Checkpoints ----

func rmCheckpoint(ctx context.Context, q rmQuerier, projection string) (eventlog.Cursor, error) {
	var s string
	err := q.QueryRowContext(ctx, "SELECT cursor FROM checkpoints WHERE projection = ?", projection).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return eventlog.Cursor{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read model: checkpoint %s: %w", projection, err)
	}
	c, err := eventlog.ParseCursor(s)
	if err != nil {
		return nil, fmt.Errorf("read model: checkpoint %s: %w", projection, err)
	}
	return c, nil
}

// ---- Row scanning ----

func rmScanTeam(r rmScanner) (projections.Team, error) {
	var t projections.Team
	var at int64
	err := r.Scan(&t.ID, &t.Name, &at)
	t.CreatedAt = rmFromTime(at)
	return t, err
}

func rmScanMember(r rmScanner) (projections.Member, error) {
	var m projections.Member
	var at int64
	err := r.Scan(&m.TeamID, &m.ID, &m.Email, &m.Name, &m.Role, &at)
	m.CreatedAt = rmFromTime(at)
	return m, err
}

func rmScanAPIKey(r rmScanner) (projections.APIKey, error) {
	var k projections.APIKey
	var at, used int64
	err := r.Scan(&k.ID, &k.TeamID, &k.MemberID, &k.Hash, &k.InstanceAdmin, &at, &k.Prefix, &used)
	k.CreatedAt = rmFromTime(at)
	if used != 0 {
		k.LastUsedAt = rmFromTime(used)
	}
	return k, err
}

func rmScanTag(r rmScanner) (projections.Tag, error) {
	var t projections.Tag
	err := r.Scan(&t.TeamID, &t.ID, &t.Name, &t.Color)
	return t, err
}

func rmScanStatus(r rmScanner) (projections.Status, error) {
	var s projections.Status
	err := r.Scan(&s.TeamID, &s.ID, &s.Name, &s.Position)
	return s, err
}

func rmScanAccountLink(r rmScanner) (projections.AccountLink, error) {
	var a projections.AccountLink
	var at int64
	err := r.Scan(&a.TeamID, &a.ID, &a.Platform, &a.PlatformID, &a.Username, &a.DisplayName,
		&a.WebhookPath, &a.Active, &a.Unlinked, &a.Healthy, &a.HealthReason, &at)
	a.LinkedAt = rmFromTime(at)
	return a, err
}

// rmScanProspect scans a prospect row, followed by its status columns when withStatus.
func rmScanProspect(r rmScanner, withStatus bool) (projections.Prospect, error) {
	var p projections.Prospect
	var fields string
	var first, last int64
	dest := []any{&p.TeamID, &p.ID, &p.Platform, &p.PlatformID, &p.Username, &p.DisplayName,
		&p.AvatarURL, &p.StatusID, &p.Notes, &p.Valuation, &fields, &first, &last}
	var sID, sName sql.NullString
	var sPos sql.NullInt32
	if withStatus {
		dest = append(dest, &sID, &sName, &sPos)
	}
	if err := r.Scan(dest...); err != nil {
		return p, err
	}
	p.FirstSeenAt, p.LastSeenAt = rmFromTime(first), rmFromTime(last)
	if fields != "" && fields != "{}" && fields != "null" {
		if err := json.Unmarshal([]byte(fields), &p.CustomFields); err != nil {
			return p, fmt.Errorf("prospect %s custom fields: %w", p.ID, err)
		}
	}
	if sID.Valid {
		p.Status = &projections.Status{ID: sID.String, TeamID: p.TeamID, Name: sName.String, Position: sPos.Int32}
	}
	return p, nil
}

func rmScanThread(r rmScanner) (projections.Thread, error) {
	var t projections.Thread
	var last, created int64
	err := r.Scan(&t.TeamID, &t.ID, &t.Platform, &t.PlatformID, &t.AccountLinkID, &t.ProspectID,
		&t.AssigneeMemberID, &t.Done, &t.Request, &t.LastMessageID, &t.LastMessageText,
		&t.LastMessageDirection, &last, &t.UnreadCount, &t.MessageCount, &created)
	t.LastMessageAt, t.CreatedAt = rmFromTime(last), rmFromTime(created)
	return t, err
}

func rmScanMessage(r rmScanner) (projections.Message, error) {
	var m projections.Message
	var atts string
	var sent int64
	if err := r.Scan(&m.TeamID, &m.ID, &m.ThreadID, &m.ProspectID, &m.AccountLinkID, &m.Platform,
		&m.PlatformID, &m.Direction, &m.SenderPlatformID, &m.SenderUsername, &m.SenderDisplayName,
		&m.SenderAvatarURL, &m.Text, &atts, &sent, &m.Edited, &m.Deleted, &m.ReplyToMessageID,
		&m.Status); err != nil {
		return m, err
	}
	m.SentAt = rmFromTime(sent)
	if atts != "" && atts != "[]" && atts != "null" {
		if err := json.Unmarshal([]byte(atts), &m.Attachments); err != nil {
			return m, fmt.Errorf("message %s attachments: %w", m.ID, err)
		}
	}
	return m, nil
}

// rmQueryAll runs a query and scans every row.
func rmQueryAll[T any](ctx context.Context, q rmQuerier, scan func(rmScanner) (T, error), what, query string, args ...any) (_ []T, err error) {
	defer func() { rmObserve(q, err) }()
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read model: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("read model: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read model: %s: %w", what, err)
	}
	return out, nil
}

// rmQueryOne runs a query for one row; no row is ErrNotFound.
func rmQueryOne[T any](ctx context.Context, q rmQuerier, scan func(rmScanner) (T, error), what, query string, args ...any) (T, error) {
	v, err := scan(q.QueryRowContext(ctx, query, args...))
	err = rmNotFound(err, what)
	rmObserve(q, err)
	return v, err
}

func rmScanProspectWithStatus(r rmScanner) (projections.Prospect, error) {
	return rmScanProspect(r, true)
}
func rmScanProspectRow(r rmScanner) (projections.Prospect, error) { return rmScanProspect(r, false) }

// ---- Writes (projections.Tx) ----

// rmTx is a projections.Tx on one write transaction. Threads and prospects, which a batch of
// messages reads and changes again and again, are read once per transaction, changed in memory
// and written back once each when the transaction commits (writeBack): one upsert per row per
// batch instead of one per event.
type rmTx struct {
	ctx context.Context
	q   rmQuerier

	threads   rmRows[projections.Thread]
	prospects rmRows[projections.Prospect]
	// prospectThreads holds the prospects whose threads are all in threads.rows.
	prospectThreads map[rmKey]bool
	// statusChanged holds the prospects whose status the transaction changed: writeBack
	// copies it to their threads.
	statusChanged map[rmKey]bool
}

// rmKey is a row's key within a team.
type rmKey struct{ team, id string }

// rmRows is what a transaction knows of one table: rows read or written (nil: known not to
// exist), which of them it changed, and the rows as the table held them when it read them.
type rmRows[T any] struct {
	rows   map[rmKey]*T
	dirty  map[rmKey]bool
	stored map[rmKey]*T
}

// remember records a row read from the table (nil: none).
func (r *rmRows[T]) remember(k rmKey, v *T) {
	if r.rows == nil {
		r.rows, r.stored = map[rmKey]*T{}, map[rmKey]*T{}
	}
	r.rows[k] = v
	if _, ok := r.stored[k]; !ok {
		r.stored[k] = v
	}
}

func (r *rmRows[T]) write(k rmKey, v T) {
	if r.rows == nil {
		r.rows, r.stored = map[rmKey]*T{}, map[rmKey]*T{}
	}
	r.rows[k] = &v
	if r.dirty == nil {
		r.dirty = map[rmKey]bool{}
	}
	r.dirty[k] = true
}

// written returns the last version of every changed row, in key order.
func (r *rmRows[T]) written() []T {
	keys := slices.SortedFunc(maps.Keys(r.dirty), func(a, b rmKey) int {
		if c := strings.Compare(a.team, b.team); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i] = *r.rows[k]
	}
	return out
}

// rmGet returns a row the transaction knows, else reads it from the table and remembers it.
func rmGet[T any](x *rmTx, r *rmRows[T], what, query string, scan func(rmScanner) (T, error), teamID, id string) (T, error) {
	var zero T
	k := rmKey{teamID, id}
	if row, known := r.rows[k]; known {
		if row == nil {
			return zero, projections.ErrNotFound
		}
		return *row, nil
	}
	v, err := rmQueryOne(x.ctx, x.q, scan, what, query, teamID, id)
	switch {
	case errors.Is(err, projections.ErrNotFound):
		r.remember(k, nil)
		return zero, err
	case err != nil:
		return zero, err
	}
	r.remember(k, &v)
	return v, nil
}

// writeBack writes every thread and prospect the transaction changed, once each.
func (x *rmTx) writeBack() error {
	for _, p := range x.prospects.written() {
		if err := x.putProspect(p); err != nil {
			return err
		}
		if x.statusChanged[rmKey{p.TeamID, p.ID}] {
			// Threads the batch did not change keep the prospect's status too.
			if err := x.exec("status of threads", "UPDATE threads SET prospect_status_id = ?"+
				" WHERE team_id = ? AND prospect_id = ? AND prospect_status_id <> ?", p.StatusID, p.TeamID, p.ID, p.StatusID); err != nil {
				return err
			}
		}
	}
	x.statusChanged = nil
	threads := x.threads.written()
	if err := x.writeThreadTags(threads); err != nil { // first: it reads what the table holds
		return err
	}
	for _, t := range threads {
		if err := x.putThread(t); err != nil {
			return err
		}
	}
	x.prospects.dirty, x.threads.dirty = nil, nil
	return nil
}

// writeThreadTags moves the rows of thread_tags of the threads whose order or view the
// transaction changed, and adds those of its new threads, for the prospects that have tags
// (one query for all; most have none). A thread's rows are keyed by the order the table holds
// for it: what the transaction read, or else what a query reads now. A thread keeps the
// prospect it was created with (the projector sets it once).
func (x *rmTx) writeThreadTags(threads []projections.Thread) error {
	var changed []projections.Thread
	for _, t := range threads {
		old, known := x.threads.stored[rmKey{t.TeamID, t.ID}]
		if !known || old == nil || rmThreadTagsDiffer(*old, t) {
			changed = append(changed, t)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	tagged, err := x.taggedProspects(changed)
	if err != nil {
		return err
	}
	for _, t := range changed {
		k := rmKey{t.TeamID, t.ID}
		if !tagged[rmKey{t.TeamID, t.ProspectID}] {
			continue
		}
		old, known := x.threads.stored[k]
		if !known {
			o, err := rmQueryOne(x.ctx, x.q, rmScanThread, "thread", rmThreadSelect+" WHERE t.team_id = ? AND t.id = ?", t.TeamID, t.ID)
			switch {
			case err == nil:
				old = &o
			case !errors.Is(err, projections.ErrNotFound):
				return err
			}
		}
		if old == nil {
			err = x.exec("tags of a new thread", rmInsertThreadTagsSQL, rmTime(t.LastMessageAt), t.ID, t.Done, t.Request,
				t.LastMessageDirection, t.TeamID, t.ProspectID)
		} else if rmThreadTagsDiffer(*old, t) {
			err = x.exec("tags of a thread", rmMoveThreadTagsSQL, rmTime(t.LastMessageAt), t.Done, t.Request, t.LastMessageDirection,
				t.TeamID, t.TeamID, t.ProspectID, rmTime(old.LastMessageAt), t.ID)
		}
		if err != nil {
			return err
		}
		x.threads.stored[k] = &t // the table holds it from now on
	}
	return nil
}

// rmThreadTagsDiffer says whether a thread's rows of thread_tags must change from a to b.
func rmThreadTagsDiffer(a, b projections.Thread) bool {
	return !a.LastMessageAt.Equal(b.LastMessageAt) || a.Done != b.Done || a.Request != b.Request ||
		a.LastMessageDirection != b.LastMessageDirection
}

// taggedProspects returns which prospects of threads have tags, in a query per team.
func (x *rmTx) taggedProspects(threads []projections.Thread) (map[rmKey]bool, error) {
	ids := map[string][]string{}
	for _, t := range threads {
		ids[t.TeamID] = append(ids[t.TeamID], t.ProspectID)
	}
	out := map[rmKey]bool{}
	for team, ps := range ids {
		list, err := json.Marshal(ps)
		if err != nil {
			return nil, err
		}
		rows, err := x.q.QueryContext(x.ctx, rmTaggedProspectsSQL, string(list), team)
		if err != nil {
			return nil, fmt.Errorf("read model: tagged prospects: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read model: tagged prospects: %w", err)
			}
			out[rmKey{team, id}] = true
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("read model: tagged prospects: %w", err)
		}
	}
	return out, nil
}

// The rows of thread_tags (read_model_sqlite.sql) of a thread, one per tag of its prospect.
const (
	// Which of a JSON array of prospect ids have tags: one search of prospect_tags each
	// (CROSS JOIN: SQLite would rather read all the team's tags, knowing nothing of the array).
	rmTaggedProspectsSQL = "SELECT pt.prospect_id FROM json_each(?) j" +
		" CROSS JOIN prospect_tags pt ON pt.team_id = ? AND pt.prospect_id = j.value"
	rmInsertThreadTagsSQL = "INSERT OR REPLACE INTO thread_tags (team_id, tag_id, last_message_at, id, done, request, last_message_direction)" +
		" SELECT pt.team_id, pt.tag_id, ?, ?, ?, ?, ? FROM prospect_tags pt WHERE pt.team_id = ? AND pt.prospect_id = ?"
	rmMoveThreadTagsSQL = "UPDATE OR REPLACE thread_tags SET last_message_at = ?, done = ?, request = ?, last_message_direction = ?" +
		" WHERE team_id = ? AND tag_id IN (SELECT pt.tag_id FROM prospect_tags pt WHERE pt.team_id = ? AND pt.prospect_id = ?)" +
		" AND last_message_at = ? AND id = ?"
	// A prospect's threads as the table holds them, tagged or untagged.
	rmTagThreadsSQL = "INSERT OR REPLACE INTO thread_tags (team_id, tag_id, last_message_at, id, done, request, last_message_direction)" +
		" SELECT t.team_id, ?, t.last_message_at, t.id, t.done, t.request, t.last_message_direction" +
		" FROM threads t WHERE t.team_id = ? AND t.prospect_id = ?"
	rmUntagThreadsSQL = "DELETE FROM thread_tags WHERE team_id = ? AND tag_id = ? AND (last_message_at, id) IN" +
		" (SELECT t.last_message_at, t.id FROM threads t WHERE t.team_id = ? AND t.prospect_id = ?)"
)

func (x *rmTx) exec(what, query string, args ...any) error {
	if _, err := x.q.ExecContext(x.ctx, query, args...); err != nil {
		return fmt.Errorf("read model: %s: %w", what, err)
	}
	return nil
}

func (x *rmTx) Checkpoint(projection string) (eventlog.Cursor, error) {
	return rmCheckpoint(x.ctx, x.q, projection)
}

func (x *rmTx) SetCheckpoint(projection string, c eventlog.Cursor) error {
	return x.exec("set checkpoint", "INSERT INTO checkpoints (projection, cursor) VALUES (?, ?)"+
		" ON CONFLICT (projection) DO UPDATE SET cursor = excluded.cursor", projection, c.String())
}

func (x *rmTx) PutTeam(t projections.Team) error {
	return x.exec("put team", rmPutTeamSQL, t.ID, t.Name, rmTime(t.CreatedAt))
}

func (x *rmTx) PutMember(m projections.Member) error {
	return x.exec("put member", rmPutMemberSQL, m.TeamID, m.ID, m.Email, m.Name, m.Role, rmTime(m.CreatedAt))
}

func (x *rmTx) PutAPIKey(k projections.APIKey) error {
	return x.exec("put api key", rmPutAPIKeySQL, k.ID, k.TeamID, k.MemberID, k.Hash, k.InstanceAdmin, rmTime(k.CreatedAt), k.Prefix)
}

func (x *rmTx) DeleteAPIKey(teamID, id string) error {
	return x.exec("delete api key", "DELETE FROM api_keys WHERE team_id = ? AND id = ?", teamID, id)
}

func (x *rmTx) DeleteMember(teamID, id string) error {
	return x.exec("delete member", "DELETE FROM members WHERE team_id = ? AND id = ?", teamID, id)
}

func (x *rmTx) PutTag(t projections.Tag) error {
	return x.exec("put tag", rmPutTagSQL, t.TeamID, t.ID, t.Name, t.Color)
}

func (x *rmTx) DeleteTag(teamID, tagID string) error {
	for _, q := range []string{
		"DELETE FROM thread_tags WHERE team_id = ? AND tag_id = ?",
		"DELETE FROM prospect_tags WHERE team_id = ? AND tag_id = ?",
		"DELETE FROM tags WHERE team_id = ? AND id = ?",
	} {
		if err := x.exec("delete tag", q, teamID, tagID); err != nil {
			return err
		}
	}
	return nil
}

func (x *rmTx) PutStatus(s projections.Status) error {
	return x.exec("put status", rmPutStatusSQL, s.TeamID, s.ID, s.Name, s.Position)
}

func (x *rmTx) GetAccountLink(teamID, id string) (projections.AccountLink, error) {
	return rmQueryOne(x.ctx, x.q, rmScanAccountLink, "account link", rmAccountLinkSelect+" WHERE x.team_id = ? AND x.id = ?", teamID, id)
}

func (x *rmTx) PutAccountLink(a projections.AccountLink) error {
	return x.exec("put account link", rmPutAccountLinkSQL, a.TeamID, a.ID, a.Platform, a.PlatformID, a.Username,
		a.DisplayName, a.WebhookPath, a.Active, a.Unlinked, a.Healthy, a.HealthReason, rmTime(a.LinkedAt))
}

func (x *rmTx) GetProspect(teamID, id string) (projections.Prospect, error) {
	p, err := rmGet(x, &x.prospects, "prospect", rmProspectRowSelect+" WHERE p.team_id = ? AND p.id = ?", rmScanProspectRow, teamID, id)
	p.CustomFields = maps.Clone(p.CustomFields) // the caller may change its copy, not the cached row
	return p, err
}

func (x *rmTx) PutProspect(p projections.Prospect) error {
	p.CustomFields = maps.Clone(p.CustomFields)
	p.Tags, p.Status = nil, nil // filled by queries, not stored
	k := rmKey{p.TeamID, p.ID}
	if prev, known := x.prospects.rows[k]; known && prev != nil && prev.StatusID != p.StatusID || (!known || prev == nil) && p.StatusID != "" {
		if x.statusChanged == nil {
			x.statusChanged = map[rmKey]bool{}
		}
		x.statusChanged[k] = true
	}
	x.prospects.write(k, p)
	return nil
}

func (x *rmTx) putProspect(p projections.Prospect) error {
	fields := "{}"
	if len(p.CustomFields) > 0 {
		b, err := json.Marshal(p.CustomFields)
		if err != nil {
			return fmt.Errorf("read model: prospect %s custom fields: %w", p.ID, err)
		}
		fields = string(b)
	}
	return x.exec("put prospect", rmPutProspectSQL, p.TeamID, p.ID, p.Platform, p.PlatformID, p.Username,
		p.DisplayName, p.AvatarURL, p.StatusID, p.Notes, p.Valuation, fields, rmTime(p.FirstSeenAt), rmTime(p.LastSeenAt))
}

// AddProspectTag tags the prospect and its threads as the table holds them: writeBack moves
// the rows of those the transaction changes, and adds those of its new threads.
func (x *rmTx) AddProspectTag(teamID, prospectID, tagID string) error {
	if err := x.exec("tag prospect", "INSERT INTO prospect_tags (team_id, prospect_id, tag_id) VALUES (?, ?, ?)"+
		" ON CONFLICT (team_id, prospect_id, tag_id) DO NOTHING", teamID, prospectID, tagID); err != nil {
		return err
	}
	return x.exec("tag prospect", rmTagThreadsSQL, tagID, teamID, prospectID)
}

func (x *rmTx) RemoveProspectTag(teamID, prospectID, tagID string) error {
	if err := x.exec("untag prospect", "DELETE FROM prospect_tags WHERE team_id = ? AND prospect_id = ? AND tag_id = ?",
		teamID, prospectID, tagID); err != nil {
		return err
	}
	return x.exec("untag prospect", rmUntagThreadsSQL, teamID, tagID, teamID, prospectID)
}

func (x *rmTx) GetThread(teamID, id string) (projections.Thread, error) {
	return rmGet(x, &x.threads, "thread", rmThreadSelect+" WHERE t.team_id = ? AND t.id = ?", rmScanThread, teamID, id)
}

func (x *rmTx) PutThread(t projections.Thread) error {
	t.Prospect = nil // filled by queries, not stored
	x.threads.write(rmKey{t.TeamID, t.ID}, t)
	return nil
}

func (x *rmTx) putThread(t projections.Thread) error {
	return x.exec("put thread", rmPutThreadSQL, t.TeamID, t.ID, t.Platform, t.PlatformID, t.AccountLinkID,
		t.ProspectID, t.AssigneeMemberID, t.Done, t.Request, t.LastMessageID, t.LastMessageText,
		t.LastMessageDirection, rmTime(t.LastMessageAt), t.UnreadCount, t.MessageCount, rmTime(t.CreatedAt),
		t.TeamID, t.ProspectID)
}

// ThreadsOfProspect reads the prospect's threads from the table once per transaction; from
// then on the transaction knows all of them, as every new thread goes through PutThread (and a
// thread never changes prospect).
func (x *rmTx) ThreadsOfProspect(teamID, prospectID string) ([]projections.Thread, error) {
	pk := rmKey{teamID, prospectID}
	if !x.prospectThreads[pk] {
		ts, err := rmQueryAll(x.ctx, x.q, rmScanThread, "threads of prospect",
			rmThreadSelect+" WHERE t.team_id = ? AND t.prospect_id = ?", teamID, prospectID)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if _, known := x.threads.rows[rmKey{t.TeamID, t.ID}]; !known { // a known row is this transaction's newer one
				x.threads.remember(rmKey{t.TeamID, t.ID}, &t)
			}
		}
		if x.prospectThreads == nil {
			x.prospectThreads = map[rmKey]bool{}
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

func (x *rmTx) GetMessage(teamID, id string) (projections.Message, error) {
	return rmQueryOne(x.ctx, x.q, rmScanMessage, "message", rmMessageSelect+" WHERE m.team_id = ? AND m.id = ?", teamID, id)
}

func rmMessageArgs(m projections.Message) ([]any, error) {
	atts := "[]"
	if len(m.Attachments) > 0 {
		b, err := json.Marshal(m.Attachments)
		if err != nil {
			return nil, fmt.Errorf("read model: message %s attachments: %w", m.ID, err)
		}
		atts = string(b)
	}
	return []any{m.TeamID, m.ID, m.ThreadID, m.ProspectID, m.AccountLinkID, m.Platform, m.PlatformID,
		m.Direction, m.SenderPlatformID, m.SenderUsername, m.SenderDisplayName, m.SenderAvatarURL,
		m.Text, atts, rmTime(m.SentAt), m.Edited, m.Deleted, m.ReplyToMessageID, m.Status}, nil
}

func (x *rmTx) InsertMessage(m projections.Message) (bool, error) {
	args, err := rmMessageArgs(m)
	if err != nil {
		return false, err
	}
	res, err := x.q.ExecContext(x.ctx, rmInsertMessageSQL, args...)
	if err != nil {
		return false, fmt.Errorf("read model: insert message: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("read model: insert message: %w", err)
	}
	return n == 1, nil
}

func (x *rmTx) PutMessage(m projections.Message) error {
	args, err := rmMessageArgs(m)
	if err != nil {
		return err
	}
	return x.exec("put message", rmPutMessageSQL, args...)
}

// ---- Reads (projections.Reader) ----

// rmRead runs fn in a read transaction, so the queries of one answer see one snapshot.
func (s *ReadModel) rmRead(ctx context.Context, fn func(q rmQuerier) error) error {
	c := s.c()
	tx, err := c.r.BeginTx(ctx, nil)
	if err != nil {
		return s.observe(fmt.Errorf("read model: begin read: %w", err))
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to lose
	return s.observe(fn(rmTxPrepared{p: c.q, tx: tx}))
}

func (s *ReadModel) Team(ctx context.Context, id string) (projections.Team, error) {
	return rmQueryOne(ctx, s.c().q, rmScanTeam, "team", rmTeamSelect+" WHERE x.id = ?", id)
}

func (s *ReadModel) APIKeyByHash(ctx context.Context, hash string) (projections.APIKey, error) {
	return rmQueryOne(ctx, s.c().q, rmScanAPIKey, "api key", rmAPIKeySelect+" WHERE x.hash = ?", hash)
}

func (s *ReadModel) APIKeys(ctx context.Context, teamID string) ([]projections.APIKey, error) {
	return rmQueryAll(ctx, s.c().q, rmScanAPIKey, "api keys", rmAPIKeySelect+" WHERE x.team_id = ? ORDER BY x.created_at, x.id", teamID)
}

// TouchAPIKeys records when keys last authenticated a call (runtime data, not an event: it is
// lost with the read model and starts again from the next use).
func (s *ReadModel) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	for id, at := range used {
		if _, err := s.c().w.ExecContext(ctx, "UPDATE api_keys SET last_used_at = max(last_used_at, ?) WHERE id = ?", rmTime(at), id); err != nil {
			return fmt.Errorf("read model: touch api key: %w", err)
		}
	}
	return nil
}

func (s *ReadModel) CountAPIKeys(ctx context.Context) (int, error) {
	var n int
	if err := s.c().q.QueryRowContext(ctx, "SELECT COUNT(*) FROM api_keys").Scan(&n); err != nil {
		return 0, s.observe(fmt.Errorf("read model: count api keys: %w", err))
	}
	return n, nil
}

func (s *ReadModel) Member(ctx context.Context, teamID, id string) (projections.Member, error) {
	return rmQueryOne(ctx, s.c().q, rmScanMember, "member", rmMemberSelect+" WHERE x.team_id = ? AND x.id = ?", teamID, id)
}

func (s *ReadModel) Members(ctx context.Context, teamID string) ([]projections.Member, error) {
	return rmQueryAll(ctx, s.c().q, rmScanMember, "members", rmMemberSelect+" WHERE x.team_id = ? ORDER BY x.created_at, x.id", teamID)
}

func (s *ReadModel) Tag(ctx context.Context, teamID, id string) (projections.Tag, error) {
	return rmQueryOne(ctx, s.c().q, rmScanTag, "tag", rmTagSelect+" WHERE x.team_id = ? AND x.id = ?", teamID, id)
}

func (s *ReadModel) Tags(ctx context.Context, teamID string) ([]projections.Tag, error) {
	return rmQueryAll(ctx, s.c().q, rmScanTag, "tags", rmTagSelect+" WHERE x.team_id = ? ORDER BY x.name, x.id", teamID)
}

func (s *ReadModel) Status(ctx context.Context, teamID, id string) (projections.Status, error) {
	return rmQueryOne(ctx, s.c().q, rmScanStatus, "status", rmStatusSelect+" WHERE x.team_id = ? AND x.id = ?", teamID, id)
}

func (s *ReadModel) Statuses(ctx context.Context, teamID string) ([]projections.Status, error) {
	return rmQueryAll(ctx, s.c().q, rmScanStatus, "statuses",
		rmStatusSelect+" WHERE x.team_id = ? ORDER BY x.position, x.name, x.id", teamID)
}

func (s *ReadModel) AccountLink(ctx context.Context, teamID, id string) (projections.AccountLink, error) {
	return rmQueryOne(ctx, s.c().q, rmScanAccountLink, "account link", rmAccountLinkSelect+" WHERE x.team_id = ? AND x.id = ?", teamID, id)
}

func (s *ReadModel) AccountLinks(ctx context.Context, teamID string) ([]projections.AccountLink, error) {
	return rmQueryAll(ctx, s.c().q, rmScanAccountLink, "account links",
		rmAccountLinkSelect+" WHERE x.team_id = ? ORDER BY x.linked_at, x.id", teamID)
}

func (s *ReadModel) AccountLinkByID(ctx context.Context, id string) (projections.AccountLink, error) {
	return rmQueryOne(ctx, s.c().q, rmScanAccountLink, "account link", rmAccountLinkSelect+" WHERE x.id = ? ORDER BY x.team_id LIMIT 1", id)
}

func (s *ReadModel) ActiveAccountLinks(ctx context.Context, platforms []string) ([]projections.AccountLink, error) {
	if len(platforms) == 0 {
		return nil, nil
	}
	args := make([]any, len(platforms))
	for i, p := range platforms {
		args[i] = p
	}
	return rmQueryAll(ctx, s.c().q, rmScanAccountLink, "active account links",
		rmAccountLinkSelect+" WHERE x.active = 1 AND x.platform IN "+rmIn(len(platforms))+" ORDER BY x.team_id, x.id", args...)
}

func (s *ReadModel) Prospect(ctx context.Context, teamID, id string) (projections.Prospect, error) {
	var p projections.Prospect
	err := s.rmRead(ctx, func(q rmQuerier) error {
		var err error
		p, err = rmQueryOne(ctx, q, rmScanProspectWithStatus, "prospect", rmProspectSelect+" WHERE p.team_id = ? AND p.id = ?", teamID, id)
		if err != nil {
			return err
		}
		tags, err := rmProspectTags(ctx, q, teamID, []string{id})
		p.Tags = tags[id]
		return err
	})
	return p, err
}

func (s *ReadModel) Prospects(ctx context.Context, pq projections.ProspectQuery) ([]projections.Prospect, error) {
	var out []projections.Prospect
	err := s.rmRead(ctx, func(q rmQuerier) error {
		query, args := rmProspectsSQL(pq)
		var err error
		out, err = rmQueryAll(ctx, q, rmScanProspectWithStatus, "prospects", query, args...)
		if err != nil || len(out) == 0 {
			return err
		}
		ids := make([]string, len(out))
		for i, p := range out {
			ids[i] = p.ID
		}
		tags, err := rmProspectTags(ctx, q, pq.TeamID, ids)
		for i := range out {
			out[i].Tags = tags[out[i].ID]
		}
		return err
	})
	return out, err
}

func (s *ReadModel) ProspectTags(ctx context.Context, teamID string, prospectIDs []string) (map[string][]projections.Tag, error) {
	return rmProspectTags(ctx, s.c().q, teamID, prospectIDs)
}

// rmChunk bounds the parameters of one IN list.
const rmChunk = 500

// rmProspectTags returns the live tags of each prospect, by name: a deleted tag never shows.
func rmProspectTags(ctx context.Context, q rmQuerier, teamID string, prospectIDs []string) (map[string][]projections.Tag, error) {
	out := map[string][]projections.Tag{}
	for start := 0; start < len(prospectIDs); start += rmChunk {
		ids := prospectIDs[start:min(start+rmChunk, len(prospectIDs))]
		args := make([]any, 0, len(ids)+1)
		args = append(args, teamID)
		for _, id := range ids {
			args = append(args, id)
		}
		rows, err := q.QueryContext(ctx, "SELECT pt.prospect_id, "+rmSelect("g", rmTagCols...)+
			" FROM prospect_tags pt JOIN tags g ON g.team_id = pt.team_id AND g.id = pt.tag_id"+
			" WHERE pt.team_id = ? AND pt.prospect_id IN "+rmIn(len(ids))+" ORDER BY g.name, g.id", args...)
		if err != nil {
			return nil, fmt.Errorf("read model: prospect tags: %w", err)
		}
		for rows.Next() {
			var pid string
			var t projections.Tag
			if err := rows.Scan(&pid, &t.TeamID, &t.ID, &t.Name, &t.Color); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read model: prospect tags: %w", err)
			}
			out[pid] = append(out[pid], t)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read model: prospect tags: %w", err)
		}
	}
	return out, nil
}

// rmFillProspects sets Thread.Prospect (with tags and status) on a page of threads, with two
// queries whatever the page size.
func rmFillProspects(ctx context.Context, q rmQuerier, teamID string, threads []projections.Thread) error {
	seen := map[string]bool{}
	var ids []string
	for _, t := range threads {
		if !seen[t.ProspectID] {
			seen[t.ProspectID] = true
			ids = append(ids, t.ProspectID)
		}
	}
	byID := map[string]projections.Prospect{}
	for start := 0; start < len(ids); start += rmChunk {
		chunk := ids[start:min(start+rmChunk, len(ids))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, teamID)
		for _, id := range chunk {
			args = append(args, id)
		}
		ps, err := rmQueryAll(ctx, q, rmScanProspectWithStatus, "prospects of threads",
			rmProspectSelect+" WHERE p.team_id = ? AND p.id IN "+rmIn(len(chunk)), args...)
		if err != nil {
			return err
		}
		for _, p := range ps {
			byID[p.ID] = p
		}
	}
	tags, err := rmProspectTags(ctx, q, teamID, ids)
	if err != nil {
		return err
	}
	for i := range threads {
		p, ok := byID[threads[i].ProspectID]
		if !ok {
			continue
		}
		p.Tags = tags[p.ID]
		threads[i].Prospect = &p
	}
	return nil
}

func (s *ReadModel) Thread(ctx context.Context, teamID, id string) (projections.Thread, error) {
	var t projections.Thread
	err := s.rmRead(ctx, func(q rmQuerier) error {
		var err error
		t, err = rmQueryOne(ctx, q, rmScanThread, "thread", rmThreadSelect+" WHERE t.team_id = ? AND t.id = ?", teamID, id)
		if err != nil {
			return err
		}
		page := []projections.Thread{t}
		err = rmFillProspects(ctx, q, teamID, page)
		t = page[0]
		return err
	})
	return t, err
}

func (s *ReadModel) Threads(ctx context.Context, tq projections.ThreadQuery) ([]projections.Thread, error) {
	var out []projections.Thread
	err := s.rmRead(ctx, func(q rmQuerier) error {
		query, args := rmThreadsSQL(tq)
		var err error
		out, err = rmQueryAll(ctx, q, rmScanThread, "threads", query, args...)
		if err != nil || len(out) == 0 {
			return err
		}
		return rmFillProspects(ctx, q, tq.TeamID, out)
	})
	return out, err
}

func (s *ReadModel) Message(ctx context.Context, teamID, id string) (projections.Message, error) {
	return rmQueryOne(ctx, s.c().q, rmScanMessage, "message", rmMessageSelect+" WHERE m.team_id = ? AND m.id = ?", teamID, id)
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
	args := make([]any, 0, len(ids)+1)
	args = append(args, teamID)
	for _, id := range ids {
		args = append(args, id)
	}
	ms, err := rmQueryAll(ctx, s.c().q, rmScanMessage, "messages by id",
		rmMessageSelect+" WHERE m.team_id = ? AND m.id IN "+rmIn(len(ids)), args...)
	for _, m := range ms {
		out[m.ID] = m
	}
	return out, err
}

func (s *ReadModel) Messages(ctx context.Context, mq projections.MessageQuery) ([]projections.Message, error) {
	query, args := rmMessagesSQL(mq)
	return rmQueryAll(ctx, s.c().q, rmScanMessage, "messages", query, args...)
}

// rmThreadsSQL is the query of a page of threads (ListThreads).
func rmThreadsSQL(tq projections.ThreadQuery) (string, []any) {
	from, sort := tq.Source()
	where, args := tq.Where(SQLiteDialect)
	return "SELECT " + rmSelect("t", rmThreadCols...) + " FROM " + from + " WHERE " + where +
		" ORDER BY " + sort + ".last_message_at DESC, " + sort + ".id DESC" + rmLimit(tq.Limit), args
}

// rmProspectsSQL is the query of a page of prospects (ListProspects).
func rmProspectsSQL(pq projections.ProspectQuery) (string, []any) {
	where, args := pq.Where(SQLiteDialect)
	return rmProspectSelect + " WHERE " + where + " ORDER BY p.last_seen_at DESC, p.id DESC" + rmLimit(pq.Limit), args
}

// rmMessagesSQL is the query of a page of a thread's messages.
func rmMessagesSQL(mq projections.MessageQuery) (string, []any) {
	where, args := mq.Where(SQLiteDialect)
	return rmMessageSelect + " WHERE " + where + " ORDER BY m.sent_at DESC, m.id DESC" + rmLimit(mq.Limit), args
}
