// Package sqlitefts is the embedded search index: search.Index on a SQLite file with an FTS5
// table (modernc.org/sqlite, pure Go).
//
// Layout. docs holds one row per message: its id (the FTS5 rowid) is in sent_at order
// (microseconds × 1024 + a slot for messages of the same microsecond), the document as JSON
// (what Get and hits return), and its analyzed terms (see analyze), space-separated, per
// column: text, prospect name, and names (attachment names and types, username). fts is an
// FTS5 table over those columns and a tags column (team and filter values as terms), with docs
// as its external content. Terms are made in Go before indexing (words, bigrams for CJK,
// folded case and accents), so FTS5 only splits at spaces. In fts, every term of the text and
// name columns, and of tags, is its team's: prefixed with the team's code (teams, "3_refund"),
// so a word's or a filter's posting list holds one team's messages and a search never walks
// another team's, nor a list of all of its own team's messages to intersect with (docs keeps
// the terms as analyzed).
//
// Reading. "Newest" walks fts in rowid order, descending, and stops after a page; a time
// range is a rowid range. "Relevance" takes the newest candidates (at most Options.Candidates,
// default DefaultCandidates) that match, scores them in Go from their stored terms (a score
// depends on the document and the query only, never on other documents, so page cursors do
// not drift as messages arrive), and sorts them. Highlights are cut from the original text.
package sqlitefts

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // driver "sqlite"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/internal/health"
	"github.com/switchboard-oss/switchboard/search"
)

// schemaVersion names the schema and the analysis. An index of another version is emptied at
// Open (its checkpoint too), so the projector rebuilds it from the log: changing either only
// needs a new version.
const schemaVersion = "switchboard-fts-2"

