package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"connectrpc.com/connect"

	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// rebuildProjection asks a running server to rebuild a projection beside the serving one
// (AdminService.RebuildProjection) and shows its progress until it is done.
func rebuildProjection(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const name = "projections rebuild"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(flagOutput(args, stdout, stderr))
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: switchboard %s readmodel|search [flags]\n\n%s\n\nflags:\n", name, summary(name))
		fs.PrintDefaults()
	}
	f := envFlags{fs, getenv}
	var api, key string
	var poll time.Duration
	f.string(&api, "api", "http://127.0.0.1:8080", "address of a running server with the projector role")
	f.string(&key, "api-key", "", "an owner's API key")
	f.duration(&poll, "poll-interval", 500*time.Millisecond, "how often progress is read")
	// The projection may come before or after the flags.
	var projection string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		projection, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if projection == "" && fs.NArg() > 0 {
		projection = fs.Arg(0)
	}
	if projection != "readmodel" && projection != "search" {
		fs.Usage()
		return fmt.Errorf("projection: want readmodel or search, got %q", projection)
	}
	if key == "" {
		return errors.New("--api-key: required (an owner's key; or SWITCHBOARD_API_KEY)")
	}
	if poll <= 0 {
		return errors.New("--poll-interval: must be positive")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client := switchboardv1connect.NewAdminServiceClient(http.DefaultClient, strings.TrimRight(api, "/"))
	auth := func(r connect.AnyRequest) { r.Header().Set("Authorization", "Bearer "+key) }
	req := connect.NewRequest(&v1.RebuildProjectionRequest{Projection: projection})
	auth(req)
	res, err := client.RebuildProjection(ctx, req)
	if err != nil {
		return fmt.Errorf("rebuild %s: %w", projection, err)
	}
	r := res.Msg.Rebuild
	fmt.Fprintf(stdout, "rebuild %s of %s started, into %s; the serving version answers meanwhile\n", r.Id, projection, r.Target)
	show := newProgressLine(stdout)
	for {
		show.update(r)
		switch r.Phase {
		case "done":
			show.end()
			fmt.Fprintf(stdout, "done: %s serves the new version (%d positions) after %s\n", projection, r.Applied,
				r.FinishedAt.AsTime().Sub(r.StartedAt.AsTime()).Round(time.Millisecond))
			return nil
		case "failed":
			show.end()
			return fmt.Errorf("rebuild %s failed, the serving version is untouched: %s", r.Id, r.Error)
		}
		select {
		case <-ctx.Done():
			show.end()
			return fmt.Errorf("stopped following rebuild %s (it goes on in the server): %w", r.Id, ctx.Err())
		case <-time.After(poll):
		}
		get := connect.NewRequest(&v1.GetRebuildRequest{RebuildId: r.Id})
		auth(get)
		gr, err := client.GetRebuild(ctx, get)
		if err != nil {
			show.end()
			return fmt.Errorf("rebuild %s: progress: %w", r.Id, err)
		}
		r = gr.Msg.Rebuild
	}
}

// progressLine shows progress in place on a terminal, and as a line per change of phase or
// every 5 seconds otherwise (logs, pipes).
type progressLine struct {
	w        io.Writer
	terminal bool
	phase    string
	last     time.Time
	drawn    bool
}

func newProgressLine(w io.Writer) *progressLine {
	p := &progressLine{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progressLine) update(r *v1.Rebuild) {
	line := fmt.Sprintf("%-11s %d/%d positions", r.Phase, r.Applied, r.Total)
	if r.Total > 0 {
		line += fmt.Sprintf(" (%d%%)", min(100, r.Applied*100/r.Total))
	}
	if p.terminal {
		fmt.Fprintf(p.w, "\r%-60s", line)
		p.drawn = true
		return
	}
	if r.Phase != p.phase || time.Since(p.last) >= 5*time.Second {
		fmt.Fprintln(p.w, line)
		p.phase, p.last = r.Phase, time.Now()
	}
}

func (p *progressLine) end() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
