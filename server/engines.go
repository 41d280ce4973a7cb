package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/connectrpc"
	"github.com/switchboard-oss/switchboard/adapters/elasticsearch"
	"github.com/switchboard-oss/switchboard/adapters/kafka"
	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/platforms/connect"
	"github.com/switchboard-oss/switchboard/adapters/platforms/scheduler"
	"github.com/switchboard-oss/switchboard/adapters/postgres"
	"github.com/switchboard-oss/switchboard/adapters/secretbox"
	"github.com/switchboard-oss/switchboard/adapters/sqlite"
	"github.com/switchboard-oss/switchboard/adapters/sqlitefts"
	outbound "github.com/switchboard-oss/switchboard/adapters/webhooks"
	"github.com/switchboard-oss/switchboard/commands"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
	"github.com/switchboard-oss/switchboard/search"
)

// KafkaConfig are the event log's Kafka settings (used when Brokers is set).
type KafkaConfig struct {
	Brokers           string // comma-separated host:port
	Topic             string
	ClientID          string
	Partitions        int32
	SASLMechanism     string
	SASLUser          string
	SASLPassword      string
	TLS               bool
	TLSCAFile         string
	TLSCertFile       string
	TLSKeyFile        string
	TLSInsecureVerify bool
	// Consumer group timing; zero keeps the adapter's defaults.
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	RebalanceTimeout  time.Duration
	// Tune adjusts the adapter's configuration further (tests shorten group timeouts).
	Tune func(*kafka.Config)
}

// ElasticsearchConfig are the search index's settings (used when URL is set).
type ElasticsearchConfig struct {
	URL    string // comma-separated; user:password@ in a URL is taken as basic auth
	APIKey string
	Alias  string
}

// credentialStore keeps account credentials: commands write them, webhooks and pollers read them.
type credentialStore interface {
	commands.Credentials
	platforms.Credentials
	connect.States
	connect.Leases
}

// engines are the ports of one process, bound to their adapters.
type engines struct {
	log     eventlog.Log
	rm      projections.Store
	creds   credentialStore
	idem    commands.Idempotency
	cursors scheduler.CursorStore // ingest role only
	idx     search.Index
	// keys hashes API keys under the instance's secret: SWITCHBOARD_SECRET_KEY (or the data
	// folder's secret.key when embedded); with PostgreSQL and no SWITCHBOARD_SECRET_KEY, a
	// secret kept in the database, so every process hashes alike.
	keys commands.APIKeyHasher
	// positions seals log positions into per-team tokens, under a key all processes share
	// (from the same secrets as keys; with PostgreSQL, a secret of its own there).
	positions *connectrpc.Positions
	// hooks keeps outbound webhook subscriptions; hookSecrets derives their signing secrets
	// (from the instance's secret; with PostgreSQL and no SWITCHBOARD_SECRET_KEY, one there).
	hooks       outbound.Store
	hookSecrets outbound.Secrets
	closers     []func() error
	// follower reads what other processes append to a shared log (Kafka); nil for the
	// embedded log, which only this process writes (the data folder's lock).
	follower eventlog.Follower

	// restartReadModel restarts the read-model projector (set by the server), after a corrupt
	// read model was replaced by an empty one: it starts again from the beginning of the log.
	restartReadModel func()
	// rmSwap serves the read model (e.rm) and lets a blue/green rebuild swap in a new one;
	// rmFile is the SQLite file it serves now (empty with PostgreSQL).
	rmSwap *projections.Swappable
	rmFile string
	// idxSwap serves the embedded search index (e.idx) and lets a rebuild swap in a new one;
	// idxFile is the file it serves now (nil and empty with Elasticsearch).
	idxSwap *search.Swappable
	idxFile string
	// pgOwnSchema is the PostgreSQL URL's own schema; pgRMSchema the schema of the serving read
	// model when a rebuild moved it elsewhere ("": the own schema).
	pgOwnSchema, pgRMSchema string
}

// schemaOption is WithSchema(schema) unless schema is "" (the URL's own).
func schemaOption(schema string) []postgres.Option {
	if schema == "" {
		return nil
	}
	return []postgres.Option{postgres.WithSchema(schema)}
}

