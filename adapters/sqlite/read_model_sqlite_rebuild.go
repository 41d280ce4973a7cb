package sqlite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/switchboard-oss/switchboard/internal/health"
)

// ReadModelOption configures OpenReadModel.
type ReadModelOption func(*rebuild)

// WithReadModelLogger sets where corruption and rebuilds are reported.
func WithReadModelLogger(l *slog.Logger) ReadModelOption {
	return func(r *rebuild) { r.logger = l }
}

// WithOnRebuilt is called once a corrupt file was replaced by an empty one while running: the
// projector must start again from the beginning of the log (its checkpoint went with the file).
func WithOnRebuilt(f func()) ReadModelOption {
	return func(r *rebuild) { r.onRebuilt = f }
}

// rebuild is the read model's state about corruption.
type rebuild struct {
	logger     *slog.Logger
	onRebuilt  func()
	rebuilding atomic.Bool
	rebuilds   atomic.Int64
	closed     atomic.Bool
	cause      atomic.Value // error: why the last rebuild began
}

func (r *rebuild) init(opts []ReadModelOption) {
	r.logger = slog.New(slog.DiscardHandler)
	for _, o := range opts {
		o(r)
	}
}

// errCorrupt marks a failed integrity check.
var errCorrupt = errors.New("database disk image is malformed")

func isCorrupt(err error) bool { return errors.Is(err, errCorrupt) || health.Corrupt(err) }

// check runs SQLite's quick integrity check (every page and index, without comparing index
// contents to tables): a file with overwritten bytes is caught at start, not by some read later.
func (c *rmConns) check() error {
	rows, err := c.w.Query("PRAGMA quick_check(1)")
	if err != nil {
		return fmt.Errorf("read model: integrity check: %w", err)
	}
	defer rows.Close()
	var first string
	if rows.Next() {
		if err := rows.Scan(&first); err != nil {
			return fmt.Errorf("read model: integrity check: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read model: integrity check: %w", err)
	}
	if first != "ok" {
		return fmt.Errorf("read model: integrity check: %q: %w", first, errCorrupt)
	}
	return nil
}

// setAside renames a corrupt file (and its WAL) out of the way, kept for whoever wants to look.
func setAside(abs string) error {
	suffix := ".corrupt-" + time.Now().UTC().Format("20060102T150405")
	for _, ext := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(abs+ext, abs+suffix+ext); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("read model: set the corrupt file aside: %w", err)
		}
	}
	return nil
}

// rmObserve hands a read's error to the read model it came from.
func rmObserve(q rmQuerier, err error) {
	if err == nil {
		return
	}
	switch q := q.(type) {
	case *rmPrepared:
		if q.observe != nil {
			q.observe(err)
		}
	case rmTxPrepared:
		if q.p.observe != nil {
			q.p.observe(err)
		}
	}
}

// observe looks at an error of the read model: a corrupt file starts a rebuild (once at a time).
// It returns err unchanged.
func (s *ReadModel) observe(err error) error {
	if err == nil || !isCorrupt(err) || s.closed.Load() || !s.rebuilding.CompareAndSwap(false, true) {
		return err
	}
	s.cause.Store(err)
	s.logger.Error("read model corrupt: setting it aside and rebuilding it from the event log", "path", s.path, "cause", err)
	go s.rebuildNow()
	return err
}

// rebuildNow replaces the corrupt file by an empty one, retrying with backoff (a full disk).
func (s *ReadModel) rebuildNow() {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = 100*time.Millisecond, 30*time.Second
	old := s.c()
	_ = old.close() // nothing more goes to the corrupt file
	for !s.closed.Load() {
		err := setAside(s.path)
		var c *rmConns
		if err == nil {
			c, err = openRMConns(s.path)
		}
		if err == nil {
			c.q.observe = s.observe
			s.cur.Store(c)
			s.rebuilds.Add(1)
			s.rebuilding.Store(false)
			s.logger.Warn("read model replaced by an empty one; the projector rebuilds it from the event log", "path", s.path)
			if s.onRebuilt != nil {
				s.onRebuilt()
			}
			return
		}
		wait := bo.NextBackOff()
		s.logger.Error("read model: cannot replace the corrupt file yet, retrying", "err", err, "retry_in", wait)
		time.Sleep(wait)
	}
}

// State is nil unless the read model is being replaced after corruption.
func (s *ReadModel) State() error {
	if s.rebuilding.Load() {
		return errors.New("corrupt: being rebuilt from the event log")
	}
	return nil
}

// Rebuilds counts the corrupt files replaced since Open (tests, metrics).
func (s *ReadModel) Rebuilds() int { return int(s.rebuilds.Load()) }

// Versions lists the projection versions the file holds a checkpoint of
// (projections.VersionLister): a file built by another version of the code keeps serving
// while the current version is built beside it.
func (s *ReadModel) Versions(ctx context.Context) ([]string, error) {
	rows, err := s.c().q.QueryContext(ctx, "SELECT projection FROM checkpoints ORDER BY projection")
	if err != nil {
		return nil, fmt.Errorf("read model: versions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read model: versions: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
