// Command switchboard runs Switchboard. `switchboard serve` with no configuration runs every
// engine embedded under ./data and listens on 127.0.0.1:8080. Every flag --x-y has the env twin
// SWITCHBOARD_X_Y.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/connectrpc"
	"github.com/switchboard-oss/switchboard/adapters/platforms"
	"github.com/switchboard-oss/switchboard/adapters/sqlitefts"
	"github.com/switchboard-oss/switchboard/internal/telemetry"
	"github.com/switchboard-oss/switchboard/server"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(2)
	}
}

// command is one thing the binary does; help lists them in this order, one line each.
type command struct {
	name    string
	summary string
	run     func(args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the API, webhooks, pollers and projectors (the default command)", serve},
		{"migrate", "apply the PostgreSQL migrations and exit (serve applies them too)", migrate},
		{"search reindex", "rebuild the Elasticsearch index from the log and switch the alias to it", reindex},
		{"projections rebuild", "rebuild readmodel or search beside the serving one on a running server, then swap", rebuildProjection},
		{"events export", "export the event log, or part of it, to JSONL or Parquet (a running server's API, or a stopped one's folder)", exportEventsCommand},
		{"version", "print the version, the commit and the Go version it was built with", printVersion},
		{"help", "show this help; 'switchboard <command> --help' shows a command's flags", nil},
	}
}

func summary(name string) string {
	for _, c := range commands() {
		if c.name == name {
			return c.summary
		}
	}
	return ""
}

func usage(w io.Writer) {
	fmt.Fprint(w, "usage: switchboard <command> [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-19s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nWith no command, switchboard serves: every engine embedded under ./data, the API on\n"+
		"127.0.0.1:8080. Every flag --x-y can also be set by the env variable SWITCHBOARD_X_Y.\n")
}

// wantsHelp reports whether args ask for help (-h, -help, --help) before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// flagOutput is where a command's flag package writes: stdout when help was asked for (it is
// the answer), stderr otherwise (it explains an error).
func flagOutput(args []string, stdout, stderr io.Writer) io.Writer {
	if wantsHelp(args) {
		return stdout
	}
	return stderr
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		if len(args) > 1 && args[0] == "help" { // help <command>: that command's flags
			return run(append(args[1:], "--help"), getenv, stdout, stderr)
		}
		usage(stdout)
		return nil
	}
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "search" {
		if len(args) == 0 || args[0] != "reindex" {
			if wantsHelp(args) {
				fmt.Fprintf(stdout, "usage: switchboard search reindex [flags]\n\n%s\n", summary("search reindex"))
				return nil
			}
			usage(stderr)
			return errors.New("usage: switchboard search reindex [flags]")
		}
		name, args = "search reindex", args[1:]
	}
	if name == "projections" {
		if len(args) == 0 || args[0] != "rebuild" {
			if wantsHelp(args) {
				fmt.Fprintf(stdout, "usage: switchboard projections rebuild readmodel|search [flags]\n\n%s\n", summary("projections rebuild"))
				return nil
			}
			usage(stderr)
			return errors.New("usage: switchboard projections rebuild readmodel|search [flags]")
		}
		name, args = "projections rebuild", args[1:]
	}
	if name == "events" {
		if len(args) == 0 || args[0] != "export" {
			if wantsHelp(args) {
				fmt.Fprintf(stdout, "usage: switchboard events export [flags]\n\n%s\n", summary("events export"))
				return nil
			}
			usage(stderr)
			return errors.New("usage: switchboard events export [flags]")
		}
		name, args = "events export", args[1:]
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return c.run(args, getenv, stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", name)
}

// setUsage gives a command's flag set its help: what the command does, then its flags.
func setUsage(fs *flag.FlagSet, name string) {
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: switchboard %s [flags]\n\n%s\n\nflags:\n", name, summary(name))
		fs.PrintDefaults()
	}
}

// envFlags defines flags whose defaults come from their SWITCHBOARD_ env twins.
type envFlags struct {
	fs     *flag.FlagSet
	getenv func(string) string
}

