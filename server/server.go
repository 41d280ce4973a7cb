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
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"connectrpc.com/otelconnect"
	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-oss/switchboard/adapters/connectrpc"
	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/connect"
	"github.com/switchboard-oss/switchboard/adapters/platforms/profiles"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler"
	"github.com/switchboard-oss/switchboard/adapters/platforms/sender"
	outbound "github.com/switchboard-oss/switchboard/adapters/webhooks"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/internal/health"
	"github.com/switchboard-oss/switchboard/internal/telemetry"
	"github.com/switchboard-oss/switchboard/projections"
	"github.com/switchboard-oss/switchboard/search"
	"github.com/switchboard-oss/switchboard/web"
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
	// AnalyticsDefinition overrides the name and version of the conversation-metrics
	// definition (default projections.AnalyticsProjection). Tests set another to force a
	// rebuild of every figure from the log, as a release that changes the definition does.
	AnalyticsDefinition string
	// Now is the clock of the commands (nil: the system's). Tests set one to give events
	// exact times.
	Now func() time.Time
	// CatchUpTimeout bounds how long an API process without a projector waits at start for
	// the shared read model to reach the log's head (default 30s).
	CatchUpTimeout time.Duration
	// PlatformBaseURLs points platform APIs elsewhere, by platform name (tests, proxies).
	PlatformBaseURLs platforms.BaseURLs
	// PollInterval is the wait between two polls of a caught-up account link on platforms
	// without webhooks (Bluesky, Reddit), and how often the links to poll are listed (default 10s).
	PollInterval time.Duration
	// TracerProvider receives the process's spans; nil: the global one (a no-op unless
	// telemetry.Setup installed an exporter).
	TracerProvider trace.TracerProvider
	// Limits bound every request: body size (before and after decompression), the time to
	// send a body, and the streams one key holds open. Zero values take the defaults.
	Limits connectrpc.Limits
	// KeyCacheTTL is how long the process trusts what it read of an API key and its member
	// (0: connectrpc.DefaultKeyCacheTTL; negative: no cache). Revoking a key or removing a
	// member refuses it at once whatever the TTL: through this process, by the revoking
	// append; through another process sharing the log, by a follower of the log.
	KeyCacheTTL time.Duration
	// ReadHeaderTimeout is how long a client has to send a request's headers (default 10s);
	// IdleTimeout how long a connection with no request in flight stays open (default 2m).
	ReadHeaderTimeout, IdleTimeout time.Duration
	// Send tunes the sender role (deadline, backoff); zero values take its defaults.
	Send sender.Options
	// Connect configures connecting accounts (OAuth apps, the public URL, token upkeep).
	Connect ConnectConfig
	// SearchCandidates is how many of the newest matches a relevance search of the embedded
	// index ranks when more match (0: sqlitefts.DefaultCandidates).
	SearchCandidates int
	// Webhooks tunes outbound webhooks (the webhooks role delivers them).
	Webhooks WebhooksConfig
}

// WebhooksConfig is the operator's configuration of outbound webhooks.
type WebhooksConfig struct {
	// RetryFor is how long an event is retried before it is dead-lettered, and how long a
	// subscription fails before it is disabled (default 72h).
	RetryFor time.Duration
	// AllowPrivate allows receivers on loopback, private, link-local and unspecified addresses.
	AllowPrivate bool
	// Tune adjusts delivery further (tests shorten backoff and leases).
	Tune func(*outbound.Options)
}

// ConnectConfig is the operator's configuration of the connect flows: the platform apps made
// in each developer console, and the address platforms reach this deployment at.
type ConnectConfig struct {
	// PublicURL is where platforms send browsers back (/oauth/callback/…) and webhooks
	// (/webhooks/…); without it no OAuth flow starts and no webhook is registered.
	PublicURL string
	// Meta is the Facebook app (Facebook Login: Messenger, WhatsApp, and Instagram unless
	// Instagram has its own app); Instagram the Instagram Login app; X and Reddit their apps.
	Meta, Instagram, X, Reddit connect.App
	// RefreshInterval is how often the token refresher looks for tokens due (default 1m).
	RefreshInterval time.Duration
}