// DefaultCandidates is how many of the newest matches a relevance search ranks when more match.
const DefaultCandidates = 2000

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS docs (
	id         INTEGER PRIMARY KEY, -- sent_at order: see rowKey
	team_id    TEXT NOT NULL,
	message_id TEXT NOT NULL,
	doc        BLOB NOT NULL,       -- search.Doc as JSON
	t_text     TEXT NOT NULL,       -- analyzed terms, space-separated
	t_name     TEXT NOT NULL,
	t_names    TEXT NOT NULL,
	tags       TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS docs_message ON docs (team_id, message_id);
CREATE TABLE IF NOT EXISTS teams (
	id   TEXT PRIMARY KEY,
	code TEXT NOT NULL UNIQUE  -- the prefix of the team's terms in fts: base 36, never reused
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5 (
	t_text, t_name, t_names, tags,
	content = 'docs', content_rowid = 'id', columnsize = 0, detail = full,
	tokenize = "ascii tokenchars '.:,;_'''"
);`

// Options tune Open.
type Options struct {
	Logger *slog.Logger
	// Candidates is how many of the newest matches a relevance search ranks (default
	// DefaultCandidates): beyond it, the best of the newest Candidates matches come first.
	Candidates int
}

// Index is search.Index on a SQLite file. Writes go through one connection; searches through a
// pool of read-only ones, which WAL lets run while the projector writes.
type Index struct {
	path       string
	logger     *slog.Logger
	candidates int
	w, r       *sql.DB
	rebuilds   int

	mu    sync.RWMutex
	codes map[string]string // team id -> code, as committed in teams

	get *sql.Stmt // Get's statement, prepared once per read connection (the projector asks it of every new message)
}

var _ search.Index = (*Index)(nil)

// Open opens the index at path, creating it when missing. An index of another schema version is
// emptied, and so is a file SQLite finds corrupt (set aside as path.corrupt-<time>): without
// a checkpoint, the projector rebuilds it from the beginning of the log.
func Open(path string, o Options) (*Index, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Candidates <= 0 {
		o.Candidates = DefaultCandidates
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("search index: create folder: %w", err)
	}
	x := &Index{path: abs, logger: o.Logger, candidates: o.Candidates, codes: map[string]string{}}
	err = x.open()
	if err != nil && health.Corrupt(err) {
		x.logger.Error("search index corrupt: setting it aside and rebuilding it from the event log", "path", abs, "cause", err)
		x.rebuilds++
		if err = setAside(abs); err == nil {
			err = x.open()
		}
	}
	if err != nil {
		return nil, err
	}
	return x, nil
}

func (x *Index) open() error {
	dsn := func(q url.Values) string {
		// The index is rebuilt from the log if a crash loses its last commits, and its
		// checkpoint is written after its documents: synchronous=NORMAL is enough.
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "synchronous(NORMAL)")
		// 8 MiB of page cache: reads go through the map below, so the cache holds little but
		// the pages a batch writes; a larger one made every commit slower (SQLite scans the
		// cache's hash table at the end of a transaction): 138-148 against 124-128 us of CPU
		// per message indexed, 100k messages, 20 per transaction.
		q.Add("_pragma", "cache_size(-8192)")
		// Reads through the OS's page cache, shared by every connection, without a copy: a
		// search touches pages all over the FTS5 index.
		q.Add("_pragma", "mmap_size(1099511627776)")
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(x.path), RawQuery: q.Encode()}).String()
	}
	w, err := sql.Open("sqlite", dsn(url.Values{"_pragma": {"journal_mode(WAL)"}, "_txlock": {"immediate"}}))
	if err != nil {
		return fmt.Errorf("search index: open %s: %w", x.path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := quickCheck(w); err != nil {
		_ = w.Close()
		return err
	}
	if err := migrate(w, x.logger); err != nil {
		_ = w.Close()
		return fmt.Errorf("search index: schema of %s: %w", x.path, err)
	}
	r, err := sql.Open("sqlite", dsn(url.Values{"_pragma": {"query_only(1)"}}))
	if err != nil {
		_ = w.Close()
		return fmt.Errorf("search index: open %s: %w", x.path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	if err := r.Ping(); err != nil {
		_ = w.Close()
		_ = r.Close()
		return fmt.Errorf("search index: open %s: %w", x.path, err)
	}
	get, err := r.Prepare(`SELECT doc FROM docs WHERE team_id = ? AND message_id = ?`)
	if err != nil {
		_ = w.Close()
		_ = r.Close()
		return fmt.Errorf("search index: open %s: %w", x.path, err)
	}
	x.w, x.r, x.get = w, r, get
	return nil
}

// quickCheck runs SQLite's quick integrity check on every table's pages: a file with
// overwritten bytes is caught at start, not by some search later. FTS5's own check (every
// posting list decoded) is left out: it would take seconds per 100,000 messages at each start.
func quickCheck(db *sql.DB) error {
	tables := []string{""} // a new, empty file: the whole (empty) database
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'`)
	if err != nil {
		return fmt.Errorf("search index: integrity check: %w", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("search index: integrity check: %w", err)
		}
		tables = append(tables, name)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("search index: integrity check: %w", err)
	}
	if len(tables) > 1 {
		tables = tables[1:]
	}
	for _, t := range tables {
		q := "PRAGMA quick_check(1)"
		if t != "" {
			q = "PRAGMA quick_check(" + quoteIdent(t) + ")"
		}
		var first string
		if err := db.QueryRow(q).Scan(&first); err != nil {
			return fmt.Errorf("search index: integrity check: %w", err)
		}
		if first != "ok" {
			return fmt.Errorf("search index: integrity check: %q: %w", first, errCorrupt)
		}
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

var errCorrupt = errors.New("database disk image is malformed")

// setAside renames a corrupt file (and its WAL) out of the way, kept for whoever wants to look.
func setAside(abs string) error {
	suffix := ".corrupt-" + time.Now().UTC().Format("20060102T150405")
	for _, ext := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(abs+ext, abs+suffix+ext); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("search index: set the corrupt file aside: %w", err)
		}
	}
	return nil
}

