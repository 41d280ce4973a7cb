package main

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// SIGTERM with StreamEvents clients attached and no unary call running: the process exits 0
// within a couple of seconds, and each client sees its stream end cleanly (or Unavailable,
// "server shutting down"), not an engine failure.
func TestSIGTERMWithOpenStreamsExitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals a real process")
	}
	p := startProcess(t, t.TempDir())
	events := switchboardv1connect.NewEventServiceClient(http.DefaultClient, "http://"+p.addr)
	const clients = 3
	ended := make(chan error, clients)
	for range clients {
		stream, err := events.StreamEvents(context.Background(), authed(&v1.StreamEventsRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		if !stream.Receive() { // the bootstrap's events: the stream is live
			t.Fatalf("stream: %v", stream.Err())
		}
		go func() {
			for stream.Receive() {
			}
			ended <- stream.Err()
		}()
	}
	time.Sleep(300 * time.Millisecond) // every stream is now idle, tailing the log

	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("exit code %d after SIGTERM, want 0", exit.ExitCode())
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after SIGTERM")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("exit took %s after SIGTERM, want within a couple of seconds", took.Round(time.Millisecond))
	}
	for range clients {
		select {
		case err := <-ended:
			var ce *connect.Error
			if err != nil && !(errors.As(err, &ce) && ce.Code() == connect.CodeUnavailable && strings.Contains(ce.Message(), "shutting down")) {
				t.Errorf("a stream ended with %v, want a clean end or Unavailable \"…shutting down…\"", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a stream client never saw its stream end")
		}
	}
}
