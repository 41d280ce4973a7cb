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
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-oss/switchboard/server"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(2)
	}
}

const usage = `usage: switchboard <command> [flags]

commands:
  serve    run the API, ingestion and projectors (the default)
  migrate  apply the PostgreSQL read model's migrations (--postgres-url)
  help     show this help

Run 'switchboard serve -h' for the flags; each flag --x-y can be set by env SWITCHBOARD_X_Y.
`

func run(args []string, getenv func(string) string, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, getenv, stderr)
	case "migrate":
		return migrate(args, getenv, stderr)
	case "help":
		fmt.Fprint(stderr, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
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

func serve(args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := envFlags{fs, getenv}
	var cfg server.Config
	var roles, cors, logLevel, logFormat, shutdown string
	f.string(&cfg.DataDir, "data-dir", "./data", "folder of the embedded engines' files")
	f.string(&cfg.Listen, "listen", "127.0.0.1:8080", "address of the API, webhooks, health and metrics")
	f.string(&roles, "roles", "api,ingest,projector", "what this process does, comma-separated")
	f.string(&cors, "cors-origins", "*", "browser origins allowed to call the API, comma-separated; empty disables CORS")
	f.string(&cfg.KafkaBrokers, "kafka-brokers", "", "Kafka brokers for the event log (not available yet)")
	f.string(&cfg.PostgresURL, "postgres-url", "", "PostgreSQL URL for the read model (not available yet)")
	f.string(&cfg.ElasticsearchURL, "elasticsearch-url", "", "Elasticsearch URL for search (not available yet)")
	f.string(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.string(&logFormat, "log-format", "text", "text or json")
	f.string(&shutdown, "shutdown-timeout", "15s", "how long running calls may finish on SIGTERM")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg.Roles = splitList(roles)
	cfg.CORSOrigins = splitList(cors)
	cfg.BootstrapKey = getenv("SWITCHBOARD_BOOTSTRAP_KEY")
	cfg.SecretKey = getenv("SWITCHBOARD_SECRET_KEY")
	d, err := time.ParseDuration(shutdown)
	if err != nil || d <= 0 {
		return fmt.Errorf("--shutdown-timeout: %q is not a positive duration like 15s", shutdown)
	}
	cfg.ShutdownTimeout = d

	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level: %q is not debug, info, warn or error", logLevel)
	}
	var handler slog.Handler
	switch logFormat {
	case "text":
		handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	case "json":
		handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	default:
		return fmt.Errorf("--log-format: %q is not text or json", logFormat)
	}
	logger := slog.New(handler)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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