// migrate creates the schema, or drops an index of another version so it is rebuilt.
func migrate(w *sql.DB, logger *slog.Logger) error {
	var version string
	err := w.QueryRow(`SELECT value FROM meta WHERE key = 'schema'`).Scan(&version)
	switch {
	case err == nil && version == schemaVersion:
		return nil
	case err == nil:
		logger.Info("search index of another version: emptying it to rebuild it from the event log", "version", version, "want", schemaVersion)
		if _, err := w.Exec(`DROP TABLE IF EXISTS fts; DROP TABLE IF EXISTS docs; DROP TABLE IF EXISTS teams; DROP TABLE IF EXISTS meta`); err != nil {
			return err
		}
	case !errors.Is(err, sql.ErrNoRows) && !strings.Contains(err.Error(), "no such table"):
		return err
	}
	if _, err := w.Exec(schema); err != nil {
		return err
	}
	_, err = w.Exec(`INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, schemaVersion)
	return err
}

// Rebuilds counts the times a corrupt file was set aside to be rebuilt (tests, metrics).
func (x *Index) Rebuilds() int { return x.rebuilds }

// fault turns a storage error into what callers see: a full disk is unavailable, saying so.
func fault(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case health.NoSpace(err):
		return domain.Unavailable("the search index (disk full)", err)
	}
	return domain.Unavailable("the search index", err)
}

// Row keys: sent_at in microseconds since 1970, times 1024, plus a slot for the messages of
// one microsecond (the first gets the highest). They fit an int64 between the years 1685 and
// 2255; times outside are clamped.
const slots = 1024

const (
	minMicro int64 = math.MinInt64/slots + 1
	maxMicro int64 = math.MaxInt64/slots - 1
)

func micro(t time.Time) int64 {
	us := t.Unix()
	switch {
	case us < minMicro/1e6:
		return minMicro
	case us > maxMicro/1e6:
		return maxMicro
	}
	return t.UnixMicro()
}

// rowBase is the lowest key of the microsecond of t.
func rowBase(t time.Time) int64 { return micro(t) * slots }

// rowCeil is the lowest key of the first microsecond at or after t: a bound "sent at or after t".
func rowCeil(t time.Time) int64 {
	b := rowBase(t)
	if t.Nanosecond()%1000 != 0 && micro(t) < maxMicro {
		b += slots
	}
	return b
}

// terms joins analyzed terms for a column.
func terms(ts []token) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.term)
	}
	return b.String()
}

// row is what docs holds of a document, besides its id.
type row struct {
	doc                   []byte
	text, name, names, tg string
}

func rowOf(d search.Doc) (row, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return row{}, err
	}
	var names []string
	for _, s := range d.AttachmentNames {
		names = append(names, terms(analyze(s, true)))
	}
	for _, s := range d.AttachmentTypes {
		names = append(names, terms(analyze(s, true)))
	}
	names = append(names, terms(analyze(d.ProspectUsername, true)))
	return row{doc: raw, text: terms(analyze(d.Text, false)), name: terms(analyze(d.ProspectName, false)),
		names: strings.Join(names, " "), tg: tagsOf(d)}, nil
}

// Tags are the team and the filter values as terms of the tags column: a filter is a term
// FTS5 intersects with the query's. Values are hex, so any value is one term.
func tag(kind, value string) string { return kind + fmt.Sprintf("%x", value) }

func tagsOf(d search.Doc) string {
	return strings.Join([]string{tag("te", d.TeamID), tag("pl", d.Platform), tag("ac", d.AccountLinkID),
		tag("th", d.ThreadID), tag("pr", d.ProspectID), tag("di", d.Direction)}, " ")
}

// Put indexes (or replaces) documents in one transaction: they are searchable when it returns.
// A replaced document keeps its key when its sent_at is unchanged.
func (x *Index) Put(ctx context.Context, docs []search.Doc) error {
	if len(docs) == 0 {
		return nil
	}
	// A message given twice: its last version (the terms to remove must be the indexed ones).
	type msgKey struct{ team, id string }
	last := make(map[msgKey]int, len(docs))
	for i, d := range docs {
		last[msgKey{d.TeamID, d.MessageID}] = i
	}
	if len(last) < len(docs) {
		kept := make([]search.Doc, 0, len(last))
		for i, d := range docs {
			if last[msgKey{d.TeamID, d.MessageID}] == i {
				kept = append(kept, d)
			}
		}
		docs = kept
	}
	rows := make([]row, len(docs))
	for i, d := range docs {
		var err error
		if rows[i], err = rowOf(d); err != nil {
			return fmt.Errorf("index message %s: %w", d.MessageID, err)
		}
	}
	added := map[string]string{} // codes given in this transaction, known once it commits
	err := x.write(ctx, func(tx *sql.Tx) error {
		st, err := prepare(ctx, tx)
		if err != nil {
			return err
		}
		defer st.close()
		// fts is written after docs, removals then additions, each in key order: FTS5 writes
		// the terms it holds to a new segment whenever a key is lower than the last one, so a
		// batch in key order makes one segment instead of one per message sent earlier than
		// the one before it (then merged again and again).
		var dels, adds []ftsOp
		for i, d := range docs {
			r := rows[i]
			code, err := x.codeFor(ctx, tx, d.TeamID, added)
			if err != nil {
				return err
			}
			ft := r.scoped(code)
			// A new message (the usual case): one statement finds its key and adds it.
			base := rowBase(d.SentAt)
			var low sql.NullInt64
			if err := st.lowest.QueryRowContext(ctx, base, base+slots-1).Scan(&low); err != nil {
				return err
			}
			id := base + slots - 1
			if low.Valid {
				id = low.Int64 - 1
			}
			isNew := false
			if id >= base {
				res, err := st.add.ExecContext(ctx, id, d.TeamID, d.MessageID, r.doc, r.text, r.name, r.names, r.tg)
				if err != nil {
					return err
				}
				n, err := res.RowsAffected()
				if err != nil {
					return err
				}
				isNew = n == 1
			}
			if isNew {
				adds = append(adds, ftsOp{id, ft})
				continue
			}
			// Already there (an edit, a rename), or its microsecond has no free slot left.
			var old int64
			var o row
			err = st.find.QueryRowContext(ctx, d.TeamID, d.MessageID).Scan(&old, &o.text, &o.name, &o.names, &o.tg)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				old = 0
			case err != nil:
				return err
			default:
				dels = append(dels, ftsOp{old, o.scoped(code)})
			}
			id = old
			if old == 0 || old/slots != rowBase(d.SentAt)/slots {
				if old != 0 {
					if _, err := st.remove.ExecContext(ctx, old); err != nil {
						return err
					}
				}
				if id, err = st.freeKey(ctx, d.SentAt); err != nil {
					return err
				}
			}
			if _, err := st.upsert.ExecContext(ctx, id, d.TeamID, d.MessageID, r.doc, r.text, r.name, r.names, r.tg); err != nil {
				return err
			}
			adds = append(adds, ftsOp{id, ft})
		}
		if err := st.apply(ctx, st.unindex, dels); err != nil {
			return err
		}
		return st.apply(ctx, st.index, adds)
	})
	if err == nil {
		x.mu.Lock()
		maps.Copy(x.codes, added)
		x.mu.Unlock()
	}
	return fault(err)
}

// scoped is the row as fts holds it: every term prefixed with the team's code, tags too (a
// filter alone then selects one team's messages).
func (r row) scoped(code string) row {
	return row{text: scopeTerms(code, r.text), name: scopeTerms(code, r.name), names: scopeTerms(code, r.names),
		tg: scopeTerms(code, r.tg)}
}

// scopeTerms prefixes each space-separated term with code and "_" (codes have no "_": the
// first one ends the code, whatever the term holds).
func scopeTerms(code, terms string) string {
	if terms == "" {
		return ""
	}
	n := strings.Count(terms, " ") + 1
	var b strings.Builder
	b.Grow(len(terms) + n*(len(code)+1))
	for i, t := range strings.Split(terms, " ") {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(code)
		b.WriteByte('_')
		b.WriteString(t)
	}
	return b.String()
}

// scopeTerm is one term of a team in fts.
func scopeTerm(code, term string) string { return code + "_" + term }

// codeFor returns the team's code, giving it the next one in tx when it has none (kept in
// added until the transaction commits: a code that rolled back is never used).
func (x *Index) codeFor(ctx context.Context, tx *sql.Tx, team string, added map[string]string) (string, error) {
	if c, ok := added[team]; ok {
		return c, nil
	}
	x.mu.RLock()
	c, ok := x.codes[team]
	x.mu.RUnlock()
	if ok {
		return c, nil
	}
	err := tx.QueryRowContext(ctx, `SELECT code FROM teams WHERE id = ?`, team).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM teams`).Scan(&n); err != nil {
			return "", err
		}
		c = strconv.FormatInt(n, 36)
		if _, err := tx.ExecContext(ctx, `INSERT INTO teams (id, code) VALUES (?, ?)`, team, c); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	added[team] = c
	return c, nil
}

