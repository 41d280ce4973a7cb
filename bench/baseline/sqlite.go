package baseline

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// sqliteFile is the database SQLiteInsert creates in its dir; a previous one is removed first,
// so every call starts from an empty file.
const sqliteFile = "baseline.sqlite"

// sqliteBusyTimeout matches Switchboard's adapters/sqlite.
const sqliteBusyTimeout = 10 * time.Second

const sqliteSchema = `
CREATE TABLE messages (
	id                  TEXT PRIMARY KEY,
	team_id             TEXT NOT NULL,
	thread_id           TEXT NOT NULL,
	prospect_id         TEXT NOT NULL,
	account_link_id     TEXT NOT NULL,
	platform_message_id TEXT NOT NULL,
	outbound            INTEGER NOT NULL,
	text                TEXT NOT NULL,
	sent_at             INTEGER NOT NULL -- Unix nanoseconds
);
CREATE INDEX messages_thread_sent ON messages (thread_id, sent_at);`

const sqliteInsert = `INSERT INTO messages (id, team_id, thread_id, prospect_id, account_link_id,
	platform_message_id, outbound, text, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// SQLiteInsert inserts rows into a fresh SQLite database file in dir (same pragmas as Switchboard's
// event log: WAL, synchronous FULL) in transactions of batch rows (a prepared INSERT per tx), into a
// table with a primary key on id and an index on (thread_id, sent_at). It returns the time spent
// inserting (not creating the schema).
//
// The file is dir/baseline.sqlite (replaced if present) and is left for the caller to remove.
func SQLiteInsert(ctx context.Context, dir string, rows []Row, batch int) (time.Duration, error) {
	if batch <= 0 {
		return 0, fmt.Errorf("baseline: sqlite: batch must be positive, got %d", batch)
	}
	path := filepath.Join(dir, sqliteFile)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return 0, fmt.Errorf("baseline: sqlite: remove old %s: %w", p, err)
		}
	}
	db, err := openSQLite(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, sqliteSchema); err != nil {
		return 0, fmt.Errorf("baseline: sqlite: create schema: %w", err)
	}
	start := time.Now()
	for len(rows) > 0 {
		n := min(batch, len(rows))
		if err := sqliteInsertTx(ctx, db, rows[:n]); err != nil {
			return 0, err
		}
		rows = rows[n:]
	}
	return time.Since(start), nil
}

func sqliteInsertTx(ctx context.Context, db *sql.DB, rows []Row) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("baseline: sqlite: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	stmt, err := tx.PrepareContext(ctx, sqliteInsert)
	if err != nil {
		return fmt.Errorf("baseline: sqlite: prepare: %w", err)
	}
	defer stmt.Close()
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r.ID, r.TeamID, r.ThreadID, r.ProspectID, r.AccountLinkID,
			r.PlatformMessageID, r.Outbound, r.Text, r.SentAt.UnixNano()); err != nil {
			return fmt.Errorf("baseline: sqlite: insert %s: %w", r.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("baseline: sqlite: commit: %w", err)
	}
	return nil
}

// openSQLite opens path with the DSN Switchboard's adapters/sqlite builds, so the comparison
// pays the same durability costs (an fsync per commit under WAL + synchronous FULL).
func openSQLite(path string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: sqlite: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("baseline: sqlite: open %s: %w", path, err)
	}
	// One writer: the inserts are sequential, and one connection keeps the WAL check honest.
	db.SetMaxOpenConns(1)
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("baseline: sqlite: open %s: %w", path, err)
	}
	if mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("baseline: sqlite: open %s: journal mode is %q, want wal", path, mode)
	}
	return db, nil
}
