package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The read model can be rebuilt into a schema of its own beside the serving one (blue/green):
// readmodel_active, in the connection's own schema, records which schema serves, so every
// process follows a swap. No row: the connection's own schema serves.
const (
	pgActiveCreate = `CREATE TABLE IF NOT EXISTS readmodel_active (
	id         boolean PRIMARY KEY DEFAULT true CHECK (id),
	schema     text NOT NULL,
	changed_at timestamptz NOT NULL DEFAULT now()
)`
	pgActiveGet = `SELECT schema FROM readmodel_active`
	pgActiveSet = `INSERT INTO readmodel_active (id, schema, changed_at) VALUES (true, $1, now())
	ON CONFLICT (id) DO UPDATE SET schema = excluded.schema, changed_at = excluded.changed_at`
)

// pgConnect opens one connection to url (its own search_path).
func pgConnect(ctx context.Context, url string, opts []Option) (*pgx.Conn, error) {
	o, err := pgBuildOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := pgConnConfig(url, o)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", pgRedact(err))
	}
	return conn, nil
}

// ReadModelSchemas returns the connection's own schema and the schema whose read model serves
// ("" when it is the connection's own).
func ReadModelSchemas(ctx context.Context, url string, opts ...Option) (own, active string, err error) {
	conn, err := pgConnect(ctx, url, opts)
	if err != nil {
		return "", "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&own); err != nil {
		return "", "", fmt.Errorf("postgres: current schema: %w", err)
	}
	if _, err := conn.Exec(ctx, pgActiveCreate); err != nil {
		return "", "", fmt.Errorf("postgres: create readmodel_active: %w", err)
	}
	err = conn.QueryRow(ctx, pgActiveGet).Scan(&active)
	if errors.Is(err, pgx.ErrNoRows) {
		return own, "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("postgres: read readmodel_active: %w", err)
	}
	if active == own {
		active = ""
	}
	return own, active, nil
}

// SetActiveReadModelSchema records schema as the one whose read model serves ("" or the
// connection's own schema: that one).
func SetActiveReadModelSchema(ctx context.Context, url, schema string, opts ...Option) error {
	conn, err := pgConnect(ctx, url, opts)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if schema == "" {
		if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return fmt.Errorf("postgres: current schema: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, pgActiveCreate); err != nil {
		return fmt.Errorf("postgres: create readmodel_active: %w", err)
	}
	if _, err := conn.Exec(ctx, pgActiveSet, schema); err != nil {
		return fmt.Errorf("postgres: record the serving read model: %w", err)
	}
	return nil
}

// DropReadModelSchema drops a read model schema a rebuild replaced (or left unfinished). The
// connection's own schema is never dropped: its read model tables are emptied instead, since
// credentials and the other stores live beside them.
func DropReadModelSchema(ctx context.Context, url, schema string, opts ...Option) error {
	conn, err := pgConnect(ctx, url, opts)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var own string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&own); err != nil {
		return fmt.Errorf("postgres: current schema: %w", err)
	}
	if schema == "" || schema == own {
		return nil
	}
	if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
		return fmt.Errorf("postgres: drop schema %s: %w", schema, err)
	}
	return nil
}

// Versions lists the projection versions the read model holds a checkpoint of
// (projections.VersionLister): a read model built by another version of the code keeps
// serving while the current version is built beside it.
func (s *ReadModel) Versions(ctx context.Context) ([]string, error) {
	var out []string
	err := pgRetryConn(ctx, s.pool, func() error {
		out = nil
		rows, err := s.pool.Query(ctx, `SELECT projection FROM checkpoints ORDER BY projection`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read model: versions: %w", err)
	}
	return out, nil
}
