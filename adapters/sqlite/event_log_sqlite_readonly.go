package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/eventcodec"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// ReadOnlyEventLog reads the embedded event log's file without ever writing to it: no schema,
// no migration, no writer, and SQLite's read-only mode (mode=ro, query_only), so an export of
// a stopped server's folder leaves the file as it found it. It is for tools (switchboard
// events export --data-dir), never for a serving process.
type ReadOnlyEventLog struct{ db *sql.DB }

// OpenEventLogReadOnly opens the event log at path read-only. A missing file is an error (it
// creates nothing), and so is a file that is not an event log.
func OpenEventLogReadOnly(path string) (*ReadOnlyEventLog, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sqlite: no event log at %s", abs)
		}
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "query_only(1)")
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(2)
	ctx, cancel := context.WithTimeout(context.Background(), busyTimeout+5*time.Second)
	defer cancel()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'").Scan(&n); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if n == 0 {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s is not an event log (no events table)", path)
	}
	return &ReadOnlyEventLog{db: db}, nil
}

// ExportQuery selects events of the whole log, every team's when TeamID is empty.
type ExportQuery struct {
	After  int64 // only positions after this one (0: from the start)
	TeamID string
	Types  []string
	Key    string
	From   time.Time // occurred at or after (zero: no bound)
	To     time.Time // occurred before (zero: no bound)
	Limit  int
}

// Read returns up to q.Limit events after q.After, in log order, each with its team id.
func (l *ReadOnlyEventLog) Read(ctx context.Context, q ExportQuery) ([]eventlog.Record, error) {
	if q.Limit <= 0 {
		return nil, errors.New("read events: limit must be positive")
	}
	where, args := q.where()
	args = append(args, q.Limit)
	rows, err := l.db.QueryContext(ctx, "SELECT position, version, envelope FROM events WHERE "+where+" ORDER BY position LIMIT ?", args...)
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

// Count returns how many events q selects after q.After (q.Limit ignored): the total a
// progress bar shows.
func (l *ReadOnlyEventLog) Count(ctx context.Context, q ExportQuery) (int64, error) {
	where, args := q.where()
	var n int64
	if err := l.db.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE "+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// where renders q's conditions (all but the limit) and their arguments.
func (q ExportQuery) where() (string, []any) {
	var where strings.Builder
	where.WriteString("position > ?")
	args := []any{q.After}
	if q.TeamID != "" {
		where.WriteString(" AND team_id = ?")
		args = append(args, q.TeamID)
	}
	if len(q.Types) > 0 {
		where.WriteString(" AND type IN (?" + strings.Repeat(", ?", len(q.Types)-1) + ")")
		for _, t := range q.Types {
			args = append(args, t)
		}
	}
	if q.Key != "" {
		where.WriteString(" AND key = ?")
		args = append(args, q.Key)
	}
	if !q.From.IsZero() {
		where.WriteString(" AND occurred_at >= ?")
		args = append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		where.WriteString(" AND occurred_at < ?")
		args = append(args, q.To.UnixNano())
	}
	return where.String(), args
}

// Close closes the file.
func (l *ReadOnlyEventLog) Close() error { return l.db.Close() }
