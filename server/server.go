// Package server wires one Switchboard process from its configuration: the event log, the
// read model, the projectors and the API. It holds no rule of its own.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchboard-oss/switchboard/adapters/bleve"
	"github.com/switchboard-oss/switchboard/adapters/connectrpc"
	"github.com/switchboard-oss/switchboard/adapters/secretbox"
	"github.com/switchboard-oss/switchboard/adapters/sqlite"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
	"github.com/switchboard-oss/switchboard/search"
)

// Config is one process's configuration. Every field has a flag and an env twin (see cmd).
type Config struct {
	DataDir          string
	Listen           string
	Roles            []string // api, ingest, projector
	CORSOrigins      []string
	BootstrapKey     string // SWITCHBOARD_BOOTSTRAP_KEY
	SecretKey        string // SWITCHBOARD_SECRET_KEY
	KafkaBrokers     string
	PostgresURL      string
	ElasticsearchURL string
	ShutdownTimeout  time.Duration
}

// Roles a process can take.
const (
	RoleAPI       = "api"
	RoleIngest    = "ingest"
	RoleProjector = "projector"
)

func (c Config) has(role string) bool {
	for _, r := range c.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Validate names the first bad setting.
func (c Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("--data-dir: must not be empty")
	}
	if len(c.Roles) == 0 {
		return errors.New("--roles: at least one of api, ingest, projector")
	}
	for _, r := range c.Roles {
		if r != RoleAPI && r != RoleIngest && r != RoleProjector {
			return fmt.Errorf("--roles: unknown role %q (want api, ingest, projector)", r)
		}
	}
	if !c.has(RoleProjector) {
		return errors.New("--roles: the embedded read model needs the projector role in the same process")
	}
	for flag, v := range map[string]string{"--kafka-brokers": c.KafkaBrokers, "--postgres-url": c.PostgresURL, "--elasticsearch-url": c.ElasticsearchURL} {
		if v != "" {
			return fmt.Errorf("%s: this build runs the embedded engines only; that engine's adapter is not available yet", flag)
		}
	}
	return nil
}

