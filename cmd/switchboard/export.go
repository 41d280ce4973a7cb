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
	"github.com/cenkalti/backoff/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboard-oss/switchboard/adapters/connectrpc"
	"github.com/switchboard-oss/switchboard/adapters/sqlite"
	"github.com/switchboard-oss/switchboard/eventlog"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
	"github.com/switchboard-oss/switchboard/server"
)

// exportOptions is what switchboard events export was asked.
type exportOptions struct {
	api, apiKey string // a running server
	dataDir     string // or a stopped server's folder
	team, key   string
	types       []string
	from, to    time.Time
	format      string // jsonl or parquet
	out         string // a file, or - (stdout, jsonl only)
	after       string // the position to continue after
	overwrite   bool
	pageSize    int
	// pageTimeout bounds one page's read (retried on a transient error).
	pageTimeout time.Duration
	// afterPage, when set (tests), is called once a page is written, with the events written.
	afterPage func(written int64)
}

// exportRow is one event to write, with its team where the source knows it.
type exportRow struct {
	ev   *v1.Event
	team string
}

// eventSource gives the events to export, a page at a time, in log order; an empty page at
// the end.
type eventSource interface {
	next(ctx context.Context) ([]exportRow, error)
	// total is how many events are left to export, when the source can tell (ok false if not).
	total(ctx context.Context) (n int64, ok bool)
	close()
}

// exportEvents is the command's flags parsed into options, then the export.
func exportEventsCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const name = "events export"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(flagOutput(args, stdout, stderr))
	setUsage(fs, name)
	f := envFlags{fs, getenv}
	var o exportOptions
	var from, to, types string
	f.string(&o.api, "api", "", "address of a running server to export through its API, e.g. http://127.0.0.1:8080")
	f.string(&o.apiKey, "api-key", "", "an API key of the team to export (with --api)")
	fs.StringVar(&o.dataDir, "data-dir", "", "or: the data folder of a STOPPED server with the embedded log, read read-only")
	fs.StringVar(&o.team, "team", "", "with --data-dir: only this team's events (default: every team's); through --api, the key's team")
	fs.StringVar(&o.key, "key", "", "only the events of this key (a prospect id, or the team id)")
	fs.StringVar(&types, "types", "", "only these event types, comma-separated, e.g. message.received.v1,message.sent.v1")
	fs.StringVar(&from, "from", "", "only events that occurred at or after this time (RFC 3339, e.g. 2026-11-01T00:00:00Z, or a date 2026-11-01)")
	fs.StringVar(&to, "to", "", "only events that occurred before this time (RFC 3339 or a date)")
	fs.StringVar(&o.format, "format", "jsonl", "jsonl (one Event JSON per line, as ListEvents answers) or parquet")
	fs.StringVar(&o.out, "out", "", "the file to write; - writes JSONL to stdout")
	fs.StringVar(&o.after, "after-position", "", "continue after this position: the last one a previous export printed (or its file's last position)")
	fs.BoolVar(&o.overwrite, "overwrite", false, "replace --out if it exists (without it, an existing file is refused, or continued with --after-position for JSONL)")
	fs.IntVar(&o.pageSize, "page-size", 1000, "events read per page (1 to 1000)")
	fs.DurationVar(&o.pageTimeout, "page-timeout", time.Minute, "how long one page may take to read before it is tried again")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only; see switchboard events export --help)", fs.Arg(0))
	}
	var err error
	if o.from, err = parseTimeFlag("--from", from); err != nil {
		return err
	}
	if o.to, err = parseTimeFlag("--to", to); err != nil {
		return err
	}
	o.types = splitList(types)
	if err := o.check(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return exportEvents(ctx, o, stdout, stderr)
}

// parseTimeFlag reads RFC 3339 (with or without fractions) or a date (midnight UTC).
func parseTimeFlag(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s: %q is not a time like 2026-11-01T00:00:00Z or a date like 2026-11-01", name, s)
}

