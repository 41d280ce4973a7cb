package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The connect flows' one-time states and the token refresh leases live beside the
// credentials: they hold secrets of the same kind, sealed with the same box, and every process
// shares them (a flow started on one API node ends on another; one process refreshes a token).

func connectAAD(id string) []byte { return []byte("connect-state\x00" + id) }

// PutConnectState stores a connect flow's sealed details under id until expires.
func (s *CredentialStore) PutConnectState(ctx context.Context, id string, data []byte, expires time.Time) error {
	sealed, err := s.box.Seal(data, connectAAD(id))
	if err != nil {
		return fmt.Errorf("put connect state: %w", err)
	}
	if _, err := s.pool.Exec(ctx, pgCred.get("cs-sweep")); err != nil {
		return fmt.Errorf("sweep connect states: %w", err)
	}
	if _, err := s.pool.Exec(ctx, pgCred.get("cs-put"), id, sealed, expires); err != nil {
		return fmt.Errorf("put connect state: %w", err)
	}
	return nil
}

// TakeConnectState removes and returns a state that has not expired: one caller gets it.
func (s *CredentialStore) TakeConnectState(ctx context.Context, id string, now time.Time) ([]byte, bool, error) {
	var sealed []byte
	var exp time.Time
	err := s.pool.QueryRow(ctx, pgCred.get("cs-take"), id).Scan(&sealed, &exp)
	return s.openState(id, sealed, exp, now, err)
}

// GetConnectState returns a state that has not expired, leaving it in place.
func (s *CredentialStore) GetConnectState(ctx context.Context, id string, now time.Time) ([]byte, bool, error) {
	var sealed []byte
	var exp time.Time
	err := pgRetryConn(ctx, s.pool, func() error {
		return s.pool.QueryRow(ctx, pgCred.get("cs-get"), id).Scan(&sealed, &exp)
	})
	return s.openState(id, sealed, exp, now, err)
}

func (s *CredentialStore) openState(id string, sealed []byte, exp, now time.Time, err error) ([]byte, bool, error) {
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("connect state: %w", err)
	}
	if now.After(exp) {
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
	err := s.pool.QueryRow(ctx, pgCred.get("lease-claim"), accountLinkID, holder, until, now).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim token refresh of account link %s: %w", accountLinkID, err)
	}
	return got == holder, nil
}
