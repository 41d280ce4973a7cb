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
	"syscall"

	"github.com/switchboard-oss/switchboard/adapters/postgres"
)

// migrate applies the pending PostgreSQL migrations and exits: for deployments that migrate
// before rolling out, instead of letting the first process do it at start.
func migrate(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(flagOutput(args, stdout, stderr))
	setUsage(fs, "migrate")
	f := envFlags{fs, getenv}
	var url string
	f.string(&url, "postgres-url", "", "PostgreSQL URL of the database to migrate (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("migrate: unexpected argument %q", fs.Arg(0))
	}
	if url == "" {
		return fmt.Errorf("migrate: --postgres-url (env %s) is required", envName("postgres-url"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if err := postgres.Migrate(ctx, url, postgres.WithLogger(logger)); err != nil {
		return err
	}
	logger.Info("PostgreSQL schema is up to date")
	return nil
}
