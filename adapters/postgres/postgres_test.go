package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
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

// pgProxy forwards TCP connections to PostgreSQL and can play an unreachable server: while
// down it cuts every connection and refuses new ones (accepts and closes them at once).
type pgProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// pgStartProxy starts a proxy to the test server and returns it with the URL that goes
// through it.
func pgStartProxy(t testing.TB) (*pgProxy, string) {
	t.Helper()
	u := pgTestURL(t)
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" {
		t.Skipf("SWITCHBOARD_TEST_POSTGRES_URL is not a URL; this test needs one")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &pgProxy{ln: ln, target: net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), conns: map[net.Conn]bool{}}
	px.wg.Add(1)
	go px.serve()
	t.Cleanup(px.close)
	p.Host = ln.Addr().String()
	return px, p.String()
}

func (px *pgProxy) serve() {
	defer px.wg.Done()
	for {
		c, err := px.ln.Accept()
		if err != nil {
			return
		}
		px.mu.Lock()
		down := px.down
		px.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		px.wg.Add(1)
		go func() {
			defer px.wg.Done()
			px.pipe(c)
		}()
	}
}

func (px *pgProxy) pipe(client net.Conn) {
	server, err := net.DialTimeout("tcp", px.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	px.mu.Lock()
	if px.down {
		px.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	px.conns[client], px.conns[server] = true, true
	px.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(server, client); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, server); done <- struct{}{} }()
	<-done
	client.Close()
	server.Close()
	<-done
	px.mu.Lock()
	delete(px.conns, client)
	delete(px.conns, server)
	px.mu.Unlock()
}

// setDown makes the server unreachable (true) or reachable again (false).
func (px *pgProxy) setDown(down bool) {
	px.mu.Lock()
	defer px.mu.Unlock()
	px.down = down
	if down {
		for c := range px.conns {
			c.Close()
		}
	}
}

func (px *pgProxy) close() {
	px.ln.Close()
	px.setDown(true)
	px.wg.Wait()
}
