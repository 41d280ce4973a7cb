// Package testenv gives tests the engines of the at-scale mode: a fresh PostgreSQL schema on
// the machine's PostgreSQL and an in-process Kafka cluster (kfake, the real wire protocol).
// Only tests import it.
package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/switchboard-oss/switchboard/domain"
)

// DefaultPostgresURL is used when SWITCHBOARD_TEST_POSTGRES_URL is not set.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var reach struct {
	once sync.Once
	url  string
	err  error
}

// PostgresURL returns the test PostgreSQL's URL, or skips the test with a loud SKIP line when
// it is unreachable — and fails it instead under CI=true.
func PostgresURL(t testing.TB) string {
	t.Helper()
	reach.once.Do(func() {
		reach.url = os.Getenv("SWITCHBOARD_TEST_POSTGRES_URL")
		if reach.url == "" {
			reach.url = DefaultPostgresURL
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, reach.url)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		reach.err = err
		if err != nil {
			fmt.Fprintln(os.Stderr, skipMessage(reach.url, err))
		}
	})
	if reach.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(skipMessage(reach.url, reach.err))
		}
		t.Skip(skipMessage(reach.url, reach.err))
	}
	return reach.url
}

func skipMessage(u string, err error) string {
	shown := "SWITCHBOARD_TEST_POSTGRES_URL"
	if p, perr := url.Parse(u); perr == nil {
		shown = p.Redacted()
	}
	return fmt.Sprintf("SKIP: PostgreSQL unreachable at %s: %v — PostgreSQL tests NOT run", shown, err)
}

// PostgresSchema creates a fresh schema, dropped when the test ends, and returns a URL whose
// connections use it (search_path), so tests and processes can run side by side.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	schema := "t_" + domain.NewID("")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("SWITCHBOARD_TEST_POSTGRES_URL is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Kafka starts an in-process Kafka cluster for the test and returns its brokers, comma-separated.
// Short group sessions let consumer groups form and dissolve quickly.
func Kafka(t testing.TB, opts ...kfake.Opt) (*kfake.Cluster, string) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{
		kfake.NumBrokers(1),
		kfake.GroupMinSessionTimeout(500 * time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, strings.Join(c.ListenAddrs(), ",")
}

// KafkaGroupTiming is consumer-group timing fit for tests: a few seconds, not a minute.
const (
	SessionTimeout    = 3 * time.Second
	HeartbeatInterval = 300 * time.Millisecond
	RebalanceTimeout  = 3 * time.Second
)
