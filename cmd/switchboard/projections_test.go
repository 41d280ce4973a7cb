package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/server"
)

// switchboard projections rebuild asks a running server to rebuild, shows the phases on a
// non-terminal as lines, and ends when the new version serves; a bad key or projection fails
// with the reason.
func TestProjectionsRebuildCommand(t *testing.T) {
	const key = "sb_cli_rebuild_key_0123456789abcdef"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", BootstrapKey: key,
		Roles: []string{"api", "ingest", "projector"}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	api := "http://" + s.Addr

	for _, projection := range []string{"readmodel", "search"} {
		var stdout, stderr bytes.Buffer
		err := run([]string{"projections", "rebuild", projection, "--api", api, "--poll-interval", "20ms"},
			env(map[string]string{"SWITCHBOARD_API_KEY": key}), &stdout, &stderr)
		if err != nil {
			t.Fatalf("%s: %v\n%s", projection, err, stderr.String())
		}
		out := stdout.String()
		for _, want := range []string{"rebuild rb", "started, into ", "done: " + projection + " serves the new version"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: no %q in:\n%s", projection, want, out)
			}
		}
	}

	var stdout, stderr bytes.Buffer
	err = run([]string{"projections", "rebuild", "readmodel", "--api", api, "--api-key", "sb_not_a_key"}, env(nil), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "unauthenticated") {
		t.Errorf("a bad key: %v", err)
	}
	err = run([]string{"projections", "rebuild", "threads", "--api", api, "--api-key", key}, env(nil), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "projection") {
		t.Errorf("an unknown projection: %v", err)
	}
	err = run([]string{"projections", "rebuild", "readmodel", "--api", api}, env(nil), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--api-key") {
		t.Errorf("no key: %v", err)
	}
}
