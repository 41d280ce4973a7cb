package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/switchboard-oss/switchboard/adapters/kafka"
	"github.com/switchboard-oss/switchboard/adapters/postgres"
	"github.com/switchboard-oss/switchboard/adapters/sqlite"
	"github.com/switchboard-oss/switchboard/adapters/sqlitefts"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/projections"
	v1 "github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1"
	"github.com/switchboard-oss/switchboard/search"
)

// countingLog counts the events its consumers handled.
type countingLog struct {
	eventlog.Log
	n atomic.Int64
}

func (c *countingLog) Consume(ctx context.Context, group string, h eventlog.Handler) error {
	return c.Log.Consume(ctx, group, func(ctx context.Context, recs []eventlog.Record) error {
		err := h(ctx, recs)
		if err == nil {
			c.n.Add(int64(len(recs)))
		}
		return err
	})
}

// openLog opens the mode's event log while no server runs.
func (r *run) openLog(ctx context.Context) (eventlog.Log, func(), error) {
	if r.e.mode == modeEmbedded {
		l, err := sqlite.OpenEventLog(filepath.Join(r.e.cfg.DataDir, "events.db"), sqlite.WithLogger(r.e.logger))
		if err != nil {
			return nil, nil, err
		}
		return l, func() { _ = l.Close() }, nil
	}
	ix, err := sqlite.OpenEventIndex(filepath.Join(r.e.dir, "bench-event-index.db"))
	if err != nil {
		return nil, nil, err
	}
	k := r.e.cfg.Kafka
	kc := kafka.Config{Brokers: strings.Split(k.Brokers, ","), Topic: k.Topic, Partitions: k.Partitions, Index: ix, Logger: r.e.logger,
		SessionTimeout: k.SessionTimeout, HeartbeatInterval: k.HeartbeatInterval, RebalanceTimeout: k.RebalanceTimeout}
	k.Tune(&kc)
	l, err := kafka.OpenEventLog(ctx, kc)
	if err != nil {
		_ = ix.Close()
		return nil, nil, err
	}
	return l, func() { _ = l.Close(); _ = ix.Close() }, nil
}

// projection measures each projector alone, from the whole pre-filled log into an empty store:
// the read model (SQLite or PostgreSQL) and the search index (SQLite FTS5).
func (r *run) projection(ctx context.Context) error {
	t0 := time.Now()
	l, closeLog, err := r.openLog(ctx)
	if err != nil {
		return fmt.Errorf("opening the event log: %w", err)
	}
	defer closeLog()
	if r.e.mode != modeEmbedded {
		// A new index file: opening the log backfilled its stream index from the whole topic.
		head, err := l.Head(ctx)
		if err != nil {
			return err
		}
		var records int64
		for _, off := range head {
			records += off + 1
		}
		took := time.Since(t0)
		r.add(Figure{Section: "projection", Name: "Kafka log start on a new (SQLite) index: stream index backfilled from the whole topic", Unit: "records/s",
			Value: rate(int(records), took), N: int(records), Note: fmt.Sprintf("%d records in %s, before the log serves", records, took.Round(time.Millisecond))})
	}
	head, err := l.Head(ctx)
	if err != nil {
		return err
	}

	// The read model alone.
	var store projections.Store
	if r.e.mode == modeEmbedded {
		rm, err := sqlite.OpenReadModel(filepath.Join(r.e.dir, "bench-readmodel.db"))
		if err != nil {
			return err
		}
		defer rm.Close()
		store = rm
	} else {
		u, err := r.e.newSchema(ctx)
		if err != nil {
			return err
		}
		rm, err := postgres.OpenReadModel(ctx, u, postgres.WithLogger(r.e.logger))
		if err != nil {
			return err
		}
		defer rm.Close()
		store = rm
	}
	cl := &countingLog{Log: l}
	took, err := runUntil(ctx, head, projections.NewProjector(cl, store, r.e.logger))
	if err != nil {
		return fmt.Errorf("read model projection: %w", err)
	}
	events := int(cl.n.Load())
	r.events = events
	engine := map[string]string{modeEmbedded: "SQLite", modeScale: "PostgreSQL"}[r.e.mode]
	r.add(Figure{Section: "projection", Name: fmt.Sprintf("read model catch-up (%s) from the whole log", engine), Unit: "events/s",
		Value: rate(events, took), N: events, Note: fmt.Sprintf("%d events in %s", events, took.Round(time.Millisecond))})

	// The search index alone, in a group of its own.
	idx, err := sqlitefts.Open(filepath.Join(r.e.dir, "bench-search.db"), sqlitefts.Options{})
	if err != nil {
		return err
	}
	defer idx.Close()
	cl = &countingLog{Log: l}
	took, err = runUntil(ctx, head, search.NewProjector(cl, idx, r.e.logger).WithGroup("bench.search."+domain.NewID("")))
	if err != nil {
		return fmt.Errorf("search projection: %w", err)
	}
	msgs := r.tally.total()
	r.add(Figure{Section: "projection", Name: "search indexing (SQLite FTS5) from the whole log", Unit: "msg/s",
		Value: rate(msgs, took), N: msgs, Note: fmt.Sprintf("%d messages (%d events) in %s", msgs, cl.n.Load(), took.Round(time.Millisecond))})
	return nil
}