// Roles a process can take.
const (
	RoleAPI       = "api"
	RoleIngest    = "ingest"
	RoleProjector = "projector"
	// RoleSender sends the replies the team asks for (one consumer group on the log).
	RoleSender = "sender"
	// RoleWebhooks delivers outbound webhooks: each subscription by one process of the role at
	// a time (a lease per subscription in the shared store).
	RoleWebhooks = "webhooks"
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
		return errors.New("--roles: at least one of api, ingest, projector, sender, webhooks")
	}
	for _, r := range c.Roles {
		if r != RoleAPI && r != RoleIngest && r != RoleProjector && r != RoleSender && r != RoleWebhooks {
			return fmt.Errorf("--roles: unknown role %q (want api, ingest, projector, sender, webhooks)", r)
		}
	}
	if err := c.Connect.validate(); err != nil {
		return err
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
	analytics *projections.AnalyticsProjector
	httpSrv   *http.Server
	lis       net.Listener // until the HTTP server serves it
	lock      *dataDirLock
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	readModelHealth health.Part
	// rmGate pauses the read-model projector while a rebuilt read model is swapped in; rmMu
	// allows one swap at a time; rebuilds serves AdminService.
	rmGate  gate
	rmMu    sync.Mutex
	idxGate gate
	// anGate pauses the analytics projector across a read model swap (its tables are in it).
	anGate   gate
	idxMu    sync.Mutex
	rebuilds *rebuilds
	// stopping is closed when Shutdown begins: open streams end at once.
	stopping     chan struct{}
	stoppingOnce sync.Once
}

// watchedStore records the outcome of the read-model projector's writes, for /readyz.
type watchedStore struct {
	projections.Store
	health *health.Part
}