// codeOf returns the team's code for a search; ok is false when the team has no document.
func (x *Index) codeOf(ctx context.Context, tx *sql.Tx, team string) (code string, ok bool, err error) {
	x.mu.RLock()
	c, ok := x.codes[team]
	x.mu.RUnlock()
	if ok {
		return c, true, nil
	}
	err = tx.QueryRowContext(ctx, `SELECT code FROM teams WHERE id = ?`, team).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	x.mu.Lock()
	x.codes[team] = c
	x.mu.Unlock()
	return c, true, nil
}

// ftsOp is a document's terms to add to fts or remove from it, under its key.
type ftsOp struct {
	id int64
	r  row
}

// apply runs stmt (index or unindex) for each op, in key order.
func (st *statements) apply(ctx context.Context, stmt *sql.Stmt, ops []ftsOp) error {
	slices.SortFunc(ops, func(a, b ftsOp) int { return cmp.Compare(a.id, b.id) })
	for _, op := range ops {
		if _, err := stmt.ExecContext(ctx, op.id, op.r.text, op.r.name, op.r.names, op.r.tg); err != nil {
			return err
		}
	}
	return nil
}

// statements are a write transaction's statements, prepared once for the whole batch.
type statements struct {
	add, find, unindex, remove, lowest, exists, upsert, index *sql.Stmt
}

