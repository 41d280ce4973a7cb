package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/secretbox"
)

//go:embed credential_store_sqlite.sql
var credentialSchema string

// CredentialStore keeps each account link's platform credentials, sealed with a secretbox.
// Credentials never enter an event or a log line: errors name the link, never a value.
type CredentialStore struct {
	db  *sql.DB
	box *secretbox.Box
}

// OpenCredentialStore opens (creating if needed) the credential store in the SQLite file at
// path, sealing with box.
func OpenCredentialStore(path string, box *secretbox.Box) (*CredentialStore, error) {
	if box == nil {
		return nil, errors.New("sqlite: credential store needs a secret box")
	}
	db, err := openDB(path, credentialSchema)
	if err != nil {
		return nil, err
	}
	return &CredentialStore{db: db, box: box}, nil
}

// Put replaces the link's credentials; an empty map removes them.
func (s *CredentialStore) Put(ctx context.Context, teamID, accountLinkID string, creds map[string]string) error {
	if teamID == "" || accountLinkID == "" {
		return errors.New("put credentials: team and account link required")
	}
	if len(creds) == 0 {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM credentials WHERE team_id = ? AND account_link_id = ?`, teamID, accountLinkID); err != nil {
			return fmt.Errorf("delete credentials of account link %s: %w", accountLinkID, err)
		}
		return nil
	}
	sealed, err := s.box.SealCredentials(teamID, accountLinkID, creds)
	if err != nil {
		return fmt.Errorf("put credentials of account link %s: %w", accountLinkID, err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO credentials (team_id, account_link_id, sealed, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (team_id, account_link_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`,
		teamID, accountLinkID, sealed, time.Now().UnixNano())
	if err != nil {
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
	err := s.db.QueryRowContext(ctx, `SELECT sealed FROM credentials WHERE team_id = ? AND account_link_id = ?`, teamID, accountLinkID).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get credentials of account link %s: %w", accountLinkID, err)
	}
	return s.box.OpenCredentials(teamID, accountLinkID, sealed)
}

// Close closes the file.
func (s *CredentialStore) Close() error { return s.db.Close() }