// Server is a running process.
type Server struct {
	cfg    Config
	logger *slog.Logger
	// Addr is the address the API listens on, once started.
	Addr string

	log       eventlog.Log
	closers   []func() error
	projector *projections.Projector
	searcher  *search.Projector
	httpSrv   *http.Server
	listener  net.Listener
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// Start opens the engines, starts the projector, bootstraps the first team if needed and
// starts listening. It returns once the API accepts calls.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, logger: logger}
	defer func() {
		if err != nil {
			s.closeAll()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	key, err := secretbox.LoadKey(cfg.SecretKey, filepath.Join(cfg.DataDir, "secret.key"))
	if err != nil {
		return nil, err
	}
	box, err := secretbox.New(key)
	if err != nil {
		return nil, err
	}

	log, err := sqlite.OpenEventLog(filepath.Join(cfg.DataDir, "events.db"))
	if err != nil {
		return nil, fmt.Errorf("event log: %w", err)
	}
	s.closers = append(s.closers, log.Close)
	s.log = log
	rm, err := sqlite.OpenReadModel(filepath.Join(cfg.DataDir, "readmodel.db"))
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	s.closers = append(s.closers, rm.Close)
	creds, err := sqlite.OpenCredentialStore(filepath.Join(cfg.DataDir, "credentials.db"), box)
	if err != nil {
		return nil, fmt.Errorf("credential store: %w", err)
	}
	s.closers = append(s.closers, creds.Close)
	idem, err := sqlite.OpenIdempotencyStore(filepath.Join(cfg.DataDir, "idempotency.db"))
	if err != nil {
		return nil, fmt.Errorf("idempotency store: %w", err)
	}
	s.closers = append(s.closers, idem.Close)
	idx, err := bleve.Open(filepath.Join(cfg.DataDir, "search.bleve"))
	if err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	s.closers = append(s.closers, idx.Close)

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.projector = projections.NewProjector(log, rm, logger)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.projector.Run(runCtx); err != nil && runCtx.Err() == nil {
			logger.Error("projector stopped", "err", err)
		}
	}()
	s.searcher = search.NewProjector(log, idx, logger)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.searcher.Run(runCtx); err != nil && runCtx.Err() == nil {
			logger.Error("search projector stopped", "err", err)
		}
	}()

	app := commands.NewApp(commands.Deps{Log: log, State: rm, Credentials: creds, Idempotency: idem,
		Consistency: s.projector, Logger: logger})

	// The read model must hold the whole log before anyone reads it or before we decide that
	// no key exists: after a rebuild it starts empty.
	head, err := log.Head(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.projector.WaitFor(ctx, head); err != nil {
		return nil, fmt.Errorf("catching up the read model: %w", err)
	}
	if err := s.searcher.WaitFor(ctx, head); err != nil {
		return nil, fmt.Errorf("catching up the search index: %w", err)
	}
	if err := s.bootstrap(ctx, app, rm); err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	handler := connectrpc.NewHandler(connectrpc.Deps{App: app, Reader: rm, Log: log, Search: idx, Logger: logger}, connectrpc.ServerOptions{
		Checks: []connectrpc.Check{{Name: "event_log", Ping: log.Ping}, {Name: "read_model", Ping: rm.Ping},
			{Name: "search_index", Ping: idx.Ping}},
		CORSOrigins: cfg.CORSOrigins,
		Registry:    reg,
	})
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	s.listener = lis
	s.Addr = lis.Addr().String()
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // h2c: gRPC without TLS on the same port
	s.httpSrv = &http.Server{Handler: handler, Protocols: &protocols, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.httpSrv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http server stopped", "err", err)
		}
	}()
	logger.Info("switchboard listening", "addr", s.Addr, "data_dir", cfg.DataDir, "roles", strings.Join(cfg.Roles, ","))
	return s, nil
}

// bootstrap creates team "default" and the instance admin key on the first start. The key is
// SWITCHBOARD_BOOTSTRAP_KEY, or one generated and saved to <data-dir>/admin.key BEFORE it is
// recorded, so a crash in between cannot lock the operator out.
func (s *Server) bootstrap(ctx context.Context, app commands.App, keys interface {
	CountAPIKeys(context.Context) (int, error)
}) error {
	key := s.cfg.BootstrapKey
	path := filepath.Join(s.cfg.DataDir, "admin.key")
	generated := false
	if key == "" {
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			key = strings.TrimSpace(string(b))
		case errors.Is(err, os.ErrNotExist):
			key, generated = commands.NewAPIKey(), true
		default:
			return fmt.Errorf("reading %s: %w", path, err)
		}
	}
	if generated {
		// Only written when no key exists yet; checked first so a restart never rewrites it.
		n, err := keys.CountAPIKeys(ctx)
		if err != nil || n > 0 {
			return err
		}
		if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	r, err := app.Bootstrap.Handle(ctx, commands.Bootstrap{Key: key})
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if r.Created {
		where := "SWITCHBOARD_BOOTSTRAP_KEY"
		if s.cfg.BootstrapKey == "" {
			where = path
		}
		s.logger.Info("created team default with an owner and the instance admin key", "team_id", r.TeamID, "key_in", where)
	}
	return nil
}

// EventLog is the process's event log, for tools and tests that inspect what was appended.
func (s *Server) EventLog() eventlog.Log { return s.log }

// Shutdown stops accepting calls, lets running ones finish, then stops the projector and
// closes the engines.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	if s.httpSrv != nil {
		err = s.httpSrv.Shutdown(ctx)
	}
	s.closeAll()
	return err
}

func (s *Server) closeAll() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			s.logger.Warn("close", "err", err)
		}
	}
	s.closers = nil
}
