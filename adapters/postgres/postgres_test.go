package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/switchboard-oss/switchboard/internal/testenv"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Tests run against the PostgreSQL at SWITCHBOARD_TEST_POSTGRES_URL, each in a fresh schema.
// Without a server they are skipped loudly, except in CI (CI=true), where they fail.
const pgDefaultTestURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var pgReachable struct {
	once sync.Once
	err  error
}

var pgQuiet = slog.New(slog.DiscardHandler)

func pgTestURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("SWITCHBOARD_TEST_POSTGRES_URL")
	if u == "" {
		u = pgDefaultTestURL
	}
	pgReachable.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, u)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		pgReachable.err = err
		if err != nil {
			fmt.Fprintln(os.Stderr, pgSkipMessage(u, err))
		}
	})
	if err := pgReachable.err; err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(pgSkipMessage(u, err))
		}
		t.Skip(pgSkipMessage(u, err))
	}
	return u
}

func pgSkipMessage(u string, err error) string {
	shown := "the URL in SWITCHBOARD_TEST_POSTGRES_URL"
	if p, perr := url.Parse(u); perr == nil {
		shown = p.Redacted()
	}
	return fmt.Sprintf("SKIP: PostgreSQL unreachable at %s: %v — PostgreSQL tests NOT run", shown, err)
}

// pgAdmin is a connection outside any test schema, for setup and inspection.
func pgAdmin(t testing.TB) *pgx.Conn {
	t.Helper()
	u := pgTestURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// pgTestSchema names a fresh schema (created by Migrate) and drops it when the test ends.
func pgTestSchema(t testing.TB) string {
	t.Helper()
	u := pgTestURL(t)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "rm_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// pgOpenTest opens a read model on a fresh schema of the server at u (the test server unless
// given, e.g. through a proxy).
func pgOpenTest(t testing.TB, u string) (*ReadModel, string) {
	t.Helper()
	if u == "" {
		u = pgTestURL(t)
	}
	schema := pgTestSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := OpenReadModel(ctx, u, WithSchema(schema), WithLogger(pgQuiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, schema
}

// pgWithParam returns u with one more query parameter.
func pgWithParam(t testing.TB, u, key, value string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" {
		t.Skipf("SWITCHBOARD_TEST_POSTGRES_URL is not a URL; this test needs one")
	}
	q := p.Query()
	q.Set(key, value)
	p.RawQuery = q.Encode()
	return p.String()
}

// pgProxy can play the test PostgreSQL unreachable (testenv.Proxy).
type pgProxy = testenv.Proxy

// pgStartProxy starts a proxy to the test server and returns it with the URL that goes
// through it.
func pgStartProxy(t testing.TB) (*pgProxy, string) {
	t.Helper()
	return testenv.PostgresProxy(t, pgTestURL(t))
}
