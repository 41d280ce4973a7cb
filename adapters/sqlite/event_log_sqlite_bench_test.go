package sqlite

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog/eventlogtest"
)

// oldEventIndexes are the read indexes the log kept before it read by rowid range: the
// benchmark's "schema=old" runs put them back, to compare in one run.
const oldEventIndexes = `
CREATE INDEX events_team_position ON events (team_id, position);
CREATE INDEX events_team_key_position ON events (team_id, key, position);
CREATE INDEX events_team_type_position ON events (team_id, type, position);`

// BenchmarkEventLogAppend measures the embedded log's append throughput (synchronous=FULL,
// group commit) with 16 concurrent callers appending batches of 1, 64 and 1000 events, spread
// over 1000 streams of 4 teams, with today's indexes (schema=new) and with the ones it had
// before (schema=old). It reports events/s; ns/op is per batch. The events are built before
// the timer starts.
func BenchmarkEventLogAppend(b *testing.B) {
	for _, batch := range []int{1, 64, 1000} {
		for _, schema := range []string{"old", "new"} {
			b.Run(fmt.Sprintf("batch=%d/schema=%s", batch, schema), func(b *testing.B) { benchAppend(b, batch, schema == "old") })
		}
	}
}

func benchAppend(b *testing.B, batch int, old bool) {
	l, err := OpenEventLog(filepath.Join(b.TempDir(), "events.db"), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	if old {
		if _, err := l.db.Exec(oldEventIndexes); err != nil {
			b.Fatal(err)
		}
	}
	teams := []string{eventlogtest.NewTeamID(), eventlogtest.NewTeamID(), eventlogtest.NewTeamID(), eventlogtest.NewTeamID()}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = domain.NewID(domain.PrefixProspect)
	}
	batches := make([][]domain.Event, b.N)
	for i := range batches {
		batches[i] = make([]domain.Event, batch)
		for j := range batches[i] {
			k := (i*batch + j) % len(keys)
			batches[i][j] = eventlogtest.NewEvent(teams[k%len(teams)], keys[k], domain.ThreadRead{ThreadID: "thr_1", ProspectID: keys[k]})
		}
	}
	var n atomic.Int64
	b.SetParallelism(8) // 16 callers on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(context.Background(), batches[n.Add(1)-1]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
