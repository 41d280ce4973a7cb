package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The connect flows' one-time states and the token refresh leases live in the credential
// store's file: they hold secrets of the same kind (PKCE verifiers, a grant's tokens), sealed
// with the same box.

func connectAAD(id string) []byte { return []byte("connect-state\x00" + id) }

// PutConnectState stores a connect flow's sealed details under id until expires.
func (s *CredentialStore) PutConnectState(ctx context.Context, id string, data []byte, expires time.Time) error {
	sealed, err := s.box.Seal(data, connectAAD(id))
	if err != nil {
		return fmt.Errorf("put connect state: %w", err)
	}
	now := time.Now().UnixNano()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM connect_states WHERE expires_at < ?`, now); err != nil {
		return fmt.Errorf("sweep connect states: %w", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO connect_states (id, sealed, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at`, id, sealed, expires.UnixNano())
	if err != nil {
		return fmt.Errorf("put connect state: %w", err)
	}
	return nil
}

// TakeConnectState removes and returns a state that has not expired: one caller gets it.
func (s *CredentialStore) TakeConnectState(ctx context.Context, id string, now time.Time) ([]byte, bool, error) {
	var sealed []byte
	var exp int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM connect_states WHERE id = ? RETURNING sealed, expires_at`, id).Scan(&sealed, &exp)
	return s.openState(id, sealed, exp, now, err)
}

// GetConnectState returns a state that has not expired, leaving it in place.
func (s *CredentialStore) GetConnectState(ctx context.Context, id string, now time.Time) ([]byte, bool, error) {
	var sealed []byte
	var exp int64
	err := s.db.QueryRowContext(ctx, `SELECT sealed, expires_at FROM connect_states WHERE id = ?`, id).Scan(&sealed, &exp)
	return s.openState(id, sealed, exp, now, err)
}

func (s *CredentialStore) openState(id string, sealed []byte, exp int64, now time.Time, err error) ([]byte, bool, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("connect state: %w", err)
	}
	if now.UnixNano() > exp {
		return nil, false, nil
	}
	data, err := s.box.Open(sealed, connectAAD(id))
	if err != nil {
		return nil, false, fmt.Errorf("connect state: %w", err)
	}
	return data, true, nil
}

// ClaimTokenRefresh gives holder the link's refresh lease until until, unless another holder
// has one that has not ended at now.
func (s *CredentialStore) ClaimTokenRefresh(ctx context.Context, accountLinkID, holder string, until, now time.Time) (bool, error) {
	var got string
	err := s.db.QueryRowContext(ctx, `INSERT INTO token_refresh_leases (account_link_id, holder, until) VALUES (?, ?, ?)
		ON CONFLICT (account_link_id) DO UPDATE SET holder = excluded.holder, until = excluded.until
		WHERE token_refresh_leases.until < ? OR token_refresh_leases.holder = excluded.holder
		RETURNING holder`, accountLinkID, holder, until.UnixNano(), now.UnixNano()).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim token refresh of account link %s: %w", accountLinkID, err)
	}
	return got == holder, nil
}
