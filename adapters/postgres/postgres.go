// Package postgres holds the adapters on PostgreSQL, through jackc/pgx/v5: the read model
// (projections.Store) and the stores that several API processes share (credentials,
// idempotency). The schema is built by numbered migrations embedded in the binary (Migrate);
// SQL lives in the .sql files beside the code that runs it.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Option tunes an adapter of this package.
type Option func(*pgOptions)

type pgOptions struct {
	schema string
	logger *slog.Logger
}

// WithSchema keeps every table in the named schema, created if missing: it is set as the
// search_path of every connection. Tests use it to get a fresh schema each; deployments can
// use it to share a database. The default is the connection's own search_path.
func WithSchema(name string) Option {
	return func(o *pgOptions) { o.schema = name }
}

// WithLogger sets the logger (default slog.Default()). It never receives a URL or a secret.
func WithLogger(l *slog.Logger) Option {
	return func(o *pgOptions) {
		if l != nil {
			o.logger = l
		}
	}
}

// pgDefaultConnectTimeout bounds a connection attempt when the URL sets no connect_timeout,
// so an unreachable server fails a query instead of hanging it until the caller's deadline.
const pgDefaultConnectTimeout = 5 * time.Second

func pgBuildOptions(opts []Option) (pgOptions, error) {
	o := pgOptions{logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	if o.schema != "" && (len(o.schema) > 63 || strings.ContainsRune(o.schema, 0)) {
		return o, fmt.Errorf("postgres: schema name %q is not a valid identifier (at most 63 bytes, no NUL)", o.schema)
	}
	return o, nil
}

// pgConnConfig parses url and applies the options every connection shares. Errors never quote
// the URL, which may hold a password.
func pgConnConfig(url string, o pgOptions) (*pgx.ConnConfig, error) {
	if url == "" {
		return nil, errors.New("postgres: empty URL")
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: invalid URL: %w", pgRedact(err))
	}
	pgTune(cfg, o)
	return cfg, nil
}

func pgTune(cfg *pgx.ConnConfig, o pgOptions) {
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = pgDefaultConnectTimeout
	}
	if o.schema != "" {
		// A startup parameter, not a SET: every connection the pool opens has it, with no
		// extra round trip and no way for a connection to miss it.
		cfg.RuntimeParams["search_path"] = pgx.Identifier{o.schema}.Sanitize()
	}
}

// pgOpenPool migrates the schema, then opens a pool on it.
func pgOpenPool(ctx context.Context, url string, opts []Option) (*pgxpool.Pool, pgOptions, error) {
	o, err := pgBuildOptions(opts)
	if err != nil {
		return nil, o, err
	}
	if err := pgMigrate(ctx, url, o, pgMigrationFiles); err != nil {
		return nil, o, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, o, fmt.Errorf("postgres: invalid URL: %w", pgRedact(err))
	}
	pgTune(cfg.ConnConfig, o)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, o, fmt.Errorf("postgres: open pool: %w", err)
	}
	return pool, o, nil
}

// pgRedact keeps an error's kind but drops its text when it may quote the connection string.
func pgRedact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		// pgconn already masks the password; the remaining text is the connection string
		// itself, which has no place in logs either.
		return errors.New("malformed connection string")
	}
	return err
}

// pgConnLost reports whether err means the connection to the server failed (rather than the
// statement), so the same read can be tried again on another connection.
func pgConnLost(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: the server is shutting down or
		// terminated this backend (pg_terminate_backend), or is not accepting connections yet.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// pgRetryConn runs op (a read, or a BEGIN: anything safe to repeat) once more when its
// connection turned out to be dead. A server restart, failover or pg_terminate_backend kills
// every connection of the pool at once, and they look idle and healthy until used: so the
// pool is emptied first (connections in use are closed when released), and the retry gets a
// fresh connection.
func pgRetryConn(ctx context.Context, pool *pgxpool.Pool, op func() error) error {
	err := op()
	if pgConnLost(err) && ctx.Err() == nil {
		pool.Reset()
		err = op()
	}
	return err
}

// pgParseQueries reads named queries from a .sql file: each starts at a line
// "-- name: <name>" and runs to the next one. Other comment lines are dropped.
func pgParseQueries(file, text string) map[string]string {
	out := map[string]string{}
	var name string
	var b strings.Builder
	flush := func() {
		if name != "" {
			out[name] = strings.TrimSuffix(strings.TrimSpace(b.String()), ";")
		}
		b.Reset()
	}
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if n, ok := strings.CutPrefix(trimmed, "-- name:"); ok {
			flush()
			name = strings.TrimSpace(n)
			if _, dup := out[name]; dup {
				panic(fmt.Sprintf("postgres: %s: query %q defined twice", file, name))
			}
			continue
		}
		if strings.HasPrefix(trimmed, "--") || trimmed == "" {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	flush()
	return out
}

// pgQueries looks up named queries; a missing one is a programming error found at start-up.
type pgQueries map[string]string

func (q pgQueries) get(name string) string {
	s, ok := q[name]
	if !ok || s == "" {
		panic(fmt.Sprintf("postgres: no query named %q", name))
	}
	return s
}