func envName(flagName string) string {
	return "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (e envFlags) string(p *string, name, def, help string) {
	if v := e.getenv(envName(name)); v != "" {
		def = v
	}
	e.fs.StringVar(p, name, def, help+" (env "+envName(name)+")")
}

func (e envFlags) int32(p *int32, name string, def int32, help string) {
	if v := e.getenv(envName(name)); v != "" {
		if n, err := strconv.ParseInt(v, 10, 32); err == nil {
			def = int32(n)
		}
	}
	e.fs.Func(name, fmt.Sprintf("%s (env %s, default %d)", help, envName(name), def), func(s string) error {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return fmt.Errorf("not a number: %q", s)
		}
		*p = int32(n)
		return nil
	})
	*p = def
}

func (e envFlags) int64(p *int64, name string, def int64, help string) {
	if v := e.getenv(envName(name)); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			def = n
		}
	}
	e.fs.Int64Var(p, name, def, help+" (env "+envName(name)+")")
}

func (e envFlags) duration(p *time.Duration, name string, def time.Duration, help string) {
	if v := e.getenv(envName(name)); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			def = d
		}
	}
	e.fs.DurationVar(p, name, def, help+" (env "+envName(name)+")")
}

func (e envFlags) bool(p *bool, name string, def bool, help string) {
	if v := e.getenv(envName(name)); v != "" {
		def = v == "1" || strings.EqualFold(v, "true")
	}
	e.fs.BoolVar(p, name, def, help+" (env "+envName(name)+")")
}