type projector interface {
	Run(context.Context) error
	WaitFor(context.Context, eventlog.Cursor) error
}

// runUntil runs p until it has applied head and says how long that took.
func runUntil(ctx context.Context, head eventlog.Cursor, p projector) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	t0 := time.Now()
	go func() { done <- p.Run(ctx) }()
	werr := p.WaitFor(ctx, head)
	took := time.Since(t0)
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) && werr == nil {
		werr = err
	}
	return took, werr
}

// rebuild drops the read model and the search index and restarts Switchboard, which rebuilds
// both from the log before it serves; then the inbox must hold exactly what it held before.
func (r *run) rebuild(ctx context.Context, threads, messages int) error {
	if r.e.mode == modeEmbedded {
		for _, f := range []string{"readmodel.db", "readmodel.db-wal", "readmodel.db-shm", "search.db", "search.db-wal", "search.db-shm"} {
			if err := os.RemoveAll(filepath.Join(r.e.cfg.DataDir, f)); err != nil {
				return err
			}
		}
	} else {
		// A new schema is an empty read model; a new data dir is a new search group.
		u, err := r.e.newSchema(ctx)
		if err != nil {
			return err
		}
		r.e.cfg.PostgresURL = u
		r.e.cfg.DataDir = filepath.Join(r.e.dir, "data-rebuilt")
	}
	took, err := r.e.start(ctx)
	if err != nil {
		return err
	}
	defer r.e.stop()
	r.add(Figure{Section: "projection", Name: "full rebuild: restart with the read model and the search index dropped", Unit: "s",
		Value: round(took.Seconds()), N: r.events, Note: map[bool]string{true: "until the process serves, both rebuilt",
			false: "until the process serves, both rebuilt; a new database, so the Kafka stream index is backfilled from the topic first"}[r.e.mode == modeEmbedded]})
	gotThreads, gotMessages, err := r.verify(ctx, "after the rebuild")
	if err != nil {
		return err
	}
	if gotThreads != threads || gotMessages != messages {
		return fmt.Errorf("rebuild: %d threads and %d messages, %d and %d before", gotThreads, gotMessages, threads, messages)
	}
	// On Kafka this restart ran on a new database: the stream index was backfilled from the
	// topic before the process served, so the commands below read every aggregate from it.
	return r.aggregateCache(ctx)
}

// aggregateCache measures a team command (MarkThreadRead, one client) on threads the restarted
// process has not touched, whose prospect aggregate it must first read from the log (cold),
// then on the same threads again, served from its in-memory aggregates (warm).
func (r *run) aggregateCache(ctx context.Context) error {
	keys := slices.Sorted(maps.Keys(r.threads.refs))
	keys = keys[:min(len(keys), max(r.sc.Iterations, 100))]
	var cold, warm Samples
	for _, s := range []*Samples{&cold, &warm} {
		for _, k := range keys {
			ref := r.threads.refs[k]
			c := r.teams[ref.team].apis[0]
			t0 := time.Now()
			if _, err := c.threads.MarkThreadRead(ctx, connect.NewRequest(&v1.MarkThreadReadRequest{ThreadId: ref.id})); err != nil {
				return fmt.Errorf("command on a %s aggregate: %w", map[bool]string{true: "cold", false: "warm"}[s == &cold], err)
			}
			s.Add(time.Since(t0))
		}
	}
	r.add(cold.Latency(Figure{Section: "ingest", Name: "team command after a restart, its prospect's aggregate read from the log (cold cache, 1 client)"}))
	r.add(warm.Latency(Figure{Section: "ingest", Name: "the same command again, the aggregate in memory (warm cache, 1 client)"}))
	return nil
}
