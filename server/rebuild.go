package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/connectrpc"
	"github.com/switchboard-oss/switchboard/adapters/postgres"
	"github.com/switchboard-oss/switchboard/adapters/sqlite"
	"github.com/switchboard-oss/switchboard/adapters/sqlitefts"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
	"github.com/switchboard-oss/switchboard/search"
)

// Rebuild phases, as AdminService reports them.
const (
	PhaseBuilding   = "building"    // the new version applies the log from its start
	PhaseCatchingUp = "catching_up" // it follows the log until it reaches the serving version
	PhaseSwapping   = "swapping"    // the serving projector paused: the tail applied, then the swap
	PhaseDone       = "done"
	PhaseFailed     = "failed"
)

// versioned is a projection kept in a SQLite file of the data folder whose serving file is
// recorded in <base>.current (without it, <base>.db); a rebuild writes <base>-<n>.db beside it.
type versioned struct {
	base string
	name *regexp.Regexp
}

var (
	readModelFiles = versioned{"readmodel", regexp.MustCompile(`^readmodel(?:-([0-9]+))?\.db$`)}
	searchFiles    = versioned{"search", regexp.MustCompile(`^search(?:-([0-9]+))?\.db$`)}
)

func (v versioned) current() string { return v.base + ".current" }

// active returns the file that serves, and removes the files an interrupted rebuild left
// behind (a new version never swapped in, or an old one not yet dropped). Corrupt files set
// aside (…corrupt-…) are kept.
func (v versioned) active(dataDir string, logger *slog.Logger) (string, error) {
	name := v.base + ".db"
	b, err := os.ReadFile(filepath.Join(dataDir, v.current()))
	switch {
	case err == nil:
		name = strings.TrimSpace(string(b))
		if !v.name.MatchString(name) {
			return "", fmt.Errorf("%s names %q, not a file of its own (%s-<n>.db)", v.current(), name, v.base)
		}
	case !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	for _, en := range entries {
		base := strings.TrimSuffix(strings.TrimSuffix(en.Name(), "-wal"), "-shm")
		if base == name || !v.name.MatchString(base) {
			continue
		}
		logger.Info("removing a file an interrupted rebuild left behind", "file", en.Name(), "serving", name)
		if err := os.Remove(filepath.Join(dataDir, en.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	return name, nil
}

// next is the file a rebuild of the serving file builds.
func (v versioned) next(serving string) string {
	n := 0
	if m := v.name.FindStringSubmatch(serving); m != nil && m[1] != "" {
		n, _ = strconv.Atoi(m[1])
	}
	return fmt.Sprintf("%s-%d.db", v.base, n+1)
}

// setActive records durably which file serves: written beside, synced, then renamed over the
// old record, so a crash leaves the old name or the new one.
func (v versioned) setActive(dataDir, name string) error {
	tmp := filepath.Join(dataDir, v.current()+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(name + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dataDir, v.current())); err != nil {
		return err
	}
	if d, err := os.Open(dataDir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func removeSQLiteFiles(path string) {
	for _, ext := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(path + ext)
	}
}

// gate runs a projector that can be paused: while paused it is stopped, and it resumes from
// its checkpoint afterwards.
type gate struct {
	mu      sync.Mutex
	paused  chan struct{} // non-nil while paused; closed by resume
	running bool
	stopped chan struct{} // closed when the running projector returns
	cancel  context.CancelFunc
}

// wrap returns fn run under the gate.
func (g *gate) wrap(fn func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		for {
			g.mu.Lock()
			if p := g.paused; p != nil {
				g.mu.Unlock()
				select {
				case <-p:
					continue
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			rctx, cancel := context.WithCancel(ctx)
			stopped := make(chan struct{})
			g.running, g.cancel, g.stopped = true, cancel, stopped
			g.mu.Unlock()
			err := fn(rctx)
			paused := rctx.Err() != nil && ctx.Err() == nil
			cancel()
			g.mu.Lock()
			g.running, g.cancel = false, nil
			close(stopped)
			g.mu.Unlock()
			if !paused {
				return err
			}
		}
	}
}

// pause stops the projector and returns once it has; resume lets it run again.
func (g *gate) pause(ctx context.Context) error {
	g.mu.Lock()
	g.paused = make(chan struct{})
	var wait chan struct{}
	if g.running {
		g.cancel()
		wait = g.stopped
	}
	g.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			g.resume()
			return ctx.Err()
		}
	}
	return nil
}

func (g *gate) resume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paused != nil {
		close(g.paused)
		g.paused = nil
	}
}

// rebuilds runs the blue/green rebuilds of one process (connectrpc.Rebuilder).
type rebuilds struct {
	s   *Server
	ctx context.Context // the server's run context

	mu      sync.Mutex
	all     []*rebuildRun
	running map[string]*rebuildRun
}

type rebuildRun struct {
	mu sync.Mutex
	r  connectrpc.Rebuild
}

func (r *rebuildRun) get() connectrpc.Rebuild {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.r
}

func (r *rebuildRun) set(f func(*connectrpc.Rebuild)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.r)
}

// Start begins a rebuild in the background.
func (b *rebuilds) Start(_ context.Context, projection string) (connectrpc.Rebuild, error) {
	var run func(context.Context, *rebuildRun) error
	switch projection {
	case "readmodel":
		run = b.s.rebuildReadModel
	case "search":
		run = b.s.rebuildSearch
	default:
		return connectrpc.Rebuild{}, domain.Invalid("projection", "must be readmodel or search, got %q", projection)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.running[projection]; ok {
		return connectrpc.Rebuild{}, domain.Precondition("a rebuild of %s is running: %s", projection, r.get().ID)
	}
	r := &rebuildRun{r: connectrpc.Rebuild{ID: domain.NewID("rb"), Projection: projection, Phase: PhaseBuilding,
		StartedAt: time.Now().UTC()}}
	b.all = append(b.all, r)
	b.running[projection] = r
	b.s.wg.Add(1)
	go func() {
		defer b.s.wg.Done()
		logger := b.s.logger.With("rebuild", r.r.ID, "projection", projection)
		logger.Info("rebuild started: the serving version answers until the new one has caught up")
		err := runContained(b.ctx, func(ctx context.Context) error { return run(ctx, r) })
		r.set(func(x *connectrpc.Rebuild) {
			x.FinishedAt = time.Now().UTC()
			if err != nil {
				x.Phase, x.Error = PhaseFailed, err.Error()
			} else {
				x.Phase = PhaseDone
			}
		})
		if err != nil {
			logger.Error("rebuild failed; the serving version is untouched", "err", err)
		} else {
			logger.Info("rebuild done: the new version serves", "target", r.get().Target,
				"took", time.Since(r.get().StartedAt).Round(time.Millisecond))
		}
		b.mu.Lock()
		delete(b.running, projection)
		b.mu.Unlock()
	}()
	return r.get(), nil
}

// Get returns a rebuild by id.
func (b *rebuilds) Get(id string) (connectrpc.Rebuild, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.all {
		if r.get().ID == id {
			return r.get(), nil
		}
	}
	return connectrpc.Rebuild{}, domain.NotFound("rebuild", id)
}

// List returns this process's rebuilds, newest first.
func (b *rebuilds) List() []connectrpc.Rebuild {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]connectrpc.Rebuild, 0, len(b.all))
	for _, r := range slices.Backward(b.all) {
		out = append(out, r.get())
	}
	return out
}

// cursorSize measures a cursor in log positions (the sum of its partitions' offsets), for
// progress.
func cursorSize(c eventlog.Cursor) int64 {
	var n int64
	for _, o := range c {
		n += o
	}
	return n
}

// follow waits until applied() covers target(), reporting progress, or builder fails.
func follow(ctx context.Context, r *rebuildRun, log eventlog.Log, builder <-chan error, failed func() error,
	applied, target func(context.Context) (eventlog.Cursor, error)) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		a, err := applied(ctx)
		if err != nil {
			return err
		}
		want, err := target(ctx)
		if err != nil {
			return err
		}
		head, err := log.Head(ctx)
		if err != nil {
			return err
		}
		r.set(func(x *connectrpc.Rebuild) { x.Applied, x.Total = cursorSize(a), cursorSize(head) })
		if err := failed(); err != nil {
			return err
		}
		if a.Covers(want) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-builder:
			return fmt.Errorf("the new version's projector stopped: %w", err)
		case <-tick.C:
		}
	}
}