// parseConfig parses the flags every command that opens the engines shares. It returns
// flag.ErrHelp after printing the help.
func parseConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (server.Config, *slog.Logger, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	setUsage(fs, name)
	f := envFlags{fs, getenv}
	var cfg server.Config
	var roles, cors, logLevel, logFormat, shutdown, baseURLs string
	f.string(&cfg.DataDir, "data-dir", "./data", "folder of the embedded engines' files")
	f.string(&cfg.Listen, "listen", "127.0.0.1:8080", "address of the API, webhooks, health and metrics")
	f.string(&roles, "roles", "api,ingest,projector,sender,webhooks", "what this process does, comma-separated")
	f.string(&cors, "cors-origins", "*", "browser origins allowed to call the API, comma-separated; empty disables CORS")
	f.string(&cfg.PostgresURL, "postgres-url", "", "PostgreSQL URL: the read model, credentials and idempotency keys move there")
	f.string(&cfg.Kafka.Brokers, "kafka-brokers", "", "Kafka brokers (host:port, comma-separated): the event log moves there")
	f.string(&cfg.Kafka.Topic, "kafka-topic", "switchboard.events", "the events topic")
	f.string(&cfg.Kafka.ClientID, "kafka-client-id", "switchboard", "the client id Kafka sees")
	f.int32(&cfg.Kafka.Partitions, "kafka-partitions", 12, "partitions of the events topic when Switchboard creates it")
	f.string(&cfg.Kafka.SASLMechanism, "kafka-sasl-mechanism", "", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)")
	f.string(&cfg.Kafka.SASLUser, "kafka-sasl-user", "", "SASL user")
	f.string(&cfg.Kafka.SASLPassword, "kafka-sasl-password", "", "SASL password (prefer the env variable)")
	f.bool(&cfg.Kafka.TLS, "kafka-tls", false, "connect to Kafka over TLS")
	f.string(&cfg.Kafka.TLSCAFile, "kafka-tls-ca-file", "", "PEM CA certificates to trust for Kafka")
	f.string(&cfg.Kafka.TLSCertFile, "kafka-tls-cert-file", "", "client certificate for Kafka (PEM)")
	f.string(&cfg.Kafka.TLSKeyFile, "kafka-tls-key-file", "", "client key for Kafka (PEM)")
	f.duration(&cfg.Kafka.SessionTimeout, "kafka-session-timeout", 10*time.Second, "consumer group session timeout")
	f.duration(&cfg.Kafka.HeartbeatInterval, "kafka-heartbeat-interval", 3*time.Second, "consumer group heartbeat interval")
	f.duration(&cfg.Kafka.RebalanceTimeout, "kafka-rebalance-timeout", 60*time.Second, "consumer group rebalance timeout")
	f.string(&cfg.Elasticsearch.URL, "elasticsearch-url", "", "Elasticsearch URL(s), comma-separated: search moves there")
	f.string(&cfg.Elasticsearch.APIKey, "elasticsearch-api-key", "", "Elasticsearch API key (prefer the env variable)")
	f.string(&cfg.Elasticsearch.Alias, "elasticsearch-alias", "switchboard-messages", "the alias searches and writes go through")
	var candidates int64
	f.int64(&candidates, "search-relevance-candidates", sqlitefts.DefaultCandidates, "embedded search: how many of the newest matches a relevance search ranks when more match")
	f.string(&baseURLs, "platform-base-urls", "", "platform APIs elsewhere (proxies, tests): name=url, comma-separated, e.g. bluesky=http://127.0.0.1:9000,reddit=http://127.0.0.1:9001")
	f.duration(&cfg.Webhooks.RetryFor, "webhooks-retry-for", 72*time.Hour, "outbound webhooks: how long an event is retried before it is dead-lettered (and a subscription failing that long disabled)")
	f.bool(&cfg.Webhooks.AllowPrivate, "webhooks-allow-private", false, "outbound webhooks: allow receivers on loopback, private and link-local addresses (off: refused at subscription and at connection)")
	f.duration(&cfg.PollInterval, "poll-interval", 10*time.Second, "wait between two polls of an account link on platforms without webhooks (Bluesky, Reddit)")
	f.string(&cfg.Connect.PublicURL, "public-url", "", "address platforms reach this server at (OAuth callbacks, webhooks), e.g. https://inbox.example.com")
	f.string(&cfg.Connect.Meta.ClientID, "meta-app-id", "", "Meta app id (Facebook Login: Messenger, WhatsApp, Instagram)")
	f.string(&cfg.Connect.Meta.ClientSecret, "meta-app-secret", "", "Meta app secret (prefer the env variable)")
	f.string(&cfg.Connect.Instagram.ClientID, "instagram-app-id", "", "Instagram app id (Instagram Login)")
	f.string(&cfg.Connect.Instagram.ClientSecret, "instagram-app-secret", "", "Instagram app secret (prefer the env variable)")
	f.string(&cfg.Connect.X.ClientID, "x-client-id", "", "X OAuth 2.0 client id")
	f.string(&cfg.Connect.X.ClientSecret, "x-client-secret", "", "X OAuth 2.0 client secret (prefer the env variable)")
	f.string(&cfg.Connect.Reddit.ClientID, "reddit-client-id", "", "Reddit web app client id")
	f.string(&cfg.Connect.Reddit.ClientSecret, "reddit-client-secret", "", "Reddit web app secret (prefer the env variable)")
	f.duration(&cfg.Connect.RefreshInterval, "token-refresh-interval", time.Minute, "how often tokens due for renewal are looked for")
	var maxStreams int64
	f.int64(&cfg.Limits.MaxRequestBytes, "max-request-bytes", connectrpc.DefaultMaxRequestBytes, "largest request message accepted, as sent and once decompressed")
	f.duration(&cfg.KeyCacheTTL, "key-cache-ttl", connectrpc.DefaultKeyCacheTTL, "how long a process trusts what it read of an API key and its member (revocations apply at once, through any process sharing the log; 0 or less: no cache)")
	f.duration(&cfg.Limits.ReadTimeout, "read-timeout", connectrpc.DefaultReadTimeout, "how long a client has to send a request body")
	f.duration(&cfg.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "how long a client has to send a request's headers")
	f.duration(&cfg.IdleTimeout, "idle-timeout", 2*time.Minute, "how long an idle keep-alive connection stays open")
	f.int64(&maxStreams, "max-streams-per-key", connectrpc.DefaultMaxStreamsPerKey, "streams (StreamEvents) one API key may hold open at once")
	f.string(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.string(&logFormat, "log-format", "text", "text or json")
	f.string(&shutdown, "shutdown-timeout", "15s", "how long running calls may finish on SIGTERM")
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	cfg.Roles = splitList(roles)
	if cfg.KeyCacheTTL == 0 {
		cfg.KeyCacheTTL = -1 // --key-cache-ttl 0: no cache
	}
	if candidates < 1 || candidates > 1_000_000 {
		return cfg, nil, fmt.Errorf("--search-relevance-candidates: %d is not between 1 and 1000000", candidates)
	}
	cfg.SearchCandidates = int(candidates)
	if cfg.Limits.MaxRequestBytes < 1024 || cfg.Limits.MaxRequestBytes > 1<<30 {
		return cfg, nil, fmt.Errorf("--max-request-bytes: %d is not between 1024 and 1073741824", cfg.Limits.MaxRequestBytes)
	}
	if maxStreams < 1 || maxStreams > 1<<20 {
		return cfg, nil, fmt.Errorf("--max-streams-per-key: %d is not between 1 and 1048576", maxStreams)
	}
	cfg.Limits.MaxStreamsPerKey = int(maxStreams)
	for name, d := range map[string]time.Duration{"--read-timeout": cfg.Limits.ReadTimeout,
		"--read-header-timeout": cfg.ReadHeaderTimeout, "--idle-timeout": cfg.IdleTimeout} {
		if d <= 0 {
			return cfg, nil, fmt.Errorf("%s: %s is not a positive duration like 30s", name, d)
		}
	}
	bases, err := parseBaseURLs(baseURLs)
	if err != nil {
		return cfg, nil, err
	}
	cfg.PlatformBaseURLs = bases
	cfg.CORSOrigins = splitList(cors)
	cfg.BootstrapKey = getenv("SWITCHBOARD_BOOTSTRAP_KEY")
	cfg.SecretKey = getenv("SWITCHBOARD_SECRET_KEY")
	d, err := time.ParseDuration(shutdown)
	if err != nil || d <= 0 {
		return cfg, nil, fmt.Errorf("--shutdown-timeout: %q is not a positive duration like 15s", shutdown)
	}
	cfg.ShutdownTimeout = d

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return cfg, nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", logLevel)
	}
	var handler slog.Handler
	switch logFormat {
	case "text":
		handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	case "json":
		handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	default:
		return cfg, nil, fmt.Errorf("--log-format: %q is not text or json", logFormat)
	}
	return cfg, slog.New(handler), nil
}