// check refuses contradictory or missing flags before anything is read or written.
func (o *exportOptions) check() error {
	switch o.format {
	case "jsonl", "parquet":
	default:
		return fmt.Errorf("--format: %q is not jsonl or parquet", o.format)
	}
	if o.out == "" {
		return errors.New("--out: required (the file to write, or - for JSONL on stdout)")
	}
	if o.out == "-" && o.format != "jsonl" {
		return errors.New("--out -: only JSONL goes to stdout; give parquet a file")
	}
	if !o.from.IsZero() && !o.to.IsZero() && !o.from.Before(o.to) {
		return fmt.Errorf("--from %s is not before --to %s: nothing would be exported", o.from.Format(time.RFC3339Nano), o.to.Format(time.RFC3339Nano))
	}
	if len(o.types) > 50 {
		return fmt.Errorf("--types: at most 50 types, got %d", len(o.types))
	}
	if o.pageSize < 1 || o.pageSize > 1000 {
		return fmt.Errorf("--page-size: %d is not between 1 and 1000", o.pageSize)
	}
	if o.pageTimeout <= 0 {
		return errors.New("--page-timeout: must be positive")
	}
	switch {
	case o.dataDir != "" && o.api != "":
		return errors.New("--api and --data-dir: give one source, a running server (--api) or a stopped one's folder (--data-dir)")
	case o.dataDir == "" && o.api == "":
		return errors.New("no source: give --api URL (a running server, with --api-key) or --data-dir DIR (a stopped server's folder)")
	case o.api != "":
		if o.apiKey == "" {
			return errors.New("--api-key: required with --api (an API key of the team to export; or SWITCHBOARD_API_KEY)")
		}
		if o.team != "" {
			return errors.New("--team: only with --data-dir; through --api, the API key's team is exported")
		}
		if !strings.HasPrefix(o.api, "http://") && !strings.HasPrefix(o.api, "https://") {
			return fmt.Errorf("--api: %q is not an http:// or https:// address", o.api)
		}
	case o.dataDir != "":
		if o.after != "" {
			if _, err := dataDirAfter(o.after); err != nil {
				return err
			}
		}
	}
	return nil
}

// dataDirAfter reads --after-position in --data-dir mode: a position of the embedded log as
// a --data-dir export writes it (0-42).
func dataDirAfter(s string) (int64, error) {
	c, err := eventlog.ParseCursor(s)
	if err != nil || len(c) != 1 {
		return 0, fmt.Errorf("--after-position: with --data-dir, a position like 0-42 (the position column of a --data-dir export), got %q", truncate(s, 40))
	}
	off, ok := c[0]
	if !ok {
		return 0, fmt.Errorf("--after-position: the embedded log has only partition 0, got %q", truncate(s, 40))
	}
	return off, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// exportResult is what an export wrote.
type exportResult struct {
	written int64
	last    string // the position to continue after
}

// exportEvents copies the selected events to o.out. Whatever ends it (the end of the log, an
// error, ctx), what was written is whole, and the position printed last is the one to continue
// after: an export resumed from it has no gap and no duplicate.
func exportEvents(ctx context.Context, o exportOptions, stdout, stderr io.Writer) error {
	report := stdout
	if o.out == "-" {
		report = stderr // stdout is the data
	}
	w, err := openExportWriter(o, stdout)
	if err != nil {
		return err
	}
	src, err := openSource(o)
	if err != nil {
		w.abort()
		return err
	}
	defer src.close()
	res := exportResult{last: o.after}
	bar := newExportProgress(stderr)
	if n, ok := src.total(ctx); ok {
		bar.total = n
	}
	runErr := func() error {
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			rows, err := src.next(ctx)
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				return nil
			}
			if err := w.write(rows); err != nil {
				return err
			}
			res.written += int64(len(rows))
			res.last = rows[len(rows)-1].ev.Position
			bar.update(res.written, rows[len(rows)-1].ev)
			if o.afterPage != nil {
				o.afterPage(res.written)
			}
		}
	}()
	bar.end(res.written)
	if runErr != nil && res.written == 0 {
		w.abort()
		if errors.Is(runErr, context.Canceled) {
			return errors.New("export interrupted before any event was written; nothing was written")
		}
		return fmt.Errorf("export failed; nothing was written: %w", runErr)
	}
	if err := w.commit(res.last, runErr == nil); err != nil {
		if o.format == "parquet" {
			return fmt.Errorf("--out %s: %w (nothing was written there)", o.out, err)
		}
		return fmt.Errorf("--out %s: %w", o.out, err)
	}
	where := o.out
	if where == "-" {
		where = "stdout"
	}
	fmt.Fprintf(report, "exported %d events to %s (%s)\n", res.written, where, o.format)
	if res.last != "" {
		fmt.Fprintf(report, "last position: %s\n", res.last)
	}
	if runErr != nil {
		fmt.Fprintf(report, "the export stopped before the end: continue it with --after-position %s%s\n", res.last, resumeHint(o))
		if errors.Is(runErr, context.Canceled) {
			return errors.New("export interrupted")
		}
		return fmt.Errorf("export stopped: %w", runErr)
	}
	return nil
}