func prepare(ctx context.Context, tx *sql.Tx) (*statements, error) {
	st := &statements{}
	for _, p := range []struct {
		s   **sql.Stmt
		sql string
	}{
		// Nothing when the message is there already.
		{&st.add, `INSERT INTO docs (id, team_id, message_id, doc, t_text, t_name, t_names, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (team_id, message_id) DO NOTHING`},
		{&st.find, `SELECT id, t_text, t_name, t_names, tags FROM docs WHERE team_id = ? AND message_id = ?`},
		// An external-content table is told the old values to remove a document's terms.
		{&st.unindex, `INSERT INTO fts (fts, rowid, t_text, t_name, t_names, tags) VALUES ('delete', ?, ?, ?, ?, ?)`},
		{&st.remove, `DELETE FROM docs WHERE id = ?`},
		{&st.lowest, `SELECT min(id) FROM docs WHERE id BETWEEN ? AND ?`},
		{&st.exists, `SELECT count(*) FROM docs WHERE id = ?`},
		{&st.upsert, `INSERT INTO docs (id, team_id, message_id, doc, t_text, t_name, t_names, tags)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, t_text = excluded.t_text,
			t_name = excluded.t_name, t_names = excluded.t_names, tags = excluded.tags`},
		{&st.index, `INSERT INTO fts (rowid, t_text, t_name, t_names, tags) VALUES (?, ?, ?, ?, ?)`},
	} {
		var err error
		if *p.s, err = tx.PrepareContext(ctx, p.sql); err != nil {
			st.close()
			return nil, err
		}
	}
	return st, nil
}

