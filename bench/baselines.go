package main

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	"github.com/switchboard-oss/switchboard/bench/baseline"
	"github.com/switchboard-oss/switchboard/bench/traffic"
	"github.com/switchboard-oss/switchboard/proto/gen/switchboard/v1/switchboardv1connect"
)

// noopCeiling sends the same IngestMessage requests, with the same clients, to a Connect
// handler that does nothing: what the RPC stack itself allows on this machine.
func (r *run) noopCeiling(ctx context.Context, msgs []*traffic.Message) error {
	addr, stop, err := baseline.NoopConnect()
	if err != nil {
		return err
	}
	defer stop()
	p := newPool(r.sc.Conns)
	defer p.close()
	var clients []switchboardv1connect.IngestServiceClient
	for _, hc := range p.clients {
		clients = append(clients, switchboardv1connect.NewIngestServiceClient(hc, "http://"+addr, connect.WithInterceptors(bearer(r.teams[0].key))))
	}
	n := min(len(msgs), r.sc.NoopCalls)
	var lat Samples
	took, err := closedLoop(ctx, r.sc.Workers, n, &lat, func(ctx context.Context, w, i int) error {
		_, err := clients[w%len(clients)].IngestMessage(ctx, connect.NewRequest(r.ingestRequest(msgs[i])))
		return err
	})
	if err != nil {
		return fmt.Errorf("no-op Connect handler: %w", err)
	}
	r.add(lat.Latency(Figure{Section: "baseline", Name: fmt.Sprintf("Connect handler that does nothing (%d concurrent clients, HTTP/2)", r.sc.Workers),
		Unit: "calls/s", Value: rate(n, took)}))
	return nil
}

// loadFTS loads the same messages into PostgreSQL full-text search, when PostgreSQL is there.
func (r *run) loadFTS(ctx context.Context) (*baseline.PostgresFTS, error) {
	if r.opts.PostgresURL == "" {
		return nil, nil
	}
	fts, took, err := baseline.NewPostgresFTS(ctx, r.opts.PostgresURL, r.rows)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL FTS: %w", err)
	}
	r.add(Figure{Section: "baseline", Name: "PostgreSQL FTS: COPY + GIN index of the same messages", Unit: "msg/s",
		Value: rate(len(r.rows), took), N: len(r.rows)})
	return fts, nil
}

// rawInserts writes the same message rows straight into SQLite (batched transactions, the
// event log's durability) and PostgreSQL (COPY): the floor under any ingest or projection.
func (r *run) rawInserts(ctx context.Context) error {
	took, err := baseline.SQLiteInsert(ctx, r.e.dir, r.rows, 1000)
	if err != nil {
		return fmt.Errorf("SQLite baseline: %w", err)
	}
	sqliteRate := rate(len(r.rows), took)
	r.add(Figure{Section: "baseline", Name: "raw SQLite inserts, 1000 rows per transaction (WAL, synchronous FULL)", Unit: "rows/s",
		Value: sqliteRate, N: len(r.rows)})
	ingest := r.figure("ingest", "IngestMessage at saturation")
	noop := r.figure("baseline", "Connect handler that does nothing")
	r.ratio("IngestMessage at saturation / do-nothing Connect handler", ingest.Value, noop.Value)
	batched := r.figure("ingest", "IngestMessages at saturation, 100")
	r.ratio("IngestMessages at saturation / IngestMessage at saturation", batched.Value, ingest.Value)
	r.ratio("IngestMessages at saturation / do-nothing Connect handler (msg/s over calls/s)", batched.Value, noop.Value)
	r.ratio("IngestMessages at saturation / raw SQLite inserts", batched.Value, sqliteRate)
	sustained := r.figure("ingest", "IngestMessages at saturation, until")
	sustainedOne := r.figure("ingest", "IngestMessage at saturation, until")
	r.ratio("IngestMessages sustained / IngestMessage sustained", sustained.Value, sustainedOne.Value)
	r.ratio("IngestMessage at saturation / raw SQLite inserts", ingest.Value, sqliteRate)
	projected := r.figure("projection", "read model catch-up")
	if r.e.mode == modeEmbedded {
		r.ratio("read model catch-up (events/s) / raw SQLite inserts (rows/s)", projected.Value, sqliteRate)
	}
	if r.opts.PostgresURL == "" {
		return nil
	}
	took, err = baseline.PostgresCopy(ctx, r.opts.PostgresURL, r.rows)
	if err != nil {
		return fmt.Errorf("PostgreSQL baseline: %w", err)
	}
	pgRate := rate(len(r.rows), took)
	r.add(Figure{Section: "baseline", Name: "raw PostgreSQL COPY of the same rows", Unit: "rows/s", Value: pgRate, N: len(r.rows)})
	if r.e.mode == modeScale {
		r.ratio("read model catch-up (events/s) / raw PostgreSQL COPY (rows/s)", projected.Value, pgRate)
		r.ratio("IngestMessage at saturation / raw PostgreSQL COPY", ingest.Value, pgRate)
	}
	return nil
}

// figure finds a recorded figure by section and name prefix.
func (r *run) figure(section, prefix string) Figure {
	for _, f := range r.res.Figures {
		if f.Section == section && len(f.Name) >= len(prefix) && f.Name[:len(prefix)] == prefix {
			return f
		}
	}
	return Figure{}
}