// resumeHint says where the rest goes: the same JSONL file (appended), another Parquet file.
func resumeHint(o exportOptions) string {
	switch {
	case o.out == "-":
		return ""
	case o.format == "parquet":
		return " and another --out (Parquet files are not appended; read both, e.g. 'events*.parquet')"
	default:
		return " and the same --out (JSONL is appended)"
	}
}

func openSource(o exportOptions) (eventSource, error) {
	if o.dataDir != "" {
		return openDataDirSource(o)
	}
	client := switchboardv1connect.NewEventServiceClient(http.DefaultClient, strings.TrimRight(o.api, "/"))
	req := &v1.ListEventsRequest{AfterPosition: o.after, Types: o.types, Key: o.key, PageSize: int32(o.pageSize)}
	if !o.from.IsZero() {
		req.From = timestamppb.New(o.from)
	}
	if !o.to.IsZero() {
		req.To = timestamppb.New(o.to)
	}
	return &apiSource{client: client, key: o.apiKey, req: req, timeout: o.pageTimeout}, nil
}

// apiSource pages through EventService.ListEvents. A transient failure (the server restarting,
// a timeout) is retried from the same position, so it neither skips nor repeats a page.
type apiSource struct {
	client  switchboardv1connect.EventServiceClient
	key     string
	req     *v1.ListEventsRequest
	timeout time.Duration
}

func (s *apiSource) next(ctx context.Context) ([]exportRow, error) {
	res, err := backoff.Retry(ctx, func() (*v1.ListEventsResponse, error) {
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		req := connect.NewRequest(s.req)
		req.Header().Set("Authorization", "Bearer "+s.key)
		res, err := s.client.ListEvents(cctx, req)
		if err != nil {
			switch connect.CodeOf(err) {
			case connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeResourceExhausted, connect.CodeAborted, connect.CodeUnknown:
				if ctx.Err() != nil {
					return nil, backoff.Permanent(ctx.Err())
				}
				return nil, err
			}
			return nil, backoff.Permanent(err)
		}
		return res.Msg, nil
	}, backoff.WithBackOff(backoff.NewExponentialBackOff()), backoff.WithMaxElapsedTime(2*time.Minute))
	if err != nil {
		return nil, fmt.Errorf("ListEvents: %w", err)
	}
	rows := make([]exportRow, len(res.Events))
	for i, e := range res.Events {
		rows[i] = exportRow{ev: e}
	}
	if len(res.Events) > 0 {
		s.req.AfterPosition = res.NextPosition
	}
	return rows, nil
}

func (s *apiSource) total(context.Context) (int64, bool) { return 0, false }
func (s *apiSource) close()                              {}

// dataDirSource reads a stopped server's embedded log read-only, every team's or one's.
type dataDirSource struct {
	log     *sqlite.ReadOnlyEventLog
	release func()
	q       sqlite.ExportQuery
}

func openDataDirSource(o exportOptions) (eventSource, error) {
	var after int64
	if o.after != "" {
		var err error
		if after, err = dataDirAfter(o.after); err != nil {
			return nil, err
		}
	}
	log, release, err := server.OpenEventLogForExport(o.dataDir)
	if err != nil {
		return nil, err
	}
	return &dataDirSource{log: log, release: release, q: sqlite.ExportQuery{After: after, TeamID: o.team,
		Types: o.types, Key: o.key, From: o.from, To: o.to, Limit: o.pageSize}}, nil
}

func (s *dataDirSource) next(ctx context.Context) ([]exportRow, error) {
	recs, err := s.log.Read(ctx, s.q)
	if err != nil {
		return nil, err
	}
	rows := make([]exportRow, len(recs))
	for i, r := range recs {
		ev, err := connectrpc.ExportEvent(r, eventlog.Cursor{r.Position.Partition: r.Position.Offset}.String())
		if err != nil {
			return nil, fmt.Errorf("event at position %s: %w", r.Position, err)
		}
		rows[i] = exportRow{ev: ev, team: r.Event.TeamID}
		s.q.After = r.Position.Offset
	}
	return rows, nil
}

func (s *dataDirSource) total(ctx context.Context) (int64, bool) {
	n, err := s.log.Count(ctx, s.q)
	return n, err == nil
}

func (s *dataDirSource) close() { s.release() }