// catchUp runs the new version's projector (run) until it covers the serving version, through
// building, catching_up and swapping: the serving projector (g) is paused, the new version
// applies the tail up to where the serving one stopped, and its projector is stopped. On nil
// the serving projector stays paused: the caller swaps, then resumes it.
func (s *Server) catchUp(ctx context.Context, r *rebuildRun, g *gate, run func(context.Context) error, failed func() error,
	applied, serving func(context.Context) (eventlog.Cursor, error)) error {
	e := s.engines
	bctx, stop := context.WithCancel(ctx)
	builder := make(chan error, 1)
	go func() { builder <- runContained(bctx, run) }()
	stopped := false
	stopBuilder := func() {
		if !stopped {
			stopped = true
			stop()
			<-builder
		}
	}
	defer stopBuilder()
	head, err := e.log.Head(ctx)
	if err != nil {
		return err
	}
	if err := follow(ctx, r, e.log, builder, failed, applied, func(context.Context) (eventlog.Cursor, error) { return head, nil }); err != nil {
		return err
	}
	r.set(func(x *connectrpc.Rebuild) { x.Phase = PhaseCatchingUp })
	if err := follow(ctx, r, e.log, builder, failed, applied, serving); err != nil {
		return err
	}
	r.set(func(x *connectrpc.Rebuild) { x.Phase = PhaseSwapping })
	if err := g.pause(ctx); err != nil {
		return err
	}
	if err := follow(ctx, r, e.log, builder, failed, applied, serving); err != nil {
		g.resume()
		return err
	}
	stopBuilder()
	if err := failed(); err != nil {
		g.resume()
		return err
	}
	if a, err := applied(ctx); err == nil {
		r.set(func(x *connectrpc.Rebuild) { x.Applied = cursorSize(a) })
	}
	return nil
}

