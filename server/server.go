// Package server wires one Switchboard process from its configuration: the event log, the
// read model, the search index, the projectors and the API. It holds no rule of its own.
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

	"github.com/switchboard-oss/switchboard/adapters/connectrpc"
	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/profiles"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler"
	"github.com/switchboard-oss/switchboard/adapters/platforms/sender"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
	"github.com/switchboard-oss/switchboard/search"
)

// Config is one process's configuration. Every field has a flag and an env twin (see cmd).
type Config struct {
	DataDir         string
	Listen          string
	Roles           []string // api, ingest, projector
	CORSOrigins     []string
	BootstrapKey    string // SWITCHBOARD_BOOTSTRAP_KEY
	SecretKey       string // SWITCHBOARD_SECRET_KEY
	PostgresURL     string
	Kafka           KafkaConfig
	Elasticsearch   ElasticsearchConfig
	ShutdownTimeout time.Duration
	// CatchUpTimeout bounds how long an API process without a projector waits at start for
	// the shared read model to reach the log's head (default 30s).
	CatchUpTimeout time.Duration
	// PlatformBaseURLs points platform APIs elsewhere, by platform name (tests, proxies).
	PlatformBaseURLs platforms.BaseURLs
	// PollInterval is the wait between two polls of a caught-up account link on platforms
	// without webhooks (Bluesky, Reddit), and how often the links to poll are listed (default 10s).
	PollInterval time.Duration
	// Send tunes the sender role (deadline, backoff); zero values take its defaults.
	Send sender.Options
}

// Roles a process can take.
const (
	RoleAPI       = "api"
	RoleIngest    = "ingest"
	RoleProjector = "projector"
	// RoleSender sends the replies the team asks for (one consumer group on the log).
	RoleSender = "sender"
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
		return errors.New("--roles: at least one of api, ingest, projector, sender")
	}
	for _, r := range c.Roles {
		if r != RoleAPI && r != RoleIngest && r != RoleProjector && r != RoleSender {
			return fmt.Errorf("--roles: unknown role %q (want api, ingest, projector, sender)", r)
		}
	}
	if !c.has(RoleProjector) {
		// Without a projector here, another process must fill engines this one can read.
		if c.PostgresURL == "" {
			return errors.New("--roles: without the projector role the read model must be shared: set --postgres-url")
		}
		if c.Kafka.Brokers == "" {
			return errors.New("--roles: without the projector role the event log must be shared: set --kafka-brokers")
		}
	}
	return nil
}

