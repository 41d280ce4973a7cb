package kafka

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog/eventlogtest"
)

// BenchmarkAppendPostgresIndex measures the Kafka log's append throughput on kfake with the
// PostgreSQL index, with 1, 8 and 32 concurrent callers each appending one event at a time
// (IngestMessage's append), on 1000 streams. It reports events/s; ns/op is per event.
func BenchmarkAppendPostgresIndex(b *testing.B) {
	url := testPostgresURL(b)
	for _, callers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			cluster := newCluster(b)
			cfg := testConfig(b, cluster.ListenAddrs(), "events-"+domain.NewID(""), openTestPostgresIndex(b, url))
			cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			cfg.AppendTimeout = 30 * time.Second
			l := openTestLog(b, cfg)
			team := eventlogtest.NewTeamID()
			keys := make([]string, 1000)
			for i := range keys {
				keys[i] = domain.NewID(domain.PrefixProspect)
			}
			events := make([]domain.Event, b.N)
			for i := range events {
				k := keys[i%len(keys)]
				events[i] = eventlogtest.NewEvent(team, k, domain.ThreadRead{ThreadID: "thr_1", ProspectID: k})
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(len(events)) {
							return
						}
						if _, err := l.Append(context.Background(), events[i:i+1]); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
