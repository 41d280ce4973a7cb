package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/switchboard-oss/switchboard/adapters/kafka"
	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/server"
)

const (
	modeEmbedded = "embedded"
	modeScale    = "kafka+postgres"
)

// env is one mode's engines and the Switchboard process that runs on them.
type env struct {
	mode   string
	dir    string
	pgBase string // the PostgreSQL server (kafka+postgres mode)
	logger *slog.Logger

	cfg     server.Config
	srv     *server.Server
	kfake   *kfake.Cluster
	schemas []string // created here, dropped by close
	graph   *httptest.Server
}

// newEnv prepares a mode's engines: nothing for embedded; an in-process Kafka cluster (kfake,
// the real wire protocol) and a fresh PostgreSQL schema for kafka+postgres.
func newEnv(ctx context.Context, mode, dir, pgBase string, logger *slog.Logger) (*env, error) {
	e := &env{mode: mode, dir: dir, pgBase: pgBase, logger: logger}
	// Messenger prospects arrive as bare ids; the profile fetcher asks the Graph API for their
	// names. A local Graph stand-in keeps that work in the run without leaving the machine.
	e.graph = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := filepath.Base(r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"id": id, "first_name": "Guest", "last_name": id[max(0, len(id)-4):]})
	}))
	// One secret for the whole run: the rebuild phase starts over on a new database and data
	// folder, and API keys (hashed under it) and credentials (sealed with it) must keep working,
	// as they do for an operator who sets SWITCHBOARD_SECRET_KEY.
	e.cfg = server.Config{DataDir: filepath.Join(dir, "data"), Listen: "127.0.0.1:0", BootstrapKey: adminKey,
		SecretKey: "6265e7163a3a6b3e19d4d2b6e8d5c0a17f9b2c4d6e8f0a1b3c5d7e9f1a2b3c4d",
		Roles:     []string{server.RoleAPI, server.RoleIngest, server.RoleProjector}, ShutdownTimeout: 30 * time.Second,
		CatchUpTimeout: time.Hour, PlatformBaseURLs: platforms.BaseURLs{"messenger": e.graph.URL}}
	if mode == modeScale {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(500*time.Millisecond))
		if err != nil {
			e.close()
			return nil, fmt.Errorf("kfake: %w", err)
		}
		e.kfake = c
		e.cfg.Kafka = kafkaConfig(strings.Join(c.ListenAddrs(), ","))
		u, err := e.newSchema(ctx)
		if err != nil {
			e.close()
			return nil, err
		}
		e.cfg.PostgresURL = u
	}
	return e, nil
}

func kafkaConfig(brokers string) server.KafkaConfig {
	return server.KafkaConfig{Brokers: brokers, Topic: "switchboard.events", Partitions: 6,
		SessionTimeout: 3 * time.Second, HeartbeatInterval: 300 * time.Millisecond, RebalanceTimeout: 3 * time.Second,
		Tune: func(c *kafka.Config) { c.RetryInitial, c.RetryMax = 5*time.Millisecond, 100*time.Millisecond }}
}

// newSchema creates an empty PostgreSQL schema and returns a URL whose connections use it.
func (e *env) newSchema(ctx context.Context) (string, error) {
	schema := "bench_" + domain.NewID("")
	conn, err := pgx.Connect(ctx, e.pgBase)
	if err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	e.schemas = append(e.schemas, schema)
	u, err := url.Parse(e.pgBase)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// start starts Switchboard on the env's configuration and reports how long it took (with an
// emptied read model or index, that is the rebuild).
func (e *env) start(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	s, err := server.Start(ctx, e.cfg, e.logger)
	if err != nil {
		return 0, fmt.Errorf("starting switchboard: %w", err)
	}
	e.srv = s
	// Restarts keep the address, so clients made before a restart still reach the server.
	e.cfg.Listen = s.Addr
	return time.Since(t0), nil
}

func (e *env) base() string { return "http://" + e.srv.Addr }

func (e *env) stop() {
	if e.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.logger.Warn("shutdown", "err", err)
	}
	e.srv = nil
}

func (e *env) close() {
	e.stop()
	if e.kfake != nil {
		e.kfake.Close()
	}
	if e.graph != nil {
		e.graph.Close()
	}
	if len(e.schemas) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if conn, err := pgx.Connect(ctx, e.pgBase); err == nil {
			for _, s := range e.schemas {
				_, _ = conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{s}.Sanitize()+" CASCADE")
			}
			conn.Close(ctx)
		}
	}
}

// postgresReachable says whether the benchmark can run the kafka+postgres mode.
func postgresReachable(ctx context.Context, u string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func stderrLogger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