func (st *statements) close() {
	for _, s := range []*sql.Stmt{st.add, st.find, st.unindex, st.remove, st.lowest, st.exists, st.upsert, st.index} {
		if s != nil {
			_ = s.Close()
		}
	}
}

// freeKey returns the key of a new document sent at t: the highest free slot of its microsecond.
func (st *statements) freeKey(ctx context.Context, t time.Time) (int64, error) {
	base := rowBase(t)
	var low sql.NullInt64
	if err := st.lowest.QueryRowContext(ctx, base, base+slots-1).Scan(&low); err != nil {
		return 0, err
	}
	if !low.Valid {
		return base + slots - 1, nil
	}
	id := low.Int64 - 1
	for { // more than 1024 messages in one microsecond: below, wherever free
		var n int
		if err := st.exists.QueryRowContext(ctx, id).Scan(&n); err != nil {
			return 0, err
		}
		if n == 0 {
			return id, nil
		}
		id--
	}
}

func (x *Index) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := x.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Get returns a team's document.
func (x *Index) Get(ctx context.Context, teamID, messageID string) (search.Doc, bool, error) {
	var raw []byte
	err := x.get.QueryRowContext(ctx, teamID, messageID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return search.Doc{}, false, nil
	}
	if err != nil {
		return search.Doc{}, false, fault(err)
	}
	var d search.Doc
	if err := json.Unmarshal(raw, &d); err != nil {
		return search.Doc{}, false, fmt.Errorf("stored search document %s: %w", messageID, err)
	}
	return d, true, nil
}

// Delete removes a team's documents in one transaction.
func (x *Index) Delete(ctx context.Context, teamID string, messageIDs []string) error {
	if len(messageIDs) == 0 {
		return nil
	}
	return fault(x.write(ctx, func(tx *sql.Tx) error {
		code, ok, err := x.codeOf(ctx, tx, teamID)
		if err != nil || !ok {
			return err // no code: the team has no document
		}
		st, err := prepare(ctx, tx)
		if err != nil {
			return err
		}
		defer st.close()
		var dels []ftsOp
		for _, m := range slices.Compact(slices.Sorted(slices.Values(messageIDs))) {
			var id int64
			var o row
			err := st.find.QueryRowContext(ctx, teamID, m).Scan(&id, &o.text, &o.name, &o.names, &o.tg)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			dels = append(dels, ftsOp{id, o.scoped(code)})
			if _, err := st.remove.ExecContext(ctx, id); err != nil {
				return err
			}
		}
		return st.apply(ctx, st.unindex, dels)
	}))
}

// Checkpoint returns the projection's position, kept in the index.
func (x *Index) Checkpoint(ctx context.Context) (eventlog.Cursor, error) {
	var v string
	err := x.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'checkpoint'`).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fault(err)
	}
	return eventlog.ParseCursor(v)
}

// SetCheckpoint records the projection's position.
func (x *Index) SetCheckpoint(ctx context.Context, c eventlog.Cursor) error {
	_, err := x.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('checkpoint', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, c.String())
	return fault(err)
}

// Ping checks that the index is readable.
func (x *Index) Ping(ctx context.Context) error {
	var n int
	return fault(x.r.QueryRowContext(ctx, `SELECT count(*) FROM meta`).Scan(&n))
}

// Close closes the index. Closing again does nothing.
func (x *Index) Close() error {
	return errors.Join(x.get.Close(), x.r.Close(), x.w.Close())
}