// readModelTarget is where a rebuild builds the new read model: a SQLite file beside the
// serving one, or a PostgreSQL schema.
type readModelTarget struct {
	where   string // a path or a schema, for progress
	open    func(ctx context.Context) (projections.Store, error)
	record  func(ctx context.Context) error // makes it the serving one, durably
	dropNew func()                          // after a failure
	dropOld func()                          // after the swap
	swapped func()                          // after the swap, under rmMu
}

// rebuildReadModel builds a new read model beside the serving one from the whole log, then
// swaps it in: every call after the swap reads the new version, which holds at least what the
// old one held, so a consistency token answered before the swap is covered after it. See
// docs/operations.md "Rebuilding projections without downtime".
func (s *Server) rebuildReadModel(ctx context.Context, r *rebuildRun) (err error) {
	e := s.engines
	s.rmMu.Lock() // one swap of the read model at a time
	defer s.rmMu.Unlock()
	var swapped, corrupt atomic.Bool
	var t readModelTarget
	if s.cfg.PostgresURL != "" {
		t = s.pgReadModelTarget()
	} else {
		t = s.sqliteReadModelTarget(func() {
			if swapped.Load() {
				e.readModelRebuilt()
			} else {
				corrupt.Store(true)
			}
		})
	}
	r.set(func(x *connectrpc.Rebuild) { x.Target = t.where })
	t.dropNew()
	next, err := t.open(ctx)
	if err != nil {
		t.dropNew()
		return fmt.Errorf("open the new read model: %w", err)
	}
	defer func() {
		if !swapped.Load() {
			_ = next.Close()
			t.dropNew()
		}
	}()
	failed := func() error {
		if corrupt.Load() {
			return errors.New("the new read model's file turned corrupt while it was built")
		}
		return nil
	}
	// The new version's projector consumes as a group of its own: the serving projector's
	// position is untouched.
	p := projections.NewProjector(e.log, next, s.logger).WithGroup(fmt.Sprintf("readmodel.rebuild.%d", time.Now().UnixNano()))
	applied := func(ctx context.Context) (eventlog.Cursor, error) {
		return next.Checkpoint(ctx, projections.ReadModelProjection)
	}
	serving := s.projector.Applied // the serving version's checkpoint
	if err := s.catchUp(ctx, r, &s.rmGate, p.Run, failed, applied, serving); err != nil {
		return err
	}
	defer s.rmGate.resume()
	// The conversation metrics live in the read model's store: their projector stops before
	// the swap and, resumed, starts again from the new store's (empty) analytics checkpoint.
	if err := s.anGate.pause(ctx); err != nil {
		return err
	}
	defer s.anGate.resume()
	if err := t.record(ctx); err != nil {
		return fmt.Errorf("record the new read model as serving: %w", err)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	old, err := e.rmSwap.Swap(wctx, next)
	swapped.Store(true)
	t.swapped()
	s.projector.ServeVersion(projections.ReadModelProjection) // from its next run, on resume
	if err != nil {
		s.logger.Warn("read model swapped while calls still read the old version; closing it anyway", "err", err)
	}
	if err := old.Close(); err != nil {
		s.logger.Warn("closing the old read model", "err", err)
	}
	t.dropOld()
	return nil
}

// sqliteReadModelTarget is readmodel-<n>.db beside the serving file.
func (s *Server) sqliteReadModelTarget(onRebuilt func()) readModelTarget {
	e, dir := s.engines, s.cfg.DataDir
	name := readModelFiles.next(e.rmFile)
	path := filepath.Join(dir, name)
	oldFile := e.rmFile
	return readModelTarget{
		where: path,
		open: func(context.Context) (projections.Store, error) {
			return sqlite.OpenReadModel(path, sqlite.WithReadModelLogger(s.logger), sqlite.WithOnRebuilt(onRebuilt))
		},
		record:  func(context.Context) error { return readModelFiles.setActive(dir, name) },
		dropNew: func() { removeSQLiteFiles(path) },
		dropOld: func() { removeSQLiteFiles(filepath.Join(dir, oldFile)) },
		swapped: func() { e.rmFile = name },
	}
}

var pgRMSchema = regexp.MustCompile(`_?rm_([0-9]+)$`)

// pgSchemaName is the schema of the n-th rebuilt read model of a deployment whose own schema
// is own: rm_<n> beside public, <own>_rm_<n> otherwise (several deployments share a database).
func pgSchemaName(own string, next int) string {
	if own == "public" {
		return fmt.Sprintf("rm_%d", next)
	}
	return fmt.Sprintf("%s_rm_%d", own, next)
}

// pgReadModelTarget is the schema rm_<n>; readmodel_active records it, and every process
// follows (followReadModelSchema). The old schema is dropped a while after the swap, once the
// other processes followed; the URL's own schema is never dropped.
func (s *Server) pgReadModelTarget() readModelTarget {
	e, url := s.engines, s.cfg.PostgresURL
	n := 0
	if m := pgRMSchema.FindStringSubmatch(e.pgRMSchema); m != nil {
		n, _ = strconv.Atoi(m[1])
	}
	schema := pgSchemaName(e.pgOwnSchema, n+1)
	oldSchema := e.pgRMSchema
	opts := []postgres.Option{postgres.WithLogger(s.logger)}
	drop := func(schema string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := postgres.DropReadModelSchema(ctx, url, schema, opts...); err != nil {
			s.logger.Warn("read model rebuild: could not drop a schema", "schema", schema, "err", err)
		}
	}
	return readModelTarget{
		where: "schema " + schema,
		open: func(ctx context.Context) (projections.Store, error) {
			return postgres.OpenReadModel(ctx, url, append(opts, postgres.WithSchema(schema))...)
		},
		record:  func(ctx context.Context) error { return postgres.SetActiveReadModelSchema(ctx, url, schema, opts...) },
		dropNew: func() { drop(schema) },
		dropOld: func() {
			if oldSchema == "" {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				// Time for the other processes to follow readmodel_active.
				select {
				case <-time.After(3 * followInterval):
				case <-s.rebuilds.ctx.Done():
				}
				drop(oldSchema)
			}()
		},
		swapped: func() { e.pgRMSchema = schema },
	}
}

// followInterval is how often a process with a PostgreSQL read model checks which schema
// serves.
const followInterval = 2 * time.Second

// followReadModelSchema swaps this process's read model when another process rebuilt it into
// a new schema.
func (s *Server) followReadModelSchema(ctx context.Context) error {
	e, url := s.engines, s.cfg.PostgresURL
	opts := []postgres.Option{postgres.WithLogger(s.logger)}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followInterval):
		}
		// Read under the lock: a rebuild of this process swaps and records under it too.
		s.rmMu.Lock()
		_, active, err := postgres.ReadModelSchemas(ctx, url, opts...)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Warn("read model: cannot read which schema serves", "err", err)
			}
		} else if active != e.pgRMSchema {
			next, err := postgres.OpenReadModel(ctx, url, append(opts, schemaOption(active)...)...)
			if err == nil {
				old, _ := e.rmSwap.Swap(ctx, next)
				_ = old.Close()
				if v, err := projections.ServedVersion(ctx, next); err == nil {
					s.projector.ServeVersion(v)
				}
				s.logger.Info("read model: following a rebuild into another schema", "schema", active, "from", e.pgRMSchema)
				e.pgRMSchema = active
				e.readModelRebuilt()
			} else {
				s.logger.Warn("read model: cannot open the schema that serves now", "schema", active, "err", err)
			}
		}
		s.rmMu.Unlock()
	}
}