func (w watchedStore) Update(ctx context.Context, fn func(tx projections.Tx) error) error {
	err := w.Store.Update(ctx, fn)
	if ctx.Err() == nil {
		w.health.Observe(err)
	}
	return err
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
	s := &Server{cfg: cfg, logger: logger, stopping: make(chan struct{})}
	defer func() {
		if err != nil {
			s.closeAll()
		}
	}()
	// The order matters to a second process started by mistake: a data folder in use fails at
	// once and names its owner; a busy port fails before anything is created on disk.
	s.lock, err = tryLockDataDir(cfg.DataDir)
	if err != nil && !errors.Is(err, errNoLockFile) {
		return nil, err
	}
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	s.lis = lis
	if s.lock == nil {
		if s.lock, err = lockDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	e, err := openEngines(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	s.engines = e
	// Every part of the process appends and consumes through the traced log, which also tells
	// the lag gauges what each projector applied.
	tp := cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	lag := telemetry.NewLag(e.log.Head)
	e.log = telemetry.TraceLog(e.log, tp, lag)

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	// The projector type also serves read-your-writes waits in processes that do not run it:
	// WaitFor polls the shared store's checkpoint.
	s.projector = projections.NewProjector(e.log, watchedStore{e.rm, &s.readModelHealth}, logger)
	s.searcher = search.NewProjector(e.log, e.idx, logger)
	an, ok := e.rm.(projections.AnalyticsStore)
	if !ok {
		return nil, errors.New("read model: this engine keeps no conversation metrics")
	}
	s.analytics = projections.NewAnalyticsProjector(e.log, an, logger, cfg.AnalyticsDefinition)
	searchGroup := search.Projection
	if cfg.Kafka.Brokers != "" && cfg.Elasticsearch.URL == "" {
		// An embedded index belongs to this process alone: it needs every event, not the
		// share of partitions a common consumer group would give it.
		id, err := nodeID(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		searchGroup = search.Projection + ".node." + id
		s.searcher.WithGroup(searchGroup)
	}
	// A read model built by another projection version serves (kept up to date) while the
	// current version is built beside it: see the rebuild started below.
	servedVersion, err := projections.ServedVersion(ctx, e.rm)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	if servedVersion != projections.ReadModelProjection {
		s.projector.ServeVersion(servedVersion)
		logger.Warn("the read model was built by another projection version: it serves while this version is built beside it",
			"serving", servedVersion, "building", projections.ReadModelProjection)
	}
	lag.Add(telemetry.Group{Name: projections.ReadModelProjection, Checkpoint: s.projector.Applied})
	lag.Add(telemetry.Group{Name: s.analytics.Definition(), Checkpoint: func(ctx context.Context) (eventlog.Cursor, error) {
		return e.rm.Checkpoint(ctx, s.analytics.Definition())
	}})
	if _, none := e.idx.(noSharedIndex); !none {
		lag.Add(telemetry.Group{Name: searchGroup, Checkpoint: e.idx.Checkpoint})
	}
	if cfg.PostgresURL != "" {
		s.run(runCtx, "read model schema follower", s.followReadModelSchema)
	}
	if cfg.has(RoleProjector) {
		s.run(runCtx, "read model projector", s.restartable(&e.restartReadModel, s.rmGate.wrap(s.projector.Run)))
		s.run(runCtx, "search projector", s.idxGate.wrap(s.searcher.Run))
		// A corrupt read model replaced by an empty one takes the metrics with it: both start
		// again from the beginning of the log. A blue/green rebuild pauses the analytics
		// projector across the swap (anGate): it starts again on the new store's tables.
		var restartAnalytics func()
		s.analytics.Trail(s.projector.WaitFor)
		s.run(runCtx, "analytics projector", s.restartable(&restartAnalytics, s.anGate.wrap(s.analytics.Run)))
		restartReadModel := e.restartReadModel
		e.restartReadModel = func() { restartReadModel(); restartAnalytics() }
		// The read model must hold the whole log before anyone reads it or before we decide
		// that no key exists: after a rebuild it starts empty.
		if err := waitCaughtUp(ctx, e.log, "read model", logger, s.projector.WaitFor); err != nil {
			return nil, err
		}
		// Search may lag (a full disk, a rebuild): the API serves meanwhile, and searches that
		// carry a consistency token wait for what they need.
		wctx, wcancel := context.WithTimeout(ctx, cfg.CatchUpTimeout)
		err := waitCaughtUp(wctx, e.log, "search index", logger, s.searcher.WaitFor)
		wcancel()
		if err != nil && ctx.Err() == nil {
			logger.Warn("the search index is behind the log; serving anyway", "err", err)
		} else if err != nil {
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

	ttl := cfg.KeyCacheTTL
	if ttl == 0 {
		ttl = connectrpc.DefaultKeyCacheTTL
	}
	keyCache := connectrpc.NewKeyCache(ttl)
	followKeys := keyCache != nil && e.follower != nil && cfg.has(RoleAPI)
	if followKeys {
		// Other processes append to this log: the cache learns of their revocations from a
		// follower reading it from its head now, before the API serves, so nothing appended
		// from here on is missed; until the follower has caught up, and whenever it falls
		// behind, the cache is not trusted (every call reads the read model).
		if err := s.followForKeyCache(ctx, runCtx, keyCache); err != nil {
			return nil, err
		}
	}
	deps := commands.Deps{Log: observedLog{e.log, keyCache.Observe}, State: e.rm, Credentials: e.creds, Idempotency: e.idem,
		Consistency: s.projector, Logger: logger, Keys: e.keys,
		Assigned: commands.ThreadsAssignedTo{Threads: e.rm.Threads}, Now: cfg.Now}
	app := commands.NewApp(deps)
	if cfg.has(RoleAPI) {
		if err := s.bootstrap(ctx, app, e.rm); err != nil {
			return nil, err
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), lag)
	if followKeys {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_key_cache_follower_lag_seconds",
			Help: "How long ago the API key cache last knew it had read every revocation other processes appended " +
				"(beyond 2s the cache is bypassed and every call reads the read model)."},
			func() float64 { return keyCache.FollowerLag().Seconds() }))
	}
	opts := connectrpc.ServerOptions{
		Checks: []connectrpc.Check{{Name: "event_log", Ping: e.log.Ping}, {Name: "read_model", Ping: e.rm.Ping},
			{Name: "search_index", Ping: e.idx.Ping}},
		Degraded: []connectrpc.Condition{{Name: "read_model_projector", State: s.readModelHealth.State},
			{Name: "search_projector", State: s.searcher.Health}, {Name: "read_model", State: stateOf(e.rm)},
			{Name: "key_cache_follower", State: keyCache.FollowerState}},
		CORSOrigins: cfg.CORSOrigins,
		Registry:    reg,
		NoAPI:       !cfg.has(RoleAPI),
		Limits:      cfg.Limits,
		UI:          web.Handlers(),
	}
	shutdown, beginShutdown := context.WithCancel(context.Background())
	traceRPCs, err := otelconnect.NewInterceptor(otelconnect.WithTracerProvider(tp), otelconnect.WithoutMetrics())
	if err != nil {
		beginShutdown()
		return nil, fmt.Errorf("tracing: %w", err)
	}
	opts.Interceptors = append(opts.Interceptors, traceRPCs, endStreamsOnShutdown{shutdown: shutdown})
	opts.Extra = map[string]http.Handler{}
	var connector *connect.Service
	if cfg.has(RoleAPI) {
		connector = connectService(cfg, app, e, logger)
		opts.Extra["/oauth/callback/"] = connector.Callback()
	}
	if cfg.has(RoleIngest) {
		receive := platforms.PlausibleTimes(app.ReceivePlatform)
		opts.Extra["/webhooks/"] = traceWebhooks(tp, platforms.NewHandler(platforms.HandlerDeps{
			Links: e.rm, Credentials: e.creds, Receiver: receive, Logger: logger, Registry: reg,
		}, webhooks()...))
		// Tokens renewed before they expire, once per deployment (leases in the credential store).
		refresh := connect.NewTokenRefresher(connect.RefresherDeps{Links: e.rm, Credentials: e.creds, Leases: e.creds,
			App: app, Logger: logger, Interval: cfg.Connect.RefreshInterval}, refreshers(cfg)...)
		s.run(runCtx, "token refresher", refresh.Run)
		// Names and avatars of prospects whose platforms send only an id (Meta PSID, IGSID).
		fetchProfiles := profiles.NewFetchProfileOnMessageReceived(profiles.Deps{Log: e.log, Reader: e.rm,
			Credentials: e.creds, Receiver: receive, Logger: logger, Registry: reg}, profiles.Options{},
			profiles.GraphFetchers(profiles.GraphConfig{BaseURLs: cfg.PlatformBaseURLs})...)
		s.run(runCtx, "profile fetcher", fetchProfiles.Run)
		// Platforms without webhooks: one scheduler polls every active link of theirs.
		polls := scheduler.New(scheduler.Deps{Links: e.rm, Credentials: e.creds, Receiver: receive,
			Cursors: e.cursors, Health: commands.NewReportAccountHealthHandler(deps), Logger: logger, Registry: reg,
			Interval: cfg.PollInterval}, pollers(cfg.PlatformBaseURLs)...)
		s.run(runCtx, "poll scheduler", polls.Run)
	}
	if cfg.has(RoleSender) {
		send := sender.New(sender.Deps{Log: e.log, Reader: e.rm, Credentials: e.creds, Saga: app.SendSaga,
			Health: commands.NewReportAccountHealthHandler(deps), Logger: logger, Registry: reg}, cfg.Send, senders(cfg.PlatformBaseURLs)...)
		s.run(runCtx, "sender", send.Run)
	}
	hooks := &outbound.Manager{Log: e.log, Store: e.hooks, Guard: outbound.Guard{AllowPrivate: cfg.Webhooks.AllowPrivate},
		Secrets: e.hookSecrets, Now: cfg.Now}
	if cfg.has(RoleWebhooks) {
		// The subscriptions' projection repairs what a crash between an append and its apply
		// left behind; the dispatcher delivers.
		s.run(runCtx, "webhook subscriptions projector", func(ctx context.Context) error {
			return e.log.Consume(ctx, "webhooks.subscriptions", hooks.Project)
		})
		holder, err := nodeID(cfg.DataDir)
		if err != nil {
			beginShutdown()
			return nil, err
		}
		o := outbound.Options{RetryFor: cfg.Webhooks.RetryFor, Holder: holder}
		if cfg.Webhooks.Tune != nil {
			cfg.Webhooks.Tune(&o)
		}
		dispatch := outbound.NewDispatcher(outbound.Deps{Log: e.log, Manager: hooks, Render: connectrpc.WebhookRender(e.positions),
			Logger: logger, Registry: reg}, o)
		s.run(runCtx, "webhook dispatcher", dispatch.Run)
	}
	var rebuilder connectrpc.Rebuilder
	if cfg.has(RoleProjector) {
		s.rebuilds = &rebuilds{s: s, ctx: runCtx, running: map[string]*rebuildRun{}}
		rebuilder = s.rebuilds
	}
	handler := connectrpc.NewHandler(connectrpc.Deps{App: app, KeyCache: keyCache, Reader: e.rm, Log: e.log, Search: e.idx,
		ReadModel: s.projector, SearchIndex: s.searcher, Progress: s.projector, Logger: logger, Keys: e.keys,
		Positions: e.positions, Stopping: s.stopping, Connector: connector,
		Analytics: &connectrpc.Analytics{Reader: an, Definition: s.analytics.Definition(), CaughtUp: s.analyticsCaughtUp}, Rebuilds: rebuilder, Webhooks: hooks}, opts)
	s.Addr = lis.Addr().String()
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // h2c: gRPC without TLS on the same port
	// No ReadTimeout nor WriteTimeout: they would cut StreamEvents. The body's own deadline
	// (Limits.ReadTimeout) ends when the body is read; headers and idle connections have theirs.
	s.httpSrv = &http.Server{Handler: lagInReadyz(handler, lag), Protocols: &protocols,
		ReadHeaderTimeout: orDefault(cfg.ReadHeaderTimeout, 10*time.Second),
		IdleTimeout:       orDefault(cfg.IdleTimeout, 2*time.Minute),
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	s.httpSrv.RegisterOnShutdown(beginShutdown) // streams end first (endStreamsOnShutdown)
	// Serve owns the listener from here on.
	s.lis = nil
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.httpSrv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http server stopped", "err", err)
		}
	}()
	if servedVersion != projections.ReadModelProjection && s.rebuilds != nil {
		if _, err := s.rebuilds.Start(ctx, "readmodel"); err != nil {
			logger.Error("could not start building the read model of this projection version", "err", err)
		}
	}
	logger.Info("switchboard listening", "addr", s.Addr, "data_dir", cfg.DataDir, "roles", strings.Join(cfg.Roles, ","),
		"event_log", engineName(cfg.Kafka.Brokers != "", "kafka", "sqlite"),
		"read_model", engineName(cfg.PostgresURL != "", "postgres", "sqlite"),
		"search", engineName(cfg.Elasticsearch.URL != "", "elasticsearch", "sqlite-fts5"))
	return s, nil
}

// stateOf is the State of a store that reports one (a SQLite read model being rebuilt).
func stateOf(v any) func() error {
	if st, ok := v.(interface{ State() error }); ok {
		return st.State
	}
	return func() error { return nil }
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func engineName(scale bool, atScale, embedded string) string {
	if scale {
		return atScale
	}
	return embedded
}

// run keeps a projector running until the process stops; a failure (an engine unreachable at
// its start, a full disk) or a panic is retried with backoff, so projectors pause and resume
// rather than die, and never take the process down.
func (s *Server) run(ctx context.Context, name string, fn func(context.Context) error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		bo := backoff.NewExponentialBackOff()
		bo.InitialInterval, bo.MaxInterval = 500*time.Millisecond, 30*time.Second
		for ctx.Err() == nil {
			start := time.Now()
			err := runContained(ctx, fn)
			if ctx.Err() != nil {
				return
			}
			if time.Since(start) > time.Minute {
				bo.Reset() // it ran well for a while: this is a new failure
			}
			wait := bo.NextBackOff()
			s.logger.Error(name+" stopped; restarting", "err", err, "retry_in", wait)
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}()
}

// restartable returns fn run under a context that *restart cancels: run starts it again.
func (s *Server) restartable(restart *func(), fn func(context.Context) error) func(context.Context) error {
	var mu sync.Mutex
	cancel := func() {}
	*restart = func() {
		mu.Lock()
		defer mu.Unlock()
		cancel()
	}
	return func(ctx context.Context) error {
		rctx, c := context.WithCancel(ctx)
		defer c()
		mu.Lock()
		cancel = c
		mu.Unlock()
		if err := fn(rctx); rctx.Err() == nil || ctx.Err() != nil {
			return err
		}
		return errors.New("restarted")
	}
}

// runContained runs fn, turning a panic into an error.
func runContained(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v\n%s", health.ErrPanic, r, debug.Stack())
		}
	}()
	return fn(ctx)
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
	where := "SWITCHBOARD_BOOTSTRAP_KEY"
	if s.cfg.BootstrapKey == "" {
		where = path
	}
	if r.Created {
		s.logger.Info("created team default with an owner and the instance admin key", "team_id", r.TeamID, "key_in", where)
	}
	if r.Rotated {
		s.logger.Warn("the instance admin key changed: the previous one is revoked (api_key.revoked, reason bootstrap_rotated)",
			"team_id", r.TeamID, "key_in", where)
	}
	return nil
}