// readModelRebuilt restarts the read-model projector after the serving SQLite file was found
// corrupt and replaced by an empty one.
func (e *engines) readModelRebuilt() {
	if restart := e.restartReadModel; restart != nil {
		restart()
	}
}

func (e *engines) close(logger *slog.Logger) {
	for i := len(e.closers) - 1; i >= 0; i-- {
		if err := e.closers[i](); err != nil {
			logger.Warn("close", "err", err)
		}
	}
	e.closers = nil
}

// openEngines binds every port: an engine's URL switches its port from the embedded adapter.
func openEngines(ctx context.Context, cfg Config, logger *slog.Logger) (_ *engines, err error) {
	e := &engines{}
	defer func() {
		if err != nil {
			e.close(logger)
		}
	}()
	key, err := secretbox.LoadKey(cfg.SecretKey, filepath.Join(cfg.DataDir, "secret.key"))
	if err != nil {
		return nil, err
	}
	box, err := secretbox.New(key)
	if err != nil {
		return nil, err
	}
	e.keys = commands.NewAPIKeyHasher(key)
	positionSecret := key
	if cfg.PostgresURL != "" && cfg.SecretKey == "" {
		// Without SWITCHBOARD_SECRET_KEY each process has a key of its own; they share the
		// database, so the hashing secret is kept there.
		secret, err := postgres.InstanceSecret(ctx, cfg.PostgresURL, "api_key_hashing", postgres.WithLogger(logger))
		if err != nil {
			return nil, fmt.Errorf("--postgres-url: %w", err)
		}
		e.keys = commands.NewAPIKeyHasher(secret)
		if positionSecret, err = postgres.InstanceSecret(ctx, cfg.PostgresURL, "position_tokens", postgres.WithLogger(logger)); err != nil {
			return nil, fmt.Errorf("--postgres-url: %w", err)
		}
	}
	if e.positions, err = connectrpc.NewPositions(positionSecret); err != nil {
		return nil, err
	}
	hookSecret := key
	if cfg.PostgresURL != "" && cfg.SecretKey == "" {
		if hookSecret, err = postgres.InstanceSecret(ctx, cfg.PostgresURL, "webhook_signing", postgres.WithLogger(logger)); err != nil {
			return nil, fmt.Errorf("--postgres-url: %w", err)
		}
	}
	e.hookSecrets = outbound.NewSecrets(hookSecret)

	// Read model, credentials, idempotency: PostgreSQL, or SQLite files in the data dir.
	if cfg.PostgresURL != "" {
		pgopts := []postgres.Option{postgres.WithLogger(logger)}
		// The read model serves from the schema readmodel_active names, when a rebuild moved it.
		own, active, err := postgres.ReadModelSchemas(ctx, cfg.PostgresURL, pgopts...)
		if err != nil {
			return nil, fmt.Errorf("--postgres-url: read model: %w", err)
		}
		rm, err := postgres.OpenReadModel(ctx, cfg.PostgresURL, append(pgopts, schemaOption(active)...)...)
		if err != nil {
			return nil, fmt.Errorf("--postgres-url: read model: %w", err)
		}
		e.pgOwnSchema, e.pgRMSchema = own, active
		e.rmSwap = projections.NewSwappable(rm)
		e.rm = e.rmSwap
		e.closers = append(e.closers, e.rmSwap.Close)
		creds, err := postgres.OpenCredentialStore(ctx, cfg.PostgresURL, box, pgopts...)
		if err != nil {
			return nil, fmt.Errorf("--postgres-url: credential store: %w", err)
		}
		e.creds = creds
		e.closers = append(e.closers, creds.Close)
		idem, err := postgres.OpenIdempotencyStore(ctx, cfg.PostgresURL, pgopts...)
		if err != nil {
			return nil, fmt.Errorf("--postgres-url: idempotency store: %w", err)
		}
		e.idem = idem
		e.closers = append(e.closers, idem.Close)
		hooks, err := postgres.OpenWebhookStore(ctx, cfg.PostgresURL, pgopts...)
		if err != nil {
			return nil, fmt.Errorf("--postgres-url: webhook store: %w", err)
		}
		e.hooks = hooks
		e.closers = append(e.closers, hooks.Close)
		if cfg.has(RoleIngest) {
			pc, err := postgres.OpenPollCursorStore(ctx, cfg.PostgresURL, pgopts...)
			if err != nil {
				return nil, fmt.Errorf("--postgres-url: poll cursor store: %w", err)
			}
			e.cursors = pc
			e.closers = append(e.closers, pc.Close)
		}
	} else {
		name, err := readModelFiles.active(cfg.DataDir, logger)
		if err != nil {
			return nil, fmt.Errorf("read model: %w", err)
		}
		rm, err := sqlite.OpenReadModel(filepath.Join(cfg.DataDir, name), sqlite.WithReadModelLogger(logger),
			sqlite.WithOnRebuilt(e.readModelRebuilt))
		if err != nil {
			return nil, fmt.Errorf("read model: %w", err)
		}
		e.rmFile = name
		e.rmSwap = projections.NewSwappable(rm)
		e.rm = e.rmSwap
		e.closers = append(e.closers, e.rmSwap.Close)
		creds, err := sqlite.OpenCredentialStore(filepath.Join(cfg.DataDir, "credentials.db"), box)
		if err != nil {
			return nil, fmt.Errorf("credential store: %w", err)
		}
		e.creds = creds
		e.closers = append(e.closers, creds.Close)
		idem, err := sqlite.OpenIdempotencyStore(filepath.Join(cfg.DataDir, "idempotency.db"))
		if err != nil {
			return nil, fmt.Errorf("idempotency store: %w", err)
		}
		e.idem = idem
		e.closers = append(e.closers, idem.Close)
		hooks, err := sqlite.OpenWebhookStore(filepath.Join(cfg.DataDir, "webhooks.db"))
		if err != nil {
			return nil, fmt.Errorf("webhook store: %w", err)
		}
		e.hooks = hooks
		e.closers = append(e.closers, hooks.Close)
		if cfg.has(RoleIngest) {
			pc, err := sqlite.OpenPollCursorStore(filepath.Join(cfg.DataDir, "pollcursors.db"))
			if err != nil {
				return nil, fmt.Errorf("poll cursor store: %w", err)
			}
			e.cursors = pc
			e.closers = append(e.closers, pc.Close)
		}
	}

	// Event log: Kafka (with a duplicate index beside it), or a SQLite file.
	if cfg.Kafka.Brokers != "" {
		var index kafka.DedupIndex
		if cfg.PostgresURL != "" {
			ix, err := postgres.OpenEventIndex(ctx, cfg.PostgresURL, "") // the URL's search_path
			if err != nil {
				return nil, fmt.Errorf("--postgres-url: event index: %w", err)
			}
			index = ix
			e.closers = append(e.closers, ix.Close)
		} else {
			ix, err := sqlite.OpenEventIndex(filepath.Join(cfg.DataDir, "event-index.db"))
			if err != nil {
				return nil, fmt.Errorf("event index: %w", err)
			}
			index = ix
			e.closers = append(e.closers, ix.Close)
		}
		kc := kafka.Config{
			Brokers: splitList(cfg.Kafka.Brokers), Topic: cfg.Kafka.Topic, ClientID: cfg.Kafka.ClientID,
			Partitions: cfg.Kafka.Partitions, Index: index, Logger: logger,
			SASL: kafka.SASLConfig{Mechanism: cfg.Kafka.SASLMechanism, User: cfg.Kafka.SASLUser, Password: cfg.Kafka.SASLPassword},
			TLS: kafka.TLSConfig{Enable: cfg.Kafka.TLS, CAFile: cfg.Kafka.TLSCAFile, CertFile: cfg.Kafka.TLSCertFile,
				KeyFile: cfg.Kafka.TLSKeyFile, InsecureSkipVerify: cfg.Kafka.TLSInsecureVerify},
			SessionTimeout: cfg.Kafka.SessionTimeout, HeartbeatInterval: cfg.Kafka.HeartbeatInterval,
			RebalanceTimeout: cfg.Kafka.RebalanceTimeout,
		}
		if cfg.Kafka.Tune != nil {
			cfg.Kafka.Tune(&kc)
		}
		log, err := kafka.OpenEventLog(ctx, kc)
		if err != nil {
			return nil, fmt.Errorf("--kafka-brokers: %w", err)
		}
		e.log, e.follower = log, log
		e.closers = append(e.closers, log.Close)
	} else {
		log, err := sqlite.OpenEventLog(filepath.Join(cfg.DataDir, "events.db"), sqlite.WithLogger(logger))
		if err != nil {
			return nil, fmt.Errorf("event log: %w", err)
		}
		e.log = log
		e.closers = append(e.closers, log.Close)
	}

	// Search: Elasticsearch, or a SQLite FTS5 file (which only a process with the projector role
	// can keep filled).
	switch {
	case cfg.Elasticsearch.URL == "" && !cfg.has(RoleProjector):
		e.idx = noSharedIndex{}
	case cfg.Elasticsearch.URL != "":
		idx, err := elasticsearch.Open(ctx, elasticsearch.Config{URLs: splitList(cfg.Elasticsearch.URL),
			APIKey: cfg.Elasticsearch.APIKey, Alias: cfg.Elasticsearch.Alias, Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("--elasticsearch-url: %w", err)
		}
		e.idx = idx
		e.closers = append(e.closers, idx.Close)
	default:
		name, err := searchFiles.active(cfg.DataDir, logger)
		if err != nil {
			return nil, fmt.Errorf("search index: %w", err)
		}
		idx, err := openEmbeddedSearch(cfg, name, logger)
		if err != nil {
			return nil, fmt.Errorf("search index: %w", err)
		}
		e.idxFile = name
		e.idxSwap = search.NewSwappable(idx)
		e.idx = e.idxSwap
		e.closers = append(e.closers, e.idxSwap.Close)
	}
	return e, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// waitCaughtUp waits until a projection covers the log's head, reporting progress.
func waitCaughtUp(ctx context.Context, log eventlog.Log, what string, logger *slog.Logger, wait func(context.Context, eventlog.Cursor) error) error {
	head, err := log.Head(ctx)
	if err != nil {
		return fmt.Errorf("reading the event log's head: %w", err)
	}
	start := time.Now()
	if err := wait(ctx, head); err != nil {
		return fmt.Errorf("catching up the %s: %w", what, err)
	}
	if d := time.Since(start); d > time.Second {
		logger.Info("caught up with the event log", "projection", what, "took", d.Round(time.Millisecond))
	}
	return nil
}

// noSharedIndex stands for search in an API process that has neither a projector of its own
// nor a shared index: every call says why, instead of answering from an empty index.
type noSharedIndex struct{}

var errNoSharedIndex = domain.Unavailable("search (this API process needs --elasticsearch-url: the embedded index "+
	"lives in the process that runs the projector role)", nil)

func (noSharedIndex) Put(context.Context, []search.Doc) error { return errNoSharedIndex }
func (noSharedIndex) Get(context.Context, string, string) (search.Doc, bool, error) {
	return search.Doc{}, false, errNoSharedIndex
}
func (noSharedIndex) Delete(context.Context, string, []string) error { return errNoSharedIndex }
func (noSharedIndex) Search(context.Context, search.Query) (search.Result, error) {
	return search.Result{}, errNoSharedIndex
}
func (noSharedIndex) Checkpoint(context.Context) (eventlog.Cursor, error) {
	return nil, errNoSharedIndex
}
func (noSharedIndex) SetCheckpoint(context.Context, eventlog.Cursor) error { return errNoSharedIndex }
func (noSharedIndex) Ping(context.Context) error                           { return nil }
func (noSharedIndex) Close() error                                         { return nil }

// openEmbeddedSearch opens the SQLite FTS5 search index (name: search.db, or the file a
// rebuild swapped in). A data folder of an older
// version holds a Bleve index instead (search.bleve): it is dropped, and the new index, empty,
// is built from the event log by the search projector (progress in the log).
func openEmbeddedSearch(cfg Config, name string, logger *slog.Logger) (*sqlitefts.Index, error) {
	idx, err := sqlitefts.Open(filepath.Join(cfg.DataDir, name),
		sqlitefts.Options{Logger: logger, Candidates: cfg.SearchCandidates})
	if err != nil {
		return nil, err
	}
	old := filepath.Join(cfg.DataDir, "search.bleve")
	if _, err := os.Stat(old); err == nil {
		logger.Info("dropping the Bleve search index of an older version: the SQLite search index replaces it, built from the event log",
			"dropped", old)
		if err := os.RemoveAll(old); err != nil {
			_ = idx.Close()
			return nil, fmt.Errorf("drop the old Bleve index %s: %w", old, err)
		}
	}
	return idx, nil
}
