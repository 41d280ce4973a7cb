package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"time"
)

//go:embed poll_cursor_store_sqlite.sql
var pcSchema string

// PollCursorStore keeps each account link's poll cursor in a SQLite file
// (scheduler.CursorStore), so polling resumes where it stopped after a restart.
type PollCursorStore struct{ db *sql.DB }

// OpenPollCursorStore opens (creating if needed) the cursor store in the SQLite file at path.
func OpenPollCursorStore(path string) (*PollCursorStore, error) {
	db, err := openDB(path, pcSchema)
	if err != nil {
		return nil, err
	}
	return &PollCursorStore{db: db}, nil
}

// Get returns the link's cursor, "" when none is stored.
func (s *PollCursorStore) Get(ctx context.Context, accountLinkID string) (string, error) {
	var c string
	err := s.db.QueryRowContext(ctx, `SELECT cursor FROM poll_cursors WHERE account_link_id = ?`, accountLinkID).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get poll cursor of account link %s: %w", accountLinkID, err)
	}
	return c, nil
}

// Put replaces the link's cursor; it is on disk when Put returns.
func (s *PollCursorStore) Put(ctx context.Context, accountLinkID, cursor string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO poll_cursors (account_link_id, cursor, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (account_link_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`,
		accountLinkID, cursor, time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("put poll cursor of account link %s: %w", accountLinkID, err)
	}
	return nil
}

// Close closes the file.
func (s *PollCursorStore) Close() error { return s.db.Close() }
