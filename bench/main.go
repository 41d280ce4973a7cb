// Command bench measures Switchboard end to end through the real server and writes the results
// to bench/results/<date>-<mode>[-<scale>].{md,json}: ingest over Connect and signed webhooks,
// projection catch-up and rebuild, inbox queries, search and freshness, with baselines measured
// in the same run (raw SQLite and PostgreSQL inserts, a do-nothing Connect handler, PostgreSQL
// full-text search) so that ratios hold on a noisy machine. Run it with `make bench`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard-oss/switchboard/bench/baseline"
	"github.com/switchboard-oss/switchboard/bench/traffic"
)

type options struct {
	Scale       string
	Modes       []string
	Out         string
	Seed        int64
	PostgresURL string
	Keep        bool
	Verbose     bool
	CPUProfile  string
	ProfileDir  string
	StopAfter   string
}

// scale is one size of run.
type scale struct {
	Name         string
	Traffic      traffic.Config
	Workers      int           // concurrent clients at saturation
	Conns        int           // HTTP/2 connections they share
	LoadRate     int           // msg/s offered in the fixed-load run
	LoadSeconds  int           // its length
	ProbeEvery   time.Duration // freshness probes during the fixed-load run
	Iterations   int           // calls per query figure
	DeepPage     int           // the deep page of ListThreads
	WebhookBatch int           // messaging items per webhook POST
	NoopCalls    int           // calls to the do-nothing Connect handler
}

var scales = map[string]scale{
	// smoke: seconds, in CI, so the benchmark never rots.
	"smoke": {Name: "smoke", Traffic: traffic.Config{Teams: 2, LinksPerTeam: 3, Threads: 300, Messages: 3000},
		Workers: 16, Conns: 2, LoadRate: 200, LoadSeconds: 2, ProbeEvery: 100 * time.Millisecond, Iterations: 10,
		DeepPage: 5, WebhookBatch: 20, NoopCalls: 2000},
	"default": {Name: "default", Traffic: traffic.Config{Teams: 4, LinksPerTeam: 4, Threads: 10_000, Messages: 100_000},
		Workers: 64, Conns: 4, LoadRate: 2000, LoadSeconds: 10, ProbeEvery: 50 * time.Millisecond, Iterations: 200,
		DeepPage: 50, WebhookBatch: 50, NoopCalls: 50_000},
	"1m": {Name: "1m", Traffic: traffic.Config{Teams: 8, LinksPerTeam: 5, Threads: 100_000, Messages: 1_000_000},
		Workers: 64, Conns: 4, LoadRate: 2000, LoadSeconds: 30, ProbeEvery: 50 * time.Millisecond, Iterations: 300,
		DeepPage: 50, WebhookBatch: 50, NoopCalls: 100_000},
}