// WaitCaughtUp waits until the read model, the search index and the conversation metrics have
// applied every event now in the log: after a webhook (acknowledged once durable, before
// projection), a reader sees everything it brought, in the inbox, in search and in analytics.
func (s *Server) WaitCaughtUp(ctx context.Context) error {
	if err := waitCaughtUp(ctx, s.engines.log, "read model", s.logger, s.projector.WaitFor); err != nil {
		return err
	}
	if err := waitCaughtUp(ctx, s.engines.log, "search index", s.logger, s.searcher.WaitFor); err != nil {
		return err
	}
	return waitCaughtUp(ctx, s.engines.log, "analytics", s.logger, s.analytics.WaitFor)
}

// EventLog is the process's event log, for tools and tests that inspect what was appended.
func (s *Server) EventLog() eventlog.Log { return s.engines.log }

// Positions is the process's position-token codec, for tools and tests that turn a log
// cursor into what a team would send.
func (s *Server) Positions() *connectrpc.Positions { return s.engines.positions }

// Shutdown stops accepting calls, lets running ones finish, then stops the projectors and
// closes the engines.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stoppingOnce.Do(func() { close(s.stopping) })
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
	if s.lis != nil {
		_ = s.lis.Close()
		s.lis = nil
	}
	s.lock.release() // last: the engines' files are closed
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

