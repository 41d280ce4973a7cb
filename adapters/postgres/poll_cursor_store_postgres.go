package postgres

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed poll_cursor_store_postgres.sql
var pcSQL string

var pcQueries = pgQueries(pgParseQueries("poll_cursor_store_postgres.sql", pcSQL))

// PollCursorStore keeps each account link's poll cursor in PostgreSQL
// (scheduler.CursorStore), shared by every ingest process.
type PollCursorStore struct{ pool *pgxpool.Pool }

// OpenPollCursorStore applies pending migrations (see Migrate) and opens the store in the
// database at url.
func OpenPollCursorStore(ctx context.Context, url string, opts ...Option) (*PollCursorStore, error) {
	pool, _, err := pgOpenPool(ctx, url, opts)
	if err != nil {
		return nil, fmt.Errorf("poll cursor store: %w", err)
	}
	return &PollCursorStore{pool: pool}, nil
}

// Get returns the link's cursor, "" when none is stored.
func (s *PollCursorStore) Get(ctx context.Context, accountLinkID string) (string, error) {
	var c string
	err := pgRetryConn(ctx, s.pool, func() error {
		return s.pool.QueryRow(ctx, pcQueries.get("pc-get"), accountLinkID).Scan(&c)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get poll cursor of account link %s: %w", accountLinkID, err)
	}
	return c, nil
}

// Put replaces the link's cursor.
func (s *PollCursorStore) Put(ctx context.Context, accountLinkID, cursor string) error {
	if _, err := s.pool.Exec(ctx, pcQueries.get("pc-put"), accountLinkID, cursor); err != nil {
		return fmt.Errorf("put poll cursor of account link %s: %w", accountLinkID, err)
	}
	return nil
}

// Close closes the pool.
func (s *PollCursorStore) Close() error {
	s.pool.Close()
	return nil
}