func main() {
	if err := mainErr(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func mainErr() error {
	var o options
	modes := envOr("MODE", "all")
	flag.StringVar(&o.Scale, "scale", envOr("SCALE", "default"), "smoke, default (100k messages) or 1m (1 million messages, 100k threads); env SCALE")
	flag.StringVar(&modes, "mode", modes, "embedded, kafka+postgres, or all (kafka+postgres only when PostgreSQL is reachable); env MODE")
	flag.StringVar(&o.Out, "out", envOr("OUT", "bench/results"), "folder for the results files; env OUT")
	flag.Int64Var(&o.Seed, "seed", 1, "traffic seed: the same seed sends the same traffic")
	flag.StringVar(&o.PostgresURL, "postgres-url", envOr("SWITCHBOARD_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
		"PostgreSQL for the kafka+postgres mode and the PostgreSQL baselines; env SWITCHBOARD_TEST_POSTGRES_URL")
	flag.BoolVar(&o.Keep, "keep", false, "keep the run's data folders")
	flag.BoolVar(&o.Verbose, "v", false, "show the server's warnings")
	flag.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.StringVar(&o.ProfileDir, "profile-dir", "", "write a CPU profile of each phase to this folder (<mode>-<nn>-<phase>.pprof)")
	flag.StringVar(&o.StopAfter, "stop-after", "", "stop after this phase (ingest), to profile it alone")
	flag.Parse()
	if o.CPUProfile != "" && o.ProfileDir != "" {
		return errors.New("-cpuprofile and -profile-dir: choose one (a process has one CPU profile at a time)")
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	sc, ok := scales[o.Scale]
	if !ok {
		return fmt.Errorf("-scale: unknown scale %q (want smoke, default or 1m)", o.Scale)
	}
	sc.Traffic.Seed = o.Seed

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pgErr := postgresReachable(ctx, o.PostgresURL)
	switch modes {
	case "all":
		o.Modes = []string{modeEmbedded}
		if pgErr == nil {
			o.Modes = append(o.Modes, modeScale)
		} else {
			fmt.Fprintf(os.Stderr, "SKIP: PostgreSQL unreachable (%v): the kafka+postgres mode and the PostgreSQL baselines are not run\n", pgErr)
		}
	case modeEmbedded, modeScale:
		o.Modes = []string{modes}
	default:
		return fmt.Errorf("-mode: unknown mode %q (want embedded, kafka+postgres or all)", modes)
	}
	if pgErr != nil {
		if os.Getenv("CI") == "true" {
			return fmt.Errorf("PostgreSQL unreachable under CI=true: %w", pgErr)
		}
		if modes == modeScale {
			return fmt.Errorf("-mode kafka+postgres: PostgreSQL unreachable: %w", pgErr)
		}
		o.PostgresURL = ""
	}
	for _, mode := range o.Modes {
		res, err := runMode(ctx, o, sc, mode)
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		md, js, err := res.write(o.Out)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "== %s: wrote %s and %s\n", mode, md, js)
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// run is one mode's benchmark in progress.
type run struct {
	opts  options
	sc    scale
	e     *env
	gen   *traffic.Generator
	pool  *pool
	res   *Result
	start time.Time

	teams   []*team
	links   []link
	threads threads
	tally   *tally
	events  int // in the log, as the read model projector counted them
	// saturation is IngestMessage's measured rate at saturation (msg/s).
	saturation float64

	rowsMu sync.Mutex
	rows   []baseline.Row

	// profile is the phase's CPU profile being written (-profile-dir), and phases counts them.
	profile *os.File
	phases  int
}

func (r *run) add(f Figure) { r.res.Figures = append(r.res.Figures, f) }

func (r *run) ratio(name string, ours, theirs float64) {
	if theirs == 0 {
		return
	}
	r.res.Ratios = append(r.res.Ratios, Ratio{Name: name, Value: round(ours / theirs)})
}

func (r *run) step(format string, args ...any) {
	phase := fmt.Sprintf(format, args...)
	fmt.Fprintf(os.Stderr, "== %s [%5.1fs] %s\n", r.e.mode, time.Since(r.start).Seconds(), phase)
	if r.opts.ProfileDir != "" {
		r.profilePhase(phase)
	}
}

// profilePhase ends the previous phase's CPU profile and starts this one's (-profile-dir), so
// that each figure's cost can be read apart from the rest ("done" only ends the last).
func (r *run) profilePhase(phase string) {
	if r.profile != nil {
		pprof.StopCPUProfile()
		_ = r.profile.Close()
		r.profile = nil
	}
	if phase == "done" {
		return
	}
	r.phases++
	slug := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(strings.SplitN(phase, ":", 2)[0]), "-"), "-")
	path := filepath.Join(r.opts.ProfileDir, fmt.Sprintf("%s-%02d-%s.pprof", modeFile(r.e.mode), r.phases, slug))
	if err := os.MkdirAll(r.opts.ProfileDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "bench: profile:", err)
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: profile:", err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "bench: profile:", err)
		_ = f.Close()
		return
	}
	r.profile = f
}

func runMode(ctx context.Context, o options, sc scale, mode string) (_ *Result, err error) {
	dir, err := os.MkdirTemp("", "switchboard-bench-")
	if err != nil {
		return nil, err
	}
	if o.Keep {
		fmt.Fprintln(os.Stderr, "== data in", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	logger := discardLogger()
	if o.Verbose {
		logger = stderrLogger(slog.LevelWarn)
	}
	e, err := newEnv(ctx, mode, dir, o.PostgresURL, logger)
	if err != nil {
		return nil, err
	}
	defer e.close()
	gen, err := traffic.New(sc.Traffic)
	if err != nil {
		return nil, err
	}
	r := &run{opts: o, sc: sc, e: e, gen: gen, pool: newPool(sc.Conns), start: time.Now(),
		threads: threads{refs: map[int]threadRef{}}, tally: newTally()}
	defer r.pool.close()
	defer r.profilePhase("done") // a run that fails mid-phase still closes its profile
	r.res = newResult(o, sc, mode, gen.Config())

	// The traffic, generated before anything is timed: the API links' share goes through
	// IngestMessage, the Messenger pages' share (with the edits) through signed webhooks.
	links := gen.Links()
	var apiMsgs, loadMsgs []*traffic.Message
	var hookOps []traffic.Op
	for n := 0; n < gen.Config().Messages; {
		op := gen.Next()
		if op.Message != nil {
			n++
		}
		switch {
		case links[opLink(op)].Messenger:
			hookOps = append(hookOps, op)
		case op.Message != nil:
			apiMsgs = append(apiMsgs, op.Message)
		}
	}
	for len(loadMsgs) < sc.LoadRate*sc.LoadSeconds {
		if op := gen.Next(); op.Message != nil && !links[op.Message.Link].Messenger {
			loadMsgs = append(loadMsgs, op.Message)
		}
	}
	r.step("traffic: %d messages through IngestMessage, %d webhook items, %d more at a fixed load", len(apiMsgs), len(hookOps), len(loadMsgs))

	if _, err := e.start(ctx); err != nil {
		return nil, err
	}
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	r.step("baseline: a Connect handler that does nothing")
	if err := r.noopCeiling(ctx, apiMsgs); err != nil {
		return nil, err
	}
	r.step("ingest at saturation")
	if err := r.ingestSaturation(ctx, apiMsgs, e.srv.WaitCaughtUp); err != nil {
		return nil, err
	}
	if o.StopAfter == "ingest" {
		r.res.finish(time.Since(r.start))
		return r.res, nil
	}
	r.step("ingest by Messenger webhooks")
	if err := r.webhooks(ctx, hookOps); err != nil {
		return nil, err
	}
	if err := e.srv.WaitCaughtUp(ctx); err != nil {
		return nil, err
	}
	r.step("team commands")
	if err := r.activity(ctx); err != nil {
		return nil, err
	}
	if err := e.srv.WaitCaughtUp(ctx); err != nil {
		return nil, err
	}
	r.step("ingest at a fixed load, with freshness probes")
	if err := r.ingestAtLoad(ctx, loadMsgs); err != nil {
		return nil, err
	}
	if err := e.srv.WaitCaughtUp(ctx); err != nil {
		return nil, err
	}
	r.step("verify: every thread and message exactly once")
	threads, messages, err := r.verify(ctx, "after ingest")
	if err != nil {
		return nil, err
	}
	r.res.Dataset.Threads, r.res.Dataset.Messages = threads, messages
	r.res.Dataset.Duplicates = r.tally.duplicates
	r.step("queries")
	if err := r.queries(ctx); err != nil {
		return nil, err
	}
	fts, err := r.loadFTS(ctx)
	if err != nil {
		return nil, err
	}
	if fts != nil {
		defer fts.Close()
	}
	r.step("search")
	if err := r.searches(ctx, fts); err != nil {
		return nil, err
	}
	e.stop()
	r.step("projection from the whole log")
	if err := r.projection(ctx); err != nil {
		return nil, err
	}
	r.res.Dataset.Events = r.events
	r.step("rebuild")
	if err := r.rebuild(ctx, threads, messages); err != nil {
		return nil, err
	}
	r.step("event log: Append against AppendStream")
	if err := r.appendLatency(ctx); err != nil {
		return nil, err
	}
	r.step("baselines: raw inserts")
	if err := r.rawInserts(ctx); err != nil {
		return nil, err
	}
	r.res.finish(time.Since(r.start))
	r.step("done")
	return r.res, nil
}

func modeFile(mode string) string { return strings.ReplaceAll(mode, "+", "-") }
