package postgres

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-oss/switchboard/commands"
)

//go:embed idempotency_store_postgres.sql
var pgIdempotencySQL string

var pgIdem = pgQueries(pgParseQueries("idempotency_store_postgres.sql", pgIdempotencySQL))

// IdempotencyStore remembers the outcome of commands issued with an idempotency key, shared by
// every API process: a retry, to whichever process, returns the first outcome instead of
// applying the command again.
type IdempotencyStore struct{ pool *pgxpool.Pool }

var _ commands.Idempotency = (*IdempotencyStore)(nil)

// OpenIdempotencyStore applies pending migrations (see Migrate) and opens the store in the
// database at url.
func OpenIdempotencyStore(ctx context.Context, url string, opts ...Option) (*IdempotencyStore, error) {
	pool, _, err := pgOpenPool(ctx, url, opts)
	if err != nil {
		return nil, fmt.Errorf("idempotency store: %w", err)
	}
	return &IdempotencyStore{pool: pool}, nil
}

// Get returns the remembered outcome of (team, key), if any.
func (s *IdempotencyStore) Get(ctx context.Context, teamID, key string) (commands.IdempotencyRecord, bool, error) {
	var r commands.IdempotencyRecord
	err := pgRetryConn(ctx, s.pool, func() error {
		return s.pool.QueryRow(ctx, pgIdem.get("idem-get"), teamID, key).Scan(&r.Command, &r.Fingerprint, &r.Result)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return commands.IdempotencyRecord{}, false, nil
	}
	if err != nil {
		return commands.IdempotencyRecord{}, false, fmt.Errorf("idempotency store: get: %w", err)
	}
	return r, true, nil
}

// Put remembers an outcome; the first outcome of a key wins.
func (s *IdempotencyStore) Put(ctx context.Context, teamID, key string, r commands.IdempotencyRecord) error {
	result := r.Result
	if result == nil {
		result = []byte{} // the column is NOT NULL; an empty result is still an outcome
	}
	if _, err := s.pool.Exec(ctx, pgIdem.get("idem-put"), teamID, key, r.Command, r.Fingerprint, result); err != nil {
		return fmt.Errorf("idempotency store: put: %w", err)
	}
	return nil
}

// Close closes the pool.
func (s *IdempotencyStore) Close() error {
	s.pool.Close()
	return nil
}
