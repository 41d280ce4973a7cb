package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/switchboard-oss/switchboard/adapters/kafka"
	"github.com/switchboard-oss/switchboard/adapters/postgres"
	"github.com/switchboard-oss/switchboard/adapters/sqlite"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
)

// appendLatency measures one caller appending one event at a time to a log of the mode's
// engine of its own (not the server's): plain Append against AppendStream with the expected
// version, which the write model's commands use. One caller, so the figures are the cost of
// one append, not what group commit makes of many.
func (r *run) appendLatency(ctx context.Context) error {
	log, closeLog, err := r.openBenchLog(ctx)
	if err != nil {
		return err
	}
	defer closeLog()
	team := domain.NewID(domain.PrefixTeam)
	const streams = 20
	keys := make([]string, streams)
	versions := make([]int64, streams)
	for i := range keys {
		keys[i] = domain.NewID(domain.PrefixProspect)
	}
	event := func(key string) domain.Event {
		now := time.Now().UTC()
		return domain.Event{ID: domain.NewID(domain.PrefixEvent), TeamID: team, Key: key, OccurredAt: now, RecordedAt: now,
			Actor: domain.ActorSystem, Origin: domain.OriginSystem, Payload: domain.ThreadRead{ThreadID: "thr_bench", ProspectID: key}}
	}
	n := max(2*r.sc.Iterations, 200) // enough for a p99 even in the smoke run
	var plain, stream Samples
	// Interleaved, so both meet the same machine load.
	for i := range 2 * n {
		k := i % streams
		e := event(keys[k])
		t0 := time.Now()
		var res []eventlog.AppendResult
		if i%2 == 0 {
			res, err = log.Append(ctx, []domain.Event{e})
			plain.Add(time.Since(t0))
		} else {
			res, err = log.AppendStream(ctx, team, keys[k], versions[k], []domain.Event{e})
			stream.Add(time.Since(t0))
		}
		if err != nil {
			return fmt.Errorf("append %d: %w", i, err)
		}
		versions[k] = res[0].Version
	}
	what := "the embedded SQLite log (synchronous FULL)"
	if r.e.mode == modeScale {
		what = "Kafka (kfake, acks=all) with PostgreSQL claims"
	}
	p := plain.Latency(Figure{Section: "event log", Name: "Append, one event, one caller, on " + what})
	s := stream.Latency(Figure{Section: "event log", Name: "AppendStream (expected version), one event, one caller, on " + what})
	r.add(p)
	r.add(s)
	r.ratio("AppendStream / Append, median latency", s.P50, p.P50)
	return nil
}

// openBenchLog opens a fresh log on the mode's engines.
func (r *run) openBenchLog(ctx context.Context) (eventlog.Log, func(), error) {
	if r.e.mode != modeScale {
		l, err := sqlite.OpenEventLog(filepath.Join(r.e.dir, "append-bench.db"), sqlite.WithLogger(discardLogger()))
		if err != nil {
			return nil, nil, err
		}
		return l, func() { _ = l.Close() }, nil
	}
	u, err := r.e.newSchema(ctx)
	if err != nil {
		return nil, nil, err
	}
	ix, err := postgres.OpenEventIndex(ctx, u, "")
	if err != nil {
		return nil, nil, err
	}
	l, err := kafka.OpenEventLog(ctx, kafka.Config{Brokers: r.e.kfake.ListenAddrs(), Topic: "bench-append-" + domain.NewID(""),
		Partitions: 6, Index: ix, Logger: discardLogger()})
	if err != nil {
		_ = ix.Close()
		return nil, nil, err
	}
	return l, func() { _ = l.Close(); _ = ix.Close() }, nil
}
