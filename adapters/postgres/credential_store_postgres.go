package postgres

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-oss/switchboard/adapters/secretbox"
)

//go:embed credential_store_postgres.sql
var pgCredentialSQL string

var pgCred = pgQueries(pgParseQueries("credential_store_postgres.sql", pgCredentialSQL))

// CredentialStore keeps each account link's platform credentials in PostgreSQL, sealed with a
// secretbox, so every API process shares them. Credentials never enter an event or a log
// line: errors name the link, never a value.
type CredentialStore struct {
	pool *pgxpool.Pool
	box  *secretbox.Box
}

// OpenCredentialStore applies pending migrations (see Migrate) and opens the credential store
// in the database at url, sealing with box.
func OpenCredentialStore(ctx context.Context, url string, box *secretbox.Box, opts ...Option) (*CredentialStore, error) {
	if box == nil {
		return nil, errors.New("postgres: credential store needs a secret box")
	}
	pool, _, err := pgOpenPool(ctx, url, opts)
	if err != nil {
		return nil, fmt.Errorf("credential store: %w", err)
	}
	return &CredentialStore{pool: pool, box: box}, nil
}

// Put replaces the link's credentials; an empty map removes them.
func (s *CredentialStore) Put(ctx context.Context, teamID, accountLinkID string, creds map[string]string) error {
	if teamID == "" || accountLinkID == "" {
		return errors.New("put credentials: team and account link required")
	}
	if len(creds) == 0 {
		if _, err := s.pool.Exec(ctx, pgCred.get("cred-delete"), teamID, accountLinkID); err != nil {
			return fmt.Errorf("delete credentials of account link %s: %w", accountLinkID, err)
		}
		return nil
	}
	sealed, err := s.box.SealCredentials(teamID, accountLinkID, creds)
	if err != nil {
		return fmt.Errorf("put credentials of account link %s: %w", accountLinkID, err)
	}
	if _, err := s.pool.Exec(ctx, pgCred.get("cred-put"), teamID, accountLinkID, sealed); err != nil {
		return fmt.Errorf("put credentials of account link %s: %w", accountLinkID, err)
	}
	return nil
}

// Get returns the link's credentials, an empty map when it has none.
func (s *CredentialStore) Get(ctx context.Context, teamID, accountLinkID string) (map[string]string, error) {
	if teamID == "" || accountLinkID == "" {
		return nil, errors.New("get credentials: team and account link required")
	}
	var sealed []byte
	err := pgRetryConn(ctx, s.pool, func() error {
		return s.pool.QueryRow(ctx, pgCred.get("cred-get"), teamID, accountLinkID).Scan(&sealed)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get credentials of account link %s: %w", accountLinkID, err)
	}
	return s.box.OpenCredentials(teamID, accountLinkID, sealed)
}

// Close closes the pool.
func (s *CredentialStore) Close() error {
	s.pool.Close()
	return nil
}
