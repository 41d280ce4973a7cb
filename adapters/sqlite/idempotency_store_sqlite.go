package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/switchboard-oss/switchboard/commands"
)

// IdempotencyStore remembers the outcome of commands issued with an idempotency key, so a
// retry returns the first outcome instead of applying the command again.
type IdempotencyStore struct{ db *sql.DB }

const idemSchema = `
CREATE TABLE IF NOT EXISTS idempotency (
	team_id     TEXT NOT NULL,
	key         TEXT NOT NULL,
	command     TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	result      BLOB NOT NULL,
	created_at  INTEGER NOT NULL DEFAULT (unixepoch()),
	PRIMARY KEY (team_id, key)
);`

// OpenIdempotencyStore opens (or creates) the store in a SQLite file.
func OpenIdempotencyStore(path string) (*IdempotencyStore, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(idemSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("idempotency store: %w", err)
	}
	return &IdempotencyStore{db: db}, nil
}

// Get returns the remembered outcome of (team, key), if any.
func (s *IdempotencyStore) Get(ctx context.Context, teamID, key string) (commands.IdempotencyRecord, bool, error) {
	var r commands.IdempotencyRecord
	err := s.db.QueryRowContext(ctx, `SELECT command, fingerprint, result FROM idempotency WHERE team_id = ? AND key = ?`,
		teamID, key).Scan(&r.Command, &r.Fingerprint, &r.Result)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

// Put remembers an outcome; the first outcome of a key wins.
func (s *IdempotencyStore) Put(ctx context.Context, teamID, key string, r commands.IdempotencyRecord) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO idempotency (team_id, key, command, fingerprint, result) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (team_id, key) DO NOTHING`, teamID, key, r.Command, r.Fingerprint, r.Result)
	return err
}

// Close closes the file.
func (s *IdempotencyStore) Close() error { return s.db.Close() }
