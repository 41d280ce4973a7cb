package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/switchboard-oss/switchboard/adapters/sqlite"
	"github.com/switchboard-oss/switchboard/domain"
	"github.com/switchboard-oss/switchboard/eventlog"
	"github.com/switchboard-oss/switchboard/eventlog/eventlogtest"
)

// newCluster starts an in-process Kafka (kfake speaks the real protocol) that accepts short
// consumer group sessions, so groups of a test form and dissolve quickly.
func newCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{
		kfake.NumBrokers(3),
		kfake.GroupMinSessionTimeout(500 * time.Millisecond),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// testConfig is a log on brokers with short timeouts, so failures show within seconds.
func testConfig(t testing.TB, brokers []string, topic string, index DedupIndex) Config {
	return Config{
		Brokers:        brokers,
		Topic:          topic,
		ClientID:       "switchboard-test",
		Partitions:     12,
		Index:          index,
		Logger:         slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		DialTimeout:    time.Second,
		RequestTimeout: 5 * time.Second,
		AppendTimeout:  5 * time.Second,
		ClaimLease:     2 * time.Minute,
		// A session outlives a few heartbeats that wait behind a fetch's long poll: sarama
		// sends one request at a time per broker connection.
		SessionTimeout:    3 * time.Second,
		HeartbeatInterval: 300 * time.Millisecond,
		RebalanceTimeout:  3 * time.Second,
		RetryInitial:      5 * time.Millisecond,
		RetryMax:          50 * time.Millisecond,
	}
}

func openTestIndex(t *testing.T) *sqlite.EventIndex {
	t.Helper()
	x, err := sqlite.OpenEventIndex(filepath.Join(t.TempDir(), "event_index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.Close() })
	return x
}

func openTestLog(t testing.TB, cfg Config) *EventLog {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := OpenEventLog(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestEventLogConformance(t *testing.T) {
	cluster := newCluster(t)
	var mu sync.Mutex
	configs := map[eventlog.Log]Config{}
	open := func(t *testing.T, cfg Config) eventlog.Log {
		l := openTestLog(t, cfg)
		mu.Lock()
		configs[l] = cfg
		mu.Unlock()
		return l
	}
	eventlogtest.Run(t, eventlogtest.Factory{
		// A fresh topic and index per log: one cluster serves every case.
		Open: func(t *testing.T) eventlog.Log {
			return open(t, testConfig(t, cluster.ListenAddrs(), "events-"+domain.NewID(""), openTestIndex(t)))
		},
		// The same topic and the same index again.
		Reopen: func(t *testing.T, old eventlog.Log) eventlog.Log {
			mu.Lock()
			cfg := configs[old]
			mu.Unlock()
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, cfg)
		},
	})
}

// The same suite with the index every process shares at scale.
func TestEventLogConformancePostgresIndex(t *testing.T) {
	url := testPostgresURL(t)
	cluster := newCluster(t)
	var mu sync.Mutex
	configs := map[eventlog.Log]Config{}
	open := func(t *testing.T, cfg Config) eventlog.Log {
		l := openTestLog(t, cfg)
		mu.Lock()
		configs[l] = cfg
		mu.Unlock()
		return l
	}
	eventlogtest.Run(t, eventlogtest.Factory{
		Open: func(t *testing.T) eventlog.Log {
			return open(t, testConfig(t, cluster.ListenAddrs(), "events-"+domain.NewID(""), openTestPostgresIndex(t, url)))
		},
		Reopen: func(t *testing.T, old eventlog.Log) eventlog.Log {
			mu.Lock()
			cfg := configs[old]
			mu.Unlock()
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, cfg)
		},
	})
}

// A consumer catching up gets many records per handler call, not one per partition, and
// never more than BatchSize; one key's records stay in order across batches.
func TestConsumeBatches(t *testing.T) {
	cluster := newCluster(t, kfake.NumBrokers(1))
	cfg := testConfig(t, cluster.ListenAddrs(), "events-batches", openTestIndex(t))
	cfg.BatchSize = 100
	cfg.BatchWait = 50 * time.Millisecond
	l := openTestLog(t, cfg)
	team := eventlogtest.NewTeamID()
	var events []domain.Event
	for i := range 400 {
		events = append(events, eventlogtest.NewEvent(team, team, domain.ThreadRead{ThreadID: fmt.Sprint("thr_", i), ProspectID: team}))
	}
	for i := 0; i < len(events); i += 50 {
		if _, err := l.Append(context.Background(), events[i:i+50]); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var sizes []int
	var got []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- l.Consume(ctx, "batches", func(_ context.Context, recs []eventlog.Record) error {
			mu.Lock()
			defer mu.Unlock()
			sizes = append(sizes, len(recs))
			for _, r := range recs {
				got = append(got, r.Event.ID)
			}
			return nil
		})
	}()
	waitUntil(t, "every event consumed", 20*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(events)
	})
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	var want []string
	for _, e := range events {
		want = append(want, e.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("one key's %d events came back as %d, or out of order", len(want), len(got))
	}
	if m := slices.Max(sizes); m > cfg.BatchSize || m < 10 {
		t.Fatalf("batch sizes %v: want batches of more than 10 and at most %d", sizes, cfg.BatchSize)
	}
	t.Logf("%d events in %d handler calls", len(got), len(sizes))
}

// SetCheckpoint refuses what would silently lose events: a cursor past the log's end (a
// recreated topic), and a group that is consuming.
func TestSetCheckpointRefuses(t *testing.T) {
	cluster := newCluster(t, kfake.NumBrokers(1))
	l := openTestLog(t, testConfig(t, cluster.ListenAddrs(), "events-checkpoints", openTestIndex(t)))
	team := eventlogtest.NewTeamID()
	ctx := context.Background()
	e := eventlogtest.NewEvent(team, team, domain.ThreadRead{ThreadID: "thr_1", ProspectID: team})
	res, err := l.Append(ctx, []domain.Event{e})
	if err != nil {
		t.Fatal(err)
	}
	p := res[0].Position
	if err := l.SetCheckpoint(ctx, "past-the-end", eventlog.Cursor{p.Partition: p.Offset + 5}); err == nil {
		t.Fatal("SetCheckpoint accepted a cursor past the end")
	}
	if err := l.SetCheckpoint(ctx, "no-such-partition", eventlog.Cursor{999: 0}); err == nil {
		t.Fatal("SetCheckpoint accepted a partition the topic does not have")
	}
	if err := l.SetCheckpoint(ctx, "at-the-end", eventlog.Cursor{p.Partition: p.Offset}); err != nil {
		t.Fatalf("SetCheckpoint at the last event: %v", err)
	}

	var got seen
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = l.Consume(cctx, "busy", got.handle(team)) }()
	waitUntil(t, "the group to consume", 10*time.Second, func() bool { return got.has(e.ID) })
	if err := l.SetCheckpoint(ctx, "busy", eventlog.Cursor{}); err == nil {
		t.Fatal("SetCheckpoint moved a group that is consuming")
	} else {
		t.Logf("SetCheckpoint of a consuming group: %v", err)
	}
}