// rebuildSearch builds a new search index beside the serving one and swaps it in: a new
// search-<n>.db for the embedded index, a new Elasticsearch index behind the alias.
func (s *Server) rebuildSearch(ctx context.Context, r *rebuildRun) error {
	e := s.engines
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	group := fmt.Sprintf("search.rebuild.%d", time.Now().UnixNano())
	noFailure := func() error { return nil }
	if e.idxSwap == nil {
		rx, ok := e.idx.(reindexer)
		if !ok {
			return domain.Precondition("this search engine cannot rebuild into a new index")
		}
		// Elasticsearch: fill a new index, then the alias moves to it in one request.
		err := rx.Reindex(ctx, func(ctx context.Context, target search.Index) error {
			r.set(func(x *connectrpc.Rebuild) { x.Target = "a new index behind alias " + s.cfg.Elasticsearch.Alias })
			p := search.NewProjector(e.log, target, s.logger).WithGroup(group)
			return s.catchUp(ctx, r, &s.idxGate, p.Run, noFailure, target.Checkpoint, e.idx.Checkpoint)
		})
		if r.get().Phase == PhaseSwapping {
			s.idxGate.resume()
		}
		return err
	}
	dir := s.cfg.DataDir
	name := searchFiles.next(e.idxFile)
	path := filepath.Join(dir, name)
	r.set(func(x *connectrpc.Rebuild) { x.Target = path })
	removeSQLiteFiles(path)
	next, err := sqlitefts.Open(path, sqlitefts.Options{Logger: s.logger, Candidates: s.cfg.SearchCandidates})
	if err != nil {
		return fmt.Errorf("open the new search index: %w", err)
	}
	swapped := false
	defer func() {
		if !swapped {
			_ = next.Close()
			removeSQLiteFiles(path)
		}
	}()
	p := search.NewProjector(e.log, next, s.logger).WithGroup(group)
	if err := s.catchUp(ctx, r, &s.idxGate, p.Run, noFailure, next.Checkpoint, e.idx.Checkpoint); err != nil {
		return err
	}
	defer s.idxGate.resume()
	if err := searchFiles.setActive(dir, name); err != nil {
		return fmt.Errorf("record the new search index as serving: %w", err)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	old, err := e.idxSwap.Swap(wctx, next)
	swapped = true
	oldFile := e.idxFile
	e.idxFile = name
	if err != nil {
		s.logger.Warn("search index swapped while calls still read the old file; closing it anyway", "err", err)
	}
	if err := old.Close(); err != nil {
		s.logger.Warn("closing the old search index", "err", err)
	}
	removeSQLiteFiles(filepath.Join(dir, oldFile))
	return nil
}