// Server is a running process.
type Server struct {
	cfg    Config
	logger *slog.Logger
	// Addr is the address the process listens on, once started.
	Addr string

	engines   *engines
	projector *projections.Projector
	searcher  *search.Projector
	httpSrv   *http.Server
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// Start opens the engines, starts the projectors (projector role), bootstraps the first team
// if needed and starts listening. It returns once the process serves.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.CatchUpTimeout == 0 {
		cfg.CatchUpTimeout = 30 * time.Second
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
	e, err := openEngines(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	s.engines = e

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	// The projector type also serves read-your-writes waits in processes that do not run it:
	// WaitFor polls the shared store's checkpoint.
	s.projector = projections.NewProjector(e.log, e.rm, logger)
	s.searcher = search.NewProjector(e.log, e.idx, logger)
	if cfg.Kafka.Brokers != "" && cfg.Elasticsearch.URL == "" {
		// An embedded index belongs to this process alone: it needs every event, not the
		// share of partitions a common consumer group would give it.
		id, err := nodeID(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		s.searcher.WithGroup(search.Projection + ".node." + id)
	}
	if cfg.has(RoleProjector) {
		s.run(runCtx, "read model projector", s.projector.Run)
		s.run(runCtx, "search projector", s.searcher.Run)
		// The read model must hold the whole log before anyone reads it or before we decide
		// that no key exists: after a rebuild it starts empty.
		if err := waitCaughtUp(ctx, e.log, "read model", logger, s.projector.WaitFor); err != nil {
			return nil, err
		}
		if err := waitCaughtUp(ctx, e.log, "search index", logger, s.searcher.WaitFor); err != nil {
			return nil, err
		}
	} else {
		wctx, wcancel := context.WithTimeout(ctx, cfg.CatchUpTimeout)
		err := waitCaughtUp(wctx, e.log, "read model", logger, s.projector.WaitFor)
		wcancel()
		if err != nil {
			logger.Warn("the shared read model is behind the log; serving anyway", "err", err)
		}
	}

	deps := commands.Deps{Log: e.log, State: e.rm, Credentials: e.creds, Idempotency: e.idem,
		Consistency: s.projector, Logger: logger}
	app := commands.NewApp(deps)
	if cfg.has(RoleAPI) {
		if err := s.bootstrap(ctx, app, e.rm); err != nil {
			return nil, err
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts := connectrpc.ServerOptions{
		Checks: []connectrpc.Check{{Name: "event_log", Ping: e.log.Ping}, {Name: "read_model", Ping: e.rm.Ping},
			{Name: "search_index", Ping: e.idx.Ping}},
		CORSOrigins: cfg.CORSOrigins,
		Registry:    reg,
		NoAPI:       !cfg.has(RoleAPI),
	}
	if cfg.has(RoleIngest) {
		opts.Extra = map[string]http.Handler{"/webhooks/": platforms.NewHandler(platforms.HandlerDeps{
			Links: e.rm, Credentials: e.creds, Receiver: app.ReceivePlatform, Logger: logger, Registry: reg,
		}, webhooks()...)}
		// Names and avatars of prospects whose platforms send only an id (Meta PSID, IGSID).
		fetchProfiles := profiles.NewFetchProfileOnMessageReceived(profiles.Deps{Log: e.log, Reader: e.rm,
			Credentials: e.creds, Receiver: app.ReceivePlatform, Logger: logger, Registry: reg}, profiles.Options{},
			profiles.GraphFetchers(profiles.GraphConfig{BaseURLs: cfg.PlatformBaseURLs})...)
		s.run(runCtx, "profile fetcher", fetchProfiles.Run)
		// Platforms without webhooks: one scheduler polls every active link of theirs.
		polls := scheduler.New(scheduler.Deps{Links: e.rm, Credentials: e.creds, Receiver: app.ReceivePlatform,
			Cursors: e.cursors, Health: commands.NewReportAccountHealthHandler(deps), Logger: logger, Registry: reg,
			Interval: cfg.PollInterval}, pollers(cfg.PlatformBaseURLs)...)
		s.run(runCtx, "poll scheduler", polls.Run)
	}
	if cfg.has(RoleSender) {
		send := sender.New(sender.Deps{Log: e.log, Reader: e.rm, Credentials: e.creds, Saga: app.SendSaga,
			Health: commands.NewReportAccountHealthHandler(deps), Logger: logger, Registry: reg}, cfg.Send, senders(cfg.PlatformBaseURLs)...)
		s.run(runCtx, "sender", send.Run)
	}
	handler := connectrpc.NewHandler(connectrpc.Deps{App: app, Reader: e.rm, Log: e.log, Search: e.idx,
		ReadModel: s.projector, SearchIndex: s.searcher, Logger: logger}, opts)
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
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
	logger.Info("switchboard listening", "addr", s.Addr, "data_dir", cfg.DataDir, "roles", strings.Join(cfg.Roles, ","),
		"event_log", engineName(cfg.Kafka.Brokers != "", "kafka", "sqlite"),
		"read_model", engineName(cfg.PostgresURL != "", "postgres", "sqlite"),
		"search", engineName(cfg.Elasticsearch.URL != "", "elasticsearch", "bleve"))
	return s, nil
}

func engineName(scale bool, atScale, embedded string) string {
	if scale {
		return atScale
	}
	return embedded
}

// run keeps a projector running until the process stops; a failure (an engine unreachable at
// its start) is retried, so projectors pause and resume rather than die.
func (s *Server) run(ctx context.Context, name string, fn func(context.Context) error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for ctx.Err() == nil {
			err := fn(ctx)
			if ctx.Err() != nil {
				return
			}
			s.logger.Error(name+" stopped; restarting", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
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

// WaitCaughtUp waits until the read model and the search index have applied every event now in
// the log: after a webhook (acknowledged once durable, before projection), a reader sees
// everything it brought, in the inbox and in search.
func (s *Server) WaitCaughtUp(ctx context.Context) error {
	if err := waitCaughtUp(ctx, s.engines.log, "read model", s.logger, s.projector.WaitFor); err != nil {
		return err
	}
	return waitCaughtUp(ctx, s.engines.log, "search index", s.logger, s.searcher.WaitFor)
}

// EventLog is the process's event log, for tools and tests that inspect what was appended.
func (s *Server) EventLog() eventlog.Log { return s.engines.log }

// Shutdown stops accepting calls, lets running ones finish, then stops the projectors and
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
	if s.engines != nil {
		s.engines.close(s.logger)
		s.engines = nil
	}
}

// nodeID is this data dir's stable random id.
func nodeID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "node.id")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	id := domain.NewID("")
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return id, nil
}
