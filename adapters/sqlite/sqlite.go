// Package sqlite holds the embedded adapters, on SQLite files through modernc.org/sqlite (pure
// Go, no cgo): the event log and the credential store.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// busyTimeout is how long a statement waits for another connection's (or process's) write
// lock before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Option tunes an adapter of this package.
type Option func(*options)

type options struct {
	logger       *slog.Logger
	pollInterval time.Duration
	retryInitial time.Duration
	retryMax     time.Duration
}

func defaultOptions() options {
	return options{
		logger:       slog.Default(),
		pollInterval: time.Second,
		retryInitial: 250 * time.Millisecond,
		retryMax:     30 * time.Second,
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithPollInterval sets how often a caught-up consumer looks for events appended by another
// process (default 1s). Appends of this process wake consumers at once.
func WithPollInterval(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.pollInterval = d
		}
	}
}

// WithRetryBackoff sets the exponential backoff between redeliveries to a failing handler
// (default 250ms growing to 30s).
func WithRetryBackoff(initial, max time.Duration) Option {
	return func(o *options) {
		if initial > 0 && max >= initial {
			o.retryInitial, o.retryMax = initial, max
		}
	}
}

// openDB opens a SQLite file for durable, concurrent use: WAL so readers never block the
// writer, synchronous=FULL so a commit is on disk when it returns, IMMEDIATE transactions so
// two writers queue on busy_timeout instead of deadlocking on a lock upgrade.
func openDB(path, schema string, pragmas ...string) (*sql.DB, error) {
	return openDBSync(path, schema, "FULL", pragmas...)
}

// openDBSync is openDB with another synchronous setting, for writes whose loss in a power cut
// only costs a redelivery (consumer checkpoints): in WAL mode, NORMAL skips the fsync at
// commit, and the next FULL commit of the file makes them durable too.
// Extra pragmas (e.g. "cache_size(-65536)") are set on every connection.
func openDBSync(path, schema, synchronous string, pragmas ...string) (*sql.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create folder: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+synchronous+")")
	q.Add("_pragma", "foreign_keys(ON)")
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	// A file: URI with an escaped path, so a '?' or '#' in the folder name is not a parameter.
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(0)
	ctx, cancel := context.WithTimeout(context.Background(), busyTimeout+5*time.Second)
	defer cancel()
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: journal mode is %q, want wal", path, mode)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: create schema in %s: %w", path, err)
	}
	return db, nil
}
