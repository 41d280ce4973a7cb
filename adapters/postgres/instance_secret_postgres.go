package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
)

// InstanceSecret returns the deployment's secret of that name, shared by every process that uses
// the database at url: the first to ask creates it (32 random bytes), the others read it. It
// lives outside the event log and the read model, so neither an exported log nor a rebuild
// reveals or changes it.
func InstanceSecret(ctx context.Context, url, name string, opts ...Option) ([]byte, error) {
	pool, _, err := pgOpenPool(ctx, url, opts)
	if err != nil {
		return nil, fmt.Errorf("instance secret: %w", err)
	}
	defer pool.Close()
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, `INSERT INTO instance_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
		return nil, fmt.Errorf("instance secret %s: %w", name, err)
	}
	var v []byte
	if err := pool.QueryRow(ctx, `SELECT value FROM instance_secrets WHERE name = $1`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("instance secret %s: %w", name, err)
	}
	return v, nil
}
