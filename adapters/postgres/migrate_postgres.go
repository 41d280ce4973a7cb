package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/jackc/pgx/v5"
)

//go:embed migrate_postgres.sql
var pgMigrateSQL string

var pgMigrateQueries = pgQueries(pgParseQueries("migrate_postgres.sql", pgMigrateSQL))

//go:embed migrations/*.up.sql
var pgMigrationsFS embed.FS

// pgMigrationFiles are the migrations this binary applies.
var pgMigrationFiles = func() fs.FS {
	sub, err := fs.Sub(pgMigrationsFS, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}()

// pgStartupWait is how long Migrate waits for an unreachable server (a database container
// that starts with the application) before giving up.
const pgStartupWait = 30 * time.Second

// pgMigration is one numbered file of migrations/.
type pgMigration struct {
	Version int
	Name    string
	SQL     string
}

var pgMigrationName = regexp.MustCompile(`^([0-9]{3,})_([a-z0-9_]+)\.up\.sql$`)

// pgLoadMigrations reads NNN_name.up.sql files in version order.
func pgLoadMigrations(fsys fs.FS) ([]pgMigration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("postgres: read migrations: %w", err)
	}
	var out []pgMigration
	for _, e := range entries {
		m := pgMigrationName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("postgres: migration file %q is not named NNN_name.up.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("postgres: read migration %s: %w", e.Name(), err)
		}
		out = append(out, pgMigration{Version: v, Name: m[2], SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b pgMigration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("postgres: two migrations have version %d (%s and %s)", out[i].Version, out[i-1].Name, out[i].Name)
		}
	}
	return out, nil
}

// Migrate applies the pending migrations to the database at url (in the schema of
// WithSchema, created if missing), in version order, recording each in schema_migrations.
// It runs in one transaction under an advisory lock: concurrent processes do not race, and a
// failing migration leaves the schema as it was. OpenReadModel and the other Open functions
// call it; `switchboard migrate` runs it alone. An unreachable server is retried for a while,
// within ctx.
func Migrate(ctx context.Context, url string, opts ...Option) error {
	o, err := pgBuildOptions(opts)
	if err != nil {
		return err
	}
	return pgMigrate(ctx, url, o, pgMigrationFiles)
}

func pgMigrate(ctx context.Context, url string, o pgOptions, fsys fs.FS) error {
	migrations, err := pgLoadMigrations(fsys)
	if err != nil {
		return err
	}
	cfg, err := pgConnConfig(url, o)
	if err != nil {
		return err
	}
	log := o.logger
	if o.schema != "" {
		log = log.With("schema", o.schema)
	}
	conn, err := backoff.Retry(ctx, func() (*pgx.Conn, error) {
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil && !pgConnLost(err) {
			return nil, backoff.Permanent(err) // bad password, unknown database: waiting won't help
		}
		return c, err
	}, backoff.WithMaxElapsedTime(pgStartupWait), backoff.WithNotify(func(err error, wait time.Duration) {
		log.Warn("PostgreSQL unreachable, retrying", "retry_in", wait, "error", err)
	}))
	if err != nil {
		return fmt.Errorf("postgres: migrate: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var schema any
		if o.schema != "" {
			schema = o.schema
		}
		if _, err := tx.Exec(ctx, pgMigrateQueries.get("migrate-lock"), schema); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if o.schema != "" {
			q := strings.ReplaceAll(pgMigrateQueries.get("migrate-create-schema"), "{{schema}}", pgx.Identifier{o.schema}.Sanitize())
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("create schema %s: %w", o.schema, err)
			}
		}
		if _, err := tx.Exec(ctx, pgMigrateQueries.get("migrate-create-table")); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		rows, _ := tx.Query(ctx, pgMigrateQueries.get("migrate-applied"))
		applied := map[int]string{}
		var version int
		var name string
		_, err := pgx.ForEachRow(rows, []any{&version, &name}, func() error {
			applied[version] = name
			return nil
		})
		if err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		known := map[int]bool{}
		for _, m := range migrations {
			known[m.Version] = true
			if _, ok := applied[m.Version]; ok {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("apply %03d_%s: %w", m.Version, m.Name, err)
			}
			if _, err := tx.Exec(ctx, pgMigrateQueries.get("migrate-record"), m.Version, m.Name); err != nil {
				return fmt.Errorf("record %03d_%s: %w", m.Version, m.Name, err)
			}
			log.Info("applied PostgreSQL migration", "version", m.Version, "name", m.Name)
		}
		for v, n := range applied {
			if !known[v] {
				// A newer binary ran first (a rolling deploy): its migrations only add.
				log.Warn("PostgreSQL schema has a migration this binary does not know", "version", v, "name", n)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}