func serve(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, logger, err := parseConfig("serve", args, getenv, flagOutput(args, stdout, stderr))
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopTracing, err := telemetry.Setup(ctx, getenv, buildInfo().version)
	if err != nil {
		return err
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(fctx); err != nil {
			logger.Warn("flushing traces", "err", err)
		}
	}()
	if telemetry.Enabled(getenv) {
		logger.Info("exporting traces over OTLP (OTEL_EXPORTER_OTLP_* settings)")
	}
	s, err := server.Start(ctx, cfg, logger)
	if err != nil {
		return err
	}
	<-ctx.Done()
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
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

func reindex(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, logger, err := parseConfig("search reindex", args, getenv, flagOutput(args, stdout, stderr))
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return server.ReindexSearch(ctx, cfg, logger)
}

// parseBaseURLs reads --platform-base-urls: name=url pairs, comma-separated.
func parseBaseURLs(s string) (platforms.BaseURLs, error) {
	out := platforms.BaseURLs{}
	for _, pair := range splitList(s) {
		name, raw, ok := strings.Cut(pair, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		u, err := url.Parse(strings.TrimSpace(raw))
		if !ok || name == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--platform-base-urls: %q is not name=http(s)://host[:port][/path]", pair)
		}
		out[name] = strings.TrimRight(u.String(), "/")
	}
	return out, nil
}