// analyticsCaughtUp waits (a while) until the conversation metrics hold everything the read
// model shows, so figures never miss a reply the inbox already lists.
func (s *Server) analyticsCaughtUp(ctx context.Context) error {
	c, err := s.projector.Applied(ctx)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return s.analytics.WaitFor(wctx, c)
}

// followForKeyCache starts the follower that feeds the key cache what other processes append
// (revocations, member removals), from the log's head read now.
func (s *Server) followForKeyCache(ctx, runCtx context.Context, cache *connectrpc.KeyCache) error {
	head, err := s.engines.log.Head(ctx)
	if err != nil {
		return fmt.Errorf("key cache: reading the event log's head: %w", err)
	}
	cache.Follow(connectrpc.DefaultKeyCacheMaxLag)
	follower := s.engines.follower
	s.run(runCtx, "key cache follower", func(ctx context.Context) error {
		return follower.Follow(ctx, head, connectrpc.KeyCacheEventTypes, func(recs []eventlog.Record, asOf time.Time) {
			if len(recs) > 0 {
				events := make([]domain.Event, len(recs))
				for i, r := range recs {
					events[i] = r.Event
				}
				cache.Observe(events)
			}
			cache.CaughtUp(asOf)
		})
	})
	return nil
}

// observedLog is the commands' log, telling observe what each append wrote once it is durable:
// the key cache learns of a revocation before the revoking command answers.
type observedLog struct {
	eventlog.Log
	observe func([]domain.Event)
}

func (l observedLog) Append(ctx context.Context, events []domain.Event) ([]eventlog.AppendResult, error) {
	res, err := l.Log.Append(ctx, events)
	if err == nil {
		l.observe(events)
	}
	return res, err
}

func (l observedLog) AppendStream(ctx context.Context, teamID, key string, expected int64, events []domain.Event) ([]eventlog.AppendResult, error) {
	res, err := l.Log.AppendStream(ctx, teamID, key, expected, events)
	if err == nil {
		l.observe(events)
	}
	return res, err
}
